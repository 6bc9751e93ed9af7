//! The TCP side of HTTP: accepts connections up to a cap, optionally over TLS (reading the
//! client's device identity from its certificate), serves each with hyper's HTTP/1.1 under a
//! header time limit (which also closes idle keep-alive connections) and a per-request time limit,
//! and drains on shutdown. Every refusal is counted (`endcap_limited_total`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::debug;

use crate::metrics::{Limit, Metrics};
use crate::ops::Caller;

/// When a request's head was parsed: the start of its arrival-to-answer latency.
#[derive(Debug, Clone, Copy)]
pub struct Arrived(pub std::time::Instant);

/// The request came over TLS (else plain HTTP).
#[derive(Debug, Clone, Copy)]
pub struct OverTls(pub bool);

/// Who is on a connection and how it came.
#[derive(Debug, Clone, Copy)]
struct Peer {
    caller: Caller,
    tls: bool,
    remote: SocketAddr,
}

/// How one listener serves.
#[derive(Clone)]
pub struct Listen {
    /// Name for logs (`public`, `admin`).
    pub name: &'static str,
    /// TLS with client-certificate reading, or plain TCP.
    pub tls: Option<TlsAcceptor>,
    /// The caller of a plain-TCP request (TLS requests get theirs from the certificate).
    pub plain_caller: Caller,
    /// Resolves a verified client certificate to a caller.
    pub caller_of: fn(&rustls::ServerConnection) -> Caller,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Time to receive a request's headers, and the idle limit of a kept-alive connection.
    pub header_timeout: Duration,
    /// Time to receive a request's body and answer it.
    pub request_timeout: Duration,
}

/// Accepts on `listener` and serves `router` until `stop` turns true (or its sender is dropped),
/// then lets open connections finish their requests (at most `request_timeout`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    how: Listen,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(how.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (tcp, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: count it, back off briefly, keep serving.
                metrics.limited(Limit::HttpAccept);
                debug!(listener = how.name, "HTTP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.limited(Limit::HttpConnections);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (how, router, metrics) = (how.clone(), router.clone(), metrics.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            match how.tls.clone() {
                None => {
                    let peer = Peer { caller: how.plain_caller, tls: false, remote };
                    serve_connection(TokioIo::new(tcp), router, peer, &how, &metrics, watcher).await;
                }
                Some(acceptor) => match tokio::time::timeout(how.header_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let peer = Peer { caller: (how.caller_of)(stream.get_ref().1), tls: true, remote };
                        serve_connection(TokioIo::new(stream), router, peer, &how, &metrics, watcher).await;
                    }
                    Ok(Err(e)) => {
                        metrics.limited(Limit::HttpHandshake);
                        debug!(listener = how.name, %remote, "HTTPS handshake failed: {e}");
                    }
                    Err(_) => metrics.limited(Limit::HttpHandshake),
                },
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    router: Router,
    peer: Peer,
    how: &Listen,
    metrics: &Arc<Metrics>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let request_timeout = how.request_timeout;
    let timeouts = metrics.clone();
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(peer.caller);
        req.extensions_mut().insert(OverTls(peer.tls));
        req.extensions_mut().insert(Arrived(std::time::Instant::now()));
        let (router, timeouts) = (router.clone(), timeouts.clone());
        async move {
            match tokio::time::timeout(request_timeout, router.oneshot(req)).await {
                Ok(answer) => answer,
                Err(_) => {
                    timeouts.limited(Limit::HttpRequestTimeout);
                    Ok(timed_out(request_timeout))
                }
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(how.header_timeout).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        if e.is_timeout() {
            metrics.limited(Limit::HttpHeaderTimeout);
        }
        debug!(listener = how.name, remote = %peer.remote, "HTTP connection ended: {e}");
    }
}

/// The answer to a request that took longer than `limit`.
fn timed_out(limit: Duration) -> Response {
    let body = serde_json::json!({
        "model_version": "",
        "error": { "code": "REQUEST_TIMEOUT", "message": format!("the request was not received and answered within {} ms", limit.as_millis()) },
    });
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONTENT_TYPE, "application/json"), (header::CONNECTION, "close")],
        body.to_string(),
    )
        .into_response()
}
