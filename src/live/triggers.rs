//! What starts a reload besides the admin API: the model file being published (a `notify` watch
//! on its directory, debounced), and SIGHUP. Each ends in [`Live::load`] on a thread of its own at
//! a lower CPU priority, never on the request path.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::{Live, Outcome, ReloadError, Source, Trigger};

/// Extra attempts for a load that failed for a transient reason.
const TRANSIENT_RETRIES: usize = 5;

/// Loads the file at `path` on a thread of its own at a lower CPU priority (`model.reload_nice`), so that
/// mapping and checking hundreds of megabytes does not take a core from requests on a small
/// machine; the requests still win when they need the CPU. Resolves to the reload's result.
pub async fn reload_in_background(live: Arc<Live>, path: PathBuf, trigger: Trigger) -> Result<Outcome, ReloadError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let nice = live.model_config().reload_nice;
    let spawned = std::thread::Builder::new().name("endcap-reload".into()).spawn(move || {
        lower_priority(nice);
        let mut result = live.load(Source::File(path.clone()), trigger);
        // A reload that failed for a passing reason (out of file descriptors or memory for a
        // moment) is tried again, a few times, a second apart; a bad file is not.
        for _ in 0..TRANSIENT_RETRIES {
            match &result {
                Err(ReloadError::Load(e)) if e.is_transient() => {
                    std::thread::sleep(Duration::from_secs(1));
                    info!(path = %path.display(), "retrying a model load that failed for a transient reason");
                    result = live.load(Source::File(path.clone()), trigger);
                }
                _ => break,
            }
        }
        let _ = tx.send(result);
    });
    match spawned {
        Ok(_) => rx.await.unwrap_or(Err(ReloadError::Aborted)),
        Err(_) => Err(ReloadError::Aborted),
    }
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux: per-thread nice value).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice > 0 {
        // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes only the calling thread's
        // nice value on Linux; it reads no memory of ours. Failure leaves the priority as it was.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS as _, 0, nice);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// Watches `path`'s directory and reloads after a publish at `path` has been quiet for the
/// configured debounce. The returned watcher stops when dropped.
pub fn watch(live: Arc<Live>, path: PathBuf) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher, event::AccessKind, event::AccessMode};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let publishes = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Access(AccessKind::Close(AccessMode::Write))
        );
        if publishes && event.paths.iter().any(|p| p.file_name() == Some(name.as_os_str())) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let debounce = Duration::from_millis(live.model_config().watch_debounce_ms);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Wait until the file has been quiet for `debounce`.
            while let Ok(Some(())) = tokio::time::timeout(debounce, rx.recv()).await {}
            if path.exists() {
                let _ = reload_in_background(live.clone(), path.clone(), Trigger::Watch).await;
            }
        }
    });
    info!(dir = %dir.display(), "watching for new models");
    Ok(watcher)
}

/// Reloads `path` on every SIGHUP until `stop` turns true or its sender is dropped.
#[cfg(unix)]
pub fn reload_on_sighup(
    live: Arc<Live>,
    path: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            // Shutdown, or the server was dropped: let go of the lifecycle (and its model).
            let signalled = tokio::select! {
                r = hup.recv() => r.is_some(),
                _ = stop.wait_for(|s| *s) => false,
            };
            if !signalled {
                break;
            }
            let _ = reload_in_background(live.clone(), path.clone(), Trigger::Signal).await;
        }
    });
    Ok(())
}
