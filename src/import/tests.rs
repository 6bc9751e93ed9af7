//! Import tests: picking the store, and tables that are missing or unreadable. The whole path
//! (real tables from spark/train.py, imported, served, scored) is tests/server/spark.rs.

use std::path::{Path, PathBuf};

use super::*;

/// A scratch folder with `tables/store=S/` folders, removed on drop.
struct Tables(PathBuf);

impl Tables {
    fn new(tag: &str, layout: &[(&str, &str)]) -> Tables {
        let root = std::env::temp_dir().join(format!("endcap-import-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (table, store) in layout {
            std::fs::create_dir_all(root.join(table).join(format!("store={store}"))).expect("dir");
        }
        std::fs::create_dir_all(&root).expect("dir");
        Tables(root)
    }

    fn root(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn stores_come_from_the_summary_partitions_with_spark_escaping_undone() {
    let t = Tables::new("stores", &[("summary", "north"), ("summary", "south%2Fwest"), ("products", "elsewhere")]);
    std::fs::write(t.root().join("summary/_SUCCESS"), "").expect("marker");
    assert_eq!(stores(t.root()).expect("stores"), ["north", "south/west"]);
}

#[test]
fn the_store_is_the_one_named_or_the_only_one() {
    let one = Tables::new("one", &[("summary", "all")]);
    assert_eq!(pick_store(one.root(), None).expect("the only store"), "all");
    assert_eq!(pick_store(one.root(), Some("all")).expect("named"), "all");
    let e = pick_store(one.root(), Some("north")).expect_err("not there").to_string();
    assert!(e.contains("no store `north`") && e.contains("stores: all"), "{e}");

    let many = Tables::new("many", &[("summary", "north"), ("summary", "south")]);
    let e = pick_store(many.root(), None).expect_err("ambiguous").to_string();
    assert!(e.contains("2 stores") && e.contains("--store") && e.contains("north, south"), "{e}");
    assert_eq!(pick_store(many.root(), Some("south")).expect("named"), "south");

    let none = Tables::new("none", &[]);
    let e = pick_store(none.root(), None).expect_err("no summary").to_string();
    assert!(e.contains("no `summary` table") && e.contains("did the Spark job finish"), "{e}");
}

#[test]
fn an_unreadable_part_file_is_named_in_the_error() {
    let t = Tables::new("garbage", &[("summary", "all")]);
    let part = t.root().join("summary/store=all/part-00000.parquet");
    std::fs::write(&part, b"not parquet at all").expect("part");
    let e = read_store(t.root(), "all").expect_err("garbage is refused").to_string();
    assert!(e.contains("part-00000.parquet"), "{e}");
}

#[test]
fn a_store_without_a_table_says_which_is_missing() {
    let t = Tables::new("missing", &[("summary", "all")]);
    match Table::required(t.root(), "products", "all") {
        Err(ImportError::MissingTable { table, dir }) => {
            assert_eq!(table, "products");
            assert!(dir.ends_with("products/store=all"), "{}", dir.display());
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a missing table was found"),
    }
}
