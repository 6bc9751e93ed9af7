//! QUIC transport: accepts connections, serves each bidirectional stream as a sequence of
//! length-prefixed request frames answered in order (PROTOCOL.md).
//!
//! A bad frame costs only its stream at worst (an oversize length cannot be resynchronised), never
//! the connection or other streams. Each stream owns its buffers (the operations' arguments, the
//! engine's scratch, the read buffer, the answers), so steady-state serving does not allocate.
//! Frames go to `Service::handle_frame` with the time they are taken up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{RecvStream, SendStream};
use tracing::{debug, info, warn};

use super::guards::{Guards, Peer, Slot};
use super::tls::ServerTls;
use crate::clock::Now;
use crate::config::ServerConfig;
use crate::metrics::{Limit, Transport};
use crate::ops::{OpId, State};
use crate::protocol::{self, ErrorCode};
use crate::runtime::{self, ThreadRuntime};
use crate::service::Service;

/// The QUIC server configuration: TLS, stream limits, flow-control windows (what one connection
/// may make the server hold), idle timeout; datagrams off (the protocol has none).
fn server_config(cfg: &ServerConfig, tls: ServerTls) -> anyhow::Result<quinn::ServerConfig> {
    let crypto = QuicServerConfig::try_from(tls.config)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    let varint = |v: u64| quinn::VarInt::from_u64(v).map_err(|e| anyhow::anyhow!("{e}"));
    transport
        .max_concurrent_bidi_streams(cfg.max_streams_per_connection.into())
        .max_concurrent_uni_streams(0u8.into())
        .receive_window(varint(cfg.connection_window_bytes)?)
        .stream_receive_window(varint(cfg.stream_window_bytes)?)
        .send_window(cfg.send_window_bytes)
        .datagram_receive_buffer_size(None)
        .max_idle_timeout(Some(Duration::from_millis(cfg.idle_timeout_ms).try_into()?));
    server.transport_config(Arc::new(transport));
    Ok(server)
}

/// The QUIC application error code for a stream ended by a limit (a reset or a stop).
const STREAM_LIMIT: u32 = 1;

/// The reason given to peers when the server closes its endpoints.
pub const SHUTTING_DOWN: &[u8] = b"server shutting down";

/// Waits (at most 2 s) for a closed endpoint's connections to finish closing.
pub async fn wait_idle(endpoint: &quinn::Endpoint) {
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
}

/// Binds the QUIC endpoint on the current runtime (`server.quic_threads = 0`).
pub fn endpoint(cfg: &ServerConfig, tls: ServerTls) -> anyhow::Result<quinn::Endpoint> {
    quinn::Endpoint::server(server_config(cfg, tls)?, cfg.quic_addr)
        .map_err(|e| anyhow::anyhow!("cannot bind QUIC on {}: {e}", cfg.quic_addr))
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
        guards: Arc<Guards>,
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
            let (service, guards, mut stopped, busy_poll) =
                (service.clone(), guards.clone(), stop.subscribe(), cfg.busy_poll);
            let thread = std::thread::Builder::new().name(format!("endcap-quic-{i}")).spawn(move || {
                thread_runtime.get().block_on(async move {
                    if busy_poll {
                        tokio::spawn(runtime::spin(stopped.clone()));
                    }
                    tokio::select! {
                        () = serve(endpoint.clone(), service, guards, i as u32) => {}
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
/// Connections over the cap are refused before their handshake.
pub async fn serve(endpoint: quinn::Endpoint, service: Arc<Service>, guards: Arc<Guards>, socket: u32) {
    service.metrics.quic_socket(socket);
    while let Some(incoming) = endpoint.accept().await {
        let Some(slot) = guards.connection_slot() else {
            service.metrics.limited(Limit::QuicConnections);
            if guards.log.due("quic_connections", Instant::now()) {
                warn!(max = guards.max_connections, "QUIC connection cap reached; refusing new connections");
            }
            incoming.refuse();
            continue;
        };
        let (service, guards) = (service.clone(), guards.clone());
        tokio::spawn(async move {
            let remote: SocketAddr = incoming.remote_address();
            match incoming.await {
                Ok(conn) => connection(conn, service, guards, socket, slot).await,
                Err(e) => debug!(%remote, "QUIC handshake failed: {e}"),
            }
        });
    }
}

/// Closes a connection with a reason the device can log (an application close, code 1).
fn close(conn: &quinn::Connection, reason: &str) {
    conn.close(1u8.into(), reason.as_bytes());
}

async fn connection(conn: quinn::Connection, service: Arc<Service>, guards: Arc<Guards>, socket: u32, _slot: Slot) {
    let remote = conn.remote_address();
    let peer = match guards.identify(&conn) {
        Ok(peer) => Arc::new(peer),
        Err((limit, reason)) => {
            service.metrics.limited(limit);
            if guards.log.due(&format!("{}:{}", limit.label(), remote.ip()), Instant::now()) {
                warn!(%remote, "QUIC connection refused: {reason}");
            }
            close(&conn, &reason);
            return;
        }
    };
    service.metrics.connection_opened(socket);
    let _open = Opened { service: &service, socket };
    let mut revocations = guards.revocations.generation.subscribe();
    loop {
        tokio::select! {
            accepted = conn.accept_bi() => match accepted {
                Ok((send, recv)) => {
                    tokio::spawn(stream(send, recv, service.clone(), guards.clone(), peer.clone()));
                }
                Err(e) => {
                    debug!(%remote, "QUIC connection ended: {e}");
                    break;
                }
            },
            Ok(()) = revocations.changed() => {
                if peer.device.as_deref().is_some_and(|d| guards.revocations.is_revoked(d)) {
                    service.metrics.limited(Limit::Revoked);
                    info!(device = peer.device.as_deref().unwrap_or(""), %remote, "device revoked; connection closed");
                    close(&conn, "device certificate revoked");
                    break;
                }
            }
        }
    }
}

/// Keeps `endcap_quic_connections` true even when a connection task is cancelled at shutdown.
struct Opened<'a> {
    service: &'a Service,
    socket: u32,
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        self.service.metrics.connection_closed(self.socket);
    }
}

/// Answers an unreadable frame, then ends the stream: after a bad length the byte stream cannot
/// be trusted to hold a frame boundary anywhere.
async fn refuse(mut send: SendStream, mut recv: RecvStream, service: &Service, code: ErrorCode, message: &str) {
    let now = Now::read();
    let mut out = Vec::new();
    let version = service.served_version();
    protocol::encode_error(&mut out, 0, &version, code, message);
    let _ = tokio::time::timeout(Duration::from_secs(1), send.write_all(&out)).await;
    let _ = send.finish();
    let _ = recv.stop(0u8.into());
    service.count_refused(Transport::Quic, OpId::Invalid, code, now);
}

/// Bytes a stream reads at a time (grown for a larger frame).
const READ_CHUNK: usize = 4096;
/// Bytes of answers a stream writes at once (one answer more at most).
const OUT_BATCH: usize = 64 << 10;

/// Serves one stream: reads what has arrived, answers every whole frame in it in order, and
/// writes those answers with one write. A device that pipelines gets one read and one write per
/// batch, not two reads and a write per request.
async fn stream(
    mut send: SendStream,
    mut recv: RecvStream,
    service: Arc<Service>,
    guards: Arc<Guards>,
    peer: Arc<Peer>,
) {
    let cfg = &service.config.server;
    let (max, write_timeout) = (cfg.max_frame_bytes, Duration::from_millis(cfg.write_timeout_ms));
    let frame_timeout = Duration::from_millis(cfg.frame_timeout_ms);
    let mut state = State::default();
    // The operations answered in this turn, and when the read that completed their frames
    // returned (for the arrival-to-write latency).
    let mut answered: Vec<u8> = Vec::with_capacity(64);
    let mut read_at = Instant::now();
    // Received bytes are `buf[..filled]`; they start at a frame boundary.
    let mut buf = vec![0u8; READ_CHUNK];
    let mut filled = 0;
    let mut out = Vec::with_capacity(1024);
    loop {
        out.clear();
        // Frames are answered until a batch of answers reaches `OUT_BATCH`; the rest wait for
        // the next turn, so a stream of small pipelined requests with large answers holds at most
        // one batch.
        answered.clear();
        let mut waiting = None;
        let (used, oversize) = protocol::split_frames_while(&buf[..filled], max, |payload| {
            let now = Now::read();
            let op = match peer.admit(now.at) {
                Ok(()) => {
                    let op = service.handle_frame(now, peer.caller, payload, &mut state, &mut out);
                    if state.pending.is_some() {
                        // The answer waits for the journal: stop here, so answers stay in order.
                        waiting = Some(now);
                        answered.push(op as u8);
                        return false;
                    }
                    op
                }
                Err((limit, wait)) => {
                    service.metrics.limited(limit);
                    guards.log_limit(&peer, limit, now.at);
                    let msg = "over the request rate for this device or connection; retry later";
                    let retry_ms = wait.as_millis().clamp(1, u32::MAX as u128) as u32;
                    service.refuse_frame(now, payload, ErrorCode::Overloaded, msg, retry_ms, &mut out)
                }
            };
            answered.push(op as u8);
            out.len() < OUT_BATCH
        });
        if let Some(now) = waiting {
            let _ = service.finish(Transport::Quic, now, peer.caller, &mut state, &mut out).await;
        }
        if !out.is_empty() {
            match tokio::time::timeout(write_timeout, send.write_all(&out)).await {
                Ok(Ok(())) => {
                    let took = read_at.elapsed();
                    for &op in &answered {
                        service.metrics.observe_total(Transport::Quic, op as usize, took);
                    }
                }
                Ok(Err(_)) => return,
                Err(_) => {
                    // The device does not read its answers: stop holding them for it.
                    service.metrics.limited(Limit::WriteTimeout);
                    guards.log_limit(&peer, Limit::WriteTimeout, Instant::now());
                    let _ = send.reset(STREAM_LIMIT.into());
                    let _ = recv.stop(STREAM_LIMIT.into());
                    return;
                }
            }
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
        // Whole frames left over from a full batch are answered before reading more.
        let need = protocol::frame_need(&buf[..filled]);
        if filled >= protocol::LEN_PREFIX && need <= filled {
            continue;
        }
        // What is left is an incomplete frame: make room for all of it (its length is within
        // `max`, checked above once its prefix arrived). Read at most a chunk beyond it, so one
        // batch of answers stays small whatever the buffer grew to.
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let end = need.max(filled + READ_CHUNK).min(buf.len());
        let read = recv.read(&mut buf[filled..end]);
        // Between frames a stream may idle (the connection's idle timeout governs); inside a frame
        // the rest must come within `frame_timeout`.
        let read = if filled == 0 {
            read.await
        } else {
            match tokio::time::timeout(frame_timeout, read).await {
                Ok(r) => r,
                Err(_) => {
                    service.metrics.limited(Limit::FrameTimeout);
                    guards.log_limit(&peer, Limit::FrameTimeout, Instant::now());
                    let msg = format!("a frame was left unfinished for {} ms", frame_timeout.as_millis());
                    return refuse(send, recv, &service, ErrorCode::MalformedRequest, &msg).await;
                }
            }
        };
        read_at = Instant::now();
        match read {
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
