//! Shared by the benches: demo-store models built once and cached in `target/bench-data/`.

use std::path::PathBuf;
use std::time::Instant;

use endcap::demo::DemoSpec;
use endcap::model::{self, Model};

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

/// The path of the demo model for `spec`, building and caching it on first use (a store-1m
/// model takes about a minute to generate and build).
pub fn cached_model(spec: &DemoSpec, scale: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("demo-{scale}-s{}.endcap", spec.seed));
    if Model::load(&path).is_err() {
        let t = Instant::now();
        let input = endcap::demo::generate(spec).model_input();
        let artifact = model::build(&input).expect("demo model builds");
        artifact.write_atomic(&path).expect("cache the model");
        eprintln!("built {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
    }
    path
}
