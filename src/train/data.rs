//! Reads the trainer's input (PRODUCT.md's data contract) from CSV: `products.csv`,
//! `purchases.csv` and the optional `social.csv`, with a header row, columns in any order (extra
//! columns are ignored).
//!
//! Nothing is dropped silently: a malformed row is skipped and counted under its reason, the first
//! few of each file are kept with file, line and reason for the report, and `strict` turns the
//! first one into an error. Ids are interned to dense `u32` rows as they are read.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
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

/// Reads `dir/products.csv`, `dir/purchases.csv` and, if present, `dir/social.csv`.
pub fn read_dir(dir: &Path, strict: bool) -> Result<TrainData, DataError> {
    let mut data = TrainData::default();
    let products_path = dir.join("products.csv");
    let (products, product_rows, report) = read_products(&products_path, strict)?;
    data.products = products;
    data.files.push(report);
    if data.products.is_empty() {
        return Err(DataError::Empty(format!("{}: no usable products", products_path.display())));
    }

    let mut customers = Interner::default();
    let purchases_path = dir.join("purchases.csv");
    let (purchases, orders, report) = read_purchases(&purchases_path, strict, &product_rows, &mut customers)?;
    data.purchases = purchases;
    data.orders = orders;
    data.files.push(report);

    let social_path = dir.join("social.csv");
    if social_path.exists() {
        let mut signals = Interner::default();
        let (social, report) = read_social(&social_path, strict, &mut customers, &mut signals)?;
        data.social = social;
        data.signals = signals.names;
        data.files.push(report);
    }
    data.customers = customers.names;
    if data.purchases.is_empty() {
        return Err(DataError::Empty(format!("{}: no usable purchases", purchases_path.display())));
    }
    Ok(data)
}

/// An open CSV file: reader, column positions, progress bar over its bytes.
struct Csv {
    reader: csv::Reader<File>,
    columns: Vec<Option<usize>>,
    progress: ProgressBar,
    record: csv::ByteRecord,
}

impl Csv {
    fn open(path: &Path, required: &[&'static str], optional: &[&'static str]) -> Result<Csv, DataError> {
        let io = |e: &dyn std::fmt::Display| DataError::Io { path: path.to_path_buf(), message: e.to_string() };
        let file = File::open(path).map_err(|e| io(&e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
        let header = reader.byte_headers().map_err(|e| io(&e))?.clone();
        let names: Vec<String> =
            header.iter().map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase()).collect();
        let mut columns = Vec::new();
        for &col in required {
            match names.iter().position(|n| n == col) {
                Some(i) => columns.push(Some(i)),
                None => {
                    return Err(DataError::MissingColumn {
                        path: path.to_path_buf(),
                        column: col,
                        found: names.join(","),
                    });
                }
            }
        }
        columns.extend(optional.iter().map(|&col| names.iter().position(|n| n == col)));
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let progress = ProgressBar::new(len).with_message(name);
        progress.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Ok(Csv { reader, columns, progress, record: csv::ByteRecord::new() })
    }

    /// Reads the next row; `Ok(None)` at the end. A row the CSV parser cannot read at all (bad
    /// quoting) is reported as `Err((line, detail))`.
    fn next(&mut self) -> Result<Option<u64>, (u64, String)> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                let pos = self.record.position().map_or(0, |p| p.line());
                if pos.is_multiple_of(65_536) {
                    self.progress.set_position(self.record.position().map_or(0, |p| p.byte()));
                }
                Ok(Some(pos))
            }
            Ok(false) => {
                self.progress.finish_and_clear();
                Ok(None)
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Err((line, e.to_string()))
            }
        }
    }

    /// Field of column `c` (in `required ++ optional` order), trimmed; `None` if the row is short
    /// or the column is absent.
    fn field(&self, c: usize) -> Option<&[u8]> {
        self.columns[c].and_then(|i| self.record.get(i)).map(|f| f.trim_ascii())
    }

    fn text(&self, c: usize) -> Result<&str, (&'static str, String)> {
        match self.field(c) {
            None => Err(("missing field", format!("{} fields", self.record.len()))),
            Some(f) => std::str::from_utf8(f).map_err(|_| ("not UTF-8", String::new())),
        }
    }
}

/// An id field: non-empty, at most 256 bytes.
fn id_field<'a>(csv: &'a Csv, c: usize, what: &'static str) -> Result<&'a str, (&'static str, String)> {
    let id = csv.text(c)?;
    if id.is_empty() {
        return Err(("empty id", what.to_string()));
    }
    if id.len() > crate::engine::MAX_ID_BYTES {
        return Err(("id too long", format!("{what} of {} bytes", id.len())));
    }
    Ok(id)
}

fn read_products(path: &Path, strict: bool) -> Result<(Vec<ProductInput>, IdRows, FileReport), DataError> {
    let mut csv = Csv::open(path, &["product_id", "name", "aisle", "department"], &["tags", "price"])?;
    let mut report = FileReport::new(path);
    let mut products = Vec::new();
    let mut rows: IdRows = FxHashMap::default();
    loop {
        let line = match csv.next() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, detail)) => {
                report.rows += 1;
                report.skip(strict, line, "unreadable CSV", detail)?;
                continue;
            }
        };
        report.rows += 1;
        let parsed = (|| {
            let id = id_field(&csv, 0, "product_id")?;
            let name = csv.text(1)?;
            let aisle = csv.text(2)?;
            let department = csv.text(3)?;
            if aisle.is_empty() {
                return Err(("empty aisle", String::new()));
            }
            let tags = match csv.field(4) {
                Some(t) => std::str::from_utf8(t)
                    .map_err(|_| ("not UTF-8", String::new()))?
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            };
            let price_cents = match csv.field(5) {
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
            Ok(p) => {
                if rows.contains_key(p.id.as_str()) {
                    report.skip(strict, line, "duplicate product_id", p.id)?;
                    continue;
                }
                rows.insert(p.id.as_str().into(), products.len() as u32);
                products.push(p);
                report.used += 1;
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail)?,
        }
    }
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
    path: &Path,
    strict: bool,
    products: &IdRows,
    customers: &mut Interner,
) -> Result<(Purchases, usize, FileReport), DataError> {
    let mut csv = Csv::open(path, &["customer_id", "order_id", "product_id", "ts"], &[])?;
    let mut report = FileReport::new(path);
    let mut lines = Purchases::default();
    let mut orders: FxHashMap<Box<str>, u32> = FxHashMap::default();
    loop {
        let line = match csv.next() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, detail)) => {
                report.rows += 1;
                report.skip(strict, line, "unreadable CSV", detail)?;
                continue;
            }
        };
        report.rows += 1;
        let parsed = (|| {
            let customer = id_field(&csv, 0, "customer_id")?;
            let order = id_field(&csv, 1, "order_id")?;
            let product = id_field(&csv, 2, "product_id")?;
            let product = *products.get(product).ok_or_else(|| ("unknown product_id", product.to_string()))?;
            let ts_text = csv.text(3)?;
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
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail)?,
        }
    }
    Ok((lines, orders.len(), report))
}

fn read_social(
    path: &Path,
    strict: bool,
    customers: &mut Interner,
    signals: &mut Interner,
) -> Result<(SocialRows, FileReport), DataError> {
    let mut csv = Csv::open(path, &["customer_id", "signal"], &["weight"])?;
    let mut report = FileReport::new(path);
    let mut rows = Vec::new();
    loop {
        let line = match csv.next() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, detail)) => {
                report.rows += 1;
                report.skip(strict, line, "unreadable CSV", detail)?;
                continue;
            }
        };
        report.rows += 1;
        let parsed = (|| {
            let customer = id_field(&csv, 0, "customer_id")?;
            let signal = csv.text(1)?;
            match signal.split_once(':') {
                Some((ns, value)) if !ns.is_empty() && !value.is_empty() => {}
                _ => return Err(("signal is not namespace:value", signal.to_string())),
            }
            let weight = match csv.field(2) {
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
            }
            Err((reason, detail)) => report.skip(strict, line, reason, detail)?,
        }
    }
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
