//! Starts and stops a server: checks that it is not exposed without device identity, binds QUIC,
//! HTTP and the admin listener, loads the first model in the background through the model
//! lifecycle (ready once it is installed), starts the reload triggers and the revocation watch, and
//! shuts every transport down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::ca::{self, Role};
use crate::config::{Config, ServerConfig};
use crate::live::{self, Source, Trigger};
use crate::model::Model;
use crate::ops::Caller;
use crate::runtime;
use crate::service::Service;
use crate::shoppers::Shoppers;
use crate::transport::guards::Guards;
use crate::transport::listen::{self, Listen};
use crate::transport::{http, mqtt, quic, tls};

/// Makes a model in memory (the built-in demo store, say).
pub type Builder = Box<dyn FnOnce() -> Result<Model, String> + Send>;

/// Where the first model comes from.
pub enum ModelSource {
    /// `config.model.path`; when neither it nor its last-known-good copy exists and
    /// `model.demo_when_missing` is set, the model `demo` makes (the binary passes the built-in
    /// demo store; the server itself does not link the trainer).
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
    /// Bound admin address (`/v1/admin/*`).
    pub admin_addr: SocketAddr,
    /// SHA-256 of the QUIC certificate, hex, for clients to pin.
    pub fingerprint: String,
    /// The shared service (model, metrics).
    pub service: Arc<Service>,
    loading: Option<JoinHandle<Result<(), String>>>,
    stop: watch::Sender<bool>,
    quic: Quic,
    http_tasks: [JoinHandle<()>; 2],
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
                Some(make)
                    if !path.exists()
                        && config.model.demo_when_missing
                        && !config.model.last_good_path().is_some_and(|p| p.exists()) =>
                {
                    info!(path = %path.display(), "no model at the configured path: generating the default demo store and training its model");
                    Source::Made(make)
                }
                _ => Source::File(path.clone()),
            }
        }
    }
}

/// Refuses a configuration that would serve a store network without device identity, or let
/// HTTP bypass it; warns loudly about an open server on loopback.
fn check_exposure(cfg: &ServerConfig) -> anyhow::Result<()> {
    let exposed: Vec<String> = [("quic_addr", cfg.quic_addr), ("http_addr", cfg.http_addr)]
        .into_iter()
        .filter(|(_, a)| !a.ip().is_loopback())
        .map(|(k, a)| format!("server.{k} = {a}"))
        .collect();
    match &cfg.client_ca {
        None if !exposed.is_empty() && !cfg.allow_open => anyhow::bail!(
            "{} is reachable from the network but no server.client_ca is set: any device could ask for any \
             customer. Set server.client_ca (endcap ca init, endcap ca issue) or, knowingly, server.allow_open = true",
            exposed.join(" and ")
        ),
        None => warn!(
            exposed = ?exposed,
            "OPEN SERVER: devices are not authenticated (no server.client_ca); any client can call every operation. \
             Fine for a demo on loopback, not for a store network"
        ),
        Some(ca) => {
            if !cfg.http_tls && !cfg.http_addr.ip().is_loopback() {
                anyhow::bail!(
                    "server.http_addr = {} is reachable from the network without TLS, so HTTP would bypass device \
                     certificates: set server.http_tls = true, or bind HTTP to loopback",
                    cfg.http_addr
                );
            }
            info!(ca = %ca.display(), require_client_cert = cfg.require_client_cert, "devices are identified by certificates from the store CA");
        }
    }
    Ok(())
}

/// Raises the open-file limit to what the HTTP listeners may need (one descriptor per
/// connection); an error says what to change when the hard limit is too low.
fn raise_fd_limit(cfg: &ServerConfig) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let need = 2 * cfg.http_max_connections as u64 + 256;
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit read and write the struct we own; no other memory.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return Ok(());
        }
        if lim.rlim_cur < need {
            let want = if lim.rlim_max == libc::RLIM_INFINITY { need } else { need.min(lim.rlim_max) };
            let raised = libc::rlimit { rlim_cur: want, rlim_max: lim.rlim_max };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim.rlim_cur = want;
            }
        }
        if lim.rlim_cur < need {
            anyhow::bail!(
                "the open-file limit is {} but server.http_max_connections = {} needs about {need}: raise the hard limit \
                 (ulimit -n, systemd LimitNOFILE=) or lower server.http_max_connections",
                lim.rlim_cur,
                cfg.http_max_connections
            );
        }
    }
    Ok(())
}

/// Who a plain-HTTP request is: everyone on an open server; local tooling (loopback, the only
/// place plain HTTP may listen once devices have certificates) otherwise.
fn plain_http_caller(cfg: &ServerConfig) -> Caller {
    if cfg.client_ca.is_some() { Caller::role(Role::Ops) } else { Caller::OPEN }
}

/// Who an HTTPS request is, from its verified client certificate.
fn https_caller(conn: &rustls::ServerConnection) -> Caller {
    match conn.peer_certificates().and_then(|c| c.first()).and_then(ca::identity) {
        Some((name, role)) => Caller { role: Some(role), device: ca::DeviceName::new(&name) },
        // No certificate (allowed only when not required): anonymous answers only.
        None => Caller::role(Role::Beacon),
    }
}

/// Binds QUIC, HTTP and the admin listener, then loads the model in the background.
pub async fn start(config: Config, source: ModelSource) -> anyhow::Result<Running> {
    check_exposure(&config.server)?;
    raise_fd_limit(&config.server)?;
    let tls = tls::server_tls(&config.server)?;
    let fingerprint = tls.fingerprint.clone();
    if tls.self_signed {
        info!(sha256 = %fingerprint, "generated a self-signed QUIC certificate; clients pin it with --cert-sha256");
    }
    let guards = Arc::new(Guards::new(&config.server).map_err(|e| anyhow::anyhow!(e))?);
    // Everything that can fail is bound before any task starts, so a failed start leaves nothing
    // running.
    let bind = |addr: SocketAddr, what: &'static str| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for {what} on {addr}: {e}"))
    };
    let listener = bind(config.server.http_addr, "HTTP").await?;
    let http_addr = listener.local_addr()?;
    let admin_listener = bind(config.server.admin_addr, "the admin API").await?;
    let admin_addr = admin_listener.local_addr()?;
    let https = config.server.http_tls.then(|| tokio_rustls::TlsAcceptor::from(Arc::new(tls.https.clone())));
    // The journal is recovered and replayed (privacy choices, recent sessions) before serving.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let (events, zones) = (config.events.clone(), config.zones.clone());
    let shoppers = tokio::task::spawn_blocking(move || Shoppers::open(&events, &zones, now_ms))
        .await
        .map_err(|e| anyhow::anyhow!("opening the event journal panicked: {e}"))?
        .map_err(|e| anyhow::anyhow!(e))?;
    let service = Service::with_shoppers(config.clone(), Some(Arc::new(shoppers)));
    let (stop, _) = watch::channel(false);
    guards.revocations.clone().watch(Duration::from_secs(2), stop.subscribe());
    mqtt::spawn(service.clone(), &config.events, stop.subscribe())
        .map_err(|e| anyhow::anyhow!("events.mqtt_url: {e}"))?;
    let (quic, quic_addr) = if config.server.quic_threads == 0 {
        let endpoint = quic::endpoint(&config.server, tls)?;
        let addr = endpoint.local_addr()?;
        tokio::spawn(quic::serve(endpoint.clone(), service.clone(), guards.clone(), 0));
        if config.server.busy_poll {
            let n = runtime::spin_every_worker(&stop);
            info!(workers = n, "busy polling: one core per runtime worker stays busy");
        }
        (Quic::Shared(endpoint), addr)
    } else {
        let threads = quic::Threads::start(&config.server, tls, service.clone(), guards.clone(), &stop)?;
        let addr = threads.local_addr()?;
        info!(
            threads = config.server.quic_threads,
            busy_poll = config.server.busy_poll,
            "QUIC served by threads of its own"
        );
        (Quic::Threads(threads), addr)
    };
    let s = &config.server;
    let public = Listen {
        name: "public",
        tls: https,
        plain_caller: plain_http_caller(s),
        caller_of: https_caller,
        max_connections: s.http_max_connections as usize,
        header_timeout: Duration::from_millis(s.http_header_timeout_ms),
        request_timeout: Duration::from_millis(s.http_request_timeout_ms),
    };
    let admin = Listen {
        name: "admin",
        tls: None,
        plain_caller: Caller::role(Role::Ops),
        max_connections: 64,
        ..public.clone()
    };
    let metrics = service.metrics.clone();
    let http_task =
        tokio::spawn(listen::serve(listener, http::router(service.clone()), public, metrics.clone(), stop.subscribe()));
    let admin_task = tokio::spawn(listen::serve(
        admin_listener,
        http::admin_router(service.clone()),
        admin,
        metrics,
        stop.subscribe(),
    ));
    info!(%quic_addr, %http_addr, %admin_addr, https = s.http_tls, "listening (QUIC ALPN endcap/1, HTTP/JSON, admin)");

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
        admin_addr,
        fingerprint,
        service,
        loading: Some(loading),
        stop,
        quic,
        http_tasks: [http_task, admin_task],
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
        for task in self.http_tasks {
            let _ = task.await;
        }
        match self.quic {
            Quic::Shared(endpoint) => quic::wait_idle(&endpoint).await,
            Quic::Threads(threads) => {
                let _ = tokio::task::spawn_blocking(move || threads.join()).await;
            }
        }
    }
}
