//! The in-process recommend path (engine only, no transport). On a model built from planted
//! vectors (no purchase history, so every answer is the embedding's): unfiltered,
//! aisle-filtered, zone-filtered, basket, and unknown customer. On a model trained from the demo
//! store's purchases: the embedding alone (what endcap served before blending) against the
//! blended modes `mixed`, `buy_again` and `discover`, so the difference is what blending costs;
//! then the store's other operations on the same model (`similar`, `complete`, `bundles`,
//! `rerank`) and what the request options cost (`max_per_aisle`, `exclude`, stated signals).
//!
//! `ENDCAP_BENCH_SCALE=store-1m` (the default) benches 50,000 products x 1,000,000 customers;
//! `default` the 5,000 x 20,000 demo store. Both models are built once and cached in
//! `target/bench-data/` (at store-1m the planted one takes about a minute, the trained one
//! several). `ENDCAP_BENCH_TRAINED=0` skips the trained model.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use endcap::config::Config;
use endcap::engine::{
    CompleteQuery, Context, Engine, EngineSettings, Mode, Options, Query, RerankQuery, Scope, Scratch, SimilarQuery,
};
use endcap::ids::IdList;
use endcap::index::exact::ExactIndex;
use endcap::index::{ProductIndex, TopK, recall};
use endcap::model::Model;

mod common;

fn engine(trained: bool) -> (Engine, String) {
    let (spec, scale) = common::scale("store-1m");
    let path = if trained { common::cached_trained_model(&spec, &scale) } else { common::cached_model(&spec, &scale) };
    let model = Model::load(&path).expect("cached model loads");
    let config_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/endcap.toml");
    let config = Config::load(Some(&config_path)).expect("shipped config");
    let t = std::time::Instant::now();
    let engine = Engine::new(model, &EngineSettings::from_config(&config)).expect("rules resolve");
    eprintln!("engine built in {:.2} s", t.elapsed().as_secs_f64());
    (engine, scale)
}

fn bench(c: &mut Criterion) {
    planted(c);
    if std::env::var("ENDCAP_BENCH_TRAINED").as_deref() != Ok("0") {
        trained(c);
    }
}

/// The engine on a trained model: the embedding alone, then each blended mode.
fn trained(c: &mut Criterion) {
    let (engine, scale) = engine(true);
    let customers = engine.model().data().customers.ids.len();
    let ids: Vec<String> =
        (0..256).map(|i| engine.model().data().customers.ids.id((i * customers / 256) as u32).to_string()).collect();
    // The visit happens a day after the model's newest purchase.
    let now = engine.model().data().blend.data_end_ts.to_native() + 86_400;
    let mut s = Scratch::default();
    let mut g = c.benchmark_group(format!("recommend-trained/{scale}"));
    let q = |c, mode, k| Query { customer: c, k, mode, now_unix_s: now, ..Query::default() };
    run_with(&mut g, "embedding_alone_k5", &engine, &mut s, &ids, true, |c| q(c, Mode::Mixed, 5));
    run(&mut g, "mixed_k5", &engine, &mut s, &ids, |c| q(c, Mode::Mixed, 5));
    run(&mut g, "mixed_k10", &engine, &mut s, &ids, |c| q(c, Mode::Mixed, 10));
    run(&mut g, "mixed_k10_min_discover3", &engine, &mut s, &ids, |c| Query {
        min_discover: 3,
        ..q(c, Mode::Mixed, 10)
    });
    run_with(&mut g, "embedding_alone_zone_k5", &engine, &mut s, &ids, true, |c| Query {
        zone: "fresh",
        ..q(c, Mode::Mixed, 5)
    });
    run(&mut g, "mixed_zone_k5", &engine, &mut s, &ids, |c| Query { zone: "fresh", ..q(c, Mode::Mixed, 5) });
    run(&mut g, "buy_again_k5", &engine, &mut s, &ids, |c| q(c, Mode::BuyAgain, 5));
    run(&mut g, "discover_k5", &engine, &mut s, &ids, |c| q(c, Mode::Discover, 5));
    // What the options cost, against mixed_k10 above.
    let exclude: IdList = (0..10).map(|r| engine.model().data().products.ids.id(r * 7).to_string()).collect();
    let said: IdList = ["lifestyle:vegetarian"].into_iter().collect();
    let diverse = Options { max_per_aisle: 2, ..Options::default() };
    let all = Options { exclude: &exclude, signals: &said, max_per_aisle: 2, ..Options::default() };
    run(&mut g, "mixed_k10_max_per_aisle2", &engine, &mut s, &ids, |c| Query {
        options: diverse,
        ..q(c, Mode::Mixed, 10)
    });
    run(&mut g, "mixed_k10_all_options", &engine, &mut s, &ids, |c| Query { options: all, ..q(c, Mode::Mixed, 10) });
    // What reading a live session costs (issue 15: within 10 us of none), against mixed_k10: a
    // shopper who walked into a zone, looked at 8 products, has 3 in the basket and bought 2.
    let p = &engine.model().data().products;
    let recent: IdList = (0..8).map(|i| p.ids.id(i * 97).to_string()).collect();
    let basket: IdList = (0..3).map(|i| p.ids.id(1_000 + i * 31).to_string()).collect();
    let bought: IdList = (0..2).map(|i| p.ids.id(2_000 + i * 17).to_string()).collect();
    let bought_at = [now - 600, now - 60];
    let context = Context { zone: "", recent: &recent, basket: &basket, bought: &bought, bought_at: &bought_at };
    let session = Options { context, ..Options::default() };
    run(&mut g, "mixed_k10_session", &engine, &mut s, &ids, |c| Query { options: session, ..q(c, Mode::Mixed, 10) });
    let zoned = Options { context: Context { zone: "fresh", ..context }, ..Options::default() };
    run(&mut g, "mixed_k10_session_zone", &engine, &mut s, &ids, |c| Query { options: zoned, ..q(c, Mode::Mixed, 10) });
    run(&mut g, "mixed_zone_k10", &engine, &mut s, &ids, |c| Query { zone: "fresh", ..q(c, Mode::Mixed, 10) });
    g.finish();
    store_ops(c, &engine, &scale, &ids, now);
}

/// `similar`, `complete`, `bundles` and `rerank` on the trained model, over rotating products,
/// baskets and customers.
fn store_ops(c: &mut Criterion, engine: &Engine, scale: &str, ids: &[String], now: i64) {
    let p = &engine.model().data().products;
    let np = p.ids.len() as u32;
    let products: Vec<String> = (0..256).map(|i| p.ids.id(i * np / 256).to_string()).collect();
    // Baskets of three products bought together (a product and its two strongest partners).
    let baskets: Vec<IdList> = (0..256u32)
        .map(|i| {
            let row = i * np / 256;
            let partners = p.co_purchase.row(row as usize);
            std::iter::once(row).chain(partners.iter().copied().take(2)).map(|r| p.ids.id(r).to_string()).collect()
        })
        .collect();
    // Shelves of 12 products from one aisle, as a screen holds.
    let shelves: Vec<IdList> = (0..256usize)
        .map(|i| {
            let aisle = p.by_aisle.row(i % p.aisle_names.len());
            aisle.iter().take(12).map(|&r| p.ids.id(r).to_string()).collect()
        })
        .collect();
    let mut s = Scratch::default();
    let mut g = c.benchmark_group(format!("store-ops/{scale}"));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % 256;
        i
    };
    similar_recall(engine, &products, &mut s);
    for (name, scope) in [("similar_aisle_k10", Scope::Aisle), ("similar_store_k10", Scope::Store)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let n = next();
                let q =
                    SimilarQuery { product: &products[n], customer: &ids[n], k: 10, scope, ..SimilarQuery::default() };
                engine.similar(&q, &mut s).expect("ok");
                s.hits().len()
            })
        });
    }
    for (name, known) in [("complete_basket3_anonymous_k5", false), ("complete_basket3_customer_k5", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let n = next();
                let customer = if known { ids[n].as_str() } else { "" };
                let q = CompleteQuery { basket: &baskets[n], customer, k: 5, ..CompleteQuery::default() };
                engine.complete(&q, &mut s).expect("ok");
                s.hits().len()
            })
        });
    }
    // An anonymous shopper with a basket: served by the segment nearest to it (against mixed_k10).
    g.bench_function("recommend_basket3_anonymous_k10", |b| {
        b.iter(|| {
            let q = Query { basket: &baskets[next()], k: 10, now_unix_s: now, ..Query::default() };
            engine.recommend(&q, &mut s).expect("ok");
            s.hits().len()
        })
    });
    let mut found = Vec::new();
    g.bench_function("bundles_k10", |b| {
        b.iter(|| {
            let n = next();
            engine.bundles(&products[n], 10, &mut found).expect("ok");
            found.len()
        })
    });
    g.bench_function("rerank_12", |b| {
        b.iter(|| {
            let n = next();
            let q = RerankQuery { customer: &ids[n], products: &shelves[n], now_unix_s: now, ..RerankQuery::default() };
            engine.rerank(&q, &mut s).expect("ok");
            s.hits().len()
        })
    });
    g.finish();
}

/// Prints `similar`'s store-wide recall@10 over `products` against an exact cosine scan of the
/// whole catalogue (through the engine's second index, clustered on the unit vectors; the exact
/// scan admits every product, so filters could only lower the figure), and what that index costs
/// to build.
fn similar_recall(engine: &Engine, products: &[String], s: &mut Scratch) {
    let (m, dim) = (engine.model(), engine.model().dim());
    let mut unit = m.product_vectors().to_vec();
    for v in unit.chunks_exact_mut(dim) {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm.max(f32::MIN_POSITIVE));
    }
    // What the engine's cosine index costs to build at load (`similar::cosine_index`).
    let n = unit.len() / dim;
    let t = std::time::Instant::now();
    let lists =
        endcap::index::ivf::cluster(&unit, dim, endcap::index::ivf::default_lists(n), 10, 0xC05).centroids.len() / dim;
    eprintln!("cosine index: {n} products into {lists} lists in {:.2} s", t.elapsed().as_secs_f64());
    for k in [10, 30] {
        let mut sum = 0.0;
        for id in products {
            let q = SimilarQuery { product: id, k, scope: Scope::Store, ..SimilarQuery::default() };
            engine.similar(&q, s).expect("ok");
            let got: Vec<(f32, u32)> = s.hits().iter().map(|h| (h.score, h.row)).collect();
            let r = m.data().products.ids.row(id).expect("known product");
            let mut truth = TopK::new(k as usize);
            let v = &unit[r as usize * dim..(r as usize + 1) * dim];
            ExactIndex { vectors: &unit, dim }.search(v, k as usize, &|x| x != r, &mut truth);
            sum += recall(&got, truth.as_slice());
        }
        eprintln!(
            "similar scope store: recall@{k} {:.3} against exact cosine over {} products, probing {} lists",
            sum / products.len() as f64,
            products.len(),
            s.trace.nprobe
        );
    }
}

/// The engine on a model built from planted vectors (no purchase history).
fn planted(c: &mut Criterion) {
    let (engine, scale) = engine(false);
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

/// Benches `recommend(query)` over a rotating set of customers.
fn run<'a>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    engine: &Engine,
    s: &mut Scratch,
    ids: &'a [String],
    query: impl Fn(&'a str) -> Query<'a>,
) {
    run_with(g, name, engine, s, ids, false, query)
}

/// Benches `query` over a rotating set of customers, through `recommend_embedding` when
/// `embedding_only`.
fn run_with<'a>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    engine: &Engine,
    s: &mut Scratch,
    ids: &'a [String],
    embedding_only: bool,
    query: impl Fn(&'a str) -> Query<'a>,
) {
    let mut i = 0usize;
    g.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            let q = query(&ids[i]);
            if embedding_only { engine.recommend_embedding(&q, s) } else { engine.recommend(&q, s) }.expect("ok");
            s.hits().len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
