//! Model reloads: validate a new artifact away from the request path, swap it in atomically, keep
//! the one it replaced for rollback.
//!
//! Triggers: the model file being published (a `notify` watch on its directory, debounced),
//! SIGHUP, and `POST /v1/admin/reload` / `rollback` (transport/http.rs). All of them end in
//! [`reload`] or [`rollback`], which are blocking (a load maps and checks every byte of the file)
//! and run one at a time. A refused model changes nothing: the served one keeps serving, the
//! refusal is logged and counted. Requests in flight finish on the engine they loaded; an engine
//! is freed when the last `Arc` to it goes, which is when its last request ends and it is neither
//! serving nor kept for rollback.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::engine::Engine;
use crate::model::{LoadError, Model};
use crate::service::Service;

/// What started a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The first model, at start.
    Start,
    /// The watched model file changed.
    Watch,
    /// SIGHUP.
    Signal,
    /// `POST /v1/admin/reload`.
    Admin,
    /// `POST /v1/admin/rollback`.
    Rollback,
}

impl Trigger {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Watch => "watch",
            Trigger::Signal => "signal",
            Trigger::Admin => "admin",
            Trigger::Rollback => "rollback",
        }
    }
}

/// A reload that did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new model serves now.
    Swapped {
        /// The model serving now.
        version: String,
        /// The model it replaced, if any.
        previous: Option<String>,
        /// Load, validation and engine build (up to the swap).
        took: Duration,
    },
    /// The file holds the model already serving; nothing was done.
    Unchanged {
        /// The model serving.
        version: String,
    },
}

/// Why a reload or rollback changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The artifact could not be read or failed validation.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The artifact's embedding width is not the one required.
    #[error("model {source_name} refused: embedding width {got}, required {expected} ({why})")]
    Dimension {
        /// The file.
        source_name: String,
        /// Its width.
        got: u32,
        /// The width required.
        expected: u32,
        /// Where the requirement comes from.
        why: &'static str,
    },
    /// Rollback with nothing to return to.
    #[error("no previous model to roll back to")]
    NoPrevious,
    /// The reload thread could not start or died.
    #[error("the reload thread could not run")]
    Aborted,
}

impl ReloadError {
    /// Metric label: `io`, `invalid`, `dimension`, `no_previous`.
    pub fn label(&self) -> &'static str {
        match self {
            ReloadError::Load(e) => e.kind(),
            ReloadError::Dimension { .. } => "dimension",
            ReloadError::NoPrevious => "no_previous",
            ReloadError::Aborted => "aborted",
        }
    }
}

/// Loads the artifact at `path`, checks it against the served model, and swaps it in.
///
/// Blocking: call it from a blocking thread. Returns [`Outcome::Unchanged`] without loading when
/// the served model is mapped from the very file at `path` (same inode, length, mtime).
pub fn reload(service: &Service, path: &Path, trigger: Trigger) -> Result<Outcome, ReloadError> {
    let _one_at_a_time = service.reload_lock();
    let started = Instant::now();
    let result = load_checked(service, path);
    let engine = match result {
        Ok(Some(engine)) => engine,
        Ok(None) => {
            let version = service.served_version();
            info!(trigger = trigger.label(), %version, path = %path.display(), "model file unchanged; not reloaded");
            service.metrics.model_load(trigger.label(), "unchanged");
            return Ok(Outcome::Unchanged { version });
        }
        Err(e) => {
            warn!(trigger = trigger.label(), path = %path.display(), "model refused, the served model stays: {e}");
            service.refused(trigger, &e);
            return Err(e);
        }
    };
    Ok(swap_in(service, engine, trigger, started))
}

/// Returns to the model the last reload replaced; the current one becomes the previous.
pub fn rollback(service: &Service) -> Result<Outcome, ReloadError> {
    let _one_at_a_time = service.reload_lock();
    let started = Instant::now();
    let Some(previous) = service.take_previous() else {
        service.metrics.model_load(Trigger::Rollback.label(), ReloadError::NoPrevious.label());
        return Err(ReloadError::NoPrevious);
    };
    Ok(swap_in(service, previous, Trigger::Rollback, started))
}

/// `Ok(None)`: unchanged.
fn load_checked(service: &Service, path: &Path) -> Result<Option<Engine>, ReloadError> {
    let current = service.engine();
    if current.as_ref().is_some_and(|c| c.model().is_file(path)) {
        return Ok(None);
    }
    let model = Model::load(path)?;
    let got = model.manifest().dim;
    let required = match (service.config.model.dim, &current) {
        (0, Some(c)) => Some((c.model().manifest().dim, "the served model's width; set model.dim to change it")),
        (0, None) => None,
        (d, _) => Some((d, "model.dim in the config")),
    };
    if let Some((expected, why)) = required.filter(|&(d, _)| d != got) {
        return Err(ReloadError::Dimension { source_name: path.display().to_string(), got, expected, why });
    }
    let engine = Engine::new(model, &crate::engine::EngineSettings::from_config(&service.config));
    for w in &engine.warnings {
        warn!("config vs model: {w}");
    }
    Ok(Some(engine))
}

fn swap_in(service: &Service, engine: impl Into<Arc<Engine>>, trigger: Trigger, started: Instant) -> Outcome {
    let engine = engine.into();
    let version = engine.version().to_string();
    let took = started.elapsed();
    let replaced = service.install(engine, took, trigger);
    let previous = replaced.as_ref().map(|e| e.version().to_string());
    if service.config.model.keep_previous {
        service.keep_previous(replaced);
    }
    info!(
        trigger = trigger.label(),
        %version,
        previous = previous.as_deref().unwrap_or("none"),
        took_ms = took.as_millis() as u64,
        "model swapped in"
    );
    Outcome::Swapped { version, previous, took }
}

/// Runs `reload` on a thread of its own at a lower CPU priority (`model.reload_nice`), so that
/// mapping and checking hundreds of megabytes does not take a core from requests on a small
/// machine; the requests still win when they need the CPU. Resolves to the reload's result.
pub async fn reload_in_background(
    service: Arc<Service>,
    path: PathBuf,
    trigger: Trigger,
) -> Result<Outcome, ReloadError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let nice = service.config.model.reload_nice;
    let spawned = std::thread::Builder::new().name("endcap-reload".into()).spawn(move || {
        lower_priority(nice);
        let _ = tx.send(reload(&service, &path, trigger));
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
pub fn watch(service: Arc<Service>, path: PathBuf) -> notify::Result<notify::RecommendedWatcher> {
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
    let debounce = Duration::from_millis(service.config.model.watch_debounce_ms);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Wait until the file has been quiet for `debounce`.
            while let Ok(Some(())) = tokio::time::timeout(debounce, rx.recv()).await {}
            if path.exists() {
                let _ = reload_in_background(service.clone(), path.clone(), Trigger::Watch).await;
            }
        }
    });
    info!(dir = %dir.display(), "watching for new models");
    Ok(watcher)
}

/// Reloads `path` on every SIGHUP until `stop` turns true or its sender is dropped.
#[cfg(unix)]
pub fn reload_on_sighup(
    service: Arc<Service>,
    path: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            // Shutdown, or the server was dropped: let go of the service (and its model).
            let signalled = tokio::select! {
                r = hup.recv() => r.is_some(),
                _ = stop.wait_for(|s| *s) => false,
            };
            if !signalled {
                break;
            }
            let _ = reload_in_background(service.clone(), path.clone(), Trigger::Signal).await;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests;
