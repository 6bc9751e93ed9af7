//! The Spark job's tables as rows: one table of one store is the part files Spark wrote under
//! `ROOT/TABLE/store=S/`, read in name order, projected onto the columns asked for, each row's
//! fields reached by name with typed getters (strings, integers, floats, float and string
//! arrays). A value of the wrong type, a null where one is required or a damaged file is an
//! error naming the file and the row: the tables are made by a program, so a bad row is not
//! skipped but reported.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use super::ImportError;

/// Longest array the import accepts in one field (an embedding is at most 1024 wide; a
/// segment's popular list or a basket is far shorter).
pub const MAX_ARRAY: usize = 100_000;

/// The store directories under `root/table`: `(store name, directory)`, names decoded from
/// Spark's escaping (`store=a%2Fb` is store `a/b`), sorted by name.
pub fn stores(root: &Path, table: &str) -> Result<Vec<(String, PathBuf)>, ImportError> {
    let dir = root.join(table);
    let entries = std::fs::read_dir(&dir).map_err(|e| ImportError::io(&dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(value) = name.strip_prefix("store=")
            && entry.path().is_dir()
        {
            out.push((unescape(value), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Spark's partition-value escaping undone: `%XX` is the byte XX.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// One table of one store.
pub struct Table {
    /// Table name, for messages.
    pub name: &'static str,
    /// Its part files, in name order.
    pub files: Vec<PathBuf>,
}

impl Table {
    /// The part files of `root/name/store=<store>`; `Ok(None)` when the table has no directory
    /// for the store (an optional table, or a store with nothing in it).
    pub fn open(root: &Path, name: &'static str, store: &str) -> Result<Option<Table>, ImportError> {
        // A table with no folder at all is absent; a folder that cannot be read is an error (an
        // optional table must not be skipped silently because of permissions or a bad disk).
        if !root.join(name).exists() {
            return Ok(None);
        }
        let Some((_, dir)) = stores(root, name)?.into_iter().find(|(s, _)| s == store) else {
            return Ok(None);
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| ImportError::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                !n.starts_with('.') && !n.starts_with('_') && n.ends_with(".parquet")
            })
            .collect();
        files.sort();
        Ok(Some(Table { name, files }))
    }

    /// Like `open`, but a missing table is an error.
    pub fn required(root: &Path, name: &'static str, store: &str) -> Result<Table, ImportError> {
        Table::open(root, name, store)?.ok_or_else(|| ImportError::MissingTable {
            table: name,
            dir: root.join(name).join(format!("store={store}")),
        })
    }

    /// Calls `each` with every row, projected onto `columns` (all required in the schema).
    /// Returns the number of rows.
    pub fn for_each(
        &self,
        columns: &[&'static str],
        mut each: impl FnMut(&Fields<'_>) -> Result<(), String>,
    ) -> Result<u64, ImportError> {
        let mut rows = 0u64;
        for path in &self.files {
            let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
            let reader = SerializedFileReader::new(file).map_err(|e| ImportError::io(path, e))?;
            let schema = reader.metadata().file_metadata().schema();
            let all = schema.get_fields();
            let mut wanted = Vec::with_capacity(columns.len());
            for &c in columns {
                let Some(i) = all.iter().position(|f| f.name() == c) else {
                    let found: Vec<&str> = all.iter().map(|f| f.name()).collect();
                    return Err(ImportError::MissingColumn { path: path.clone(), column: c, found: found.join(",") });
                };
                wanted.push(i);
            }
            // The projection keeps the file's column order; `at[k]` is where column k lands.
            let mut sorted = wanted.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let at: Vec<usize> = wanted.iter().map(|i| sorted.binary_search(i).unwrap_or(0)).collect();
            let projection = Type::group_type_builder(schema.name())
                .with_fields(sorted.iter().map(|&i| all[i].clone()).collect())
                .build()
                .map_err(|e| ImportError::io(path, e))?;
            let iter = parquet::record::reader::RowIter::from_file_into(Box::new(reader))
                .project(Some(projection))
                .map_err(|e| ImportError::io(path, e))?;
            for (n, row) in iter.enumerate() {
                let row = row.map_err(|e| ImportError::io(path, format!("row {}: {e}", n + 1)))?;
                let fields = Fields { row: &row, at: &at, columns };
                each(&fields).map_err(|message| ImportError::Row { path: path.clone(), row: n as u64 + 1, message })?;
                rows += 1;
            }
        }
        Ok(rows)
    }
}

/// One row's fields, by the position of their column in the list asked for.
pub struct Fields<'a> {
    row: &'a Row,
    at: &'a [usize],
    columns: &'a [&'static str],
}

impl Fields<'_> {
    fn field(&self, c: usize) -> &Field {
        // `at` maps every asked column into the projected row, which has exactly those columns.
        self.row.get_column_iter().nth(self.at[c]).map_or(&Field::Null, |(_, f)| f)
    }

    fn wrong(&self, c: usize, want: &str, got: &Field) -> String {
        let got = if matches!(got, Field::Null) { "null".to_string() } else { format!("{got}") };
        let got: String = got.chars().take(60).collect();
        format!("column `{}`: expected {want}, found {got}", self.columns[c])
    }

    /// True when the value of column `c` is null.
    pub fn is_null(&self, c: usize) -> bool {
        matches!(self.field(c), Field::Null)
    }

    /// A string.
    pub fn str(&self, c: usize) -> Result<&str, String> {
        match self.field(c) {
            Field::Str(s) => Ok(s),
            other => Err(self.wrong(c, "a string", other)),
        }
    }

    /// An id: a non-empty string of at most `MAX_ID_BYTES` bytes.
    pub fn id(&self, c: usize) -> Result<&str, String> {
        let s = self.str(c)?;
        if s.is_empty() || s.len() > crate::ids::MAX_ID_BYTES {
            return Err(format!("column `{}`: an id must be 1 to {} bytes", self.columns[c], crate::ids::MAX_ID_BYTES));
        }
        Ok(s)
    }

    /// An integer of any width.
    pub fn int(&self, c: usize) -> Result<i64, String> {
        match self.field(c) {
            Field::Byte(v) => Ok(i64::from(*v)),
            Field::Short(v) => Ok(i64::from(*v)),
            Field::Int(v) => Ok(i64::from(*v)),
            Field::Long(v) => Ok(*v),
            Field::UByte(v) => Ok(i64::from(*v)),
            Field::UShort(v) => Ok(i64::from(*v)),
            Field::UInt(v) => Ok(i64::from(*v)),
            other => Err(self.wrong(c, "an integer", other)),
        }
    }

    /// A non-negative integer that fits in a `u32`.
    pub fn u32(&self, c: usize) -> Result<u32, String> {
        let v = self.int(c)?;
        u32::try_from(v).map_err(|_| format!("column `{}`: {v} is out of range", self.columns[c]))
    }

    /// A finite float (single or double precision).
    pub fn float(&self, c: usize) -> Result<f32, String> {
        let v = match self.field(c) {
            Field::Float(v) => *v,
            Field::Double(v) => *v as f32,
            other => return Err(self.wrong(c, "a float", other)),
        };
        if !v.is_finite() {
            return Err(format!("column `{}`: {v} is not finite", self.columns[c]));
        }
        Ok(v)
    }

    /// An array of finite floats, appended to `out`; `Ok(false)` (nothing appended) for a null.
    pub fn floats(&self, c: usize, out: &mut Vec<f32>) -> Result<bool, String> {
        let list = match self.field(c) {
            Field::Null => return Ok(false),
            Field::ListInternal(list) => list.elements(),
            other => return Err(self.wrong(c, "an array of floats", other)),
        };
        if list.len() > MAX_ARRAY {
            return Err(format!("column `{}`: {} values, at most {MAX_ARRAY}", self.columns[c], list.len()));
        }
        for e in list {
            let v = match e {
                Field::Float(v) => *v,
                Field::Double(v) => *v as f32,
                other => return Err(self.wrong(c, "an array of floats", other)),
            };
            if !v.is_finite() {
                return Err(format!("column `{}`: {v} is not finite", self.columns[c]));
            }
            out.push(v);
        }
        Ok(true)
    }

    /// An array of strings, each handed to `each`; a null is an empty array.
    pub fn strings(&self, c: usize, mut each: impl FnMut(&str) -> Result<(), String>) -> Result<(), String> {
        let list = match self.field(c) {
            Field::Null => return Ok(()),
            Field::ListInternal(list) => list.elements(),
            other => return Err(self.wrong(c, "an array of strings", other)),
        };
        if list.len() > MAX_ARRAY {
            return Err(format!("column `{}`: {} values, at most {MAX_ARRAY}", self.columns[c], list.len()));
        }
        for e in list {
            match e {
                Field::Str(s) => each(s)?,
                other => return Err(self.wrong(c, "an array of strings", other)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_partition_names_are_unescaped() {
        assert_eq!(unescape("all"), "all");
        assert_eq!(unescape("north%2Fcity%3D1"), "north/city=1");
        assert_eq!(unescape("50%"), "50%", "a lone percent sign stays");
        assert_eq!(unescape("a%zz"), "a%zz");
    }
}
