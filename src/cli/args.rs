//! The command line's shape: every subcommand, flag and default (clap). `main.rs` runs them.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use endcap::engine::Mode;
use endcap::train::TrainOptions;

#[derive(Parser)]
#[command(name = "endcap", version, about = "In-memory recommendation server for physical stores")]
pub struct Cli {
    /// Log lines as text (for people) or JSON, one object per line (for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "ENDCAP_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (tracing's JSON layer).
    Json,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Model version (default: train-<UTC time>-<content hash>, unique per content).
        #[arg(long)]
        version: Option<String>,
        /// The server's event journal (events.journal_dir): purchases since the data's newest line
        /// become purchase lines, views and scans weak interactions, forgotten customers are
        /// dropped. Only read; the server may be running.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Sign the model with this private key (model-signing.pk8) before publishing it.
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
    /// Build and publish one store's model from the tables the Spark job (spark/train.py) wrote.
    Import {
        /// The job's --out: one folder per table, each with a store=S folder per store.
        #[arg(long)]
        from: PathBuf,
        /// Where to publish the artifact (written to a temporary name, fsynced, renamed).
        #[arg(long)]
        out: PathBuf,
        /// The store to import (required when the tables hold more than one).
        #[arg(long)]
        store: Option<String>,
        /// Model version (default: spark-<store>-<UTC time>-<content hash>).
        #[arg(long)]
        version: Option<String>,
        /// Pull of a customer's social signals on their vector when it is folded in (0 = ignore).
        #[arg(long, default_value_t = 2.0)]
        signal_weight: f32,
        /// L2 regularisation of the fold-in.
        #[arg(long, default_value_t = 0.5)]
        lambda: f32,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Sign the model with this private key (model-signing.pk8) before publishing it.
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
    /// Recommendations for a list of customers, as CSV on stdout (batch inference):
    /// customer_id,rank,product_id,score,reason.
    RecommendBatch {
        /// The model artifact.
        #[arg(long)]
        model: PathBuf,
        /// File of customer ids, one per line.
        #[arg(long)]
        customers: PathBuf,
        /// The operation per customer: recommend, similar (--product), complete (--basket) or
        /// rerank (--product, repeated), each with the customer's rules.
        #[arg(long, value_enum, default_value_t = BatchOpArg::Recommend)]
        op: BatchOpArg,
        /// similar: the product; rerank: a product of the shelf (repeat).
        #[arg(long)]
        product: Vec<String>,
        /// complete: a product of the basket (repeat).
        #[arg(long)]
        basket: Vec<String>,
        /// Items per customer (clamped to recommend.max_k, as the server does).
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
    /// Ask a running server over QUIC: `endcap query [--server A --insecure] <operation> [flags]`.
    Query {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        op: QueryOp,
    },
    /// A product's bundle partners from a model file, with orders together, support, confidence
    /// and lift, as CSV on stdout (for merchandisers' spreadsheets).
    Bundles {
        /// The model artifact.
        #[arg(long)]
        model: PathBuf,
        /// The product id.
        #[arg(long)]
        product: String,
        /// Partners wanted (clamped to recommend.max_k).
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Config with recommend.bundle_min_orders and max_k (default: config/endcap.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Who buys a product: its audience from a model file, as CSV on stdout (campaign tools);
    /// the customer type on stderr. Erased and opted-out customers (from the event journal) and
    /// customers whose rules exclude the product are left out.
    Audience {
        /// The model artifact.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        target: AudienceTarget,
        /// Config with the rules and audience.min_group (default: config/endcap.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's event journal (events.journal_dir), read for erased and opted-out
        /// customers (default: the config's).
        #[arg(long, conflicts_with = "no_journal")]
        journal: Option<PathBuf>,
        /// This store keeps no event journal: no privacy choices to apply.
        #[arg(long)]
        no_journal: bool,
    },
}

/// How `endcap query` reaches the server (the flags may come before or after the operation).
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Server address, host:port.
    #[arg(long, global = true, default_value = "127.0.0.1:4433")]
    pub server: String,
    /// Pin the server certificate by SHA-256 (hex; logged by the server at start).
    #[arg(long, global = true, conflicts_with = "insecure")]
    pub cert_sha256: Option<String>,
    /// Accept any server certificate (local testing only).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// This device's certificate (servers with a store CA; `endcap ca issue` makes it).
    #[arg(long, global = true, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The device certificate's private key.
    #[arg(long, global = true, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Print the same JSON as the HTTP API instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The options of every operation that suggests products.
#[derive(clap::Args, Clone, Default)]
pub struct OptionFlags {
    /// Never return this product (repeat for several).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// A signal the shopper states, e.g. lifestyle:vegetarian (repeat for several): a hard rule.
    #[arg(long)]
    pub signal: Vec<String>,
    /// At most this many items from one aisle (0 = no limit).
    #[arg(long, default_value_t = 0)]
    pub max_per_aisle: u32,
    /// An anonymous shopper's session id (as in their events): read that live session.
    #[arg(long, default_value = "")]
    pub session: String,
}

/// The operations `endcap query` can ask.
#[derive(Subcommand)]
pub enum QueryOp {
    /// Products for a shopper, here, now.
    Recommend {
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
        /// mixed (buy again, discovery and the embedding by probability), buy_again or discover.
        #[arg(long, default_value = "mixed")]
        mode: String,
        /// In mixed mode: at least this many products the customer has not bought.
        #[arg(long, default_value_t = 0)]
        min_discover: u32,
        #[command(flatten)]
        options: OptionFlags,
    },
    /// Substitutes for a product.
    Similar {
        /// The product id.
        #[arg(long)]
        product: String,
        /// Customer id (their rules apply).
        #[arg(long, default_value = "")]
        customer: String,
        /// Zone name.
        #[arg(long, default_value = "")]
        zone: String,
        /// Aisle name.
        #[arg(long, default_value = "")]
        aisle: String,
        /// Number of items (0 = server default).
        #[arg(long, default_value_t = 0)]
        k: u32,
        /// Where to look first: aisle, department or store.
        #[arg(long, default_value = "aisle")]
        scope: String,
        #[command(flatten)]
        options: OptionFlags,
    },
    /// What goes with a basket.
    Complete {
        /// Product id in the basket (repeat for several; at least one).
        #[arg(long, required = true)]
        basket: Vec<String>,
        /// Customer id.
        #[arg(long, default_value = "")]
        customer: String,
        /// Zone name.
        #[arg(long, default_value = "")]
        zone: String,
        /// Number of items (0 = server default).
        #[arg(long, default_value_t = 0)]
        k: u32,
        #[command(flatten)]
        options: OptionFlags,
    },
    /// A product's bundle partners (an ops device).
    Bundles {
        /// The product id.
        #[arg(long)]
        product: String,
        /// Number of partners (0 = server default).
        #[arg(long, default_value_t = 0)]
        k: u32,
    },
    /// Products a screen can show, in the shopper's order.
    Rerank {
        /// Customer id ("" for an anonymous shopper).
        #[arg(long, default_value = "")]
        customer: String,
        /// A product on the shelf (repeat, in any order).
        #[arg(long, required = true)]
        product: Vec<String>,
        /// Never return this product (repeat for several).
        #[arg(long)]
        exclude: Vec<String>,
        /// A signal the shopper states (repeat for several): a hard rule.
        #[arg(long)]
        signal: Vec<String>,
        /// An anonymous shopper's session id (as in their events): read that live session.
        #[arg(long, default_value = "")]
        session: String,
    },
    /// The store's layout: zones, aisles, signals, rules.
    Store,
    /// Who buys a product (ops devices): the audience and its customer type.
    Audience {
        #[command(flatten)]
        target: AudienceTarget,
    },
    /// The model's customer segments (ops devices): size, best sellers, over-represented signals.
    Segments,
}

/// What an audience is of, and who may be in it (`endcap audience`, `endcap query audience`).
#[derive(clap::Args)]
pub struct AudienceTarget {
    /// Product id (repeat for the audience of several products).
    #[arg(long, required_unless_present = "aisle", conflicts_with = "aisle")]
    pub product: Vec<String>,
    /// Aisle name: the audience of its products.
    #[arg(long)]
    pub aisle: Option<String>,
    /// Customers wanted (0 = the server's audience.default_k).
    #[arg(long, default_value_t = 0)]
    pub k: u32,
    /// Only customers carrying this signal (repeat: every one of them).
    #[arg(long)]
    pub signal: Vec<String>,
    /// Only customers of this segment (`endcap query segments` lists them).
    #[arg(long)]
    pub segment: Option<u32>,
}

impl AudienceTarget {
    /// The request: one product in `product`, several in `products`.
    pub fn request(self) -> endcap::protocol::AudienceRequest {
        let (product, products) = match self.product.len() {
            1 => (self.product.into_iter().next().unwrap_or_default(), Vec::new()),
            _ => (String::new(), self.product),
        };
        endcap::protocol::AudienceRequest {
            product,
            products,
            aisle: self.aisle.unwrap_or_default(),
            k: self.k,
            signals: self.signal,
            segment: self.segment,
        }
    }
}

/// Training settings shared by `train` and `eval`.
#[derive(clap::Args)]
pub struct TrainArgs {
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
    /// What a view or scan from --events counts for against a purchase (not-bought products only).
    #[arg(long, default_value_t = 0.1)]
    view_weight: f32,
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
    pub fn options(&self, version: Option<String>) -> anyhow::Result<TrainOptions> {
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
            view_weight: self.view_weight,
            segments: self.segments,
            seed: self.seed,
            version: version.unwrap_or_default(),
            ..TrainOptions::default()
        })
    }
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Print an artifact's manifest (and validate the whole file with --check).
    Inspect {
        /// The artifact.
        path: PathBuf,
        /// Also read and fully validate the body.
        #[arg(long)]
        check: bool,
        /// With --check, also verify the signature (MODEL.sig) with this public key.
        #[arg(long, requires = "check")]
        signing_key: Option<PathBuf>,
    },
    /// Make an Ed25519 key pair for signing models: DIR/model-signing.pk8 (private, keep it on
    /// the training machine) and DIR/model-signing.pub (for servers' model.signing_key).
    Keygen {
        /// Directory for the two files (an existing private key is never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an artifact: writes MODEL.sig. Sign before publishing (renaming over the served path).
    Sign {
        /// The private key (model-signing.pk8).
        #[arg(long)]
        key: PathBuf,
        /// The artifact.
        path: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum JournalCommand {
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
pub enum CaCommand {
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
pub enum ModeArg {
    /// Buy again, discovery and taste, merged by probability.
    Mixed,
    /// Only products bought before.
    #[value(name = "buy_again")]
    BuyAgain,
    /// Only products not bought before.
    Discover,
}

/// `recommend-batch --op`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchOpArg {
    /// Products for each customer.
    Recommend,
    /// Substitutes for --product, with each customer's rules.
    Similar,
    /// What goes with --basket, with each customer's rules and taste.
    Complete,
    /// The --product shelf in each customer's order.
    Rerank,
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
pub enum Scale {
    /// 5,000 products, 20,000 customers.
    Default,
    /// 50,000 products, 1,000,000 customers.
    #[value(name = "store-1m")]
    Store1m,
}
