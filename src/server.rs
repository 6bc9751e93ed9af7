//! Starts and stops a server: binds QUIC and HTTP, loads the first model in the background
//! through the model lifecycle (ready once it is installed), starts the reload triggers, and shuts
//! both transports down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Config;
use crate::live::{self, Source, Trigger};
use crate::model::Model;
use crate::runtime;
use crate::service::Service;
use crate::transport::{http, quic, tls};

/// Makes a model in memory (the built-in demo store, say).
pub type Builder = Box<dyn FnOnce() -> Result<Model, String> + Send>;

/// Where the first model comes from.
pub enum ModelSource {
    /// `config.model.path`; when it does not exist and `model.demo_when_missing` is set, the
    /// model `demo` makes (the binary passes the built-in demo store; the server itself does not
    /// link the trainer).
    Configured {
        /// Makes the demo model.
        demo: Option<Builder>,
    },
    /// A model made in memory (the demo store of some spec).
    Made(Builder),
    /// A model already loaded (tests, tools).
    Loaded(Box<Model>),
}

impl ModelSource {
    /// A model made in memory by `make`.
    pub fn made(make: impl FnOnce() -> Result<Model, String> + Send + 'static) -> ModelSource {
        ModelSource::Made(Box::new(make))
    }
}

/// A running server.
pub struct Running {
    /// Bound QUIC address (the real port when the config asked for port 0).
    pub quic_addr: SocketAddr,
    /// Bound HTTP address.
    pub http_addr: SocketAddr,
    /// SHA-256 of the QUIC certificate, hex, for clients to pin.
    pub fingerprint: String,
    /// The shared service (model, metrics).
    pub service: Arc<Service>,
    loading: Option<JoinHandle<Result<(), String>>>,
    stop: watch::Sender<bool>,
    quic: Quic,
    http_task: JoinHandle<()>,
    /// Watches the model path while the server runs (dropped on shutdown).
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Where QUIC is served: on the shared runtime, or on threads of its own (`server.quic_threads`).
enum Quic {
    Shared(quinn::Endpoint),
    Threads(quic::Threads),
}

/// The lifecycle's source for the first model.
fn first_source(config: &Config, source: ModelSource) -> Source {
    match source {
        ModelSource::Loaded(m) => Source::loaded(*m),
        ModelSource::Made(make) => Source::Made(make),
        ModelSource::Configured { demo } => {
            let path = &config.model.path;
            match demo {
                Some(make) if !path.exists() && config.model.demo_when_missing => {
                    info!(path = %path.display(), "no model at the configured path: generating the default demo store and training its model");
                    Source::Made(make)
                }
                _ => Source::File(path.clone()),
            }
        }
    }
}

/// Binds both transports, then loads the model in the background.
pub async fn start(config: Config, source: ModelSource) -> anyhow::Result<Running> {
    let tls = tls::server_tls(&config.server)?;
    let fingerprint = tls.fingerprint.clone();
    if tls.self_signed {
        info!(sha256 = %fingerprint, "generated a self-signed QUIC certificate; clients pin it with --cert-sha256");
    }
    // Everything that can fail is bound before any task starts, so a failed start leaves nothing
    // running.
    let listener = tokio::net::TcpListener::bind(config.server.http_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for HTTP on {}: {e}", config.server.http_addr))?;
    let http_addr = listener.local_addr()?;
    let service = Service::new(config.clone());
    let (stop, mut stopped) = watch::channel(false);
    let (quic, quic_addr) = if config.server.quic_threads == 0 {
        let endpoint = quic::endpoint(&config.server, tls)?;
        let addr = endpoint.local_addr()?;
        tokio::spawn(quic::serve(endpoint.clone(), service.clone(), 0));
        if config.server.busy_poll {
            let n = runtime::spin_every_worker(&stop);
            info!(workers = n, "busy polling: one core per runtime worker stays busy");
        }
        (Quic::Shared(endpoint), addr)
    } else {
        let threads = quic::Threads::start(&config.server, tls, service.clone(), &stop)?;
        let addr = threads.local_addr()?;
        info!(
            threads = config.server.quic_threads,
            busy_poll = config.server.busy_poll,
            "QUIC served by threads of its own"
        );
        (Quic::Threads(threads), addr)
    };
    let app = http::router(service.clone());
    let http_task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            warn!("HTTP server stopped: {e}");
        }
    });
    info!(%quic_addr, %http_addr, "listening (QUIC ALPN endcap/1, HTTP/JSON)");

    let live = service.live.clone();
    let first = first_source(&config, source);
    let loading =
        tokio::task::spawn_blocking(move || live.load(first, Trigger::Start).map(drop).map_err(|e| e.to_string()));

    let path = config.model.path.clone();
    let watcher = if config.model.watch {
        match live::watch(service.live.clone(), path.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                warn!(path = %path.display(), "cannot watch the model path, reload with SIGHUP or the admin API: {e}");
                None
            }
        }
    } else {
        None
    };
    #[cfg(unix)]
    if let Err(e) = live::reload_on_sighup(service.live.clone(), path, stop.subscribe()) {
        warn!("cannot handle SIGHUP: {e}");
    }
    Ok(Running {
        quic_addr,
        http_addr,
        fingerprint,
        service,
        loading: Some(loading),
        stop,
        quic,
        http_task,
        _watcher: watcher,
    })
}

impl Running {
    /// Waits until the first model is installed; the error says why it could not be.
    pub async fn ready(&mut self) -> Result<(), String> {
        match self.loading.take() {
            Some(task) => task.await.map_err(|e| format!("model loading panicked: {e}"))?,
            None => Ok(()),
        }
    }

    /// Open QUIC connections per socket (one socket unless `server.quic_threads` is above 1).
    pub fn quic_connections(&self) -> Vec<usize> {
        match &self.quic {
            Quic::Shared(endpoint) => vec![endpoint.open_connections()],
            Quic::Threads(threads) => threads.open_connections(),
        }
    }

    /// Stops accepting, lets in-flight requests finish (briefly), and closes both transports.
    pub async fn shutdown(self) {
        // QUIC threads close their endpoints on this signal; the shared endpoint closes here,
        // before waiting for HTTP clients to finish.
        let _ = self.stop.send(true);
        if let Quic::Shared(endpoint) = &self.quic {
            endpoint.close(0u8.into(), quic::SHUTTING_DOWN);
        }
        let _ = self.http_task.await;
        match self.quic {
            Quic::Shared(endpoint) => quic::wait_idle(&endpoint).await,
            Quic::Threads(threads) => {
                let _ = tokio::task::spawn_blocking(move || threads.join()).await;
            }
        }
    }
}
