//! The engine's request paths allocate nothing once their `Scratch` has warmed up
//! (ARCHITECTURE.md): `recommend` in every mode with filters, a basket, exclusions, stated signals,
//! diversity and a promotion; `similar`, `complete` and `rerank`. Counted by a global allocator
//! that counts the allocations of the thread that asks.

mod counting;

use counting::allocations;

use endcap::config::{Config, PromotionConfig, RuleConfig, ZoneConfig};
use endcap::demo::{self, DemoSpec};
use endcap::engine::{
    CompleteQuery, Context, Engine, EngineSettings, Mode, Options, Query, RerankQuery, Scope, Scratch, SimilarQuery,
};
use endcap::ids::IdList;
use endcap::model::{self, Model};
use endcap::train::{TrainOptions, train};

#[test]
fn request_paths_do_not_allocate_after_warm_up() {
    let store = demo::generate(&DemoSpec { products: 600, customers: 800, seed: 9, dim: 16 });
    let opts = TrainOptions { dim: 16, iterations: 3, segments: 0, ..TrainOptions::default() };
    let (input, _) = train(&store.train_data(), &opts).expect("trains");
    let model = Model::from_artifact(model::build(&input).expect("builds"), "test").expect("valid");
    let mut config = Config::default();
    config.rules.push(RuleConfig {
        signal: "lifestyle:vegetarian".into(),
        exclude_tags: vec!["meat".into()],
        optional: false,
    });
    let aisles: Vec<String> =
        demo::zones().into_iter().next().expect("a zone").aisles.iter().map(|a| a.to_string()).collect();
    config.zones.push(ZoneConfig { name: "fresh".into(), aisles: aisles.clone() });
    config.promotions.push(PromotionConfig {
        name: "test".into(),
        products: (0..60).map(|p| format!("p{p}")).collect(),
        aisles: vec![],
        boost: 3.0,
    });
    let engine = Engine::new(model, &EngineSettings::from_config(&config)).expect("rules resolve");
    let customers: Vec<String> = (0..200).map(|c| format!("c{c}")).chain(["stranger".to_string()]).collect();
    let products: Vec<String> = (0..customers.len()).map(|i| format!("p{}", i * 13 % 600)).collect();
    let basket: IdList = ["p1", "p2", "p3"].into_iter().collect();
    let empty = IdList::default();
    let shelf: IdList = (0..40).map(|p| format!("p{}", p * 7)).chain(["ghost".to_string()]).collect();
    let exclude: IdList = ["p4", "p5"].into_iter().collect();
    let said: IdList = ["lifestyle:vegetarian"].into_iter().collect();
    let recent: IdList = ["p7", "p8", "p9"].into_iter().collect();
    let bought: IdList = ["p10"].into_iter().collect();
    let context = Context { zone: "fresh", recent: &recent, basket: &basket, bought: &bought, bought_at: &[1] };
    let shaped = Options {
        exclude: &exclude,
        signals: &said,
        max_per_aisle: 2,
        context,
        conceal: true,
        asked: "",
        opted_out: false,
    };
    let mut s = Scratch::default();
    let pass = |s: &mut Scratch| {
        let mut answered = 0;
        for (id, product) in customers.iter().zip(&products) {
            for mode in Mode::ALL {
                for (zone, aisle, basket) in
                    [("", "", &empty), ("fresh", "", &empty), ("", aisles[0].as_str(), &basket)]
                {
                    for (min_discover, options) in [(0, Options::default()), (3, shaped)] {
                        let q = Query {
                            customer: id,
                            zone,
                            aisle,
                            basket,
                            k: 10,
                            mode,
                            min_discover,
                            now_unix_s: 0,
                            options,
                        };
                        engine.recommend(&q, s).expect("ok");
                        answered += s.hits().len();
                        engine.recommend_embedding(&q, s).expect("ok");
                        answered += s.hits().len();
                    }
                }
            }
            for (scope, options) in [(Scope::Aisle, Options::default()), (Scope::Store, shaped)] {
                let q = SimilarQuery { product, customer: id, k: 10, scope, options, ..SimilarQuery::default() };
                engine.similar(&q, s).expect("ok");
                answered += s.hits().len();
                let q = CompleteQuery { basket: &basket, customer: id, k: 10, options, ..CompleteQuery::default() };
                engine.complete(&q, s).expect("ok");
                answered += s.hits().len();
                let q = RerankQuery { customer: id, products: &shelf, options, now_unix_s: 0 };
                engine.rerank(&q, s).expect("ok");
                answered += s.hits().len();
            }
        }
        answered
    };
    let warm = pass(&mut s);
    // The counter sees this thread's allocations (so a zero below means something).
    let probe = allocations();
    std::hint::black_box(Vec::<u8>::with_capacity(64));
    assert!(allocations() > probe, "the counting allocator counts");
    let before = allocations();
    let again = pass(&mut s);
    let allocated = allocations() - before;
    assert_eq!(warm, again);
    assert!(again > 10_000, "{again} hits");
    assert_eq!(
        allocated,
        0,
        "{allocated} allocations in {} requests after warm-up",
        customers.len() * (3 * 3 * 2 * 2 + 6)
    );
}
