//! Starts and stops a server: binds QUIC and HTTP, loads the model in the background (ready
//! once it is installed), and shuts both transports down gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Config;
use crate::demo::{self, DemoSpec};
use crate::engine::Engine;
use crate::model::{self, Model};
use crate::reload::{self, Trigger};
use crate::service::Service;
use crate::train::{self, TrainOptions};
use crate::transport::{http, quic, tls};

/// Where the first model comes from.
pub enum ModelSource {
    /// `config.model.path`, or the default demo store built in memory when it is missing and
    /// `demo_when_missing` is set.
    Configured,
    /// The demo store of this spec, built in memory.
    Demo(DemoSpec),
    /// A model already loaded (tests, tools).
    Loaded(Box<Model>),
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

/// Generates the demo store of `spec` and trains its model in memory with the trainer's
/// defaults (the same model `endcap demo --out D` then `endcap train --data D` would give).
pub fn build_demo(spec: &DemoSpec) -> Result<Model, String> {
    let started = Instant::now();
    let store = demo::generate(spec);
    let opts = TrainOptions {
        dim: spec.dim,
        version: format!("demo-s{}-p{}-c{}", spec.seed, spec.products, spec.customers),
        seed: spec.seed,
        ..TrainOptions::default()
    };
    let (input, _) = train::train(&store.train_data(), &opts)?;
    let artifact = model::build(&input).map_err(|e| e.to_string())?;
    let m = Model::from_artifact(artifact, "built-in demo").map_err(|e| e.to_string())?;
    info!(
        products = spec.products,
        customers = spec.customers,
        took_ms = started.elapsed().as_millis() as u64,
        "generated the demo store and trained its model in memory"
    );
    Ok(m)
}

/// The first model, or why there is none: (metric label, message).
fn load_first(config: &Config, source: ModelSource) -> Result<Model, (&'static str, String)> {
    let built = |r: Result<Model, String>| r.map_err(|e| ("invalid", e));
    match source {
        ModelSource::Loaded(m) => Ok(*m),
        ModelSource::Demo(spec) => built(build_demo(&spec)),
        ModelSource::Configured => {
            let path: &PathBuf = &config.model.path;
            if path.exists() || !config.model.demo_when_missing {
                Model::load(path).map_err(|e| (e.kind(), e.to_string()))
            } else {
                info!(path = %path.display(), "no model at the configured path: generating the default demo store and training its model");
                built(build_demo(&DemoSpec::default()))
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
            let n = tokio::runtime::Handle::current().metrics().num_workers();
            info!(workers = n, "busy polling: one core per runtime worker stays busy");
            // Tokio does not tie a task to a worker; with one spinner per worker, work stealing
            // spreads them in practice.
            for _ in 0..n {
                tokio::spawn(spin(stop.subscribe()));
            }
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

    let loader = service.clone();
    let loading = tokio::task::spawn_blocking(move || {
        // Reloads (file watch, SIGHUP, admin) wait for the first model; one that came first wins.
        let _one_at_a_time = loader.reload_lock();
        if loader.is_ready() {
            info!("a reload installed a model during start-up; the start-up load is skipped");
            return Ok(());
        }
        let started = Instant::now();
        let model = load_first(&loader.config, source).map_err(|(label, e)| {
            loader.metrics.model_load("start", label);
            e
        })?;
        if let Some(d) = Some(loader.config.model.dim).filter(|&d| d != 0 && d != model.manifest().dim) {
            loader.metrics.model_load("start", "dimension");
            return Err(format!(
                "model {} has embedding width {}, model.dim requires {d}",
                model.source(),
                model.dim()
            ));
        }
        let engine = Engine::new(model, &crate::engine::EngineSettings::from_config(&loader.config));
        for w in &engine.warnings {
            warn!("config vs model: {w}");
        }
        let m = engine.model();
        info!(
            version = m.version(),
            source = m.source(),
            products = m.manifest().counts.products,
            customers = m.manifest().counts.customers,
            took_ms = started.elapsed().as_millis() as u64,
            "model loaded; ready"
        );
        loader.install(Arc::new(engine), started.elapsed(), Trigger::Start);
        Ok(())
    });

    let path = config.model.path.clone();
    let watcher = if config.model.watch {
        match reload::watch(service.clone(), path.clone()) {
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
    if let Err(e) = reload::reload_on_sighup(service.clone(), path, stop.subscribe()) {
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

/// Only yields, until the server stops (or is dropped). Tokio wakes a yielded task after polling
/// the I/O driver without blocking, so a thread running one never sleeps in `epoll_wait`: packets
/// are picked up as they arrive instead of after the OS wakes the thread (`server.busy_poll`).
pub(crate) async fn spin(stopped: watch::Receiver<bool>) {
    // `Ok(false)`: no stop yet; `Ok(true)`: shutdown; `Err`: the server was dropped.
    while let Ok(false) = stopped.has_changed() {
        tokio::task::yield_now().await;
    }
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
