//! Reads the trainer's input (PRODUCT.md's data contract): `products`, `purchases` and the
//! optional `social`, each as CSV with a header row or as Parquet with the same column names
//! (uncompressed or Snappy, as Spark writes by default), columns in any order (extra columns are
//! ignored).
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
}

impl FileReport {
    fn new(path: &Path) -> FileReport {
        FileReport { path: path.to_path_buf(), ..FileReport::default() }
    }

    /// Rows skipped for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
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
    let mut products =
        Table::open_required(dir, "products", &["product_id", "name", "aisle", "department"], &["tags", "price"])?;
    let products_path = products.path.clone();
    let (catalogue, product_rows, report) = read_products(&mut products, strict)?;
    data.products = catalogue;
    data.files.push(report);
    if data.products.is_empty() {
        return Err(DataError::Empty(format!("{}: no usable products", products_path.display())));
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
        return Err(DataError::Empty(format!("{}: no usable purchases", purchases_path.display())));
    }
    Ok(data)
}

/// One input table, from CSV or Parquet: column positions, the current row's fields as text, a
/// progress bar.
///
/// Both formats are read into the same text fields so that one set of parsing rules (ids,
/// timestamps, prices, weights) applies to both. For Parquet, the row number reported with a
/// skipped row is the 1-based row in the file; for CSV it is the line (the header is line 1).
struct Table {
    path: PathBuf,
    source: Source,
    /// For each wanted column (`required ++ optional`), its position in a row.
    columns: Vec<Option<usize>>,
    progress: ProgressBar,
}

enum Source {
    Csv {
        reader: csv::Reader<File>,
        record: csv::ByteRecord,
    },
    Parquet {
        rows: parquet::record::reader::RowIter<'static>,
        /// Rows read so far.
        row: u64,
        /// The current row's fields (the wanted columns, in file order) rendered as text; `None`
        /// for a null.
        fields: Vec<Option<String>>,
        /// Per field: what an integer value is divided by (nanosecond timestamps to seconds).
        long_divisor: Vec<i64>,
        /// Why a field of the current row could not be rendered (a nested type, ...), if one
        /// could not.
        bad: Option<&'static str>,
    },
}

/// What reading the next row gave.
enum Next {
    /// A row, at this line (CSV) or row (Parquet) number.
    Row(u64),
    /// A row the CSV parser could not split (bad quoting), with its line and why.
    Unreadable(u64, String),
    /// The end of the table.
    End,
}

impl Table {
    /// Opens `dir/NAME.csv` or `dir/NAME.parquet`; `Ok(None)` when neither exists.
    fn open(
        dir: &Path,
        name: &str,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Option<Table>, DataError> {
        let csv_path = dir.join(format!("{name}.csv"));
        let parquet_path = dir.join(format!("{name}.parquet"));
        let table = match (csv_path.exists(), parquet_path.exists()) {
            (true, true) => {
                return Err(DataError::Io {
                    path: dir.to_path_buf(),
                    message: format!("both {name}.csv and {name}.parquet are present; keep one"),
                });
            }
            (true, false) => Table::open_csv(&csv_path, required, optional)?,
            (false, true) => Table::open_parquet(&parquet_path, required, optional)?,
            (false, false) => return Ok(None),
        };
        Ok(Some(table))
    }

    /// Like `open`, but a missing table is an error.
    fn open_required(
        dir: &Path,
        name: &str,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Table, DataError> {
        Table::open(dir, name, required, optional)?.ok_or_else(|| DataError::Io {
            path: dir.join(format!("{name}.csv")),
            message: format!("no {name}.csv or {name}.parquet in {}", dir.display()),
        })
    }

    fn open_csv(path: &Path, required: &[&'static str], optional: &[&'static str]) -> Result<Table, DataError> {
        let io = |e: &dyn std::fmt::Display| DataError::Io { path: path.to_path_buf(), message: e.to_string() };
        let file = File::open(path).map_err(|e| io(&e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
        let header = reader.byte_headers().map_err(|e| io(&e))?;
        let names: Vec<String> =
            header.iter().map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase()).collect();
        let columns = resolve(path, &names, required, optional)?;
        let progress =
            progress_bar(file_name(path), len, "{msg:>18} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}");
        let source = Source::Csv { reader, record: csv::ByteRecord::new() };
        Ok(Table { path: path.to_path_buf(), source, columns, progress })
    }

    /// Opens a Parquet file projected onto the wanted columns: the others are never decoded, so
    /// an odd type or bad text in a column the trainer does not read cannot stop it.
    fn open_parquet(path: &Path, required: &[&'static str], optional: &[&'static str]) -> Result<Table, DataError> {
        use parquet::basic::{LogicalType, TimeUnit};
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::schema::types::Type;
        let io = |e: &dyn std::fmt::Display| DataError::Io { path: path.to_path_buf(), message: e.to_string() };
        let file = File::open(path).map_err(|e| io(&e))?;
        let reader = SerializedFileReader::new(file).map_err(|e| io(&e))?;
        let meta = reader.metadata().file_metadata();
        let schema = meta.schema();
        let all = schema.get_fields();
        let names: Vec<String> = all.iter().map(|f| f.name().trim().to_ascii_lowercase()).collect();
        let columns = resolve(path, &names, required, optional)?;
        let mut wanted: Vec<usize> = columns.iter().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let projection = Type::group_type_builder(schema.name())
            .with_fields(wanted.iter().map(|&i| all[i].clone()).collect())
            .build()
            .map_err(|e| io(&e))?;
        // Nanosecond timestamps have no converted type and arrive as plain integers.
        let nanos = |f: &Type| matches!(f.get_basic_info().logical_type_ref(), Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::NANOS);
        let long_divisor = wanted.iter().map(|&i| if nanos(&all[i]) { 1_000_000_000 } else { 1 }).collect();
        let columns = columns.iter().map(|c| c.and_then(|i| wanted.binary_search(&i).ok())).collect();
        let len = meta.num_rows().max(0) as u64;
        let rows = parquet::record::reader::RowIter::from_file_into(Box::new(reader))
            .project(Some(projection))
            .map_err(|e| io(&e))?;
        let progress =
            progress_bar(file_name(path), len, "{msg:>18} [{bar:30}] {human_pos}/{human_len} rows eta {eta}");
        let source = Source::Parquet { rows, row: 0, fields: vec![None; wanted.len()], long_divisor, bad: None };
        Ok(Table { path: path.to_path_buf(), source, columns, progress })
    }

    fn next(&mut self) -> Result<Next, DataError> {
        match &mut self.source {
            Source::Csv { reader, record } => match reader.read_byte_record(record) {
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    if line.is_multiple_of(65_536) {
                        self.progress.set_position(record.position().map_or(0, |p| p.byte()));
                    }
                    Ok(Next::Row(line))
                }
                Ok(false) => {
                    self.progress.finish_and_clear();
                    Ok(Next::End)
                }
                Err(e) => Ok(Next::Unreadable(e.position().map_or(0, |p| p.line()), e.to_string())),
            },
            Source::Parquet { rows, row, fields, long_divisor, bad } => match rows.next() {
                Some(Ok(r)) => {
                    *row += 1;
                    if row.is_multiple_of(65_536) {
                        self.progress.set_position(*row);
                    }
                    *bad = None;
                    for ((_, field), (slot, &divisor)) in
                        r.get_column_iter().zip(fields.iter_mut().zip(long_divisor.iter()))
                    {
                        if let Err(why) = render(field, slot, divisor) {
                            bad.get_or_insert(why);
                        }
                    }
                    Ok(Next::Row(*row))
                }
                // A Parquet read error is a damaged file (a page that does not decode), not a
                // bad row: the rest of the file cannot be trusted, so the run stops.
                Some(Err(e)) => {
                    Err(DataError::Io { path: self.path.clone(), message: format!("after row {row}: {e}") })
                }
                None => {
                    self.progress.finish_and_clear();
                    Ok(Next::End)
                }
            },
        }
    }

    /// Calls `each` for every row (with the table and the row's line), counting rows and skipping
    /// the ones the CSV parser cannot split.
    fn for_each_row(
        &mut self,
        report: &mut FileReport,
        strict: bool,
        mut each: impl FnMut(&Table, &mut FileReport, u64) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        loop {
            match self.next()? {
                Next::End => return Ok(()),
                Next::Unreadable(line, detail) => {
                    report.rows += 1;
                    report.skip(strict, line, "unreadable CSV", detail)?;
                }
                Next::Row(line) => {
                    report.rows += 1;
                    match self.unrenderable() {
                        Some(why) => report.skip(strict, line, why, String::new())?,
                        None => each(self, report, line)?,
                    }
                }
            }
        }
    }

    /// Field of column `c` (in `required ++ optional` order), trimmed; `None` if the row is short,
    /// the column is absent or the value is null.
    fn field(&self, c: usize) -> Option<&[u8]> {
        let i = self.columns[c]?;
        match &self.source {
            Source::Csv { record, .. } => record.get(i).map(<[u8]>::trim_ascii),
            Source::Parquet { fields, .. } => fields[i].as_deref().map(|f| f.as_bytes().trim_ascii()),
        }
    }

    fn text(&self, c: usize) -> Result<&str, (&'static str, String)> {
        match self.field(c) {
            None => match &self.source {
                Source::Csv { record, .. } => Err(("missing field", format!("{} fields", record.len()))),
                Source::Parquet { .. } => Err(("missing field", "null".to_string())),
            },
            Some(f) => std::str::from_utf8(f).map_err(|_| ("not UTF-8", String::new())),
        }
    }

    /// Why a wanted Parquet column of the current row could not be read as text, if so.
    fn unrenderable(&self) -> Option<&'static str> {
        match &self.source {
            Source::Parquet { bad: Some(why), .. } => Some(why),
            _ => None,
        }
    }
}

/// Writes `v` in its own precision: an f32 12.99 is "12.99", not the f64 "12.989999771118164"
/// that widening it first would print (and the price parser would refuse).
fn write_float<F: Copy + Into<f64> + std::fmt::Display>(out: &mut String, v: F) -> Result<(), &'static str> {
    use std::fmt::Write;
    let wide: f64 = v.into();
    let r = if wide.is_finite() && wide.fract() == 0.0 { write!(out, "{v:.1}") } else { write!(out, "{v}") };
    r.map_err(|_| "unprintable")
}

/// Finds the wanted columns (`required ++ optional`) among `names` (lower-cased).
fn resolve(
    path: &Path,
    names: &[String],
    required: &[&'static str],
    optional: &[&'static str],
) -> Result<Vec<Option<usize>>, DataError> {
    let mut columns = Vec::with_capacity(required.len() + optional.len());
    for &col in required {
        let Some(i) = names.iter().position(|n| n == col) else {
            return Err(DataError::MissingColumn { path: path.to_path_buf(), column: col, found: names.join(",") });
        };
        columns.push(Some(i));
    }
    columns.extend(optional.iter().map(|&col| names.iter().position(|n| n == col)));
    Ok(columns)
}

/// The last component of `path`, for messages.
pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// A progress bar of `len` steps labelled `message`, drawn with `template`.
pub(super) fn progress_bar(message: String, len: u64, template: &str) -> ProgressBar {
    let progress = ProgressBar::new(len).with_message(message);
    progress.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    );
    progress
}

/// Renders a Parquet value as the text the CSV reader would see: strings as they are, integers
/// in decimal (divided by `long_divisor`), floating point in decimal with a point (`3.0`, so that
/// a price in units is not read as cents), timestamps and dates as unix seconds, a list of
/// strings joined with `;` (tags). A null leaves `None`.
fn render(field: &Field, slot: &mut Option<String>, long_divisor: i64) -> Result<(), &'static str> {
    use std::fmt::Write;
    if matches!(field, Field::Null) {
        *slot = None;
        return Ok(());
    }
    let out = slot.get_or_insert_with(String::new);
    out.clear();
    let result = match field {
        Field::Str(s) => {
            out.push_str(s);
            Ok(())
        }
        Field::Bytes(b) => std::str::from_utf8(b.data()).map(|s| out.push_str(s)).map_err(|_| "not UTF-8"),
        Field::TimestampMillis(ms) => write!(out, "{}", ms.div_euclid(1_000)).map_err(|_| "unprintable"),
        Field::TimestampMicros(us) => write!(out, "{}", us.div_euclid(1_000_000)).map_err(|_| "unprintable"),
        Field::Date(days) => write!(out, "{}", i64::from(*days) * 86_400).map_err(|_| "unprintable"),
        Field::Long(v) => write!(out, "{}", v.div_euclid(long_divisor)).map_err(|_| "unprintable"),
        Field::Float(v) => write_float(out, *v),
        Field::Double(v) => write_float(out, *v),
        Field::ListInternal(list) => list.elements().iter().enumerate().try_for_each(|(k, e)| match e {
            Field::Str(s) => {
                if k > 0 {
                    out.push(';');
                }
                out.push_str(s);
                Ok(())
            }
            _ => Err("list of non-strings"),
        }),
        Field::Group(_) | Field::MapInternal(_) => Err("nested value"),
        other => write!(out, "{other}").map_err(|_| "unprintable"),
    };
    if result.is_err() {
        *slot = None;
    }
    result
}

/// An id field: non-empty, at most 256 bytes.
fn id_field<'a>(csv: &'a Table, c: usize, what: &'static str) -> Result<&'a str, (&'static str, String)> {
    let id = csv.text(c)?;
    if id.is_empty() {
        return Err(("empty id", what.to_string()));
    }
    if id.len() > crate::engine::MAX_ID_BYTES {
        return Err(("id too long", format!("{what} of {} bytes", id.len())));
    }
    Ok(id)
}

fn read_products(table: &mut Table, strict: bool) -> Result<(Vec<ProductInput>, IdRows, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut products = Vec::new();
    let mut rows: IdRows = FxHashMap::default();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let id = id_field(t, 0, "product_id")?;
            let name = t.text(1)?;
            let aisle = t.text(2)?;
            let department = t.text(3)?;
            if aisle.is_empty() {
                return Err(("empty aisle", String::new()));
            }
            let tags = match t.field(4) {
                Some(tags) => std::str::from_utf8(tags)
                    .map_err(|_| ("not UTF-8", String::new()))?
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            };
            let price_cents = match t.field(5) {
                None | Some(b"") => None,
                Some(p) => Some(parse_price(p).ok_or_else(|| ("bad price", String::from_utf8_lossy(p).to_string()))?),
            };
            Ok(ProductInput {
                id: id.to_string(),
                name: name.to_string(),
                aisle: aisle.to_string(),
                department: department.to_string(),
                tags,
                price_cents,
            })
        })();
        match parsed {
            Ok(p) if rows.contains_key(p.id.as_str()) => report.skip(strict, line, "duplicate product_id", p.id),
            Ok(p) => {
                rows.insert(p.id.as_str().into(), products.len() as u32);
                products.push(p);
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((products, rows, report))
}

/// Price in cents: an integer number of cents, or a decimal amount with a point (`3.49`).
fn parse_price(p: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(p).ok()?;
    match s.split_once('.') {
        None => s.parse().ok(),
        Some((units, cents)) if cents.len() <= 2 && cents.bytes().all(|b| b.is_ascii_digit()) => {
            let units: u32 = units.parse().ok()?;
            let cents: u32 = format!("{cents:0<2}").parse().ok()?;
            units.checked_mul(100)?.checked_add(cents)
        }
        Some(_) => None,
    }
}

fn read_purchases(
    table: &mut Table,
    strict: bool,
    products: &IdRows,
    customers: &mut Interner,
) -> Result<(Purchases, usize, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut lines = Purchases::default();
    let mut orders: FxHashMap<Box<str>, u32> = FxHashMap::default();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let customer = id_field(t, 0, "customer_id")?;
            let order = id_field(t, 1, "order_id")?;
            let product = id_field(t, 2, "product_id")?;
            let product = *products.get(product).ok_or_else(|| ("unknown product_id", product.to_string()))?;
            let ts_text = t.text(3)?;
            let ts = parse_ts(ts_text).ok_or_else(|| ("bad ts", ts_text.to_string()))?;
            Ok((customer, order, product, ts))
        })();
        match parsed {
            Ok((customer, order, product, ts)) => {
                let customer = customers.get_or_insert(customer);
                let next = orders.len() as u32;
                let order = *orders.entry(order.into()).or_insert(next);
                lines.push(customer, product, order, ts);
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((lines, orders.len(), report))
}

fn read_social(
    table: &mut Table,
    strict: bool,
    customers: &mut Interner,
    signals: &mut Interner,
) -> Result<(SocialRows, FileReport), DataError> {
    let mut report = FileReport::new(&table.path);
    let mut rows = Vec::new();
    table.for_each_row(&mut report, strict, |t, report, line| {
        let parsed = (|| {
            let customer = id_field(t, 0, "customer_id")?;
            let signal = t.text(1)?;
            match signal.split_once(':') {
                Some((ns, value)) if !ns.is_empty() && !value.is_empty() => {}
                _ => return Err(("signal is not namespace:value", signal.to_string())),
            }
            let weight = match t.field(2) {
                None | Some(b"") => 1.0,
                Some(w) => std::str::from_utf8(w)
                    .ok()
                    .and_then(|w| w.parse::<f32>().ok())
                    .filter(|w| w.is_finite() && *w >= 0.0)
                    .ok_or_else(|| ("bad weight", String::from_utf8_lossy(w).to_string()))?,
            };
            Ok((customer, signal, weight))
        })();
        match parsed {
            Ok((customer, signal, weight)) => {
                rows.push((customers.get_or_insert(customer), signals.get_or_insert(signal), weight));
                report.used += 1;
                Ok(())
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail),
        }
    })?;
    Ok((rows, report))
}

/// Unix seconds, or RFC 3339 (`2025-06-01T10:30:00Z`, `2025-06-01T10:30:00.5+02:00`; a space
/// instead of `T` is accepted).
pub fn parse_ts(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[16] != b':' || !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_unix_and_rfc3339() {
        assert_eq!(parse_ts("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_ts("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_ts("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(parse_ts("2023-11-14 22:13:20.250Z"), Some(1_700_000_000));
        assert_eq!(parse_ts("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in ["", "yesterday", "2023-13-01T00:00:00Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20+0200", "12.5"]
        {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn prices_in_cents_or_decimal() {
        assert_eq!(parse_price(b"349"), Some(349));
        assert_eq!(parse_price(b"3.49"), Some(349));
        assert_eq!(parse_price(b"3.5"), Some(350));
        assert_eq!(parse_price(b"3.499"), None);
        assert_eq!(parse_price(b"-1"), None);
        assert_eq!(parse_price(b"abc"), None);
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("endcap-data-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn broken_rows_are_skipped_counted_and_reported_with_their_line() {
        let dir = temp_dir("broken");
        write(
            &dir,
            "products.csv",
            "product_id,name,aisle,department,tags,price\n\
             p1,Apples,Fruit,Produce,,120\n\
             p2,\"Steak, rib-eye\",Beef,Meat,meat;fresh,1299\n\
             p1,Dup,Fruit,Produce,,\n\
             p3,Bad price,Fruit,Produce,,cheap\n\
             p4,No aisle,,Produce,,\n",
        );
        write(
            &dir,
            "purchases.csv",
            "customer_id,order_id,product_id,ts\n\
             c1,o1,p1,1700000000\n\
             c1,o1,p2,1700000000\n\
             c2,o2,p9,1700000000\n\
             c2,o2,p1,not-a-time\n\
             c2,o3,p2\n\
             ,o4,p1,1700000000\n\
             c2,o3,p2,2023-11-14T22:13:20Z\n",
        );
        write(
            &dir,
            "social.csv",
            "customer_id,signal,weight\nc3,lifestyle:vegetarian,1\nc1,vegetarian,1\nc1,music:jazz,-2\n",
        );
        let data = read_dir(&dir, false).expect("reads");
        assert_eq!(data.products.len(), 2);
        assert_eq!(data.products[1].name, "Steak, rib-eye");
        assert_eq!(data.products[1].tags, vec!["meat", "fresh"]);
        assert_eq!(data.purchases.len(), 3);
        assert_eq!(data.orders, 2);
        assert_eq!(data.customers, vec!["c1", "c2", "c3"], "c3 is known from social data only");
        assert_eq!(data.social, vec![(2, 0, 1.0)]);
        let [products, purchases, social] = &data.files[..] else { panic!("three reports") };
        assert_eq!((products.rows, products.used, products.skipped_total()), (5, 2, 3));
        assert_eq!(products.skipped["duplicate product_id"], 1);
        assert_eq!(products.examples[0], (4, "duplicate product_id: p1".to_string()));
        assert_eq!((purchases.rows, purchases.used), (7, 3));
        assert_eq!(purchases.skipped["unknown product_id"], 1);
        assert_eq!(purchases.skipped["bad ts"], 1);
        assert_eq!(purchases.skipped["missing field"], 1);
        assert_eq!(purchases.skipped["empty id"], 1);
        assert_eq!(purchases.examples[0], (4, "unknown product_id: p9".to_string()));
        assert_eq!(social.skipped["signal is not namespace:value"], 1);
        assert_eq!(social.skipped["bad weight"], 1);

        let e = read_dir(&dir, true).expect_err("strict refuses");
        assert!(e.to_string().contains("products.csv:4: duplicate product_id"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A Parquet column for the test writer; every column is OPTIONAL (nullable).
    enum Col {
        Str(Vec<Option<&'static str>>),
        I64(Vec<Option<i64>>),
        F32(Vec<Option<f32>>),
        F64(Vec<Option<f64>>),
    }

    /// Writes a one-row-group, Snappy-compressed Parquet file.
    fn write_parquet(path: &Path, schema: &str, columns: Vec<Col>) {
        use parquet::basic::Compression;
        use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
            (v.iter().flatten().cloned().collect(), v.iter().map(|x| i16::from(x.is_some())).collect())
        }
        let schema = std::sync::Arc::new(parquet::schema::parser::parse_message_type(schema).expect("schema"));
        let props = std::sync::Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
        let file = File::create(path).expect("create");
        let mut writer = SerializedFileWriter::new(file, schema, props).expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        let mut columns = columns.into_iter();
        while let Some(mut col) = group.next_column().expect("column") {
            match columns.next().expect("a value vector per column") {
                Col::Str(v) => {
                    let (values, defs) = split(&v);
                    let values: Vec<ByteArray> = values.into_iter().map(ByteArray::from).collect();
                    col.typed::<ByteArrayType>().write_batch(&values, Some(&defs), None).expect("write");
                }
                Col::I64(v) => {
                    let (values, defs) = split(&v);
                    col.typed::<Int64Type>().write_batch(&values, Some(&defs), None).expect("write");
                }
                Col::F32(v) => {
                    let (values, defs) = split(&v);
                    col.typed::<FloatType>().write_batch(&values, Some(&defs), None).expect("write");
                }
                Col::F64(v) => {
                    let (values, defs) = split(&v);
                    col.typed::<DoubleType>().write_batch(&values, Some(&defs), None).expect("write");
                }
            }
            col.close().expect("close column");
        }
        group.close().expect("close group");
        writer.close().expect("close file");
    }

    #[test]
    fn parquet_typed_columns_read_like_csv_and_bad_rows_are_counted() {
        let dir = temp_dir("parquet");
        // An unused column (`notes`) sits between wanted ones: the reader projects it away.
        write_parquet(
            &dir.join("products.parquet"),
            "message p { optional binary product_id (UTF8); optional binary name (UTF8); \
             optional binary notes (UTF8); optional binary aisle (UTF8); optional binary department (UTF8); \
             optional binary tags (UTF8); optional float price; }",
            vec![
                Col::Str(vec![Some("p1"), Some("p2"), Some("p1"), None, Some("p3"), Some("p4")]),
                Col::Str(vec![Some("Apples"), Some("Steak"), Some("Dup"), Some("No id"), Some("Water"), Some("Bread")]),
                Col::Str(vec![Some("x"), None, Some("y"), None, None, None]),
                Col::Str(vec![Some("Fruit"), Some("Beef"), Some("Fruit"), Some("Fruit"), Some("Water"), Some("Bread")]),
                Col::Str(vec![
                    Some("Produce"),
                    Some("Meat"),
                    Some("Produce"),
                    Some("Produce"),
                    Some("Drinks"),
                    Some("Bakery"),
                ]),
                Col::Str(vec![None, Some("meat;fresh"), None, None, None, None]),
                // 32-bit floats: 12.99f32 widened to f64 would print as 12.989999771118164.
                Col::F32(vec![Some(1.2), Some(12.99), None, None, Some(0.0), Some(3.0)]),
            ],
        );
        // 2023-11-14T22:13:20Z = 1700000000 s, as a nanosecond timestamp (what pandas writes).
        write_parquet(
            &dir.join("purchases.parquet"),
            "message p { optional binary customer_id (UTF8); optional binary order_id (UTF8); \
             optional binary product_id (UTF8); optional int64 ts (TIMESTAMP(NANOS,true)); }",
            vec![
                Col::Str(vec![Some("c1"), Some("c1"), Some("c2"), None]),
                Col::Str(vec![Some("o1"), Some("o1"), Some("o2"), Some("o3")]),
                Col::Str(vec![Some("p1"), Some("p2"), Some("p9"), Some("p1")]),
                Col::I64(vec![Some(1_700_000_000_000_000_000), Some(1_700_000_000_999_999_999), None, Some(0)]),
            ],
        );
        write_parquet(
            &dir.join("social.parquet"),
            "message s { optional binary customer_id (UTF8); optional binary signal (UTF8); optional double weight; }",
            vec![
                Col::Str(vec![Some("c3"), Some("c1")]),
                Col::Str(vec![Some("lifestyle:vegetarian"), Some("music:jazz")]),
                Col::F64(vec![Some(1.0), Some(-2.0)]),
            ],
        );
        let data = read_dir(&dir, false).expect("reads");
        assert_eq!(data.products.len(), 4);
        assert_eq!(data.products[0].price_cents, Some(120));
        assert_eq!(data.products[1].price_cents, Some(1299));
        assert_eq!(data.products[1].aisle, "Beef", "columns map past the unused one");
        assert_eq!(data.products[1].tags, vec!["meat", "fresh"]);
        assert_eq!(data.products[2].price_cents, Some(0), "0.0 is a price, not a malformed one");
        assert_eq!(data.products[3].price_cents, Some(300), "3.0 is units, not cents");
        assert_eq!(data.purchases.ts, vec![1_700_000_000, 1_700_000_000]);
        assert_eq!(data.customers, vec!["c1", "c3"]);
        assert_eq!(data.social, vec![(1, 0, 1.0)]);
        let [products, purchases, social] = &data.files[..] else { panic!("three reports") };
        assert_eq!((products.rows, products.used), (6, 4));
        assert_eq!(products.examples[0], (3, "duplicate product_id: p1".to_string()), "row numbers are 1-based");
        assert_eq!(products.skipped["missing field"], 1, "a null id");
        assert_eq!((purchases.rows, purchases.used), (4, 2));
        assert_eq!(purchases.skipped["unknown product_id"], 1);
        assert_eq!(purchases.skipped["missing field"], 1);
        assert_eq!(social.skipped["bad weight"], 1);
        let e = read_dir(&dir, true).expect_err("strict refuses");
        assert!(e.to_string().contains("products.parquet:3: duplicate product_id"), "{e}");

        // Both formats of one table is ambiguous; a damaged Parquet file is an error, not a skip.
        write(&dir, "social.csv", "customer_id,signal\n");
        let e = read_dir(&dir, false).expect_err("ambiguous");
        assert!(e.to_string().contains("both social.csv and social.parquet"), "{e}");
        std::fs::remove_file(dir.join("social.csv")).expect("rm");
        let bytes = std::fs::read(dir.join("purchases.parquet")).expect("read");
        std::fs::write(dir.join("purchases.parquet"), &bytes[..bytes.len() / 2]).expect("truncate");
        let e = read_dir(&dir, false).expect_err("truncated parquet");
        assert!(e.to_string().contains("purchases.parquet"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn demo_store_reads_the_same_from_parquet_as_from_csv() {
        let dir = temp_dir("parquet-demo");
        let store = crate::demo::generate(&crate::demo::DemoSpec { products: 400, customers: 600, seed: 3, dim: 16 });
        store.write_csv(&dir).expect("csv");
        let from_csv = read_dir(&dir, true).expect("csv reads");
        // Convert every table to Parquet, all columns as strings, empty CSV fields as nulls.
        for name in ["products", "purchases", "social"] {
            let csv_path = dir.join(format!("{name}.csv"));
            let mut reader = csv::Reader::from_path(&csv_path).expect("open");
            let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
            let mut columns: Vec<Vec<Option<&'static str>>> = vec![Vec::new(); header.len()];
            for record in reader.records() {
                for (c, f) in record.expect("row").iter().enumerate() {
                    let leaked: &'static str = Box::leak(f.to_string().into_boxed_str());
                    columns[c].push((!f.is_empty()).then_some(leaked));
                }
            }
            let fields: String = header.iter().map(|h| format!("optional binary {h} (UTF8); ")).collect();
            let columns = columns.into_iter().map(Col::Str).collect();
            write_parquet(&dir.join(format!("{name}.parquet")), &format!("message m {{ {fields}}}"), columns);
            std::fs::remove_file(&csv_path).expect("rm");
        }
        let from_parquet = read_dir(&dir, true).expect("parquet reads");
        assert_eq!(from_parquet.products, from_csv.products);
        assert_eq!(from_parquet.customers, from_csv.customers);
        assert_eq!(from_parquet.purchases.customer, from_csv.purchases.customer);
        assert_eq!(from_parquet.purchases.product, from_csv.purchases.product);
        assert_eq!(from_parquet.purchases.order, from_csv.purchases.order);
        assert_eq!(from_parquet.purchases.ts, from_csv.purchases.ts);
        assert_eq!(from_parquet.signals, from_csv.signals);
        assert_eq!(from_parquet.social, from_csv.social);
        assert!(from_csv.purchases.len() > 1_000, "a real amount of data");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_files_and_columns_are_clear_errors() {
        let dir = temp_dir("missing");
        let e = read_dir(&dir, false).expect_err("no files");
        assert!(e.to_string().contains("products.csv"), "{e}");
        write(&dir, "products.csv", "id,name\np1,x\n");
        let e = read_dir(&dir, false).expect_err("bad header");
        assert!(e.to_string().contains("no `product_id` column"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
