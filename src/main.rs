//! The `endcap` command line: serve, the demo store, train, eval, batch recommendations, model
//! inspection, and queries to a running server. The binary's edge: it sets up logging and the
//! runtime, turns errors into messages (`anyhow`, used elsewhere only by server start-up), and
//! hands the server the built-in demo store (the server itself does not link the trainer).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use endcap::client::Client;
use endcap::config::Config;
use endcap::demo::{self, DemoSpec};
use endcap::model;
use endcap::ops::json::{ItemJson, RecommendationJson};
use endcap::protocol::{RecommendRequest, response};
use endcap::server::{self, ModelSource};
use endcap::train::{self, TrainOptions};
use endcap::transport::tls::{ClientIdentity, Trust};
use tracing::info;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "endcap", version, about = "In-memory recommendation server for physical stores")]
struct Cli {
    /// Log lines as text (for people) or JSON, one object per line (for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "ENDCAP_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (tracing's JSON layer).
    Json,
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
        /// Refuse to train if any row is malformed (default: skip, count and report them).
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
        /// Leave out products the customer already bought.
        #[arg(long)]
        new_only: bool,
        /// Config with the rules to apply (default: config/endcap.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Offline evaluation: hold out each customer's last order, train on the rest, compare.
    Eval {
        /// Directory with the training data, as for `train`.
        #[arg(long)]
        data: PathBuf,
        /// List length scored.
        #[arg(long, default_value_t = 10)]
        k: usize,
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
    /// The store's certificate authority: device identities for mutual TLS.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Event journal tools.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `endcap man > endcap.1`.
    Man,
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
        /// This device's certificate (servers with a store CA; `endcap ca issue` makes it).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The device certificate's private key.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
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
    /// Recency half-life in days (0 = no decay).
    #[arg(long, default_value_t = 180.0)]
    decay_days: f64,
    /// Pull of a customer's social signals on their vector (0 = ignore signals).
    #[arg(long, default_value_t = 2.0)]
    signal_weight: f32,
    /// Customer segments.
    #[arg(long, default_value_t = 24)]
    segments: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
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
            decay_days: self.decay_days,
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

#[derive(Subcommand)]
enum JournalCommand {
    /// List a journal's records (sequence, time, kind, ids), verifying every checksum.
    Inspect {
        /// The journal directory (`events.journal_dir`).
        dir: PathBuf,
        /// One JSON object per record instead of a table.
        #[arg(long)]
        json: bool,
        /// Start at this sequence number.
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Make a CA (key and certificate) in a folder; give its ca.pem to servers as server.client_ca.
    Init {
        /// Folder for ca.pem, ca.key (private) and ca.name.
        #[arg(long, default_value = "ca")]
        dir: PathBuf,
        /// The store's name, in the CA certificate.
        #[arg(long, default_value = "store")]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issue a device certificate with its name and role (what it may call, SECURITY.md).
    Issue {
        /// The CA folder (`ca init`).
        #[arg(long, default_value = "ca")]
        dir: PathBuf,
        /// Device name (letters, digits, '-', '_', '.'); revocation lists name it.
        #[arg(long)]
        device: String,
        /// screen, beacon, terminal or ops.
        #[arg(long, value_parser = parse_role)]
        role: endcap::ca::Role,
        /// Folder for DEVICE.pem and DEVICE.key.
        #[arg(long, default_value = "ca/devices")]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
}

fn parse_role(s: &str) -> Result<endcap::ca::Role, String> {
    endcap::ca::Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: screen, beacon, terminal or ops"))
}

#[derive(Clone, Copy, ValueEnum)]
enum Scale {
    /// 5,000 products, 20,000 customers.
    Default,
    /// 50,000 products, 1,000,000 customers.
    #[value(name = "store-1m")]
    Store1m,
}

/// Logs to stderr as `format`, filtered by `ENDCAP_LOG` (or `RUST_LOG`): `info` by default,
/// `warn,endcap::live=debug` style per module.
fn init_logging(format: LogFormat) {
    let spec = std::env::var("ENDCAP_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    let filter: tracing_subscriber::filter::Targets = match spec.parse() {
        Ok(f) if !spec.is_empty() => f,
        _ => "info".parse().expect("valid filter"),
    };
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).init(),
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal();
            registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi)).init()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("endcap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(endcap::runtime::multi_thread(workers)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, model, quic_addr, http_addr } => {
            let (mut cfg, origin) = Config::load_with_origin(config.as_deref())?;
            cfg.resolve_admin_token(std::env::var("ENDCAP_ADMIN_TOKEN").ok())?;
            info!(config = %origin, zones = cfg.zones.len(), rules = cfg.rules.len(), "configuration");
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
        Command::Eval { data, k, train, config, json } => {
            let cfg = Config::load(config.as_deref())?;
            train::run::eval_command(&data, &cfg, &train.options(None)?, k, json)
        }
        Command::RecommendBatch { model, customers, k, new_only, config } => {
            let cfg = Config::load(config.as_deref())?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let (n, unknown) = train::run::recommend_batch(&model, &customers, &cfg, k, new_only, &mut out)?;
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
        Command::Query { server, cert_sha256, insecure, cert, key, customer, zone, aisle, basket, k, json } => {
            let trust = match (cert_sha256, insecure) {
                (Some(hex), _) => Trust::pinned(&hex)?,
                (None, _) => Trust::Insecure,
            };
            let identity = match (cert, key) {
                (Some(c), Some(k)) => Some(ClientIdentity::load(&c, &k)?),
                _ => None,
            };
            let request = RecommendRequest { customer, zone, aisle, basket, k };
            runtime(1)?.block_on(query(&server, trust, identity, request, json))
        }
        Command::Journal { command: JournalCommand::Inspect { dir, json, from } } => journal_inspect(&dir, json, from),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "endcap", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Ca { command: CaCommand::Init { dir, name, days } } => {
            endcap::ca::init(&dir, &name, days)?;
            eprintln!(
                "CA written to {}: give ca.pem to servers (server.client_ca), keep ca.key private",
                dir.display()
            );
            Ok(())
        }
        Command::Ca { command: CaCommand::Issue { dir, device, role, out, days } } => {
            let (cert, key) = endcap::ca::issue(&dir, &device, role, &out, days)?;
            eprintln!("{device} ({role}): {} and {}", cert.display(), key.display());
            Ok(())
        }
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let demo: server::Builder = Box::new(|| train::demo_model(&DemoSpec::default()));
    let mut running = server::start(cfg, ModelSource::Configured { demo: Some(demo) }).await?;
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

async fn query(
    server: &str,
    trust: Trust,
    identity: Option<ClientIdentity>,
    request: RecommendRequest,
    json: bool,
) -> anyhow::Result<()> {
    let connect = Client::connect_as(server, trust, identity.as_ref());
    let mut client = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(client) => client?,
        Err(_) => bail!("no QUIC answer from {server} within 5 s: is endcap serving there (server.quic_addr)?"),
    };
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

/// `endcap journal inspect`: every record from `from`, verified, as a table or JSON lines; the
/// summary (and a torn tail, if any) on stderr.
fn journal_inspect(dir: &Path, json: bool, from: u64) -> anyhow::Result<()> {
    use endcap::shoppers::JournalRecord;
    use prost::Message;
    use std::io::Write;
    let mut reader = endcap::journal::Reader::open(dir, from)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !json {
        writeln!(
            out,
            "{:>10}  {:<24}  {:<11}  {:<16}  {:<16}  {:<12}",
            "seq", "time (UTC)", "kind", "customer/session", "product", "zone/order"
        )?;
    }
    let mut n = 0u64;
    while let Some(r) = reader.next_record()? {
        n += 1;
        let rec = JournalRecord::decode(r.payload)
            .map_err(|e| anyhow::anyhow!("record {} is not a JournalRecord: {e}", r.seq))?;
        let (kind, who, product, place) = match (&rec.event, &rec) {
            (Some(e), _) => {
                let who = if e.customer.is_empty() { format!("session:{}", e.session) } else { e.customer.clone() };
                let place = if e.zone.is_empty() { e.order.clone() } else { e.zone.clone() };
                (e.kind().name().to_string(), who, e.product.clone(), place)
            }
            (None, r) if !r.forget.is_empty() => ("forget".into(), r.forget.clone(), String::new(), String::new()),
            (None, r) if !r.opt_out.is_empty() => ("opt_out".into(), r.opt_out.clone(), String::new(), String::new()),
            (None, r) => ("opt_in".into(), r.opt_in.clone(), String::new(), String::new()),
        };
        let time = utc(r.unix_us / 1_000_000);
        if json {
            let doc = serde_json::json!({
                "seq": r.seq, "unix_us": r.unix_us, "ts_ms": rec.ts_ms, "kind": kind, "shopper": who,
                "product": product, "zone_or_order": place,
            });
            writeln!(out, "{doc}")?;
        } else {
            writeln!(
                out,
                "{:>10}  {:<24}  {:<11}  {:<16}  {:<16}  {:<12}",
                r.seq,
                time,
                kind,
                clip(&who, 16),
                clip(&product, 16),
                clip(&place, 12)
            )?;
        }
    }
    out.flush()?;
    match reader.torn_tail() {
        Some(t) => eprintln!(
            "{n} records, checksums valid; a torn tail at the end of {} (never acknowledged)",
            t.path.display()
        ),
        None => eprintln!("{n} records, checksums valid"),
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` for unix seconds.
fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
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
