//! The event journal's write path: group commit under each fsync policy, with several tokio
//! tasks appending 1-record and 64-record batches of 120-byte payloads concurrently (closed loop:
//! each task waits for its acknowledgement before its next append). Criterion reports events/s;
//! then a Markdown table of events/s and acknowledgement latency (p50, p99, max) from fixed 3 s
//! runs, including many tasks with one event each (many devices at once).
//!
//! ```text
//! cargo bench --bench journal
//! ENDCAP_BENCH_JOURNAL_DIR=/mnt/disk cargo bench --bench journal   # journal elsewhere (default: temp dir)
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use endcap::journal::{Batch, FsyncPolicy, Journal, JournalConfig};

const PAYLOAD_BYTES: usize = 120;
const POLICIES: [FsyncPolicy; 3] = [FsyncPolicy::Always, FsyncPolicy::IntervalMs(5), FsyncPolicy::Never];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A fresh journal directory for one case.
fn scratch(tag: &str) -> PathBuf {
    let base = std::env::var_os("ENDCAP_BENCH_JOURNAL_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let tag: String = tag.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let dir = base.join(format!("endcap-bench-journal-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &PathBuf, fsync: FsyncPolicy) -> Arc<Journal> {
    Arc::new(Journal::open(JournalConfig { fsync, ..JournalConfig::new(dir) }).expect("journal opens"))
}

fn batch_of(records: usize) -> Batch {
    let mut batch = Batch::with_capacity(records, records * PAYLOAD_BYTES);
    for i in 0..records {
        batch.push(&[i as u8; PAYLOAD_BYTES]).expect("push");
    }
    batch
}

/// `tasks` tasks each make `appends` appends of `batch`; returns the elapsed time and every
/// acknowledgement's latency in microseconds.
async fn run(journal: &Arc<Journal>, tasks: usize, batch: usize, appends: Until) -> (Duration, Vec<u32>) {
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let journal = Arc::clone(journal);
        handles.push(tokio::spawn(async move {
            let batch = batch_of(batch);
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while appends.more(n, start) {
                let t = Instant::now();
                journal.append(&batch).await.expect("append");
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                n += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("task"));
    }
    (start.elapsed(), all)
}

/// How long each task keeps appending.
#[derive(Debug, Clone, Copy)]
enum Until {
    Count(u64),
    Elapsed(Duration),
}

impl Until {
    fn more(&self, n: u64, start: Instant) -> bool {
        match *self {
            Until::Count(c) => n < c,
            Until::Elapsed(d) => start.elapsed() < d,
        }
    }
}

fn throughput(c: &mut Criterion) {
    const TASKS: usize = 8;
    let rt = runtime();
    for policy in POLICIES {
        let mut g = c.benchmark_group(format!("journal/{policy}"));
        g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        for batch in [1usize, 64] {
            let dir = scratch(&format!("{policy}-{batch}"));
            let journal = open(&dir, policy);
            g.throughput(Throughput::Elements((TASKS * batch) as u64));
            g.bench_function(format!("{TASKS}_tasks_x_batch_{batch}"), |b| {
                b.iter_custom(|iters| rt.block_on(run(&journal, TASKS, batch, Until::Count(iters))).0)
            });
            drop(journal);
            let _ = std::fs::remove_dir_all(&dir);
        }
        g.finish();
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0)
}

/// Fixed-duration runs: events/s and acknowledgement latency.
fn latency_table() {
    let rt = runtime();
    println!("\n| policy | tasks x batch | events/s | appends/s | ack p50 us | ack p99 us | ack max us |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for policy in POLICIES {
        for (tasks, batch) in [(8usize, 1usize), (8, 64), (256, 1)] {
            let dir = scratch(&format!("latency-{policy}-{tasks}-{batch}"));
            let journal = open(&dir, policy);
            let (took, mut lat) = rt.block_on(run(&journal, tasks, batch, Until::Elapsed(Duration::from_secs(3))));
            drop(journal);
            let _ = std::fs::remove_dir_all(&dir);
            lat.sort_unstable();
            let appends = lat.len() as f64 / took.as_secs_f64();
            println!(
                "| {policy} | {tasks} x {batch} | {:.0} | {:.0} | {} | {} | {} |",
                appends * batch as f64,
                appends,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                lat.last().copied().unwrap_or(0)
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c);
    c.final_summary();
    // Only under `cargo bench` (not in criterion's test mode, `cargo test --benches`).
    if std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test" || a == "--list") {
        latency_table();
    }
}
