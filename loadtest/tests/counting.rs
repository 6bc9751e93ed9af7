//! The generator counts what happens: every scheduled request is sent and answered once, error
//! answers are counted by code, the achieved rate follows the offered one. Against a real server
//! on loopback, over real QUIC and HTTP. (Latency numbers belong in BENCHMARKS.md, not here.)

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::protocol::{Ping, RecommendRequest, request};
use endcap::server::{self, ModelSource};
use endcap::transport::tls::Trust;
use endcap_loadtest::run::Pacer;
use endcap_loadtest::{Class, RunSpec, Summary, Transport, Workload};

struct Server {
    quic: String,
    http: String,
    version: String,
}

/// The shipped config on ephemeral loopback ports, without a model file or watch.
fn config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/endcap.toml");
    let mut config = Config::load(Some(&path)).expect("shipped config");
    config.server.quic_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.http_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.admin_addr = "127.0.0.1:0".parse().expect("addr");
    config.events.journal_dir = endcap::journal::scratch_dir("test");
    config.model.watch = false;
    config.model.path = std::env::temp_dir().join("endcap-loadtest-no-such-dir/none.endcap");
    config
}

fn small_store() -> DemoSpec {
    DemoSpec { products: 600, customers: 1_500, ..DemoSpec::default() }
}

/// One small demo server per test binary, on its own runtime thread.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
            rt.block_on(async move {
                let mut running =
                    server::start(config(), ModelSource::made(|| endcap::train::demo_model(&small_store())))
                        .await
                        .expect("starts");
                running.ready().await.expect("model loads");
                let version = running.service.engine().expect("engine").version().to_string();
                let quic = running.quic_addr.to_string();
                tx.send(Server { quic, http: running.http_addr.to_string(), version }).expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv_timeout(Duration::from_secs(300)).expect("server starts")
    })
}

fn spec(transport: Transport, rate: f64, connections: usize, streams: usize) -> RunSpec {
    let s = server();
    RunSpec {
        server: if matches!(transport, Transport::Http) { s.http.clone() } else { s.quic.clone() },
        transport,
        connections,
        streams,
        rate,
        duration: Duration::from_secs(1),
        warmup: Duration::ZERO,
        drain: Duration::from_secs(5),
        op: "test".into(),
        pacer: Default::default(),
        keep_samples: false,
    }
}

fn run(spec: &RunSpec, workload: Workload) -> Summary {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(endcap_loadtest::run(spec, Arc::new(workload))).expect("run")
}

fn recommend(customer: &str, zone: &str) -> request::Op {
    request::Op::Recommend(RecommendRequest {
        customer: customer.into(),
        zone: zone.into(),
        k: 5,
        ..Default::default()
    })
}

#[test]
fn quic_every_request_is_sent_and_answered_once_at_the_offered_rate() {
    let workload = Workload::of((0..50).map(|c| (Class::Recommend, recommend(&format!("c{c}"), ""))).collect());
    let s = run(&spec(Transport::Quic(Trust::Insecure, None), 400.0, 2, 2), workload);
    let st = &s.stats;
    assert_eq!((st.scheduled, st.sent, st.ok), (400, 400, 400), "{}", s.to_text());
    assert_eq!(st.error_total(), 0, "{:?}", st.errors);
    assert_eq!(st.latency.len(), 400, "every answer timed");
    assert_eq!(st.by_class[Class::Recommend.index()].len(), 400);
    assert_eq!(st.versions.get(&server().version), Some(&400), "{:?}", st.versions);
    let achieved = s.achieved_rate();
    assert!(achieved > 0.9 * 400.0, "achieved {achieved}/s for 400/s offered");
}

#[test]
fn quic_error_answers_are_counted_by_code() {
    let ops = vec![(Class::Screen, recommend("c1", "no-such-zone")), (Class::Ping, request::Op::Ping(Ping {}))];
    let s = run(&spec(Transport::Quic(Trust::Insecure, None), 300.0, 1, 3), Workload::of(ops));
    let st = &s.stats;
    assert_eq!(st.scheduled, 300);
    assert_eq!(st.errors.get("UNKNOWN_ZONE"), Some(&150), "{:?}", st.errors);
    assert_eq!(st.errors.len(), 1, "{:?}", st.errors);
    assert_eq!(st.ok, 150, "the pings");
    assert_eq!(st.by_class[Class::Ping.index()].len(), 150);
    assert!(!s.held(1_000_000), "a run with errors does not hold");
}

#[test]
fn http_counts_the_same_way() {
    let ops = vec![
        (Class::Screen, recommend("c1", "no-such-zone")),
        (Class::Recommend, recommend("c2", "")),
        (Class::Ping, request::Op::Ping(Ping {})),
    ];
    let s = run(&spec(Transport::Http, 300.0, 2, 1), Workload::of(ops));
    let st = &s.stats;
    assert_eq!((st.scheduled, st.sent), (300, 300));
    assert_eq!(st.errors.get("UNKNOWN_ZONE"), Some(&100), "{:?}", st.errors);
    assert_eq!(st.ok, 200);
    assert_eq!(st.versions.values().sum::<u64>(), 300, "every answer names its model");
    let achieved = s.achieved_rate();
    assert!(achieved > 0.9 * 300.0, "achieved {achieved}/s for 300/s offered");
}

#[test]
fn the_command_line_prints_the_json_summary() {
    let s = server();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_endcap-loadtest"))
        .args(["--server", &s.quic, "--insecure", "--op", "mix", "--rate", "200", "--duration", "1s"])
        .args(["--warmup", "0s", "--connections", "2", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["p50_us", "p99_us", "p999_us", "max_us", "errors", "offered_rate", "achieved_rate"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["scheduled"], 200);
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["classes"]["screen"]["count"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["classes"]["checkout"]["count"].as_u64().unwrap_or(0) > 0, "{v}");

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_endcap-loadtest"))
        .args(["--server", &s.quic, "--duration", "1s"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--cert-sha256"), "says how to trust the server");
}

#[test]
fn a_busy_polling_quic_thread_and_the_polling_pacer_count_the_same() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    rt.block_on(async {
        // QUIC on one thread of its own that never sleeps, and a pacer that never sleeps.
        let mut config = config();
        config.server.busy_poll = true;
        config.server.quic_threads = 1;
        let mut running = server::start(config, ModelSource::made(|| endcap::train::demo_model(&small_store())))
            .await
            .expect("starts");
        running.ready().await.expect("model loads");
        let mut spec = spec(Transport::Quic(Trust::Insecure, None), 300.0, 2, 1);
        spec.server = running.quic_addr.to_string();
        spec.pacer = Pacer::Spin;
        let workload =
            Workload::of(vec![(Class::Recommend, recommend("c3", "")), (Class::Ping, request::Op::Ping(Ping {}))]);
        let s = endcap_loadtest::run(&spec, Arc::new(workload)).await.expect("run");
        assert_eq!((s.stats.scheduled, s.stats.sent, s.stats.ok), (300, 300, 300), "{}", s.to_text());
        assert_eq!(s.stats.error_total(), 0);
        running.shutdown().await;
    });
}
