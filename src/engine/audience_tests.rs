//! Audiences on the demo store built from its planted vectors (tastes and lifestyles are
//! planted, so the truth is known): who buys plant protein, that no vegetarian is in a steak
//! audience, the customer index's recall against an exact search done here, filters, refusals,
//! and the segments' profiles.

use std::sync::OnceLock;

use super::*;
use crate::config::RuleConfig;
use crate::demo::{self, DemoSpec};
use crate::index::recall;
use crate::model::{Model, build};
use crate::rng::SplitMix64;

/// The default demo store's planted model (5,000 products, 20,000 customers) with the shipped
/// diet rules.
fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let store = demo::generate(&DemoSpec::default());
        let model = Model::from_artifact(build(&store.model_input()).expect("builds"), "test").expect("valid");
        let mut c = Config::default();
        for (signal, tags) in demo::diet_rules() {
            c.rules.push(RuleConfig {
                signal: signal.into(),
                exclude_tags: tags.iter().map(|t| t.to_string()).collect(),
                optional: false,
            });
        }
        Engine::new(model, &EngineSettings::from_config(&c)).expect("rules resolve")
    })
}

fn signal(e: &Engine, name: &str) -> u32 {
    e.model().data().signals.names.position(name).expect("the demo has the signal") as u32
}

fn carries(e: &Engine, row: u32, sig: u32) -> bool {
    e.model().data().customers.signals.row(row as usize).contains(&sig)
}

/// The most purchased product of `aisle` whose name contains `word`.
fn product(e: &Engine, aisle: &str, word: &str) -> String {
    let p = &e.model().data().products;
    let a = p.aisle_names.position(aisle).expect("aisle");
    let row = p.by_aisle.row(a).iter().copied().find(|&r| p.names.get(r as usize).contains(word)).expect("product");
    p.ids.id(row).to_string()
}

fn never(_: &str) -> bool {
    false
}

#[test]
fn the_audience_of_plant_protein_is_over_two_times_more_often_vegetarian() {
    let e = engine();
    let tofu = product(e, "Tofu & Plant Protein", "Tofu");
    let mut s = Scratch::default();
    e.audience(&AudienceQuery { product: &tofu, k: 1_000, ..AudienceQuery::default() }, never, &mut s).expect("ok");
    let a = s.audience();
    assert_eq!(a.members.len(), 1_000);
    let veg = signal(e, "lifestyle:vegetarian");
    let line = a.signals.iter().find(|l| l.group == veg).expect("vegetarians are over-represented");
    // The line agrees with a count made here.
    let count = a.members.iter().filter(|&&(_, r)| carries(e, r, veg)).count() as u32;
    let all = (0..e.customers() as u32).filter(|&r| carries(e, r, veg)).count();
    assert_eq!(line.count, count);
    assert!((line.share - count as f32 / 1_000.0).abs() < 1e-6);
    assert!((line.overall - all as f32 / e.customers() as f32).abs() < 1e-6);
    assert!(line.lift > 2.0, "lift {} (share {} overall {})", line.lift, line.share, line.overall);
    // Highest lift first, each line a group of at least min_group, every line over-represented.
    assert!(a.signals.windows(2).all(|w| w[0].lift >= w[1].lift));
    assert!(a.signals.iter().all(|l| l.count >= e.min_group() && l.lift > 1.0));
    assert!(a.segments.iter().all(|l| l.count >= e.min_group()));
    assert!(a.segments.windows(2).all(|w| w[0].count >= w[1].count));
    assert!(a.members.windows(2).all(|w| w[0].0 >= w[1].0), "best first");
}

#[test]
fn no_vegetarian_or_vegan_is_in_the_audience_of_a_steak_or_of_the_beef_aisle() {
    let e = engine();
    let steak = product(e, "Beef", "Steak");
    let (veg, vegan) = (signal(e, "lifestyle:vegetarian"), signal(e, "lifestyle:vegan"));
    let mut s = Scratch::default();
    let queries = [
        AudienceQuery { product: &steak, k: 2_000, ..AudienceQuery::default() },
        AudienceQuery { aisle: "Beef", k: 2_000, ..AudienceQuery::default() },
    ];
    for q in queries {
        e.audience(&q, never, &mut s).expect("ok");
        let members = s.audience().members;
        assert_eq!(members.len(), 2_000);
        assert!(members.iter().all(|&(_, r)| !carries(e, r, veg) && !carries(e, r, vegan)), "{q:?}");
        assert!(s.audience().signals.iter().all(|l| l.group != veg && l.group != vegan));
    }
    // Without the rules, vegetarians do come up for steak (the planted vectors alone would let
    // them in): the rule, not chance, keeps them out.
    let model = Model::from_artifact(build(&demo::generate(&DemoSpec::default()).model_input()).expect("builds"), "t")
        .expect("valid");
    let bare = Engine::new(model, &EngineSettings::default()).expect("no rules");
    bare.audience(&AudienceQuery { product: &steak, k: 2_000, ..AudienceQuery::default() }, never, &mut s).expect("ok");
    assert!(s.audience().members.iter().any(|&(_, r)| carries(&bare, r, veg)));
}

/// Exact audience computed here: every customer the test itself admits, by inner product.
fn exact(e: &Engine, query: &[f32], k: usize, admit: impl Fn(u32) -> bool) -> Vec<(f32, u32)> {
    let m = e.model();
    let mut top = crate::index::TopKHeap::default();
    top.reset(k);
    for row in 0..e.customers() as u32 {
        if admit(row) {
            top.push(crate::index::dot(query, m.customer_vector(row)), row);
        }
    }
    top.finish().to_vec()
}

#[test]
fn the_customer_index_keeps_recall_against_exact_search_with_and_without_filters() {
    let e = engine();
    let m = e.model();
    let ci = &m.manifest().customer_index;
    assert!(ci.recall_at_10 >= 0.95, "build-time recall@10 {}", ci.recall_at_10);
    assert!(ci.recall_at_wide_k >= 0.95, "build-time recall@{} {}", ci.wide_k, ci.recall_at_wide_k);
    eprintln!(
        "customer index of {} customers: {} lists, build-time recall@10 {:.4} at nprobe {}, recall@{} {:.4} at nprobe {}",
        e.customers(),
        ci.lists,
        ci.recall_at_10,
        ci.nprobe,
        ci.wide_k,
        ci.recall_at_wide_k,
        ci.wide_nprobe
    );
    let p = &m.data().products;
    let meat = p.tag_names.position("meat").expect("tag");
    let fish = p.tag_names.position("fish").expect("tag");
    let words = p.tag_words.to_native() as usize;
    let has = |row: u32, t: usize| u64s(&p.tags)[row as usize * words + t / 64] & (1 << (t % 64)) != 0;
    let (veg, vegan, jazz) = (signal(e, "lifestyle:vegetarian"), signal(e, "lifestyle:vegan"), signal(e, "music:jazz"));
    let mut rng = SplitMix64::new(11);
    let mut s = Scratch::default();
    for (k, signals, segment) in [(10, false, None), (100, false, None), (1_000, false, None), (100, true, Some(3))] {
        let (mut total, mut n) = (0.0, 0);
        for _ in 0..40 {
            let row = rng.below(p.ids.len()) as u32;
            let id = p.ids.id(row);
            let jazz_list: crate::ids::IdList = ["music:jazz"].into_iter().collect();
            let q = AudienceQuery {
                product: id,
                k: (k as u32).max(e.min_group()),
                signals: if signals { &jazz_list } else { &ids::EMPTY },
                segment,
                ..AudienceQuery::default()
            };
            if e.audience(&q, never, &mut s).is_err() {
                continue; // a segment with too few jazz fans for this product: refused, checked below
            }
            let excluded_tag = has(row, meat) || has(row, fish);
            let segment_of = u32s(&m.data().customers.segment);
            let admit = |c: u32| {
                !(excluded_tag && (carries(e, c, veg) || carries(e, c, vegan)))
                    && (!signals || carries(e, c, jazz))
                    && segment.is_none_or(|g| segment_of[c as usize] == g)
            };
            let truth = exact(e, m.product_vector(row), q.k as usize, admit);
            let got = s.audience().members;
            assert!(got.iter().all(|&(_, c)| admit(c)), "every member passes the filters");
            total += recall(got, &truth);
            n += 1;
        }
        assert!(n >= 20, "most of these audiences are large enough to answer ({n} of 40)");
        let mean = total / n as f64;
        let k = (k as u32).max(e.min_group());
        // Printed for BENCHMARKS.md (`cargo test --lib customer_index_keeps_recall -- --nocapture`).
        eprintln!(
            "customer index recall@{k} (jazz fans only: {signals}, segment {segment:?}): {mean:.4} over {n} products"
        );
        assert!(mean >= 0.95, "recall@{k} (signals {signals}, segment {segment:?}) = {mean:.3}");
    }
}

#[test]
fn withheld_customers_never_appear_and_filters_hold() {
    let e = engine();
    let tofu = product(e, "Tofu & Plant Protein", "Tofu");
    let mut s = Scratch::default();
    let q = AudienceQuery { product: &tofu, k: 200, ..AudienceQuery::default() };
    e.audience(&q, never, &mut s).expect("ok");
    let first: Vec<String> = s.audience().members[..50].iter().map(|&(_, r)| e.customer_id(r).to_string()).collect();
    let hidden = |id: &str| first.iter().any(|f| f == id);
    e.audience(&q, hidden, &mut s).expect("ok");
    let members = s.audience().members;
    assert_eq!(members.len(), 200, "the audience is refilled from the next best");
    assert!(members.iter().all(|&(_, r)| !hidden(e.customer_id(r))));

    let veg: crate::ids::IdList = ["lifestyle:vegetarian"].into_iter().collect();
    // Every segment: the vegetarians of it, or too small a group; at least one answers.
    let segments = (f32s(&e.model().data().segments.centroids).len() / e.model().dim()) as u32;
    let mut answered = 0;
    for seg in 0..segments {
        let q = AudienceQuery { product: &tofu, k: 100, signals: &veg, segment: Some(seg), ..AudienceQuery::default() };
        match e.audience(&q, never, &mut s) {
            Ok(()) => {
                let sig = signal(e, "lifestyle:vegetarian");
                let members = &s.audience().members;
                assert!(members.iter().all(|&(_, r)| carries(e, r, sig) && e.customer_segment(r) == Some(seg)));
                assert_eq!(s.trace.plan, Plan::ExactScan, "a small group is scanned exactly");
                answered += 1;
            }
            Err(EngineError::GroupTooSmall(_)) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert!(answered > 0, "no segment has enough vegetarians to answer: the filter was never checked");
}

#[test]
fn bad_requests_are_refused_with_their_kind() {
    let e = engine();
    let mut s = Scratch::default();
    let tofu = product(e, "Tofu & Plant Protein", "Tofu");
    let two: crate::ids::IdList = [tofu.as_str(), "p1"].into_iter().collect();
    let unknown: crate::ids::IdList = [tofu.as_str(), "nope"].into_iter().collect();
    let nonsense: crate::ids::IdList = ["lifestyle:astronaut"].into_iter().collect();
    let base = AudienceQuery { product: &tofu, k: 100, ..AudienceQuery::default() };
    let q = |q: AudienceQuery<'_>| {
        let mut s = Scratch::default();
        e.audience(&q, never, &mut s).err()
    };
    assert!(
        matches!(q(AudienceQuery { product: "nope", ..base }), Some(EngineError::UnknownProduct(p)) if p == "nope")
    );
    assert!(matches!(
        q(AudienceQuery { product: "", products: &unknown, ..base }),
        Some(EngineError::UnknownProduct(p)) if p == "nope"
    ));
    assert!(matches!(
        q(AudienceQuery { product: "", aisle: "Moon Cheese", ..base }),
        Some(EngineError::UnknownAisle(_))
    ));
    assert!(
        matches!(q(AudienceQuery { k: 5_001, ..base }), Some(EngineError::InvalidArgument(m)) if m.contains("audience.max_k"))
    );
    assert!(
        matches!(q(AudienceQuery { k: 19, ..base }), Some(EngineError::GroupTooSmall(m)) if m.contains("min_group"))
    );
    assert!(
        matches!(q(AudienceQuery { aisle: "Beef", ..base }), Some(EngineError::InvalidArgument(m)) if m.contains("exactly one"))
    );
    assert!(matches!(q(AudienceQuery { product: "", ..base }), Some(EngineError::InvalidArgument(_))));
    assert!(matches!(
        q(AudienceQuery { signals: &nonsense, ..base }),
        Some(EngineError::UnknownSignal(m)) if m == "lifestyle:astronaut"
    ));
    assert!(matches!(
        q(AudienceQuery { segment: Some(10_000), ..base }),
        Some(EngineError::InvalidArgument(m)) if m.contains("segment")
    ));
    // Vegans who listen to jazz in one segment and buy steak: nobody (rules in reverse).
    let vegan_jazz: crate::ids::IdList = ["lifestyle:vegan", "music:jazz"].into_iter().collect();
    let steak = product(e, "Beef", "Steak");
    let r = e.audience(
        &AudienceQuery { product: &steak, k: 100, signals: &vegan_jazz, ..AudienceQuery::default() },
        never,
        &mut s,
    );
    assert!(
        matches!(r, Err(EngineError::GroupTooSmall(m)) if m.contains("fewer than audience.min_group") && !m.contains(" 0 "))
    );
    // Several products: the set's audience.
    e.audience(&AudienceQuery { products: &two, k: 100, ..AudienceQuery::default() }, never, &mut s).expect("ok");
    assert_eq!(s.audience().members.len(), 100);
}

#[test]
fn segment_profiles_name_their_customers_and_hide_small_segments() {
    let e = engine();
    let segments = e.segments();
    assert!(!segments.is_empty());
    let total: u32 = segments.iter().map(|g| g.size).sum();
    assert_eq!(total as usize, e.customers(), "every customer is in one segment");
    // The demo's segments are its planted primary tastes; the plant-based one is the most
    // vegetarian of all.
    let veg = signal(e, "lifestyle:vegetarian");
    let best = segments
        .iter()
        .enumerate()
        .filter_map(|(g, p)| p.signals.iter().find(|l| l.group == veg).map(|l| (g, l.lift)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("a segment over-represents vegetarians");
    let aisles: Vec<&str> = segments[best.0].top_products.iter().map(|&r| e.describe(r).2).collect();
    assert!(best.1 > 3.0, "lift {}", best.1);
    assert!(aisles.iter().any(|a| a.contains("Plant") || a.contains("Tofu") || a.contains("Vegetables")), "{aisles:?}");
    for p in segments {
        assert!(p.signals.iter().all(|l| l.count >= e.min_group() && l.lift > 1.0));
        assert!(p.signals.len() <= SEGMENT_TOP_SIGNALS && p.top_products.len() <= SEGMENT_TOP_PRODUCTS);
        if p.size < e.min_group() {
            assert!(p.signals.is_empty() && p.top_products.is_empty());
        }
    }
}
