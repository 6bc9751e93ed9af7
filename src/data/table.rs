//! One input table, from CSV or Parquet, seen as rows of text fields, so that one set of parsing
//! rules (ids, timestamps, prices, weights) applies to both formats.

use super::*;

/// One input table, from CSV or Parquet: column positions, the current row's fields as text, a
/// progress bar.
///
/// Both formats are read into the same text fields so that one set of parsing rules (ids,
/// timestamps, prices, weights) applies to both. For Parquet, the row number reported with a
/// skipped row is the 1-based row in the file; for CSV it is the line (the header is line 1).
/// A Parquet table may be a folder of part files (as Spark, Hive and most data lakes write it):
/// the parts are read in name order as one table, rows numbered across them.
pub(super) struct Table {
    /// The file, or the folder of part files, as reported.
    pub(super) path: PathBuf,
    source: Source,
    /// For each wanted column (`required ++ optional`), its position in a row (of the current part).
    columns: Vec<Option<usize>>,
    progress: ProgressBar,
    /// The Parquet file being read (a part of `path` when it is a folder).
    part: PathBuf,
    /// The part files not yet read, and the columns each must have.
    parts: std::collections::VecDeque<PathBuf>,
    wanted: (Vec<&'static str>, Vec<&'static str>),
}

pub(super) enum Source {
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
pub(super) enum Next {
    /// A row, at this line (CSV) or row (Parquet) number.
    Row(u64),
    /// A row the CSV parser could not split (bad quoting), with its line and why.
    Unreadable(u64, String),
    /// The end of the table.
    End,
}

impl Table {
    /// Opens `dir/NAME.csv` or `dir/NAME.parquet`; `Ok(None)` when neither exists.
    pub(super) fn open(
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
            (false, true) if parquet_path.is_dir() => Table::open_parquet_dir(&parquet_path, required, optional)?,
            (false, true) => Table::open_parquet(&parquet_path, required, optional)?,
            (false, false) => return Ok(None),
        };
        Ok(Some(table))
    }

    /// Like `open`, but a missing table is an error.
    pub(super) fn open_required(
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
        Ok(Table::of(path, source, columns, progress))
    }

    fn of(path: &Path, source: Source, columns: Vec<Option<usize>>, progress: ProgressBar) -> Table {
        let (path, part) = (path.to_path_buf(), path.to_path_buf());
        Table { path, source, columns, progress, part, parts: Default::default(), wanted: Default::default() }
    }

    /// A folder of Parquet part files (`part-*.parquet` and the like; names starting with `.` or
    /// `_`, such as `_SUCCESS` and checksums, are not data), read in name order as one table.
    fn open_parquet_dir(dir: &Path, required: &[&'static str], optional: &[&'static str]) -> Result<Table, DataError> {
        let io = |message: String| DataError::Io { path: dir.to_path_buf(), message };
        let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                !name.starts_with('.') && !name.starts_with('_') && p.is_file()
            })
            .collect();
        parts.sort();
        let mut parts: std::collections::VecDeque<PathBuf> = parts.into();
        let first = parts.pop_front().ok_or_else(|| io("a folder with no part files".to_string()))?;
        let mut table = Table::open_parquet(&first, required, optional)?;
        table.path = dir.to_path_buf();
        table.parts = parts;
        table.wanted = (required.to_vec(), optional.to_vec());
        Ok(table)
    }

    /// Moves on to the next part file of a folder, numbering its rows after the ones read;
    /// false when there is none.
    fn next_part(&mut self) -> Result<bool, DataError> {
        let Some(next) = self.parts.pop_front() else { return Ok(false) };
        let read = match &self.source {
            Source::Parquet { row, .. } => *row,
            Source::Csv { .. } => 0,
        };
        let (required, optional) = std::mem::take(&mut self.wanted);
        let mut part = Table::open_parquet(&next, &required, &optional)?;
        if let Source::Parquet { row, .. } = &mut part.source {
            *row = read;
        }
        self.progress.finish_and_clear();
        self.source = part.source;
        self.columns = part.columns;
        self.progress = part.progress;
        self.part = next;
        self.wanted = (required, optional);
        Ok(true)
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
        Ok(Table::of(path, source, columns, progress))
    }

    pub(super) fn next(&mut self) -> Result<Next, DataError> {
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
                    Err(DataError::Io { path: self.part.clone(), message: format!("after row {row}: {e}") })
                }
                None if self.next_part()? => self.next(),
                None => {
                    self.progress.finish_and_clear();
                    Ok(Next::End)
                }
            },
        }
    }

    /// Calls `each` for every row (with the table and the row's line), counting rows and skipping
    /// the ones the CSV parser cannot split.
    pub(super) fn for_each_row(
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

    /// True when the file has column `c` (in `required ++ optional` order).
    pub(super) fn has(&self, c: usize) -> bool {
        self.columns.get(c).is_some_and(Option::is_some)
    }

    /// Field of column `c` (in `required ++ optional` order), trimmed; `None` if the row is short,
    /// the column is absent or the value is null.
    pub(super) fn field(&self, c: usize) -> Option<&[u8]> {
        let i = self.columns[c]?;
        match &self.source {
            Source::Csv { record, .. } => record.get(i).map(<[u8]>::trim_ascii),
            Source::Parquet { fields, .. } => fields[i].as_deref().map(|f| f.as_bytes().trim_ascii()),
        }
    }

    pub(super) fn text(&self, c: usize) -> Result<&str, (&'static str, String)> {
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
pub(super) fn write_float<F: Copy + Into<f64> + std::fmt::Display>(out: &mut String, v: F) -> Result<(), &'static str> {
    use std::fmt::Write;
    let wide: f64 = v.into();
    let r = if wide.is_finite() && wide.fract() == 0.0 { write!(out, "{v:.1}") } else { write!(out, "{v}") };
    r.map_err(|_| "unprintable")
}

/// Finds the wanted columns (`required ++ optional`) among `names` (lower-cased).
pub(super) fn resolve(
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
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// A progress bar of `len` steps labelled `message`, drawn with `template`.
pub fn progress_bar(message: String, len: u64, template: &str) -> ProgressBar {
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
pub(super) fn render(field: &Field, slot: &mut Option<String>, long_divisor: i64) -> Result<(), &'static str> {
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
