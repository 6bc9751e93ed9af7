//! `endcap import`: a model from the tables the Spark job (`spark/train.py`) wrote, built
//! through `model::build` like every artifact, so serving never knows where a model came from.
//!
//! The Spark job does what grows with the chain (ALS over every store's customers, per-store
//! counts over years of orders: repeat statistics, co-purchase, "also bought", popularity,
//! segments). The import, for one store, does what endcap's trainer does after its counts, with
//! the trainer's own code: it fits the buy-again model and calibrates the discovery and
//! embedding sources on the held-out baskets the job sampled (`holdout`, `fit_repeat`), folds
//! every customer's vector in on all their orders (the job's ALS vectors are fitted without the
//! held-out basket, as the trainer's are), derives signal vectors, and builds each customer's
//! buy-again logits and discovery list. Work here is linear in the store's customer-product
//! pairs; nothing is counted over orders.
//!
//! `tables.rs` reads the Parquet part files; `assemble.rs` turns the tables into a
//! [`ModelInput`]. The table layout is documented in DATA.md ("The Spark job's tables").

mod assemble;
pub mod run;
pub mod tables;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use assemble::assemble;

use crate::model::input::ProductInput;
use crate::train::orders::ProductHistory;
use crate::train::split::Basket;
use tables::{Fields, Table};

/// The table layout version this build reads (`summary.tables_version`).
pub const TABLES_VERSION: i64 = 1;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A table the model needs is not there for the store.
    #[error("no `{table}` table for this store: {dir} is missing (did the Spark job finish?)")]
    MissingTable {
        /// The table.
        table: &'static str,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A table lacks a column (written by another version of the job?).
    #[error("{path}: no `{column}` column (found: {found}); was it written by spark/train.py of this version?")]
    MissingColumn {
        /// The part file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The columns present.
        found: String,
    },
    /// A row holds something the model cannot be built from.
    #[error("{path}: row {row}: {message}")]
    Row {
        /// The part file.
        path: PathBuf,
        /// 1-based row within the file.
        row: u64,
        /// What is wrong.
        message: String,
    },
    /// Which store to import is not clear, or the store is not there.
    #[error("{0}")]
    Store(String),
    /// The tables disagree with each other or with this build.
    #[error("{0}")]
    Inconsistent(String),
}

impl ImportError {
    fn io(path: &Path, e: impl std::fmt::Display) -> ImportError {
        ImportError::Io { path: path.to_path_buf(), message: e.to_string() }
    }
}

/// The stores the tables under `root` hold (from the `summary` table).
pub fn stores(root: &Path) -> Result<Vec<String>, ImportError> {
    if !root.join("summary").is_dir() {
        return Err(ImportError::MissingTable { table: "summary", dir: root.join("summary") });
    }
    Ok(tables::stores(root, "summary")?.into_iter().map(|(s, _)| s).collect())
}

/// Picks the store to import: `wanted`, or the only one there is.
pub fn pick_store(root: &Path, wanted: Option<&str>) -> Result<String, ImportError> {
    let all = stores(root)?;
    match wanted {
        Some(w) if all.iter().any(|s| s == w) => Ok(w.to_string()),
        Some(w) => Err(ImportError::Store(format!(
            "no store `{w}` in {} (stores: {})",
            root.display(),
            if all.is_empty() { "none".to_string() } else { all.join(", ") }
        ))),
        None => match &all[..] {
            [one] => Ok(one.clone()),
            [] => Err(ImportError::Store(format!("{} holds no store's tables", root.display()))),
            many => Err(ImportError::Store(format!(
                "{} holds {} stores; say which with --store ({}{})",
                root.display(),
                many.len(),
                many.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
                if many.len() > 10 { ", ..." } else { "" }
            ))),
        },
    }
}

/// The `summary` row of one store.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Orders in the store's data.
    pub orders: u64,
    /// Distinct (order, product) lines.
    pub order_lines: u64,
    /// Customers with orders.
    pub customers: u64,
    /// Purchase lines read.
    pub purchase_lines: u64,
    /// Oldest and newest order (unix seconds).
    pub data_start_ts: i64,
    /// Newest order.
    pub data_end_ts: i64,
    /// The job's options.
    pub options: serde_json::Value,
    /// Rows the job skipped, by table and reason.
    pub skipped: serde_json::Value,
    /// The job's time per step.
    pub steps: serde_json::Value,
    /// Spark's version.
    pub spark_version: String,
}

impl Summary {
    /// A numeric option of the job, or `default`.
    pub fn option(&self, name: &str, default: f64) -> f64 {
        self.options.get(name).and_then(serde_json::Value::as_f64).unwrap_or(default)
    }
}

/// Everything read from one store's tables, in rows the model builder's input uses.
#[derive(Debug, Default)]
pub struct StoreTables {
    /// The store.
    pub store: String,
    /// Its summary.
    pub summary: Summary,
    /// Embedding width (from the vectors).
    pub dim: usize,
    /// The catalogue.
    pub products: Vec<ProductInput>,
    /// ALS product vectors, `products * dim` (zeros for a product ALS never saw).
    pub product_vectors: Vec<f32>,
    /// Orders holding each product in this store.
    pub product_orders: Vec<u64>,
    /// Customer ids.
    pub customers: Vec<String>,
    /// Orders each customer placed in this store.
    pub customer_orders: Vec<u32>,
    /// ALS customer vectors (fitted without the held-out basket), `customers * dim`; zeros where
    /// the job had none (customers known only from social data).
    pub customer_vectors: Vec<f32>,
    /// Each customer's segment, if the job assigned one.
    pub customer_segment: Vec<Option<u32>>,
    /// Signal names.
    pub signals: Vec<String>,
    /// Social rows: (customer, signal, weight).
    pub social: Vec<(u32, u32, f32)>,
    /// Per customer: repeat statistics on every order, sorted by product, with the decayed count
    /// ALS confidence is made of.
    pub repeat: Vec<Vec<(ProductHistory, f32)>>,
    /// Per product: (product, score, orders holding both), best first.
    pub co_purchase: Vec<Vec<(u32, f32, u32)>>,
    /// Orders in the store (for co-purchase lift).
    pub total_orders: u64,
    /// Per product: "also bought" neighbours (product, score), best first.
    pub also_bought: Vec<Vec<(u32, f32)>>,
    /// Segments: (centroid, popular products).
    pub segments: Vec<(Vec<f32>, Vec<u32>)>,
    /// Held-out baskets (customer rows), with the number of orders before each.
    pub holdout: Vec<(Basket, usize)>,
    /// The held-out customers' histories before their basket, by position in `holdout`.
    pub fit_history: Vec<Vec<ProductHistory>>,
    /// Rows read per table.
    pub rows: Vec<(&'static str, u64)>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// The store imported.
    pub store: String,
    /// Rows read per table.
    pub rows: Vec<(&'static str, u64)>,
    /// (step, wall time), in order.
    pub steps: Vec<(&'static str, Duration)>,
    /// Held-out baskets the buy-again model and the calibration were fitted on.
    pub fit_baskets: usize,
    /// Buy-again fitting rows.
    pub buy_again_rows: usize,
}

/// Reads one store's tables under `root`.
pub fn read_store(root: &Path, store: &str) -> Result<StoreTables, ImportError> {
    let mut t = StoreTables { store: store.to_string(), ..StoreTables::default() };
    read_summary(root, &mut t)?;
    read_products(root, &mut t)?;
    read_customers(root, &mut t)?;
    read_social(root, &mut t)?;
    read_repeat(root, &mut t)?;
    read_pairs(root, &mut t)?;
    read_segments(root, &mut t)?;
    read_holdout(root, &mut t)?;
    Ok(t)
}

fn read_summary(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let table = Table::required(root, "summary", &t.store)?;
    let cols = [
        "tables_version",
        "orders",
        "order_lines",
        "customers",
        "purchase_lines",
        "data_start_ts",
        "data_end_ts",
        "options",
        "skipped",
        "steps",
        "spark_version",
    ];
    let mut found = None;
    let n = table.for_each(&cols, |f| {
        let version = f.int(0)?;
        if version != TABLES_VERSION {
            return Err(format!(
                "tables version {version}; this endcap reads version {TABLES_VERSION} (run spark/train.py of the same release)"
            ));
        }
        let json = |c: usize| -> Result<serde_json::Value, String> {
            serde_json::from_str(f.str(c)?).map_err(|e| format!("column `{}`: {e}", cols[c]))
        };
        found = Some(Summary {
            orders: f.int(1)?.max(0) as u64,
            order_lines: f.int(2)?.max(0) as u64,
            customers: f.int(3)?.max(0) as u64,
            purchase_lines: f.int(4)?.max(0) as u64,
            data_start_ts: f.int(5)?,
            data_end_ts: f.int(6)?,
            options: json(7)?,
            skipped: json(8)?,
            steps: json(9)?,
            spark_version: f.str(10)?.to_string(),
        });
        Ok(())
    })?;
    t.rows.push(("summary", n));
    t.summary = found.ok_or_else(|| ImportError::Inconsistent(format!("the summary of store {} is empty", t.store)))?;
    t.total_orders = t.summary.orders;
    Ok(())
}

/// Id -> row, for the tables that name products and customers.
type Rows = rustc_hash::FxHashMap<String, u32>;

fn product_rows(t: &StoreTables) -> Rows {
    t.products.iter().enumerate().map(|(i, p)| (p.id.clone(), i as u32)).collect()
}

fn customer_rows(t: &StoreTables) -> Rows {
    t.customers.iter().enumerate().map(|(i, c)| (c.clone(), i as u32)).collect()
}

fn row_of(rows: &Rows, id: &str, what: &str) -> Result<u32, String> {
    rows.get(id).copied().ok_or_else(|| format!("unknown {what} `{id}` (not in the {what}s table)"))
}

/// Checks a vector's width against the store's (set by the first vector seen).
fn check_width(dim: &mut usize, got: usize) -> Result<(), String> {
    if *dim == 0 {
        if got == 0 || got > 1024 {
            return Err(format!("a vector of {got} values; the width must be 1 to 1024"));
        }
        *dim = got;
    }
    if got != *dim {
        return Err(format!("a vector of {got} values where the others have {}", *dim));
    }
    Ok(())
}

fn read_products(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let table = Table::required(root, "products", &t.store)?;
    let cols = ["product_id", "name", "aisle", "department", "tags", "price_cents", "orders", "vector"];
    let mut seen = Rows::default();
    // Vectors are gathered per product, `None` for a product ALS never saw.
    let mut vectors: Vec<Option<Vec<f32>>> = Vec::new();
    let mut dim = 0usize;
    let n = table.for_each(&cols, |f| {
        let id = f.id(0)?.to_string();
        if seen.insert(id.clone(), t.products.len() as u32).is_some() {
            return Err(format!("duplicate product_id `{id}`"));
        }
        let mut tags = Vec::new();
        f.strings(4, |s| {
            tags.push(s.to_string());
            Ok(())
        })?;
        let price_cents = if f.is_null(5) {
            None
        } else {
            let p = f.int(5)?;
            Some(
                u32::try_from(p)
                    .ok()
                    .filter(|&p| p <= crate::data::MAX_PRICE_CENTS)
                    .ok_or_else(|| format!("implausible price_cents {p}"))?,
            )
        };
        t.products.push(ProductInput {
            id,
            name: f.str(1)?.to_string(),
            aisle: f.str(2)?.to_string(),
            department: f.str(3)?.to_string(),
            tags,
            price_cents,
        });
        t.product_orders.push(f.int(6)?.max(0) as u64);
        let mut v = Vec::new();
        if f.floats(7, &mut v)? {
            check_width(&mut dim, v.len())?;
            vectors.push(Some(v));
        } else {
            vectors.push(None);
        }
        Ok(())
    })?;
    t.rows.push(("products", n));
    if t.products.is_empty() {
        return Err(ImportError::Inconsistent(format!("store {}: the products table is empty", t.store)));
    }
    if dim == 0 {
        return Err(ImportError::Inconsistent(format!("store {}: no product has a vector (did ALS run?)", t.store)));
    }
    t.dim = dim;
    t.product_vectors = vectors.into_iter().flat_map(|v| v.unwrap_or_else(|| vec![0.0; dim])).collect();
    Ok(())
}

fn read_customers(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let table = Table::required(root, "customers", &t.store)?;
    let dim = t.dim;
    let mut seen = Rows::default();
    let n = table.for_each(&["customer_id", "orders", "segment", "vector"], |f| {
        let id = f.id(0)?.to_string();
        if seen.insert(id.clone(), t.customers.len() as u32).is_some() {
            return Err(format!("duplicate customer_id `{id}`"));
        }
        t.customers.push(id);
        t.customer_orders.push(f.u32(1)?);
        t.customer_segment.push(if f.is_null(2) { None } else { Some(f.u32(2)?) });
        let start = t.customer_vectors.len();
        if f.floats(3, &mut t.customer_vectors)? {
            let mut d = dim;
            check_width(&mut d, t.customer_vectors.len() - start)?;
        } else {
            t.customer_vectors.resize(start + dim, 0.0);
        }
        Ok(())
    })?;
    t.rows.push(("customers", n));
    Ok(())
}

fn read_social(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let Some(table) = Table::open(root, "social", &t.store)? else {
        return Ok(());
    };
    let customers = customer_rows(t);
    let mut signals = Rows::default();
    let n = table.for_each(&["customer_id", "signal", "weight"], |f| {
        let c = row_of(&customers, f.id(0)?, "customer")?;
        let signal = f.str(1)?;
        if signal.is_empty() || signal.len() > crate::ids::MAX_ID_BYTES || !signal.contains(':') {
            return Err(format!("signal `{signal}` is not namespace:value"));
        }
        let next = signals.len() as u32;
        let s = *signals.entry(signal.to_string()).or_insert_with(|| {
            t.signals.push(signal.to_string());
            next
        });
        let w = f.float(2)?;
        if w < 0.0 {
            return Err(format!("negative weight {w}"));
        }
        t.social.push((c, s, w));
        Ok(())
    })?;
    t.rows.push(("social", n));
    Ok(())
}

/// Columns of `repeat` and `fit_repeat`.
const REPEAT_COLUMNS: [&str; 10] = [
    "customer_id",
    "product_id",
    "count",
    "orders_since",
    "decayed_2",
    "decayed_8",
    "decayed_count",
    "last_ts",
    "gap_days",
    "gap_orders",
];

/// One repeat-statistics row: (customer id's row, history, decayed count).
fn repeat_row(f: &Fields<'_>, customers: &Rows, products: &Rows) -> Result<(u32, ProductHistory, f32), String> {
    let c = row_of(customers, f.id(0)?, "customer")?;
    let product = row_of(products, f.id(1)?, "product")?;
    let count = f.u32(2)?;
    if count == 0 {
        return Err("count 0: a repeat row is a product the customer bought".into());
    }
    let h = ProductHistory {
        product,
        count,
        orders_since: f.u32(3)?,
        decayed: [f.float(4)?, f.float(5)?],
        last_ts: f.int(7)?,
        gap_days: f.float(8)?,
        gap_orders: f.float(9)?,
    };
    Ok((c, h, f.float(6)?))
}

fn read_repeat(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let table = Table::required(root, "repeat", &t.store)?;
    let (customers, products) = (customer_rows(t), product_rows(t));
    let mut repeat: Vec<Vec<(ProductHistory, f32)>> = vec![Vec::new(); t.customers.len()];
    let n = table.for_each(&REPEAT_COLUMNS, |f| {
        let (c, h, decayed) = repeat_row(f, &customers, &products)?;
        repeat[c as usize].push((h, decayed));
        Ok(())
    })?;
    for list in &mut repeat {
        list.sort_unstable_by_key(|(h, _)| h.product);
        if list.windows(2).any(|w| w[0].0.product == w[1].0.product) {
            return Err(ImportError::Inconsistent("repeat: a customer has two rows for one product".into()));
        }
    }
    t.repeat = repeat;
    t.rows.push(("repeat", n));
    Ok(())
}

fn read_pairs(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let products = product_rows(t);
    let np = t.products.len();
    let mut co: Vec<Vec<(u32, f32, u32, u32)>> = vec![Vec::new(); np];
    let table = Table::required(root, "co_purchase", &t.store)?;
    let n = table.for_each(&["product_id", "other_id", "together", "score", "rank"], |f| {
        let a = row_of(&products, f.id(0)?, "product")?;
        let b = row_of(&products, f.id(1)?, "product")?;
        co[a as usize].push((f.u32(4)?, f.float(3)?, b, f.u32(2)?));
        Ok(())
    })?;
    t.rows.push(("co_purchase", n));
    t.co_purchase = co
        .into_iter()
        .map(|mut l| {
            l.sort_unstable_by_key(|e| e.0);
            l.into_iter().map(|(_, s, b, together)| (b, s, together)).collect()
        })
        .collect();

    let mut also: Vec<Vec<(u32, f32, u32)>> = vec![Vec::new(); np];
    let table = Table::required(root, "also_bought", &t.store)?;
    let n = table.for_each(&["product_id", "other_id", "score", "rank"], |f| {
        let a = row_of(&products, f.id(0)?, "product")?;
        let b = row_of(&products, f.id(1)?, "product")?;
        also[a as usize].push((f.u32(3)?, f.float(2)?, b));
        Ok(())
    })?;
    t.rows.push(("also_bought", n));
    t.also_bought = also
        .into_iter()
        .map(|mut l| {
            l.sort_unstable_by_key(|e| e.0);
            l.into_iter().map(|(_, s, b)| (b, s)).collect()
        })
        .collect();
    Ok(())
}

fn read_segments(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let Some(table) = Table::open(root, "segments", &t.store)? else {
        return Ok(());
    };
    let products = product_rows(t);
    let mut by_id: Vec<(u32, Vec<f32>, Vec<u32>)> = Vec::new();
    let mut dim = t.dim;
    let n = table.for_each(&["segment", "centroid", "popular"], |f| {
        let s = f.u32(0)?;
        let mut centroid = Vec::new();
        if !f.floats(1, &mut centroid)? {
            return Err("a segment without a centroid".into());
        }
        check_width(&mut dim, centroid.len())?;
        let mut popular = Vec::new();
        f.strings(2, |id| {
            popular.push(row_of(&products, id, "product")?);
            Ok(())
        })?;
        by_id.push((s, centroid, popular));
        Ok(())
    })?;
    t.rows.push(("segments", n));
    by_id.sort_unstable_by_key(|s| s.0);
    if by_id.iter().enumerate().any(|(i, s)| s.0 as usize != i) {
        return Err(ImportError::Inconsistent(format!(
            "segments: the segment numbers are not 0..{} without gaps",
            by_id.len()
        )));
    }
    if t.customer_segment.iter().flatten().any(|&s| s as usize >= by_id.len()) {
        return Err(ImportError::Inconsistent("customers: a segment number the segments table lacks".into()));
    }
    t.segments = by_id.into_iter().map(|(_, c, p)| (c, p)).collect();
    Ok(())
}

fn read_holdout(root: &Path, t: &mut StoreTables) -> Result<(), ImportError> {
    let (customers, products) = (customer_rows(t), product_rows(t));
    let table = Table::required(root, "holdout", &t.store)?;
    let mut at: rustc_hash::FxHashMap<u32, usize> = Default::default();
    let n = table.for_each(&["customer_id", "ts", "products", "fit_orders"], |f| {
        let c = row_of(&customers, f.id(0)?, "customer")?;
        let mut basket = Vec::new();
        f.strings(2, |id| {
            basket.push(row_of(&products, id, "product")?);
            Ok(())
        })?;
        basket.sort_unstable();
        basket.dedup();
        if at.insert(c, t.holdout.len()).is_some() {
            return Err("a customer with two held-out baskets".into());
        }
        t.holdout.push((Basket { customer: c, ts: f.int(1)?, products: basket }, f.u32(3)? as usize));
        Ok(())
    })?;
    t.rows.push(("holdout", n));
    let mut fit: Vec<Vec<ProductHistory>> = vec![Vec::new(); t.holdout.len()];
    let table = Table::required(root, "fit_repeat", &t.store)?;
    let n = table.for_each(&REPEAT_COLUMNS, |f| {
        let (c, h, _) = repeat_row(f, &customers, &products)?;
        let i = *at.get(&c).ok_or("a fit_repeat row of a customer without a held-out basket")?;
        fit[i].push(h);
        Ok(())
    })?;
    for list in &mut fit {
        list.sort_unstable_by_key(|h| h.product);
    }
    t.fit_history = fit;
    t.rows.push(("fit_repeat", n));
    Ok(())
}

/// Times one step.
pub(crate) fn timed<T>(steps: &mut Vec<(&'static str, Duration)>, name: &'static str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    tracing::info!(step = name, took_ms = took.as_millis() as u64, "import step done");
    steps.push((name, took));
    out
}
