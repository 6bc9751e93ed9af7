//! The in-process recommend path (engine only, no transport): unfiltered, aisle-filtered,
//! zone-filtered, basket, and unknown customer.
//!
//! `ENDCAP_BENCH_SCALE=store-1m` (the default) benches 50,000 products x 1,000,000 customers;
//! `default` the 5,000 x 20,000 demo store. The store-1m model is built once and cached in
//! `target/bench-data/` (generation and build take about a minute).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use endcap::config::Config;
use endcap::engine::{Engine, EngineSettings, Query, Scratch};
use endcap::ids::IdList;
use endcap::model::Model;

mod common;

fn engine() -> (Engine, String) {
    let (spec, scale) = common::scale("store-1m");
    let model = Model::load(&common::cached_model(&spec, &scale)).expect("cached model loads");
    let config_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let config = Config::load(Some(&config_path)).expect("shipped config");
    (Engine::new(model, &EngineSettings::from_config(&config)).expect("rules resolve"), scale)
}

fn bench(c: &mut Criterion) {
    let (engine, scale) = engine();
    let customers = engine.model().data().customers.ids.len();
    let ids: Vec<String> =
        (0..256).map(|i| engine.model().data().customers.ids.id((i * customers / 256) as u32).to_string()).collect();
    let aisles = &engine.model().data().products.aisle_names;
    let aisle = aisles.get(aisles.len() / 2).to_string();
    let zone = "fresh";
    let basket: IdList = (0..3).map(|r| engine.model().data().products.ids.id(r).to_string()).collect();
    let mut s = Scratch::default();
    let mut g = c.benchmark_group(format!("recommend/{scale}"));
    run(&mut g, "unfiltered_k5", &engine, &mut s, &ids, |c| Query { customer: c, k: 5, ..Query::default() });
    run(&mut g, "aisle_k5", &engine, &mut s, &ids, |c| Query { customer: c, aisle: &aisle, k: 5, ..Query::default() });
    run(&mut g, "zone_k5", &engine, &mut s, &ids, |c| Query { customer: c, zone, k: 5, ..Query::default() });
    run(&mut g, "basket3_k5", &engine, &mut s, &ids, |c| Query {
        customer: c,
        basket: &basket,
        k: 5,
        ..Query::default()
    });
    run(&mut g, "unknown_customer_k5", &engine, &mut s, &ids, |_| Query {
        customer: "nobody",
        k: 5,
        ..Query::default()
    });
    g.finish();
}

/// Benches `query` over a rotating set of customers.
fn run<'a>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    engine: &Engine,
    s: &mut Scratch,
    ids: &'a [String],
    query: impl Fn(&'a str) -> Query<'a>,
) {
    let mut i = 0usize;
    g.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            engine.recommend(&query(&ids[i]), s).expect("ok");
            s.hits().len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
