//! The offline data contract in memory (`TrainData`: catalogue, purchase lines, social signals)
//! and its readers. The demo store, the trainer and any importer meet here; nothing in this module
//! knows about models, the trainer or serving.
//!
//! Reads the trainer's input (the data contract, DATA.md): `products`, `purchases` and the
//! optional `social`, each as CSV with a header row or as Parquet with the same column names (one
//! file or a folder of part files; uncompressed, Snappy, gzip, LZ4, LZ4_RAW or zstd), columns in
//! any order (extra columns are ignored).
//!
//! Nothing is dropped silently: a malformed row is skipped and counted under its reason, the first
//! few of each file are kept with file, line and reason for the report, and `strict` turns the
//! first one into an error. Ids are interned to dense `u32` rows as they are read.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use parquet::record::Field;
use rustc_hash::FxHashMap;

use crate::model::input::ProductInput;

pub mod events;
mod rows;
mod table;
#[cfg(test)]
mod tests;

use rows::*;
pub use rows::{MAX_PRICE_CENTS, parse_ts};
use table::*;
pub use table::{file_name, progress_bar};

/// Rows kept as examples per file for the report.
const EXAMPLES: usize = 5;

/// Why reading failed as a whole (a skipped row is not an error unless `strict`).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A required file is missing or unreadable.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The header lacks a required column.
    #[error("{path}: the header has no `{column}` column (found: {found})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column required.
        column: &'static str,
        /// The columns present.
        found: String,
    },
    /// `strict` and a row was malformed.
    #[error("{path}:{line}: {reason} (strict mode: no row may be skipped)")]
    Strict {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why the row is malformed.
        reason: String,
    },
    /// Nothing to train on.
    #[error("{0}")]
    Empty(String),
    /// `strict` and a table as a whole looks wrong (prices in the wrong unit, say).
    #[error("{path}: {message} (strict mode)")]
    Implausible {
        /// The file.
        path: PathBuf,
        /// What looks wrong and what to do.
        message: String,
    },
}

/// What happened to the rows of one file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Rows used.
    pub used: u64,
    /// Skipped rows by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first few skipped rows: (line, reason with detail).
    pub examples: Vec<(u64, String)>,
    /// What looks wrong with the table as a whole (prices in the wrong unit, say); printed with
    /// the report, an error in strict mode.
    pub warnings: Vec<String>,
}

impl FileReport {
    fn new(path: &Path) -> FileReport {
        FileReport { path: path.to_path_buf(), ..FileReport::default() }
    }

    /// Rows skipped for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// For a table none of whose rows could be used: how many rows there were, the skip reasons
    /// with counts, and the first examples (empty text when there was nothing to read).
    pub fn why_empty(&self) -> String {
        if self.rows == 0 {
            return " (the table has no data rows)".to_string();
        }
        let reasons: Vec<String> = self.skipped.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let examples: Vec<String> = self.examples.iter().map(|(line, why)| format!("line {line}: {why}")).collect();
        format!(": all {} rows were skipped ({}); e.g. {}", self.rows, reasons.join(", "), examples.join("; "))
    }

    fn skip(&mut self, strict: bool, line: u64, reason: &'static str, detail: String) -> Result<(), DataError> {
        let text = if detail.is_empty() { reason.to_string() } else { format!("{reason}: {detail}") };
        if strict {
            return Err(DataError::Strict { path: self.path.clone(), line, reason: text });
        }
        *self.skipped.entry(reason).or_default() += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push((line, text));
        }
        Ok(())
    }
}

/// Purchase lines as parallel columns (structure of arrays: 20 bytes a line).
#[derive(Debug, Clone, Default)]
pub struct Purchases {
    /// Customer row.
    pub customer: Vec<u32>,
    /// Product row.
    pub product: Vec<u32>,
    /// Order row (orders are interned per file; the same order id is one order).
    pub order: Vec<u32>,
    /// Unix seconds.
    pub ts: Vec<i64>,
}

impl Purchases {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// True when there are no lines.
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    fn push(&mut self, customer: u32, product: u32, order: u32, ts: i64) {
        self.customer.push(customer);
        self.product.push(product);
        self.order.push(order);
        self.ts.push(ts);
    }
}

/// Everything the trainer reads.
#[derive(Debug, Clone, Default)]
pub struct TrainData {
    /// The catalogue, in file order.
    pub products: Vec<ProductInput>,
    /// Customer ids, by row (customers appear through purchases or social signals).
    pub customers: Vec<String>,
    /// Purchase lines.
    pub purchases: Purchases,
    /// Orders (distinct order ids).
    pub orders: usize,
    /// Signal names, by signal row.
    pub signals: Vec<String>,
    /// Social rows: (customer row, signal row, weight).
    pub social: SocialRows,
    /// Weak interactions (a product looked at or scanned, from the event journal): (customer
    /// row, product row), one per event.
    pub views: Vec<(u32, u32)>,
    /// One report per file read.
    pub files: Vec<FileReport>,
}

/// Id -> row.
type IdRows = FxHashMap<Box<str>, u32>;

/// Social rows: (customer row, signal row, weight).
pub type SocialRows = Vec<(u32, u32, f32)>;

/// Interns string ids to dense rows.
#[derive(Default)]
struct Interner {
    rows: FxHashMap<Box<str>, u32>,
    names: Vec<String>,
}

impl Interner {
    fn get_or_insert(&mut self, id: &str) -> u32 {
        if let Some(&row) = self.rows.get(id) {
            return row;
        }
        let row = self.names.len() as u32;
        self.rows.insert(id.into(), row);
        self.names.push(id.to_string());
        row
    }
}

/// Reads `products`, `purchases` and, if present, `social` from `dir`, each as `NAME.csv` or
/// `NAME.parquet`.
pub fn read_dir(dir: &Path, strict: bool) -> Result<TrainData, DataError> {
    let mut data = TrainData::default();
    let mut products = Table::open_required(
        dir,
        "products",
        &["product_id", "name", "aisle", "department"],
        &["tags", "price", "price_cents"],
    )?;
    let products_path = products.path.clone();
    let price_column = match (products.has(5), products.has(6)) {
        (true, true) => {
            return Err(DataError::Io {
                path: products_path,
                message: "both `price` (currency units) and `price_cents` columns; keep one".into(),
            });
        }
        (true, false) => Some("price"),
        (false, true) => Some("price_cents"),
        (false, false) => None,
    };
    let (catalogue, product_rows, mut report) = read_products(&mut products, strict)?;
    if let Some(warning) = price_column.and_then(|column| price_warning(&catalogue, column)) {
        if strict {
            return Err(DataError::Implausible { path: products_path, message: warning });
        }
        tracing::warn!(path = %products_path.display(), "{warning}");
        report.warnings.push(warning);
    }
    data.products = catalogue;
    data.files.push(report);
    if data.products.is_empty() {
        let why = data.files.last().map(FileReport::why_empty).unwrap_or_default();
        return Err(DataError::Empty(format!("{}: no usable products{why}", products_path.display())));
    }

    let mut customers = Interner::default();
    let mut purchases = Table::open_required(dir, "purchases", &["customer_id", "order_id", "product_id", "ts"], &[])?;
    let purchases_path = purchases.path.clone();
    let (lines, orders, report) = read_purchases(&mut purchases, strict, &product_rows, &mut customers)?;
    data.purchases = lines;
    data.orders = orders;
    data.files.push(report);

    if let Some(mut social) = Table::open(dir, "social", &["customer_id", "signal"], &["weight"])? {
        let mut signals = Interner::default();
        let (rows, report) = read_social(&mut social, strict, &mut customers, &mut signals)?;
        data.social = rows;
        data.signals = signals.names;
        data.files.push(report);
    }
    data.customers = customers.names;
    if data.purchases.is_empty() {
        let why = data.files.get(1).map(FileReport::why_empty).unwrap_or_default();
        return Err(DataError::Empty(format!("{}: no usable purchases{why}", purchases_path.display())));
    }
    Ok(data)
}
