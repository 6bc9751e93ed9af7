//! QUIC transport: accepts connections, serves each bidirectional stream as a sequence of
//! length-prefixed request frames answered in order (PROTOCOL.md).
//!
//! A bad frame costs only its stream at worst (an oversize length cannot be resynchronised), never
//! the connection or other streams. Each stream owns its buffers (request message, scratch,
//! payload, answer), so steady-state serving does not allocate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{ReadExactError, RecvStream, SendStream};
use tracing::debug;

use super::tls::ServerTls;
use crate::config::ServerConfig;
use crate::engine::Scratch;
use crate::metrics::{Op, Transport};
use crate::protocol::{self, ErrorCode, Request};
use crate::service::Service;

/// Binds the QUIC endpoint.
pub fn endpoint(cfg: &ServerConfig, tls: ServerTls) -> anyhow::Result<quinn::Endpoint> {
    let crypto = QuicServerConfig::try_from(tls.config)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(cfg.max_streams_per_connection.into())
        .max_concurrent_uni_streams(0u8.into())
        .max_idle_timeout(Some(Duration::from_millis(cfg.idle_timeout_ms).try_into()?));
    server.transport_config(Arc::new(transport));
    Ok(quinn::Endpoint::server(server, cfg.quic_addr)?)
}

/// Accepts connections until the endpoint is closed.
pub async fn serve(endpoint: quinn::Endpoint, service: Arc<Service>) {
    while let Some(incoming) = endpoint.accept().await {
        let service = service.clone();
        tokio::spawn(async move {
            let remote: SocketAddr = incoming.remote_address();
            match incoming.await {
                Ok(conn) => connection(conn, service).await,
                Err(e) => debug!(%remote, "QUIC handshake failed: {e}"),
            }
        });
    }
}

async fn connection(conn: quinn::Connection, service: Arc<Service>) {
    service.metrics.connection_opened();
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
    service.metrics.connection_closed();
}

/// Answers an unreadable frame, then ends the stream: after a bad length the byte stream cannot
/// be trusted to hold a frame boundary anywhere.
async fn refuse(mut send: SendStream, mut recv: RecvStream, service: &Service, code: ErrorCode, message: &str) {
    let started = Instant::now();
    let mut out = Vec::new();
    let version = service.engine().map(|e| e.version().to_string()).unwrap_or_default();
    protocol::encode_error(&mut out, 0, &version, code, message);
    let _ = send.write_all(&out).await;
    let _ = send.finish();
    let _ = recv.stop(0u8.into());
    service.metrics.record(Transport::Quic, Op::Invalid, Some(code), started.elapsed());
}

async fn stream(mut send: SendStream, mut recv: RecvStream, service: Arc<Service>) {
    let max = service.config.server.max_frame_bytes;
    let mut req = Request::default();
    let mut scratch = Scratch::default();
    let mut payload = Vec::new();
    let mut out = Vec::with_capacity(1024);
    loop {
        let mut prefix = [0u8; protocol::LEN_PREFIX];
        match recv.read_exact(&mut prefix).await {
            Ok(()) => {}
            Err(ReadExactError::FinishedEarly(0)) => break,
            Err(ReadExactError::FinishedEarly(_)) => {
                let msg = "stream ended inside a frame length prefix";
                return refuse(send, recv, &service, ErrorCode::MalformedRequest, msg).await;
            }
            Err(ReadExactError::ReadError(_)) => return,
        }
        let len = match protocol::frame_len(prefix, max) {
            Ok(len) => len,
            Err(e) => return refuse(send, recv, &service, ErrorCode::FrameTooLarge, &e.to_string()).await,
        };
        payload.resize(len, 0);
        match recv.read_exact(&mut payload).await {
            Ok(()) => {}
            Err(ReadExactError::FinishedEarly(got)) => {
                let msg = format!("stream ended {got} bytes into a {len}-byte frame");
                return refuse(send, recv, &service, ErrorCode::MalformedRequest, &msg).await;
            }
            Err(ReadExactError::ReadError(_)) => return,
        }
        out.clear();
        service.handle_frame(&payload, &mut req, &mut scratch, &mut out);
        if send.write_all(&out).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
}
