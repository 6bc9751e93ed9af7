//! The in-process audience path (engine only, no transport) on a model built from the demo
//! store's planted vectors: the customers most likely to buy one product (100 and 1,000 of
//! them), an aisle's audience, one filtered by a signal (an exact scan of its carriers when they
//! are few enough, else the customer index with the filter as a predicate), and the customer
//! type that comes with each.
//!
//! `ENDCAP_BENCH_SCALE=store-1m` (the default) benches 50,000 products x 1,000,000 customers;
//! `default` the 5,000 x 20,000 demo store. The model is built once and cached in
//! `target/bench-data/`.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use endcap::config::Config;
use endcap::engine::{AudienceQuery, Engine, EngineSettings, Scratch};
use endcap::ids::IdList;
use endcap::model::Model;

mod common;

fn bench(c: &mut Criterion) {
    let (spec, scale) = common::scale("store-1m");
    let model = Model::load(&common::cached_model(&spec, &scale)).expect("cached model loads");
    let config_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let mut config = Config::load(Some(&config_path)).expect("shipped config");
    config.audience.max_k = config.audience.max_k.max(1_000);
    let engine = Engine::new(model, &EngineSettings::from_config(&config)).expect("rules resolve");
    let p = &engine.model().data().products;
    let np = p.ids.len() as u32;
    let products: Vec<String> = (0..256).map(|i| p.ids.id(i * np / 256).to_string()).collect();
    let aisles: Vec<String> = (0..p.aisle_names.len()).map(|a| p.aisle_names.get(a).to_string()).collect();
    let jazz: IdList = ["music:jazz"].into_iter().collect();
    let mut s = Scratch::default();
    let mut g = c.benchmark_group(format!("audience/{scale}"));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % 256;
        i
    };
    let never = |_: &str| false;
    for k in [100u32, 1_000] {
        g.bench_function(format!("product_k{k}"), |b| {
            b.iter(|| {
                let q = AudienceQuery { product: &products[next()], k, ..AudienceQuery::default() };
                engine.audience(&q, never, &mut s).expect("ok");
                s.audience().members.len()
            })
        });
    }
    g.bench_function("aisle_k1000", |b| {
        b.iter(|| {
            let q = AudienceQuery { aisle: &aisles[next() % aisles.len()], k: 1_000, ..AudienceQuery::default() };
            engine.audience(&q, never, &mut s).expect("ok");
            s.audience().members.len()
        })
    });
    g.bench_function("product_jazz_k100", |b| {
        b.iter(|| {
            let q = AudienceQuery { product: &products[next()], k: 100, signals: &jazz, ..AudienceQuery::default() };
            // A product whose rules exclude most jazz fans may leave too small a group: refused.
            let _ = engine.audience(&q, never, &mut s);
            s.audience().members.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
