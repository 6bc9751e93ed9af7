//! The `endcap` command line: serve, the demo store, train, eval, batch recommendations, model
//! inspection, and queries to a running server. The binary's edge: it sets up logging and the
//! runtime, turns errors into messages (`anyhow`, used elsewhere only by server start-up), and
//! hands the server the built-in demo store (the server itself does not link the trainer).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser};
use endcap::config::Config;
use endcap::demo::{self, DemoSpec};
use endcap::model;
use endcap::server::{self, ModelSource};
use endcap::train;
use endcap::transport::tls::{ClientIdentity, Trust};
use tracing::info;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

use cli::args::*;

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
        Command::Train { data, out, train, strict, version, events, sign_key } => {
            let inputs = train::run::TrainInputs { data: &data, events: events.as_deref(), strict };
            train::run::train_command(&inputs, &out, &train.options(version)?, sign_key.as_deref())
        }
        Command::Import { from, out, store, version, signal_weight, lambda, threads, sign_key } => {
            if let Some(n) = threads {
                rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("--threads")?;
            }
            let opts = train::TrainOptions {
                signal_weight,
                lambda,
                version: version.unwrap_or_default(),
                ..train::TrainOptions::default()
            };
            endcap::import::run::import_command(&from, store.as_deref(), &out, &opts, sign_key.as_deref())
        }
        Command::Eval { data, k, holdout, train, config, json } => {
            let cfg = Config::load(config.as_deref())?;
            train::run::eval_command(&data, &cfg, &train.options(None)?, k, holdout, json)
        }
        Command::RecommendBatch {
            model,
            customers,
            op,
            product,
            basket,
            k,
            mode,
            min_discover,
            now,
            explain,
            config,
        } => {
            let cfg = Config::load(config.as_deref())?;
            let now_unix_s = match now {
                Some(t) => {
                    endcap::data::parse_ts(&t).with_context(|| format!("--now {t:?}: not unix seconds or RFC 3339"))?
                }
                None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64,
            };
            let op = match op {
                BatchOpArg::Recommend => train::run::BatchOp::Recommend,
                BatchOpArg::Similar => match product.as_slice() {
                    [one] => train::run::BatchOp::Similar { product: one.clone() },
                    _ => anyhow::bail!("--op similar needs exactly one --product"),
                },
                BatchOpArg::Complete if basket.is_empty() => anyhow::bail!("--op complete needs --basket"),
                BatchOpArg::Complete => train::run::BatchOp::Complete { basket: basket.iter().collect() },
                BatchOpArg::Rerank if product.is_empty() => anyhow::bail!("--op rerank needs --product (repeated)"),
                BatchOpArg::Rerank => train::run::BatchOp::Rerank { products: product.iter().collect() },
            };
            let batch = train::run::BatchOptions { op, k, mode: mode.into(), min_discover, now_unix_s, explain };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let (n, unknown) = train::run::recommend_batch(&model, &customers, &cfg, &batch, &mut out)?;
            info!(customers = n, unknown, "recommended (unknown customers get popular products)");
            Ok(())
        }
        Command::Model { command: ModelCommand::Inspect { path, check, signing_key } } => {
            let manifest = model::read_manifest(&path)?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            if check {
                let started = Instant::now();
                let verifier = signing_key
                    .map(|k| model::sign::Verifier::from_file(&k))
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                let m = model::Model::load_signed(&path, verifier.as_ref())?;
                let signed = if verifier.is_some() { ", signature verified" } else { "" };
                eprintln!("valid{signed}: {} bytes checked in {} ms", m.size_bytes(), started.elapsed().as_millis());
            }
            Ok(())
        }
        Command::Model { command: ModelCommand::Keygen { out } } => {
            let (private, public) = model::sign::keygen(&out).map_err(anyhow::Error::msg)?;
            eprintln!(
                "{} (private: keep it where models are trained) and {} (servers: model.signing_key)",
                private.display(),
                public.display()
            );
            Ok(())
        }
        Command::Model { command: ModelCommand::Sign { key, path } } => {
            let sig = model::sign::sign_file(&key, &path).map_err(anyhow::Error::msg)?;
            eprintln!("signed: {}", sig.display());
            Ok(())
        }
        Command::Query { connect, op } => {
            let trust = match (connect.cert_sha256.as_deref(), connect.insecure) {
                (Some(hex), _) => Trust::pinned(hex)?,
                (None, true) => Trust::Insecure,
                (None, false) => anyhow::bail!("give --cert-sha256 HEX (logged by the server at start) or --insecure"),
            };
            let identity = match (&connect.cert, &connect.key) {
                (Some(c), Some(k)) => Some(ClientIdentity::load(c, k)?),
                _ => None,
            };
            runtime(1)?.block_on(cli::query::query(
                &connect.server,
                trust,
                identity,
                cli::query::request(op),
                connect.json,
            ))
        }
        Command::Bundles { model, product, k, config } => {
            let cfg = Config::load(config.as_deref())?;
            cli::query::bundles_csv(&model, &product, k, &cfg)
        }
        Command::Audience { model, target, config, journal, no_journal } => {
            let cfg = Config::load(config.as_deref())?;
            let journal = match (journal, no_journal) {
                (_, true) => None,
                (Some(dir), false) => Some(dir),
                (None, false) => Some(cfg.events.journal_dir.clone()),
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            cli::audience::audience_csv(&model, &cfg, journal.as_deref(), target.request(), &mut out)
        }
        Command::Journal { command: JournalCommand::Inspect { dir, json, from } } => {
            cli::journal::journal_inspect(&dir, json, from)
        }
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
