//! Hot reload under load: how long from publishing a model to serving it, and what swaps do to
//! request latency, against the same load without swaps.
//!
//! ```text
//! cargo bench --bench reload                              # store-1m (50,000 x 1,000,000)
//! ENDCAP_BENCH_SCALE=default cargo bench --bench reload   # 5,000 x 20,000
//! ENDCAP_RELOAD_MODELS=a.endcap,b.endcap cargo bench --bench reload   # two given artifacts
//! ```
//!
//! Without `ENDCAP_RELOAD_MODELS`, A and B are demo-store models built from planted vectors (seeds
//! 42 and 43, cached in `target/bench-data/`); trained models are larger (repeat statistics).
//!
//! A real server (shipped config, loopback, ephemeral ports, the file watch with its default
//! debounce) serves model A. Four QUIC clients in this process ask `recommend` in a closed loop
//! (a new request as soon as the last one is answered; half of them zone-filtered) for a steady
//! phase, then for a phase in which A and B are published alternately once a second, by hard link
//! and rename as a trainer would publish. Publish-to-serving = rename to the first moment the
//! service serves the new version (polled every 0.5 ms). Closed-loop latencies understate stalls
//! (coordinated omission); the load generator (`loadtest/`) measures open-loop. Markdown on stdout.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::DemoSpec;
use endcap::model::read_manifest;
use endcap::protocol::{RecommendRequest, response};
use endcap::server::{self, ModelSource};
use endcap::transport::tls::Trust;

mod common;

const CLIENTS: usize = 4;
const PHASE: Duration = Duration::from_secs(10);
const SWAP_EVERY: Duration = Duration::from_secs(1);

fn publish(from: &Path, to: &Path) {
    let tmp = to.with_extension("publishing");
    let _ = std::fs::remove_file(&tmp);
    std::fs::hard_link(from, &tmp).expect("hard link (same file system)");
    std::fs::rename(&tmp, to).expect("rename");
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Latencies (us) of one closed-loop client until `stop`; counts failures.
async fn client(
    quic: String,
    fingerprint: String,
    seed: usize,
    customers: usize,
    stop: Arc<AtomicBool>,
) -> (Vec<u32>, u64) {
    let mut c = Client::connect(&quic, Trust::pinned(&fingerprint).expect("fingerprint")).await.expect("connects");
    let (mut took, mut failed) = (Vec::new(), 0u64);
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        i = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let zone = if i >> 40 & 1 == 0 { "fresh" } else { "" };
        let r = RecommendRequest {
            customer: format!("c{}", (i >> 20) % customers),
            zone: zone.into(),
            k: 5,
            ..RecommendRequest::default()
        };
        let t = Instant::now();
        match c.recommend(r).await {
            Ok(a) if matches!(a.result, Some(response::Result::Recommendation(_))) => {
                took.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32)
            }
            _ => failed += 1,
        }
    }
    c.close().await;
    (took, failed)
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let (spec, mut scale) = common::scale("store-1m");
    let (a, b) = match std::env::var("ENDCAP_RELOAD_MODELS") {
        Ok(list) => {
            let (a, b) = list.split_once(',').expect("ENDCAP_RELOAD_MODELS=A,B");
            scale = format!("{scale} ({a}, {b})");
            (std::path::PathBuf::from(a), std::path::PathBuf::from(b))
        }
        Err(_) => (
            common::cached_model(&spec, &scale),
            common::cached_model(&DemoSpec { seed: spec.seed + 1, ..spec }, &scale),
        ),
    };
    let (va, vb) = (read_manifest(&a).expect("A").model_version, read_manifest(&b).expect("B").model_version);
    let bytes = std::fs::metadata(&a).map(|m| m.len()).unwrap_or(0);
    // Beside A: publishing is a hard link, so it must be on the same file system.
    let dir = a.parent().expect("dir").join(format!("reload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("current.endcap");
    publish(&a, &path);

    let config_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let mut config = Config::load(Some(&config_path)).expect("shipped config");
    config.server.quic_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.http_addr = "127.0.0.1:0".parse().expect("addr");
    config.server.admin_addr = "127.0.0.1:0".parse().expect("addr");
    config.events.journal_dir = endcap::journal::scratch_dir("test");
    config.model.path = path.clone();
    let debounce = config.model.watch_debounce_ms;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let mut running = server::start(config, ModelSource::Configured { demo: None }).await.expect("server starts");
        running.ready().await.expect("model A loads");
        let service = running.service.clone();
        let customers = spec.customers;
        let rss_start = rss_mb();

        let mut phases = Vec::new();
        let mut swaps = Vec::new();
        for swapping in [false, true] {
            let stop = Arc::new(AtomicBool::new(false));
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|n| {
                    let (q, f) = (running.quic_addr.to_string(), running.fingerprint.clone());
                    tokio::spawn(client(q, f, n * 7919 + 1, customers, stop.clone()))
                })
                .collect();
            let started = Instant::now();
            if swapping {
                let mut next_is_b = true;
                while started.elapsed() < PHASE {
                    tokio::time::sleep(SWAP_EVERY).await;
                    let (from, want) = if next_is_b { (&b, &vb) } else { (&a, &va) };
                    let t = Instant::now();
                    publish(from, &path);
                    while service.engine().is_none_or(|e| e.version() != want.as_str()) {
                        assert!(t.elapsed() < Duration::from_secs(30), "swap to {want} never happened");
                        tokio::time::sleep(Duration::from_micros(500)).await;
                    }
                    let serving = t.elapsed();
                    let info = service.model_info(&service.engine().expect("serving"));
                    swaps.push((serving, Duration::from_micros(info.last_load_us)));
                    next_is_b = !next_is_b;
                }
            } else {
                tokio::time::sleep(PHASE).await;
            }
            stop.store(true, Ordering::Relaxed);
            let (mut took, mut failed) = (Vec::new(), 0);
            for t in tasks {
                let (l, f) = t.await.expect("client task");
                took.extend(l);
                failed += f;
            }
            took.sort_unstable();
            phases.push((if swapping { "swapping every 1 s" } else { "steady" }, took, failed, started.elapsed()));
        }
        let rss_end = rss_mb();

        println!("## Reload under load, scale `{scale}`\n");
        println!(
            "Artifact {:.0} MB; {CLIENTS} closed-loop QUIC clients (recommend k 5, half zone-filtered); file watch \
             debounce {debounce} ms; {} swaps.\n",
            bytes as f64 / 1e6,
            swaps.len()
        );
        println!("| phase | requests | req/s | failed | p50 us | p99 us | p99.9 us | max us |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (name, took, failed, elapsed) in &phases {
            println!(
                "| {name} | {} | {:.0} | {failed} | {} | {} | {} | {} |",
                took.len(),
                took.len() as f64 / elapsed.as_secs_f64(),
                pct(took, 0.5),
                pct(took, 0.99),
                pct(took, 0.999),
                took.last().copied().unwrap_or(0)
            );
        }
        let ratio = pct(&phases[1].1, 0.99) as f64 / pct(&phases[0].1, 0.99).max(1) as f64;
        println!("\np99 while swapping / steady p99: {ratio:.2}\n");
        let mut serving: Vec<f64> = swaps.iter().map(|s| s.0.as_secs_f64() * 1e3).collect();
        let mut load: Vec<f64> = swaps.iter().map(|s| s.1.as_secs_f64() * 1e3).collect();
        serving.sort_by(f64::total_cmp);
        load.sort_by(f64::total_cmp);
        let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
        println!(
            "Publish (rename) to serving: median {:.0} ms, max {:.0} ms, of which the debounce is {debounce} ms; \
             load + validate + index + swap: median {:.0} ms, max {:.0} ms. RSS {:.0} MB before the swaps, {:.0} MB after.",
            med(&serving),
            serving.last().copied().unwrap_or(0.0),
            med(&load),
            load.last().copied().unwrap_or(0.0),
            rss_start,
            rss_end
        );
        running.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}
