//! The async runtimes endcap runs on, and busy polling. The server's shared runtime is built here
//! (`workers`), as are the single-threaded runtimes of the QUIC threads (`server.quic_threads`);
//! `spin` keeps a runtime's thread polling its sockets instead of sleeping (`server.busy_poll`).

use tokio::sync::watch;

/// The multi-threaded runtime the server (or a command) runs on; `workers` 0 means one per core.
pub fn multi_thread(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        b.worker_threads(workers);
    }
    b.enable_all().build()
}

/// A single-threaded runtime for a QUIC thread. It is built (and its endpoint made) inside the
/// server's runtime, where dropping a `Runtime` would panic, so on an error path it shuts down in
/// the background.
pub struct ThreadRuntime(Option<tokio::runtime::Runtime>);

impl ThreadRuntime {
    /// A new current-thread runtime with I/O and timers.
    pub fn new() -> std::io::Result<ThreadRuntime> {
        Ok(ThreadRuntime(Some(tokio::runtime::Builder::new_current_thread().enable_all().build()?)))
    }

    /// The runtime.
    pub fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for ThreadRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Only yields, until the server stops (or is dropped). Tokio wakes a yielded task after polling
/// the I/O driver without blocking, so a thread running one never sleeps in `epoll_wait`: packets
/// are picked up as they arrive instead of after the OS wakes the thread (`server.busy_poll`).
pub async fn spin(stopped: watch::Receiver<bool>) {
    // `Ok(false)`: no stop yet; `Ok(true)`: shutdown; `Err`: the server was dropped.
    while let Ok(false) = stopped.has_changed() {
        tokio::task::yield_now().await;
    }
}

/// Spawns one `spin` task per worker of the current runtime. Tokio does not tie a task to a
/// worker; with one spinner per worker, work stealing spreads them in practice.
pub fn spin_every_worker(stop: &watch::Sender<bool>) -> usize {
    let n = tokio::runtime::Handle::current().metrics().num_workers();
    for _ in 0..n {
        tokio::spawn(spin(stop.subscribe()));
    }
    n
}
