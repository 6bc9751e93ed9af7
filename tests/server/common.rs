//! The shared test server and small clients for it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::protocol::{RecommendRequest, Response, response};
use endcap::server::{self, ModelSource};
use endcap::service::Service;
use endcap::transport::tls::Trust;

/// A server started once per test binary.
pub struct TestServer {
    pub quic: String,
    pub http: SocketAddr,
    pub admin: SocketAddr,
    pub fingerprint: String,
    pub service: Arc<Service>,
    pub config: Config,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// The shipped config (zones, rules) on ephemeral loopback ports.
pub fn test_config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let mut config = Config::load(Some(&path)).expect("shipped config is valid");
    config.server.quic_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.http_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.admin_addr = "127.0.0.1:0".parse().expect("addr");
    config.events.journal_dir = endcap::journal::scratch_dir("test");
    // The tests send as fast as one connection can; the rate limits have tests of their own.
    config.server.rate_per_connection = 0.0;
    // No file watch, and a path that never exists: a SIGHUP sent by the reload tests must not
    // swap a model under the shared server.
    config.model.watch = false;
    config.model.path = std::env::temp_dir().join("endcap-tests-no-such-dir/none.endcap");
    config
}

/// The shared server, serving the default demo store.
pub fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            rt.block_on(async move {
                let config = test_config();
                let mut running = server::start(
                    config.clone(),
                    ModelSource::made(|| endcap::train::demo_model(&DemoSpec::default())),
                )
                .await
                .expect("server starts");
                running.ready().await.expect("demo model loads");
                tx.send(TestServer {
                    quic: running.quic_addr.to_string(),
                    http: running.http_addr,
                    admin: running.admin_addr,
                    fingerprint: running.fingerprint.clone(),
                    service: running.service.clone(),
                    config,
                })
                .expect("test thread waits");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("server thread reports")
    })
}

/// Runs `f` on a fresh single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// A QUIC client pinned to the test server's certificate.
pub async fn client() -> Client {
    let s = server();
    Client::connect(&s.quic, Trust::pinned(&s.fingerprint).expect("fingerprint")).await.expect("connects")
}

/// A recommend request.
pub fn rec(customer: &str, zone: &str, aisle: &str, k: u32) -> RecommendRequest {
    RecommendRequest { customer: customer.into(), zone: zone.into(), aisle: aisle.into(), k, ..Default::default() }
}

/// The recommendation in an answer, or a panic naming what came instead.
pub fn items(answer: &Response) -> &endcap::protocol::Recommendation {
    match &answer.result {
        Some(response::Result::Recommendation(r)) => r,
        other => panic!("expected a recommendation, got {other:?}"),
    }
}

/// The error in an answer.
pub fn error(answer: &Response) -> &endcap::protocol::Error {
    match &answer.result {
        Some(response::Result::Error(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// One HTTP/1.1 request to the shared server over a fresh TCP connection; returns (status, body).
pub fn http(method: &str, path: &str, body: &str) -> (u16, String) {
    http_to(server().http, method, path, "", body)
}

/// One HTTP/1.1 request to `addr`; `headers` are extra header lines, each ending in CRLF.
pub fn http_to(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http_with_head(addr, method, path, headers, body);
    (status, body)
}

/// As [`http_to`], also returning the response's head (status line and headers).
pub fn http_with_head(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect HTTP");
    // `headers` may name the Host itself.
    let names_host = headers.lines().any(|l| l.to_ascii_lowercase().starts_with("host:"));
    let host = if names_host { String::new() } else { format!("Host: {addr}\r\n") };
    let req = format!(
        "{method} {path} HTTP/1.1\r\n{host}{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_string() };
    (status, head.to_string(), body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// The value of a metric line (exact label text) in a /metrics body, or 0.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

/// A test's outside tool (`msg` says which) is missing: it fails when `require` is set in the
/// environment (CI sets it), else says so loudly and lets `test` pass without running.
pub fn skip_unless_required(require: &str, test: &str, msg: &str) {
    assert!(std::env::var_os(require).is_none(), "{require} is set and there is {msg}");
    eprintln!("\n!!!!!!!!!!!!!!!!\n!!! SKIPPED: {test}: {msg}\n!!!!!!!!!!!!!!!!\n");
}

/// A fresh directory under the system temp dir, unique in this process, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("endcap-it-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
