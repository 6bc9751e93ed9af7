//! Shared by the benches: demo-store models built once and cached in `target/bench-data/`: from
//! the planted vectors (quick, no purchase history), and trained from the demo store's
//! purchases (buy-again, discovery and calibration; a store-1m one takes minutes to train).

use std::path::PathBuf;
use std::time::Instant;

use endcap::demo::DemoSpec;
use endcap::model::{self, Model};
use endcap::train::{TrainOptions, train};

/// The spec named by `ENDCAP_BENCH_SCALE` (`store-1m` or `default`), defaulting to `default_scale`.
pub fn scale(default_scale: &str) -> (DemoSpec, String) {
    let scale = std::env::var("ENDCAP_BENCH_SCALE").unwrap_or_else(|_| default_scale.into());
    let spec = match scale.as_str() {
        "default" => DemoSpec::default(),
        "store-1m" => DemoSpec::store_1m(),
        other => panic!("ENDCAP_BENCH_SCALE must be default or store-1m, not {other}"),
    };
    (spec, scale)
}

/// The sources that decide what a cached model holds: a change to any of them names a new file,
/// so a bench never measures a model built by older code.
const BUILDER_SOURCES: [&str; 11] = [
    include_str!("../../src/demo/mod.rs"),
    include_str!("../../src/demo/tables.rs"),
    include_str!("../../src/demo/draw.rs"),
    include_str!("../../src/demo/products.rs"),
    include_str!("../../src/demo/customers.rs"),
    include_str!("../../src/demo/export.rs"),
    include_str!("../../src/model/build.rs"),
    include_str!("../../src/model/customer_index.rs"),
    include_str!("../../src/model/format.rs"),
    include_str!("../../src/index/ivf.rs"),
    include_str!("../../src/index/mod.rs"),
];

/// The path of the demo model for `spec`, building and caching it on first use (a store-1m
/// model takes about a minute to generate and build).
pub fn cached_model(spec: &DemoSpec, scale: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let builder = xxhash_rust::xxh3::xxh3_64(BUILDER_SOURCES.concat().as_bytes());
    let path = dir.join(format!("demo-{scale}-s{}-{builder:016x}.endcap", spec.seed));
    if Model::load(&path).is_err() {
        let t = Instant::now();
        let input = endcap::demo::generate(spec).model_input();
        let artifact = model::build(&input).expect("demo model builds");
        artifact.write_atomic(&path).expect("cache the model");
        eprintln!("built {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
    }
    path
}

/// The sources that decide what a cached trained model holds besides the builder's: the
/// trainer and the data contract it reads.
#[allow(dead_code)] // each bench compiles `common` on its own; only `recommend` trains
const TRAINER_SOURCES: [&str; 21] = [
    include_str!("../../src/train/mod.rs"),
    include_str!("../../src/train/als.rs"),
    include_str!("../../src/train/also_bought.rs"),
    include_str!("../../src/train/assemble.rs"),
    include_str!("../../src/train/buy_again.rs"),
    include_str!("../../src/train/calibrate.rs"),
    include_str!("../../src/train/copurchase.rs"),
    include_str!("../../src/train/factors.rs"),
    include_str!("../../src/train/fit.rs"),
    include_str!("../../src/train/interactions.rs"),
    include_str!("../../src/train/orders.rs"),
    include_str!("../../src/train/segments.rs"),
    include_str!("../../src/train/split.rs"),
    include_str!("../../src/train/eval/mod.rs"),
    include_str!("../../src/train/eval/baselines.rs"),
    include_str!("../../src/train/eval/check.rs"),
    include_str!("../../src/data/mod.rs"),
    include_str!("../../src/data/rows.rs"),
    include_str!("../../src/data/table.rs"),
    include_str!("../../src/model/input.rs"),
    // The buy-again time features the trainer fits on are the engine's.
    include_str!("../../src/engine/features.rs"),
];

/// The path of the model trained from the demo store of `spec` with the trainer's defaults,
/// training and caching it on first use (at store-1m: generation, then training as `endcap
/// train` does, several minutes and about as much memory).
#[allow(dead_code)] // each bench compiles `common` on its own; only `recommend` trains
pub fn cached_trained_model(spec: &DemoSpec, scale: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let sources = [BUILDER_SOURCES.concat(), TRAINER_SOURCES.concat()].concat();
    let key = xxhash_rust::xxh3::xxh3_64(sources.as_bytes());
    let path = dir.join(format!("trained-{scale}-s{}-{key:016x}.endcap", spec.seed));
    if Model::load(&path).is_err() {
        let t = Instant::now();
        let data = endcap::demo::generate(spec).train_data();
        let opts = TrainOptions {
            dim: spec.dim,
            seed: spec.seed,
            version: format!("bench-trained-{scale}-s{}", spec.seed),
            ..TrainOptions::default()
        };
        let (input, _) = train(&data, &opts).expect("the demo store trains");
        drop(data);
        model::build(&input).expect("trained model builds").write_atomic(&path).expect("cache the model");
        eprintln!("trained {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
    }
    path
}
