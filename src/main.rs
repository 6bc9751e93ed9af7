//! The `endcap` command line: serve, build the demo store, inspect models, query a server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::{self, DemoSpec};
use endcap::engine::Mode;
use endcap::model;
use endcap::protocol::{RecommendRequest, response};
use endcap::server::{self, ModelSource};
use endcap::train::{self, TrainOptions};
use endcap::transport::json::{ItemJson, RecommendationJson};
use endcap::transport::tls::Trust;
use tracing::info;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "endcap", version, about = "In-memory recommendation server for physical stores")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve recommendations over QUIC and HTTP.
    Serve {
        /// Config file (default: config/endcap.toml if present).
        #[arg(long, env = "ENDCAP_CONFIG")]
        config: Option<PathBuf>,
        /// Model artifact to serve (overrides model.path).
        #[arg(long, env = "ENDCAP_MODEL")]
        model: Option<PathBuf>,
        /// QUIC listen address (overrides server.quic_addr).
        #[arg(long, env = "ENDCAP_QUIC_ADDR")]
        quic_addr: Option<std::net::SocketAddr>,
        /// HTTP listen address (overrides server.http_addr).
        #[arg(long, env = "ENDCAP_HTTP_ADDR")]
        http_addr: Option<std::net::SocketAddr>,
    },
    /// Write the synthetic demo store as CSV (the trainer's input) and/or as a model artifact.
    Demo {
        /// Directory for products.csv, purchases.csv and social.csv.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also build a model artifact from the planted vectors, at this path.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Preset size; --products and --customers override it.
        #[arg(long, value_enum, default_value_t = Scale::Default)]
        scale: Scale,
        /// Number of products.
        #[arg(long)]
        products: Option<usize>,
        /// Number of customers.
        #[arg(long)]
        customers: Option<usize>,
        /// Random seed; the same seed gives the same store.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Train a model from purchase and social data (CSV or Parquet) and publish it atomically.
    Train {
        /// Directory with products, purchases and (optional) social, each as NAME.csv or NAME.parquet.
        #[arg(long)]
        data: PathBuf,
        /// Where to publish the artifact (written to a temporary name, fsynced, renamed).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        train: TrainArgs,
        /// Refuse to train if any row is malformed (default: skip, count and report them), and
        /// refuse to publish a model that does not beat personal frequency in the self-check.
        #[arg(long)]
        strict: bool,
        /// Model version (default: train-<UTC time>).
        #[arg(long)]
        version: Option<String>,
    },
    /// Recommendations for a list of customers, as CSV on stdout (batch inference).
    RecommendBatch {
        /// The model artifact.
        #[arg(long)]
        model: PathBuf,
        /// File of customer ids, one per line.
        #[arg(long)]
        customers: PathBuf,
        /// Items per customer.
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Sources: mixed (buy again, discovery and taste, by probability), buy_again (only
        /// products bought before), discover (only products not bought before).
        #[arg(long, value_enum, default_value_t = ModeArg::Mixed)]
        mode: ModeArg,
        /// In mixed mode, at least this many products the customer has not bought.
        #[arg(long, default_value_t = 0)]
        min_discover: u32,
        /// The time of the visit, for buy-again due-ness: unix seconds or RFC 3339 (default: now).
        #[arg(long)]
        now: Option<String>,
        /// Add score, reason and explanation columns.
        #[arg(long)]
        explain: bool,
        /// Config with the rules to apply (default: config/endcap.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Offline evaluation: hold out each customer's last orders, fit on the rest, and compare the
    /// model's modes with baselines at each held-out basket (rolling origin).
    Eval {
        /// Directory with the training data, as for `train`.
        #[arg(long)]
        data: PathBuf,
        /// List length scored.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Held-out baskets per customer (the last ones), each predicted from the ones before.
        #[arg(long, default_value_t = 4)]
        holdout: usize,
        #[command(flatten)]
        train: TrainArgs,
        /// Config with the rules to apply (default: config/endcap.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Model artifact tools.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Ask a running server for recommendations over QUIC.
    Query {
        /// Server address, host:port.
        #[arg(long, default_value = "127.0.0.1:4433")]
        server: String,
        /// Pin the server certificate by SHA-256 (hex; logged by the server at start).
        #[arg(long, conflicts_with = "insecure", required_unless_present = "insecure")]
        cert_sha256: Option<String>,
        /// Accept any server certificate (local testing only).
        #[arg(long)]
        insecure: bool,
        /// Customer id ("" for an anonymous shopper).
        #[arg(long, default_value = "")]
        customer: String,
        /// Zone name.
        #[arg(long, default_value = "")]
        zone: String,
        /// Aisle name.
        #[arg(long, default_value = "")]
        aisle: String,
        /// Product id in the basket (repeat for several).
        #[arg(long)]
        basket: Vec<String>,
        /// Number of items (0 = server default).
        #[arg(long, default_value_t = 0)]
        k: u32,
        /// Print the same JSON as the HTTP API instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Training settings shared by `train` and `eval`.
#[derive(clap::Args)]
struct TrainArgs {
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// ALS iterations.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Confidence per (recency-weighted) purchase.
    #[arg(long, default_value_t = 10.0)]
    alpha: f32,
    /// L2 regularisation.
    #[arg(long, default_value_t = 0.5)]
    lambda: f32,
    /// Recency half-life of ALS confidence, in each customer's own orders (0 = no decay).
    #[arg(long, default_value_t = 8.0)]
    decay_orders: f64,
    /// Pull of a customer's social signals on their vector (0 = ignore signals).
    #[arg(long, default_value_t = 2.0)]
    signal_weight: f32,
    /// Customer segments.
    #[arg(long, default_value_t = 24)]
    segments: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip the held-out self-check against the baselines (`train`; `--strict` needs it).
    #[arg(long)]
    no_self_check: bool,
}

impl TrainArgs {
    fn options(&self, version: Option<String>) -> anyhow::Result<TrainOptions> {
        if let Some(n) = self.threads {
            rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("--threads")?;
        }
        Ok(TrainOptions {
            dim: self.dim,
            iterations: self.iterations,
            alpha: self.alpha,
            lambda: self.lambda,
            decay_orders: self.decay_orders,
            self_check: !self.no_self_check,
            signal_weight: self.signal_weight,
            segments: self.segments,
            seed: self.seed,
            version: version.unwrap_or_default(),
            ..TrainOptions::default()
        })
    }
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Print an artifact's manifest (and validate the whole file with --check).
    Inspect {
        /// The artifact.
        path: PathBuf,
        /// Also map and fully validate the body.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Buy again, discovery and taste, merged by probability.
    Mixed,
    /// Only products bought before.
    #[value(name = "buy_again")]
    BuyAgain,
    /// Only products not bought before.
    Discover,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Mixed => Mode::Mixed,
            ModeArg::BuyAgain => Mode::BuyAgain,
            ModeArg::Discover => Mode::Discover,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Scale {
    /// 5,000 products, 20,000 customers.
    Default,
    /// 50,000 products, 1,000,000 customers.
    #[value(name = "store-1m")]
    Store1m,
}

fn init_logging() {
    let filter: tracing_subscriber::filter::Targets = std::env::var("ENDCAP_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| "info".parse().expect("valid filter"));
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi))
        .with(filter)
        .init();
}

fn main() -> ExitCode {
    init_logging();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("endcap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        b.worker_threads(workers);
    }
    Ok(b.enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, model, quic_addr, http_addr } => {
            let mut cfg = Config::load(config.as_deref())?;
            if let Some(m) = model {
                cfg.model.path = m;
                cfg.model.demo_when_missing = false;
            }
            cfg.server.quic_addr = quic_addr.unwrap_or(cfg.server.quic_addr);
            cfg.server.http_addr = http_addr.unwrap_or(cfg.server.http_addr);
            runtime(cfg.server.workers)?.block_on(serve(cfg))
        }
        Command::Demo { out, model, scale, products, customers, seed } => {
            if out.is_none() && model.is_none() {
                bail!("say where to write the demo store: --out DIR (CSV) and/or --model PATH (artifact)");
            }
            let base = match scale {
                Scale::Default => DemoSpec::default(),
                Scale::Store1m => DemoSpec::store_1m(),
            };
            let spec = DemoSpec {
                products: products.unwrap_or(base.products),
                customers: customers.unwrap_or(base.customers),
                seed,
                ..base
            };
            demo_command(&spec, out.as_deref(), model.as_deref())
        }
        Command::Train { data, out, train, strict, version } => {
            train::run::train_command(&data, &out, &train.options(version)?, strict)
        }
        Command::Eval { data, k, holdout, train, config, json } => {
            let cfg = Config::load(config.as_deref())?;
            train::run::eval_command(&data, &cfg, &train.options(None)?, k, holdout, json)
        }
        Command::RecommendBatch { model, customers, k, mode, min_discover, now, explain, config } => {
            let cfg = Config::load(config.as_deref())?;
            let now_unix_s = match now {
                Some(t) => {
                    endcap::data::parse_ts(&t).with_context(|| format!("--now {t:?}: not unix seconds or RFC 3339"))?
                }
                None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64,
            };
            let batch = train::run::BatchOptions { k, mode: mode.into(), min_discover, now_unix_s, explain };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let (n, unknown) = train::run::recommend_batch(&model, &customers, &cfg, &batch, &mut out)?;
            info!(customers = n, unknown, "recommended (unknown customers get popular products)");
            Ok(())
        }
        Command::Model { command: ModelCommand::Inspect { path, check } } => {
            let manifest = model::read_manifest(&path)?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            if check {
                let started = Instant::now();
                let m = model::Model::load(&path)?;
                eprintln!("valid: {} bytes checked in {} ms", m.size_bytes(), started.elapsed().as_millis());
            }
            Ok(())
        }
        Command::Query { server, cert_sha256, insecure, customer, zone, aisle, basket, k, json } => {
            let trust = match (cert_sha256, insecure) {
                (Some(hex), _) => Trust::pinned(&hex)?,
                (None, _) => Trust::Insecure,
            };
            let request = RecommendRequest { customer, zone, aisle, basket, k };
            runtime(1)?.block_on(query(&server, trust, request, json))
        }
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let mut running = server::start(cfg, ModelSource::Configured).await?;
    tokio::select! {
        r = running.ready() => r.map_err(|e| anyhow::anyhow!(e))?,
        _ = shutdown_signal() => {
            running.shutdown().await;
            return Ok(());
        }
    }
    shutdown_signal().await;
    info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn demo_command(spec: &DemoSpec, out: Option<&Path>, model_path: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = demo::generate(spec);
    info!(
        products = spec.products,
        customers = spec.customers,
        took_ms = started.elapsed().as_millis() as u64,
        "generated the demo store"
    );
    if let Some(dir) = out {
        let t = Instant::now();
        let summary = store.write_csv(dir).with_context(|| format!("writing the demo store to {}", dir.display()))?;
        info!(dir = %dir.display(), took_ms = t.elapsed().as_millis() as u64, "wrote {summary:?}");
    }
    if let Some(path) = model_path {
        let t = Instant::now();
        let artifact = model::build(&store.model_input())?;
        artifact.write_atomic(path)?;
        info!(
            path = %path.display(),
            bytes = artifact.manifest.body_len,
            recall_at_10 = artifact.manifest.index.recall_at_10,
            nprobe = artifact.manifest.index.nprobe,
            took_ms = t.elapsed().as_millis() as u64,
            "wrote the demo model"
        );
    }
    Ok(())
}

async fn query(server: &str, trust: Trust, request: RecommendRequest, json: bool) -> anyhow::Result<()> {
    let mut client = Client::connect(server, trust).await?;
    let answer = client.recommend(request).await?;
    client.close().await;
    let rec = match answer.result {
        Some(response::Result::Recommendation(r)) => r,
        Some(response::Result::Error(e)) => bail!("server refused: {} ({})", e.message, e.code().as_str_name()),
        other => bail!("unexpected answer: {other:?}"),
    };
    if json {
        let doc = RecommendationJson {
            model_version: answer.model_version.as_str().into(),
            items: rec
                .items
                .iter()
                .map(|i| ItemJson {
                    product_id: i.product_id.as_str().into(),
                    name: i.name.as_str().into(),
                    aisle: i.aisle.as_str().into(),
                    score: i.score,
                    reason: i.reason.as_str().into(),
                })
                .collect(),
            took_us: rec.took_us,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("model {}  ({} items, {} us in the server)", answer.model_version, rec.items.len(), rec.took_us);
    println!("{:>3}  {:<8}  {:<40}  {:<24}  {:>8}  reason", "#", "product", "name", "aisle", "score");
    for (i, item) in rec.items.iter().enumerate() {
        println!(
            "{:>3}  {:<8}  {:<40}  {:<24}  {:>8.3}  {}",
            i + 1,
            item.product_id,
            clip(&item.name, 40),
            clip(&item.aisle, 24),
            item.score,
            item.reason
        );
    }
    Ok(())
}

/// `s` cut to at most `width` characters, marking the cut with `~`.
fn clip(s: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= width {
        return s.into();
    }
    let mut cut: String = s.chars().take(width - 1).collect();
    cut.push('~');
    cut.into()
}
