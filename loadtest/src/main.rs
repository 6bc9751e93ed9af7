//! `endcap-loadtest`: see `lib.rs` and the README's "Load testing" section.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use endcap::protocol::response;
use endcap::transport::tls::{ClientIdentity, Trust};
use endcap_loadtest::run::Pacer;
use endcap_loadtest::{Mix, OpChoice, RunSpec, Summary, Transport, Universe, Workload, WorkloadSpec, parse_duration};

/// Open-loop load generator for endcap: requests leave at a fixed rate and each latency is
/// measured from its intended send time. Loopback and test servers only.
#[derive(Parser, Debug)]
#[command(name = "endcap-loadtest", version)]
struct Args {
    /// Server address: the QUIC port, or the HTTP port with --http.
    #[arg(long)]
    server: String,
    /// Skip certificate verification (test servers).
    #[arg(long, conflicts_with = "cert_sha256")]
    insecure: bool,
    /// Pin the server certificate by its SHA-256 (the fingerprint the server logs).
    #[arg(long, value_name = "HEX")]
    cert_sha256: Option<String>,
    /// Device certificate to present (servers with a store CA; `endcap ca issue`).
    #[arg(long, requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// The device certificate's private key.
    #[arg(long, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Send the same load as HTTP/1.1 JSON instead of QUIC.
    #[arg(long)]
    http: bool,
    /// Connections (simulated devices).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// QUIC streams per connection, each a long-lived pipelined stream (HTTP: TCP connections per
    /// device).
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Requests per second over all connections (the start rate with --sweep).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Measured time per run (or per sweep step).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Time before the measured window whose requests are sent but not timed.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// How long to wait for answers after the schedule ends; what is still owed is a TIMEOUT.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    drain: Duration,
    /// What to send.
    #[arg(long, value_enum, default_value_t = Op::Recommend)]
    op: Op,
    /// Device classes of --op mix, as relative weights.
    #[arg(long, default_value = "screen=40,beacon=40,checkout=20")]
    mix: Mix,
    /// Customer ids, one per line (default: the demo store's ids, counted from the model).
    #[arg(long, value_name = "FILE")]
    customers_from: Option<PathBuf>,
    /// Share of requests from shoppers the model does not know (recommend, screen, checkout).
    #[arg(long, default_value_t = 0.05)]
    unknown_share: f64,
    /// `k` for --op recommend.
    #[arg(long, default_value_t = 5)]
    k: u32,
    /// Events per batch for --op events.
    #[arg(long, default_value_t = 10)]
    events_batch: usize,
    /// Share of --op mix's beacons and screens that report an event (zone entry, view) instead
    /// of asking for recommendations.
    #[arg(long, default_value_t = 0.25)]
    event_share: f64,
    /// Share of --op mix's asking screens that order their shelf (rerank) instead of asking for
    /// the zone's recommendations.
    #[arg(long, default_value_t = 0.3)]
    rerank_share: f64,
    /// Share of --op mix's checkout terminals that ask what goes with the basket (complete)
    /// instead of a recommendation.
    #[arg(long, default_value_t = 0.5)]
    complete_share: f64,
    /// Seed for drawing the requests.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Write a PNG chart (latency over time and by percentile).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Raise the rate step by step until p99 goes over --p99-target-us (or answers fall behind
    /// or errors appear); report the highest rate that held.
    #[arg(long)]
    sweep: bool,
    /// Rate multiplier between sweep steps.
    #[arg(long, default_value_t = 1.25)]
    sweep_factor: f64,
    /// Highest rate a sweep tries.
    #[arg(long, default_value_t = 1_000_000.0)]
    sweep_max: f64,
    /// The p99 a sweep step must stay under, microseconds.
    #[arg(long, default_value_t = 1000)]
    p99_target_us: u64,
    /// How the pacer waits: `sleep` (its own thread, no CPU while idle, as punctual as the OS
    /// wakes it) or `spin` (a task on the generator runtime that busy-polls: punctual, and the
    /// runtime never sleeps, but one core stays busy).
    #[arg(long, value_enum, default_value_t = PacerArg::Sleep)]
    pacer: PacerArg,
    /// Generator runtime threads (the pacer has its own thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Publish a model every SECS during the run (needs --reload-files and --reload-path): the
    /// files are hard-linked in turn to a temporary name beside --reload-path and renamed over
    /// it, as `endcap train` publishes, so a server watching that path swaps models under load.
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    reload_every: Option<Duration>,
    /// Model artifacts to publish in turn.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    reload_files: Vec<PathBuf>,
    /// The server's model path.
    #[arg(long, value_name = "PATH")]
    reload_path: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PacerArg {
    Sleep,
    Spin,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ping,
    Recommend,
    Mix,
    /// Event batches only (`--events-batch` events each).
    Events,
}

fn main() {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    };
    let result = runtime.context("starting the runtime").and_then(|rt| rt.block_on(main_async(args)));
    if let Err(e) = result {
        eprintln!("endcap-loadtest: {e:#}");
        std::process::exit(1);
    }
}

async fn main_async(args: Args) -> anyhow::Result<()> {
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(ClientIdentity::load(cert, key)?),
        _ => None,
    };
    let transport = if args.http {
        Transport::Http
    } else if args.insecure {
        Transport::Quic(Trust::Insecure, identity)
    } else if let Some(hex) = &args.cert_sha256 {
        Transport::Quic(Trust::pinned(hex)?, identity)
    } else {
        bail!("QUIC needs --cert-sha256 HEX (the fingerprint the server logs) or --insecure");
    };
    let (products, customers) = model_counts(&args, &transport).await?;
    let mut universe = Universe::demo(customers, products);
    if let Some(path) = &args.customers_from {
        universe.customers = read_ids(path)?;
    }
    let op = match args.op {
        Op::Ping => OpChoice::Ping,
        Op::Recommend => OpChoice::Recommend,
        Op::Mix => OpChoice::Mix,
        Op::Events => OpChoice::Events,
    };
    let spec = WorkloadSpec {
        op,
        mix: args.mix,
        unknown_share: args.unknown_share.clamp(0.0, 1.0),
        k: args.k,
        requests: endcap_loadtest::workload::DEFAULT_REQUESTS,
        events_batch: args.events_batch.clamp(1, 256),
        event_share: args.event_share.clamp(0.0, 1.0),
        rerank_share: args.rerank_share.clamp(0.0, 1.0),
        complete_share: args.complete_share.clamp(0.0, 1.0),
        seed: args.seed,
    };
    let workload = Arc::new(Workload::generate(&spec, &universe).map_err(anyhow::Error::msg)?);
    let mut run = RunSpec {
        server: args.server.clone(),
        transport,
        connections: args.connections,
        streams: args.streams,
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        drain: args.drain,
        op: format!("{:?}", args.op).to_lowercase(),
        pacer: match args.pacer {
            PacerArg::Sleep => Pacer::Sleep,
            PacerArg::Spin => Pacer::Spin,
        },
        keep_samples: args.plot.is_some(),
    };
    let _publisher = match args.reload_every {
        Some(every) => Some(Publisher::start(every, &args.reload_files, args.reload_path.as_deref())?),
        None => None,
    };

    if !args.sweep {
        let summary = endcap_loadtest::run(&run, workload).await?;
        if let Some(path) = &args.plot {
            endcap_loadtest::plot::write(&summary, path)?;
        }
        if args.json {
            println!("{}", summary.to_json());
        } else {
            print!("{}", summary.to_text());
        }
        return Ok(());
    }

    anyhow::ensure!(args.sweep_factor > 1.0, "--sweep-factor must be above 1");
    let mut steps: Vec<Summary> = Vec::new();
    let mut best: Option<usize> = None;
    while run.rate <= args.sweep_max {
        let summary = endcap_loadtest::run(&run, workload.clone()).await?;
        let held = summary.held(args.p99_target_us);
        eprint!("{:<7}{}", if held { "held" } else { "FAILED" }, indent(&summary.to_text()));
        steps.push(summary);
        if !held {
            break;
        }
        // Only the best step is plotted: free the samples of the one it replaces.
        if let Some(previous) = best {
            steps[previous].stats.samples = Vec::new();
        }
        best = Some(steps.len() - 1);
        run.rate = (run.rate * args.sweep_factor).round().max(run.rate + 1.0);
    }
    if let (Some(path), Some(i)) = (&args.plot, best) {
        endcap_loadtest::plot::write(&steps[i], path)?;
    }
    let best_rate = best.map(|i| steps[i].offered_rate);
    if args.json {
        let v = serde_json::json!({
            "p99_target_us": args.p99_target_us,
            "max_rate_held": best_rate,
            "best": best.map(|i| steps[i].to_json()),
            "steps": steps.iter().map(Summary::to_json).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        match best_rate {
            Some(r) => println!("highest rate with p99 < {} us: {r:.0} requests/s", args.p99_target_us),
            None => println!("no rate held p99 < {} us (started at {:.0}/s)", args.p99_target_us, args.rate),
        }
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().enumerate().map(|(i, l)| if i == 0 { format!("{l}\n") } else { format!("       {l}\n") }).collect()
}

/// Products and customers in the served model, to draw demo ids from.
async fn model_counts(args: &Args, transport: &Transport) -> anyhow::Result<(u64, u64)> {
    match transport {
        Transport::Http => {
            let v = endcap_loadtest::run::http_get_json(&args.server, "/v1/model").await?;
            let count = |k: &str| v[k].as_u64().with_context(|| format!("/v1/model has no `{k}`"));
            Ok((count("products")?, count("customers")?))
        }
        Transport::Quic(trust, identity) => {
            let mut client = endcap::client::Client::connect_as(&args.server, trust.clone(), identity.as_ref())
                .await
                .with_context(|| format!("connecting to {}", args.server))?;
            let answer = client.model_info().await?;
            client.close().await;
            match answer.result {
                Some(response::Result::ModelInfo(info)) => Ok((info.products, info.customers)),
                Some(response::Result::Error(e)) => bail!("model_info refused: {}", e.message),
                other => bail!("unexpected answer to model_info: {other:?}"),
            }
        }
    }
}

fn read_ids(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ids: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    anyhow::ensure!(!ids.is_empty(), "{} has no ids", path.display());
    Ok(ids)
}

/// Publishes model files in turn on a background thread until dropped.
struct Publisher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Publisher {
    fn start(every: Duration, files: &[PathBuf], target: Option<&Path>) -> anyhow::Result<Publisher> {
        let target = target.context("--reload-every needs --reload-path (the server's model path)")?.to_path_buf();
        anyhow::ensure!(files.len() >= 2, "--reload-every needs two or more --reload-files A,B to publish in turn");
        for f in files {
            anyhow::ensure!(f.is_file(), "{} is not a file", f.display());
        }
        // Files are published in a circle, so the last is followed by the first; a file published
        // over itself would change nothing on the server while being reported as a reload.
        let real = files.iter().map(|f| f.canonicalize()).collect::<std::io::Result<Vec<_>>>()?;
        for (i, f) in real.iter().enumerate() {
            let next = (i + 1) % real.len();
            anyhow::ensure!(
                *f != real[next],
                "--reload-files: {} would follow itself (files are published in turn, the first again after the last)",
                files[next].display()
            );
        }
        anyhow::ensure!(every >= Duration::from_millis(100), "--reload-every must be at least 100ms");
        let files = files.to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let tmp = target.with_extension("loadtest-publish");
            let mut next = std::time::Instant::now() + every;
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                if std::time::Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                next += every;
                let file = &files[i % files.len()];
                i += 1;
                let _ = std::fs::remove_file(&tmp);
                let published = std::fs::hard_link(file, &tmp)
                    .or_else(|_| std::fs::copy(file, &tmp).map(|_| ()))
                    .and_then(|()| std::fs::rename(&tmp, &target));
                match published {
                    Ok(()) => eprintln!("published {} at {}", file.display(), target.display()),
                    Err(e) => eprintln!("could not publish {}: {e}", file.display()),
                }
            }
        });
        Ok(Publisher { stop, thread: Some(thread) })
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publisher_refuses_a_file_that_would_follow_itself() {
        let dir = std::env::temp_dir().join(format!("endcap-publisher-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        for f in [&a, &b, &c] {
            std::fs::write(f, b"x").expect("write");
        }
        let target = dir.join("current");
        let every = Duration::from_secs(60);
        // Next to itself, and next to itself across the wrap from the last back to the first.
        for bad in [
            vec![a.clone(), a.clone()],
            vec![a.clone(), b.clone(), a.clone()],
            vec![a.clone(), b.clone(), c, a.clone()],
        ] {
            assert!(Publisher::start(every, &bad, Some(&target)).is_err(), "{bad:?}");
        }
        let same_file_other_name = dir.join(".").join("a");
        assert!(Publisher::start(every, &[a.clone(), b.clone(), same_file_other_name], Some(&target)).is_err());
        drop(Publisher::start(every, &[a, b], Some(&target)).expect("A,B is fine"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
