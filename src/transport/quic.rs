//! QUIC transport: accepts connections, serves each bidirectional stream as a sequence of
//! length-prefixed request frames answered in order (PROTOCOL.md).
//!
//! A bad frame costs only its stream at worst (an oversize length cannot be resynchronised), never
//! the connection or other streams. Each stream owns its buffers (the operations' arguments, the
//! engine's scratch, the read buffer, the answers), so steady-state serving does not allocate.
//! Frames go to `Service::handle_frame` with the time they are taken up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{RecvStream, SendStream};
use tracing::debug;

use super::tls::ServerTls;
use crate::clock::Now;
use crate::config::ServerConfig;
use crate::metrics::Transport;
use crate::ops::{OpId, State};
use crate::protocol::{self, ErrorCode};
use crate::runtime::{self, ThreadRuntime};
use crate::service::Service;

/// The QUIC server configuration: TLS, stream limits, idle timeout.
fn server_config(cfg: &ServerConfig, tls: ServerTls) -> anyhow::Result<quinn::ServerConfig> {
    let crypto = QuicServerConfig::try_from(tls.config)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(cfg.max_streams_per_connection.into())
        .max_concurrent_uni_streams(0u8.into())
        .max_idle_timeout(Some(Duration::from_millis(cfg.idle_timeout_ms).try_into()?));
    server.transport_config(Arc::new(transport));
    Ok(server)
}

/// The reason given to peers when the server closes its endpoints.
pub const SHUTTING_DOWN: &[u8] = b"server shutting down";

/// Waits (at most 2 s) for a closed endpoint's connections to finish closing.
pub async fn wait_idle(endpoint: &quinn::Endpoint) {
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
}

/// Binds the QUIC endpoint on the current runtime (`server.quic_threads = 0`).
pub fn endpoint(cfg: &ServerConfig, tls: ServerTls) -> anyhow::Result<quinn::Endpoint> {
    Ok(quinn::Endpoint::server(server_config(cfg, tls)?, cfg.quic_addr)?)
}

/// QUIC served by threads of its own (`server.quic_threads = N`): each thread runs a
/// single-threaded runtime with its own endpoint on its own `SO_REUSEPORT` socket, so a
/// connection's packets, streams and requests never cross threads. The kernel picks the socket by
/// the client's address, so a device whose address changes mid-connection reaches another
/// endpoint, which does not know the connection: all endpoints share one reset key, so that
/// endpoint's stateless reset is one the device accepts at once, instead of waiting for an idle
/// timeout; the device must then reconnect (endcap's own client does not do so by itself).
pub struct Threads {
    endpoints: Vec<quinn::Endpoint>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Threads {
    /// Binds `cfg.quic_threads` sockets to `cfg.quic_addr` (the first decides the port when it is
    /// 0) and starts a thread per socket. Each serves until `stop` turns true or its sender is
    /// dropped; with `busy_poll` each thread's runtime never sleeps.
    pub fn start(
        cfg: &ServerConfig,
        tls: ServerTls,
        service: Arc<Service>,
        stop: &tokio::sync::watch::Sender<bool>,
    ) -> anyhow::Result<Self> {
        let server = server_config(cfg, tls)?;
        let endpoint_config = quinn::EndpointConfig::default();
        // A plain bind first: `SO_REUSEPORT` would let these sockets join sockets another process
        // holds on the port (splitting its clients with us) instead of failing. The probe also
        // picks the port when the config says 0.
        let addr = std::net::UdpSocket::bind(cfg.quic_addr)
            .and_then(|probe| probe.local_addr())
            .map_err(|e| anyhow::anyhow!("cannot bind QUIC on {}: {e}", cfg.quic_addr))?;
        let mut endpoints = Vec::with_capacity(cfg.quic_threads);
        let mut threads = Vec::with_capacity(cfg.quic_threads);
        for i in 0..cfg.quic_threads {
            let socket = reuse_port_socket(addr).map_err(|e| {
                anyhow::anyhow!("cannot bind QUIC socket {} of {} on {addr}: {e}", i + 1, cfg.quic_threads)
            })?;
            // The endpoint is made here, inside its runtime's context, so that its socket and
            // driver task belong to that runtime; the thread then runs the runtime.
            let thread_runtime = ThreadRuntime::new()?;
            let endpoint = {
                let _context = thread_runtime.get().enter();
                let tokio_runtime = Arc::new(quinn::TokioRuntime);
                quinn::Endpoint::new(endpoint_config.clone(), Some(server.clone()), socket, tokio_runtime)?
            };
            endpoints.push(endpoint.clone());
            let (service, mut stopped, busy_poll) = (service.clone(), stop.subscribe(), cfg.busy_poll);
            let thread = std::thread::Builder::new().name(format!("endcap-quic-{i}")).spawn(move || {
                thread_runtime.get().block_on(async move {
                    if busy_poll {
                        tokio::spawn(runtime::spin(stopped.clone()));
                    }
                    tokio::select! {
                        () = serve(endpoint.clone(), service, i as u32) => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                    endpoint.close(0u8.into(), SHUTTING_DOWN);
                    wait_idle(&endpoint).await;
                })
            })?;
            threads.push(thread);
        }
        Ok(Self { endpoints, threads })
    }

    /// The bound address (the same for every socket).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoints[0].local_addr()
    }

    /// Open connections per socket.
    pub fn open_connections(&self) -> Vec<usize> {
        self.endpoints.iter().map(|e| e.open_connections()).collect()
    }

    /// Waits for every thread to end (after `stop` has turned true or been dropped).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A non-blocking UDP socket bound to `addr` with `SO_REUSEPORT`, so that further sockets can
/// bind the same address and the kernel balances clients over them.
fn reuse_port_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Accepts connections until the endpoint is closed; `socket` numbers the endpoint in metrics.
pub async fn serve(endpoint: quinn::Endpoint, service: Arc<Service>, socket: u32) {
    service.metrics.quic_socket(socket);
    while let Some(incoming) = endpoint.accept().await {
        let service = service.clone();
        tokio::spawn(async move {
            let remote: SocketAddr = incoming.remote_address();
            match incoming.await {
                Ok(conn) => connection(conn, service, socket).await,
                Err(e) => debug!(%remote, "QUIC handshake failed: {e}"),
            }
        });
    }
}

async fn connection(conn: quinn::Connection, service: Arc<Service>, socket: u32) {
    service.metrics.connection_opened(socket);
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(stream(send, recv, service.clone()));
            }
            Err(e) => {
                debug!(remote = %conn.remote_address(), "QUIC connection ended: {e}");
                break;
            }
        }
    }
    service.metrics.connection_closed(socket);
}

/// Answers an unreadable frame, then ends the stream: after a bad length the byte stream cannot
/// be trusted to hold a frame boundary anywhere.
async fn refuse(mut send: SendStream, mut recv: RecvStream, service: &Service, code: ErrorCode, message: &str) {
    let now = Now::read();
    let mut out = Vec::new();
    let version = service.served_version();
    protocol::encode_error(&mut out, 0, &version, code, message);
    let _ = send.write_all(&out).await;
    let _ = send.finish();
    let _ = recv.stop(0u8.into());
    service.count_refused(Transport::Quic, OpId::Invalid, code, now);
}

/// Bytes a stream reads at a time (grown for a larger frame).
const READ_CHUNK: usize = 4096;

/// Serves one stream: reads what has arrived, answers every whole frame in it in order, and
/// writes those answers with one write. A device that pipelines gets one read and one write per
/// batch, not two reads and a write per request.
async fn stream(mut send: SendStream, mut recv: RecvStream, service: Arc<Service>) {
    let max = service.config.server.max_frame_bytes;
    let mut state = State::default();
    // Received bytes are `buf[..filled]`; they start at a frame boundary.
    let mut buf = vec![0u8; READ_CHUNK];
    let mut filled = 0;
    let mut out = Vec::with_capacity(1024);
    loop {
        out.clear();
        let (used, oversize) = protocol::split_frames(&buf[..filled], max, |payload| {
            service.handle_frame(Now::read(), payload, &mut state, &mut out);
        });
        if !out.is_empty() && send.write_all(&out).await.is_err() {
            return;
        }
        if let Some(e) = oversize {
            return refuse(send, recv, &service, ErrorCode::FrameTooLarge, &e.to_string()).await;
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        // After a large frame, go back to the usual buffer.
        if filled == 0 && buf.len() > READ_CHUNK {
            buf.truncate(READ_CHUNK);
            buf.shrink_to_fit();
        }
        // What is left is an incomplete frame: make room for all of it (its length is within
        // `max`, checked above once its prefix arrived). Read at most a chunk beyond it, so one
        // batch of answers stays small whatever the buffer grew to.
        let need = protocol::frame_need(&buf[..filled]);
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let end = need.max(filled + READ_CHUNK).min(buf.len());
        match recv.read(&mut buf[filled..end]).await {
            Ok(Some(n)) => filled += n,
            Ok(None) => break,
            Err(_) => return,
        }
    }
    if filled == 0 {
        let _ = send.finish();
        return;
    }
    let msg = match buf[..filled].first_chunk::<{ protocol::LEN_PREFIX }>() {
        None => "stream ended inside a frame length prefix".to_string(),
        Some(p) => {
            format!("stream ended {} bytes into a {}-byte frame", filled - protocol::LEN_PREFIX, u32::from_be_bytes(*p))
        }
    };
    refuse(send, recv, &service, ErrorCode::MalformedRequest, &msg).await
}
