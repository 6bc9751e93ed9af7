//! Build -> load round trips, and the validator refusing every kind of bad artifact.

use super::format::{HEADER_LEN, Manifest, checksum_hex, manifest_checksum};
use super::input::{CoPurchase, CustomerInput, ModelInput, ProductInput};
use super::*;
use crate::rng::SplitMix64;

/// A small but complete input: 300 products in 6 aisles, 200 customers, 8 dims.
pub(crate) fn tiny_input() -> ModelInput {
    let dim = 8;
    let mut rng = SplitMix64::new(5);
    let products: Vec<ProductInput> = (0..300)
        .map(|i| ProductInput {
            id: format!("prod-{i:03}"),
            name: format!("Product {i} ü"),
            aisle: format!("Aisle {}", i % 6),
            department: format!("Dept {}", i % 2),
            tags: if i % 5 == 0 { vec!["meat".into()] } else { vec![] },
            price_cents: (i % 7 != 0).then_some(100 + i),
        })
        .collect();
    let mut product_vectors: Vec<f32> = (0..300 * dim).map(|_| rng.normal() as f32).collect();
    product_vectors[0] = 12345.5; // a marker the corruption tests look for
    let customers = (0..200)
        .map(|i| CustomerInput {
            id: format!("cust-{i:03}"),
            signals: if i % 4 == 0 { vec![("lifestyle:vegetarian".into(), 1.0)] } else { vec![] },
        })
        .collect();
    ModelInput {
        model_version: "tiny-1".into(),
        builder: "test".into(),
        dim,
        products,
        product_vectors,
        product_purchases: (0..300).map(|i| (i * 7 % 50) as u64).collect(),
        customers,
        customer_vectors: (0..200 * dim).map(|_| rng.normal() as f32).collect(),
        seed: 1,
        ..ModelInput::default()
    }
}

fn tiny_bytes() -> Vec<u8> {
    let a = build(&tiny_input()).expect("builds");
    let mut bytes = a.header();
    bytes.extend_from_slice(&a.body);
    bytes
}

/// Applies `f` to the manifest and body, then re-seals (rewrites the manifest and checksum) so
/// only the semantic checks can catch the damage.
fn reseal(bytes: &[u8], f: impl FnOnce(&mut Manifest, &mut Vec<u8>)) -> Vec<u8> {
    let (mut manifest, body_start) = load::parse_header(bytes).expect("valid header");
    let mut body = bytes[body_start..].to_vec();
    f(&mut manifest, &mut body);
    manifest.body_len = body.len() as u64;
    manifest.body_xxh3 = checksum_hex(&body);
    let artifact_head = {
        let json = serde_json::to_vec(&manifest).expect("json");
        let mut h = format::MAGIC.to_vec();
        h.extend_from_slice(&format::FORMAT_VERSION.to_le_bytes());
        h.extend_from_slice(&(json.len() as u32).to_le_bytes());
        h.extend_from_slice(&manifest_checksum(&json).to_le_bytes());
        h.extend_from_slice(&json);
        h.resize(format::body_offset(json.len()), 0);
        h
    };
    let mut out = artifact_head;
    out.extend_from_slice(&body);
    out
}

fn refused(bytes: &[u8]) -> String {
    match Model::from_bytes(bytes, "test") {
        Ok(_) => panic!("a bad model was accepted"),
        Err(e) => e.to_string(),
    }
}

fn replace(body: &mut [u8], from: &[u8], to: &[u8]) {
    let at = body.windows(from.len()).position(|w| w == from).expect("pattern present");
    body[at..at + to.len()].copy_from_slice(to);
}

#[test]
fn round_trip_keeps_ids_metadata_and_vectors() {
    let input = tiny_input();
    let model = Model::from_bytes(&tiny_bytes(), "test").expect("valid");
    let d = model.data();
    assert_eq!(model.version(), "tiny-1");
    assert_eq!(d.products.ids.len(), 300);
    for (i, p) in input.products.iter().enumerate() {
        let row = d.products.ids.row(&p.id).expect("every product id resolves");
        assert_eq!(d.products.names.get(row as usize), p.name);
        let aisle = d.products.aisle.get(row as usize).expect("aisle").to_native();
        assert_eq!(d.products.aisle_names.get(aisle as usize), p.aisle);
        assert_eq!(model.product_vector(row), &input.product_vectors[i * 8..(i + 1) * 8]);
    }
    assert_eq!(d.customers.ids.row("cust-007"), Some(7));
    assert_eq!(d.customers.ids.row("nobody"), None);
    assert_eq!(model.customer_vector(7), &input.customer_vectors[56..64]);
    assert!(model.manifest().index.recall_at_10 >= 0.95);
}

#[test]
fn popularity_lists_are_sorted_and_per_aisle() {
    let model = Model::from_bytes(&tiny_bytes(), "test").expect("valid");
    let p = &model.data().products;
    let purchases = view::u32s(&p.purchases);
    let popular = view::u32s(&p.popular);
    assert!(popular.windows(2).all(|w| purchases[w[0] as usize] >= purchases[w[1] as usize]));
    let aisles = view::u32s(&p.aisle);
    for a in 0..p.by_aisle.rows() {
        let rows = p.by_aisle.row(a);
        assert_eq!(rows.len(), 50);
        assert!(rows.iter().all(|&r| aisles[r as usize] == a as u32));
    }
}

#[test]
fn refuses_bad_magic_version_truncation_and_checksum() {
    let good = tiny_bytes();
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(refused(&bad).contains("bad magic"));
    let mut bad = good.clone();
    bad[8] = 9;
    assert!(refused(&bad).contains("format version 9"));
    assert!(refused(&good[..good.len() - 100]).contains("truncated"));
    assert!(refused(&good[..HEADER_LEN + 10]).contains("truncated"));
    assert!(refused(&good[..4]).contains("too short"));
    let mut bad = good.clone();
    let last = bad.len() - 1000;
    bad[last] ^= 0x55;
    assert!(refused(&bad).contains("checksum mismatch"));
    // One flipped bit in the manifest (here in the version every answer carries) is caught too.
    let mut bad = good.clone();
    let at = bad.windows(6).position(|w| w == b"tiny-1").expect("version in the manifest");
    bad[at + 5] ^= 0x02;
    assert!(refused(&bad).contains("manifest checksum mismatch"), "{}", refused(&bad));
}

#[test]
fn model_version_must_be_short_printable_ascii() {
    for bad in ["", "v1\nINFO forged log line", &"x".repeat(129), " padded", "tab\there", "caf\u{e9}"] {
        let mut input = tiny_input();
        input.model_version = bad.to_string();
        let e = build(&input).unwrap_err().to_string();
        assert!(e.contains("model_version"), "{bad:?}: {e}");
        // A file written by another tool with such a version is refused at load as well.
        let good = tiny_bytes();
        let forged = reseal(&good, |m, _| m.model_version = bad.to_string());
        assert!(refused(&forged).contains("model_version"), "{bad:?}");
    }
    for good in ["2026-12-01T10:00:00Z-3f2a", "demo-s42-p5000-c20000", "spark 2026.12 (store 12)", &"x".repeat(128)] {
        let mut input = tiny_input();
        input.model_version = good.to_string();
        build(&input).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
}

#[test]
fn refuses_nan_wrong_dims_duplicate_ids_and_count_mismatch() {
    let good = tiny_bytes();
    let nan = reseal(&good, |_, body| replace(body, &12345.5f32.to_le_bytes(), &f32::NAN.to_le_bytes()));
    assert!(refused(&nan).contains("NaN"), "{}", refused(&nan));
    let dims = reseal(&good, |m, _| m.dim = 16);
    assert!(refused(&dims).contains("dimension"));
    let dup = reseal(&good, |_, body| replace(body, b"cust-001", b"cust-000"));
    assert!(refused(&dup).contains("duplicated"), "{}", refused(&dup));
    let counts = reseal(&good, |m, _| m.counts.products = 299);
    assert!(refused(&counts).contains("product ids"));
    let garbage = reseal(&good, |_, body| body.truncate(body.len() / 2));
    assert!(refused(&garbage).contains("does not decode"));
}

#[test]
fn file_round_trip_is_atomic_and_inspectable() {
    let dir = std::env::temp_dir().join(format!("endcap-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("m.endcap");
    build(&tiny_input()).expect("builds").write_atomic(&path).expect("writes");
    assert!(!path.with_extension("tmp").exists());
    assert_eq!(read_manifest(&path).expect("manifest").model_version, "tiny-1");
    let model = Model::load(&path).expect("loads");
    assert_eq!(model.data().products.ids.len(), 300);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn build_refuses_bad_input() {
    let mut input = tiny_input();
    input.products[3].id = input.products[2].id.clone();
    assert!(build(&input).is_err());
    let mut input = tiny_input();
    input.customer_vectors[5] = f32::INFINITY;
    assert!(build(&input).unwrap_err().to_string().contains("not finite"));
    let mut input = tiny_input();
    input.product_vectors.pop();
    assert!(build(&input).is_err());
}

/// `tiny_input` with purchase history: repeat statistics, discovery lists, "also bought" and a
/// blend, with marker values the corruption tests look for.
pub(crate) fn tiny_trained_input() -> ModelInput {
    use super::input::{BlendInput, Discovery, RepeatPurchase};
    let mut input = tiny_input();
    input.repeat = (0..200u32)
        .map(|c| {
            // Products in decreasing order, so the builder has to sort each row.
            (0..5u32)
                .rev()
                .map(|i| RepeatPurchase {
                    product: (c * 7 + i * 13) % 300,
                    count: i + 1,
                    last_ts: 1_700_000_000 + i as i64,
                    base_logit: if c == 3 && i == 0 { 4321.25 } else { -1.0 + i as f32 * 0.1 },
                    gap_days: if c == 5 && i == 0 { 777.5 } else { i as f32 },
                    gap_orders: i as f32 * 0.5,
                })
                .collect()
        })
        .collect();
    input.discover = (0..200u32)
        .map(|c| {
            (0..3u32)
                .map(|i| Discovery {
                    product: (c + 100 + i) % 300,
                    score: 0.3 - i as f32 * 0.1,
                    because: (c * 7) % 300,
                })
                .collect()
        })
        .collect();
    input.also_bought = (0..300u32).map(|p| vec![((p + 1) % 300, 0.5), ((p + 2) % 300, 0.25)]).collect();
    // Order counts large enough that the marker pair count below is unique in the body.
    input.product_purchases.iter_mut().for_each(|n| *n += 20_000_000);
    input.total_orders = 40_000_000;
    input.co_purchase = (0..300u32)
        .map(|p| {
            let together = if p == 7 { 12_345_678 } else { 1_000 + p };
            vec![CoPurchase { product: (p + 3) % 300, score: 0.4, together }]
        })
        .collect();
    input.blend = Some(BlendInput {
        time_weights: [-0.5, 0.25],
        discover: vec![(0.0, 0.01), (0.5, 0.123)],
        embedding: vec![(-1.0, 0.001), (1.0, 0.05)],
    });
    input.data_end_ts = 1_700_000_100;
    input
}

#[test]
fn purchase_history_round_trips_with_rows_sorted_and_statistics_alongside() {
    let input = tiny_trained_input();
    let model = Model::from_artifact(build(&input).expect("builds"), "test").expect("valid");
    let d = model.data();
    let cu = &d.customers;
    let ids = &d.products.ids;
    for c in 0..200usize {
        let row = cu.repeat.row(c);
        assert!(row.windows(2).all(|w| w[0] < w[1]), "customer {c}: sorted by product row");
        let start = view::u32s(&cu.repeat.offsets)[c] as usize;
        for (j, &r) in row.iter().enumerate() {
            let want =
                input.repeat[c].iter().find(|e| input.products[e.product as usize].id == ids.id(r)).expect("entry");
            assert_eq!(view::i64s(&cu.repeat_last_ts)[start + j], want.last_ts);
            assert_eq!(view::f32s(&cu.repeat_logit)[start + j], want.base_logit);
            assert_eq!(view::f32s(&cu.repeat_gap_orders)[start + j], want.gap_orders);
        }
        let because = view::u32s(&cu.discover_because);
        let dstart = view::u32s(&cu.discover.offsets)[c] as usize;
        for (j, &r) in cu.discover.row(c).iter().enumerate() {
            assert_eq!(ids.id(r), input.products[input.discover[c][j].product as usize].id, "best first, as given");
            assert_eq!(ids.id(because[dstart + j]), input.products[input.discover[c][j].because as usize].id);
        }
    }
    assert_eq!(model.manifest().counts.discover_entries, 600);
    assert_eq!(model.manifest().counts.also_bought_pairs, 600);
    let p = &d.products;
    assert_eq!(p.total_orders.to_native(), 40_000_000);
    let (together, co_rows) = (view::u32s(&p.co_purchase_together), view::u32s(&p.co_purchase.offsets));
    for (i, list) in input.co_purchase.iter().enumerate() {
        let row = ids.row(&input.products[i].id).expect("id") as usize;
        assert_eq!(p.co_purchase.row(row), &[ids.row(&input.products[list[0].product as usize].id).expect("id")]);
        assert_eq!(together[co_rows[row] as usize], list[0].together, "the count follows its pair");
    }
    assert_eq!(view::f32s(&d.blend.time_weights), &[-0.5, 0.25]);
    assert_eq!(d.blend.data_end_ts.to_native(), 1_700_000_100);
}

#[test]
fn refuses_bad_purchase_history_and_blend_and_older_formats() {
    let good = {
        let a = build(&tiny_trained_input()).expect("builds");
        let mut bytes = a.header();
        bytes.extend_from_slice(&a.body);
        bytes
    };
    Model::from_bytes(&good, "test").expect("valid");
    let nan = reseal(&good, |_, body| replace(body, &4321.25f32.to_le_bytes(), &f32::NAN.to_le_bytes()));
    assert!(refused(&nan).contains("repeat buy-again logits"), "{}", refused(&nan));
    let negative = reseal(&good, |_, body| replace(body, &777.5f32.to_le_bytes(), &(-3.0f32).to_le_bytes()));
    assert!(refused(&negative).contains("negative gap"), "{}", refused(&negative));
    let prob = reseal(&good, |_, body| replace(body, &0.123f32.to_le_bytes(), &1.5f32.to_le_bytes()));
    assert!(refused(&prob).contains("discovery calibration"), "{}", refused(&prob));
    let pair = reseal(&good, |_, body| replace(body, &12_345_678u32.to_le_bytes(), &30_000_000u32.to_le_bytes()));
    assert!(refused(&pair).contains("more than either product's"), "{}", refused(&pair));
    let counts = reseal(&good, |m, _| m.counts.discover_entries += 1);
    assert!(refused(&counts).contains("discovery lists"), "{}", refused(&counts));
    let mut old = good.clone();
    old[8] = 1;
    let e = refused(&old);
    assert!(e.contains("format version 1") && e.contains("older endcap") && e.contains("endcap train"), "{e}");
    // The builder refuses what the loader would.
    let mut input = tiny_trained_input();
    input.discover[0][0].because = 300;
    assert!(build(&input).unwrap_err().to_string().contains("discover because"));
    let mut input = tiny_trained_input();
    let again = input.repeat[1][0];
    input.repeat[1].push(again);
    assert!(build(&input).unwrap_err().to_string().contains("twice"));
    let mut input = tiny_trained_input();
    input.co_purchase[2][0].together = 30_000_000;
    assert!(build(&input).unwrap_err().to_string().contains("more than either alone"));
}
