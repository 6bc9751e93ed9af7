//! Tests of the data contract readers: CSV and Parquet, typed columns, skips, strict mode.

use super::*;

#[test]
fn timestamps_unix_and_rfc3339() {
    assert_eq!(parse_ts("1700000000"), Some(1_700_000_000));
    assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_ts("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-14 22:13:20.250Z"), Some(1_700_000_000));
    assert_eq!(parse_ts("2000-02-29T00:00:00Z"), Some(951_782_400));
    // The forms other tools write: no zone (UTC), pandas' space, compact offsets, dates, epochs
    // in milli-, micro- and nanoseconds.
    assert_eq!(parse_ts("2023-11-14T22:13:20"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-14 22:13:20"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-15T00:13:20+0200"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-14T23:13:20+01"), Some(1_700_000_000));
    assert_eq!(parse_ts("2023-11-14"), Some(1_699_920_000));
    assert_eq!(parse_ts("1700000000123"), Some(1_700_000_000));
    assert_eq!(parse_ts("1700000000123456"), Some(1_700_000_000));
    assert_eq!(parse_ts("1700000000123456789"), Some(1_700_000_000));
    assert_eq!(parse_ts(" 1700000000 "), Some(1_700_000_000));
    for bad in [
        "",
        "yesterday",
        "2023-13-01T00:00:00Z",
        "2023-11-14T22:13:20+2:00",
        "12.5",
        "2023-11-14T25:00:00",
        "2023-11-1",
    ] {
        assert_eq!(parse_ts(bad), None, "{bad}");
    }
}

#[test]
fn price_is_in_units_and_price_cents_in_cents() {
    // `price`: currency units, a whole number included (`3` is 3.00, not 3 cents).
    assert_eq!(parse_price(b"3"), Some(300));
    assert_eq!(parse_price(b"3.49"), Some(349));
    assert_eq!(parse_price(b"3.5"), Some(350));
    assert_eq!(parse_price(b"3."), Some(300));
    for bad in [&b"3.499"[..], b"-1", b"abc", b".5", b"1,99", b"+3", b"99999999999"] {
        assert_eq!(parse_price(bad), None, "{}", String::from_utf8_lossy(bad));
    }
    // `price_cents`: whole cents (a Parquet float's `349.0` too).
    assert_eq!(parse_cents(b"349"), Some(349));
    assert_eq!(parse_cents(b"349.0"), Some(349));
    for bad in [&b"3.49"[..], b"-1", b"", b"3e2"] {
        assert_eq!(parse_cents(bad), None, "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn implausible_prices_are_skipped_or_reported_and_strict_refuses_them() {
    let dir = temp_dir("prices");
    let purchases = "customer_id,order_id,product_id,ts\nc1,o1,p1,1700000000\n";
    write(&dir, "purchases.csv", purchases);
    // Cents written in `price`: each row is plausible for a currency unit, the median is not.
    write(
        &dir,
        "products.csv",
        "product_id,name,aisle,department,price\n\
         p1,Milk,Dairy,Fresh,109\np2,Bread,Bakery,Fresh,249\np3,Tea,Tea,Drinks,349\n\
         p4,Yacht,Boats,Leisure,200000\n",
    );
    let data = read_dir(&dir, false).expect("reads, with a warning");
    let report = &data.files[0];
    assert_eq!(report.skipped["implausible price"], 1, "above the limit: skipped, counted");
    assert_eq!(report.examples[0], (5, "implausible price: 200000.00 is above the limit of 100000".into()));
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("median `price` is 249.00"), "{}", report.warnings[0]);
    let e = read_dir(&dir, true).expect_err("strict refuses");
    assert!(e.to_string().contains("products.csv:5: implausible price"), "{e}");
    write(&dir, "products.csv", "product_id,name,aisle,department,price\np1,Milk,Dairy,Fresh,109\n");
    let e = read_dir(&dir, true).expect_err("strict refuses the catalogue").to_string();
    assert!(e.contains("implausible prices") && e.contains("price_cents"), "{e}");

    // Units written in `price_cents`.
    write(
        &dir,
        "products.csv",
        "product_id,name,aisle,department,price_cents\np1,Milk,Dairy,Fresh,1\np2,Tea,Tea,Drinks,3\n",
    );
    let data = read_dir(&dir, false).expect("reads");
    assert_eq!(data.products[1].price_cents, Some(3));
    assert!(data.files[0].warnings[0].contains("median `price_cents` is 3 cents"), "{:?}", data.files[0].warnings);
    // Plausible prices in either column: no warning; both columns: refused.
    write(
        &dir,
        "products.csv",
        "product_id,name,aisle,department,price\np1,Milk,Dairy,Fresh,1.09\np2,Tea,Tea,Drinks,3\n",
    );
    let data = read_dir(&dir, true).expect("plausible");
    assert_eq!((data.products[0].price_cents, data.products[1].price_cents), (Some(109), Some(300)));
    assert!(data.files[0].warnings.is_empty());
    write(&dir, "products.csv", "product_id,name,aisle,department,price,price_cents\np1,Milk,Dairy,Fresh,1.09,109\n");
    let e = read_dir(&dir, false).expect_err("ambiguous unit").to_string();
    assert!(e.contains("both `price` (currency units) and `price_cents`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
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
        "product_id,name,aisle,department,tags,price_cents\n\
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
    write_parquet_with(path, schema, columns, parquet::basic::Compression::SNAPPY);
}

fn write_parquet_with(path: &Path, schema: &str, columns: Vec<Col>, compression: parquet::basic::Compression) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
        (v.iter().flatten().cloned().collect(), v.iter().map(|x| i16::from(x.is_some())).collect())
    }
    let schema = std::sync::Arc::new(parquet::schema::parser::parse_message_type(schema).expect("schema"));
    let props = std::sync::Arc::new(WriterProperties::builder().set_compression(compression).build());
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
    // Convert every table to Parquet, all columns as strings, empty CSV fields as nulls, each table
    // with another codec of those data tools write (polars: zstd; Spark: snappy; others gzip, lz4).
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    let codecs =
        [Compression::ZSTD(ZstdLevel::default()), Compression::GZIP(GzipLevel::default()), Compression::LZ4_RAW];
    for (name, codec) in ["products", "purchases", "social"].into_iter().zip(codecs) {
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
        write_parquet_with(&dir.join(format!("{name}.parquet")), &format!("message m {{ {fields}}}"), columns, codec);
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

#[test]
fn a_table_with_no_usable_row_says_why_with_examples() {
    let dir = temp_dir("unusable");
    write(&dir, "products.csv", "product_id,name,aisle,department\np1,Apples,Fruit,Produce\n");
    write(&dir, "purchases.csv", "customer_id,order_id,product_id,ts\nc1,o1,p1,28/05/2025\nc2,o2,p1,yesterday\n");
    let e = read_dir(&dir, false).expect_err("nothing to train on").to_string();
    assert!(e.contains("no usable purchases") && e.contains("all 2 rows were skipped"), "{e}");
    assert!(e.contains("2 bad ts") && e.contains("line 2: bad ts: 28/05/2025"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_parquet_codec_data_tools_write_is_read() {
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    // Spark: snappy (its default), gzip, lz4 (Hadoop framing), zstd; pandas/pyarrow: snappy;
    // polars: zstd; others: uncompressed, LZ4_RAW.
    let codecs = [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::LZ4,
        Compression::LZ4_RAW,
        Compression::ZSTD(ZstdLevel::default()),
    ];
    let dir = temp_dir("codecs");
    write(&dir, "products.csv", "product_id,name,aisle,department\np1,Apples,Fruit,Produce\np2,Pears,Fruit,Produce\n");
    for codec in codecs {
        write_parquet_with(
            &dir.join("purchases.parquet"),
            "message p { optional binary customer_id (UTF8); optional binary order_id (UTF8); \
             optional binary product_id (UTF8); optional binary ts (UTF8); }",
            vec![
                Col::Str(vec![Some("c1"), Some("c1"), Some("c2")]),
                Col::Str(vec![Some("o1"), Some("o1"), Some("o2")]),
                Col::Str(vec![Some("p1"), Some("p2"), Some("p2")]),
                // pandas' and Spark's text forms of a timestamp.
                Col::Str(vec![Some("2023-11-14 22:13:20"), Some("2023-11-14T22:13:20.000Z"), Some("1700000000123")]),
            ],
            codec,
        );
        let data = read_dir(&dir, true).unwrap_or_else(|e| panic!("{codec:?}: {e}"));
        assert_eq!(data.purchases.ts, vec![1_700_000_000; 3], "{codec:?}");
        assert_eq!(data.orders, 2, "{codec:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_parquet_folder_of_part_files_is_one_table() {
    use parquet::basic::Compression;
    // As Spark writes it: part files, a _SUCCESS marker, hidden checksums; rows numbered across parts.
    let dir = temp_dir("parts");
    write(&dir, "products.csv", "product_id,name,aisle,department\np1,Apples,Fruit,Produce\np2,Pears,Fruit,Produce\n");
    let folder = dir.join("purchases.parquet");
    std::fs::create_dir_all(&folder).expect("dir");
    let schema = "message p { optional binary customer_id (UTF8); optional binary order_id (UTF8); \
                  optional binary product_id (UTF8); optional int64 ts; }";
    let part = |name: &str, products: Vec<Option<&'static str>>| {
        let n = products.len();
        write_parquet_with(
            &folder.join(name),
            schema,
            vec![
                Col::Str(vec![Some("c1"); n]),
                Col::Str(vec![Some("o1"); n]),
                Col::Str(products),
                Col::I64(vec![Some(1_700_000_000); n]),
            ],
            Compression::SNAPPY,
        );
    };
    part("part-00000-x.snappy.parquet", vec![Some("p1"), Some("p2")]);
    part("part-00001-x.snappy.parquet", vec![Some("p2"), Some("p9")]);
    write(&folder, "_SUCCESS", "");
    write(&folder, ".part-00000-x.snappy.parquet.crc", "not data");
    let data = read_dir(&dir, false).expect("reads the folder");
    assert_eq!(data.purchases.product.len(), 3);
    let purchases = &data.files[1];
    assert_eq!(purchases.path, folder);
    assert_eq!((purchases.rows, purchases.used), (4, 3));
    assert_eq!(purchases.examples, vec![(4, "unknown product_id: p9".to_string())]);

    // A folder with nothing in it says so.
    std::fs::remove_dir_all(&folder).expect("rm");
    std::fs::create_dir_all(&folder).expect("dir");
    let e = read_dir(&dir, false).expect_err("no parts").to_string();
    assert!(e.contains("no part files"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
