//! Engine behaviour on a small built model: ranking, filters, rules, fallbacks, limits.

use super::*;
use crate::config::{RuleConfig, ZoneConfig};
use crate::index::ProductIndex;
use crate::index::exact::ExactIndex;
use crate::model::tests::tiny_input;
use crate::model::{Model, build};

fn config() -> Config {
    let mut c = Config::default();
    c.rules.push(RuleConfig {
        signal: "lifestyle:vegetarian".into(),
        exclude_tags: vec!["meat".into()],
        optional: false,
    });
    c.zones.push(ZoneConfig { name: "front".into(), aisles: vec!["Aisle 0".into(), "Aisle 1".into()] });
    c.zones.push(ZoneConfig { name: "ghost".into(), aisles: vec!["No Such Aisle".into()] });
    c
}

fn engine_with(c: &Config) -> Engine {
    let model = Model::from_artifact(build(&tiny_input()).expect("builds"), "test").expect("valid");
    Engine::new(model, &EngineSettings::from_config(c)).expect("rules resolve")
}

fn ids(e: &Engine, s: &Scratch) -> Vec<String> {
    s.hits().iter().map(|h| e.describe(h.row).0.to_string()).collect()
}

fn is_meat(e: &Engine, row: u32) -> bool {
    let p = &e.model().data().products;
    let t = p.tag_names.position("meat").expect("tag");
    u64s(&p.tags)[row as usize * p.tag_words.to_native() as usize] & (1 << t) != 0
}

#[test]
fn personal_ranking_matches_exact_search_when_probing_everything() {
    let mut c = config();
    c.recommend.nprobe = 10_000;
    let e = engine_with(&c);
    let mut s = Scratch::default();
    let m = e.model();
    for customer in ["cust-001", "cust-002", "cust-003"] {
        e.recommend(&Query { customer, k: 10, ..Query::default() }, &mut s).expect("ok");
        let row = m.data().customers.ids.row(customer).expect("known");
        let mut truth = TopK::new(10);
        ExactIndex { vectors: m.product_vectors(), dim: m.dim() }.search(
            m.customer_vector(row),
            10,
            &|_| true,
            &mut truth,
        );
        let got: Vec<u32> = s.hits().iter().map(|h| h.row).collect();
        let want: Vec<u32> = truth.as_slice().iter().map(|&(_, r)| r).collect();
        assert_eq!(got, want);
        assert!(s.hits().iter().all(|h| h.reason == Reason::Personal));
        assert!(s.hits().windows(2).all(|w| w[0].score >= w[1].score));
    }
}

#[test]
fn vegetarians_never_get_meat_and_others_do() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    let (mut veg_meat, mut other_meat) = (0, 0);
    for i in 0..200 {
        let customer = format!("cust-{i:03}");
        e.recommend(&Query { customer: &customer, k: 50, ..Query::default() }, &mut s).expect("ok");
        let meat = s.hits().iter().filter(|h| is_meat(&e, h.row)).count();
        if i % 4 == 0 { veg_meat += meat } else { other_meat += meat }
    }
    assert_eq!(veg_meat, 0);
    assert!(other_meat > 0, "the rule must be what removes meat, not the data");
}

#[test]
fn aisle_and_zone_filters_restrict_candidates() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "cust-010", aisle: "Aisle 3", k: 20, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 20);
    assert!(s.hits().iter().all(|h| e.describe(h.row).2 == "Aisle 3"));
    assert_eq!(s.trace.plan, Plan::ExactScan);
    e.recommend(&Query { customer: "cust-010", zone: "front", k: 30, ..Query::default() }, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| matches!(e.describe(h.row).2, "Aisle 0" | "Aisle 1")));
    // An aisle outside the zone leaves nothing.
    e.recommend(&Query { customer: "cust-010", zone: "front", aisle: "Aisle 3", ..Query::default() }, &mut s)
        .expect("ok");
    assert!(s.hits().is_empty());
}

#[test]
fn large_filtered_sets_use_the_index_with_a_wider_probe() {
    let mut c = config();
    c.recommend.exact_scan_fraction = 0.0;
    c.recommend.exact_scan_min = 0;
    // One list by default, so the widened probe stays below every list (see the next test).
    c.recommend.nprobe = 1;
    let e = engine_with(&c);
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "cust-010", zone: "front", k: 10, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.trace.plan, Plan::Ivf);
    assert!(s.trace.nprobe as usize > e.nprobe, "a third of the catalogue must widen the probe");
    assert!(s.hits().iter().all(|h| matches!(e.describe(h.row).2, "Aisle 0" | "Aisle 1")));
}

#[test]
fn a_probe_that_would_cover_every_list_scans_the_subset_instead() {
    let mut c = config();
    c.recommend.exact_scan_fraction = 0.0;
    c.recommend.exact_scan_min = 0;
    let lists = engine_with(&c).model().data().ivf.offsets.len() - 1;
    c.recommend.nprobe = lists as u32;
    let e = engine_with(&c);
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "cust-010", zone: "front", k: 10, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.trace.plan, Plan::ExactScan);
    assert_eq!(s.hits().len(), 10);
    assert!(s.hits().iter().all(|h| matches!(e.describe(h.row).2, "Aisle 0" | "Aisle 1")));
    // Unfiltered, the index stays the plan whatever its probe.
    e.recommend(&Query { customer: "cust-010", k: 10, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.trace.plan, Plan::Ivf);
}

#[test]
fn unknown_names_are_errors_unknown_ids_fall_back() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    let err = e.recommend(&Query { customer: "cust-001", aisle: "Nope", ..Query::default() }, &mut s);
    assert_eq!(err, Err(EngineError::UnknownAisle("Nope".into())));
    let err = e.recommend(&Query { customer: "cust-001", zone: "nowhere", ..Query::default() }, &mut s);
    assert_eq!(err, Err(EngineError::UnknownZone("nowhere".into())));
    e.recommend(&Query { customer: "stranger", ..Query::default() }, &mut s).expect("ok");
    assert!(s.trace.unknown_customer);
    assert_eq!(s.hits().len(), 5);
    assert!(s.hits().iter().all(|h| h.reason == Reason::Popular));
    let purchases = u32s(&e.model().data().products.purchases);
    assert!(s.hits().windows(2).all(|w| purchases[w[0].row as usize] >= purchases[w[1].row as usize]));
    e.recommend(&Query { customer: "stranger", aisle: "Aisle 2", ..Query::default() }, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| h.reason == Reason::PopularInAisle && e.describe(h.row).2 == "Aisle 2"));
    e.recommend(&Query { zone: "front", ..Query::default() }, &mut s).expect("ok");
    assert!(!s.trace.unknown_customer);
    assert!(s.hits().iter().all(|h| h.reason == Reason::PopularInZone));
    let long = "x".repeat(MAX_ID_BYTES + 1);
    assert!(matches!(
        e.recommend(&Query { customer: &long, ..Query::default() }, &mut s),
        Err(EngineError::InvalidArgument(_))
    ));
    assert!(e.warnings.iter().any(|w| w.contains("No Such Aisle")));
}

#[test]
fn basket_is_excluded_and_steers_unknown_shoppers() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "cust-004", k: 3, ..Query::default() }, &mut s).expect("ok");
    let first = ids(&e, &s);
    let basket: IdList = [first[0].as_str(), "not-a-product"].into_iter().collect();
    e.recommend(&Query { customer: "cust-004", basket: &basket, k: 3, ..Query::default() }, &mut s).expect("ok");
    assert!(!ids(&e, &s).contains(&first[0]));
    assert_eq!(s.trace.unknown_basket_items, 1);
    e.recommend(&Query { basket: &basket, k: 3, ..Query::default() }, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| h.reason == Reason::Basket));
    assert!(!ids(&e, &s).contains(&first[0]));
    let huge: IdList = (0..201).map(|i| format!("prod-{i:03}")).collect();
    assert!(e.recommend(&Query { basket: &huge, ..Query::default() }, &mut s).is_err());
}

#[test]
fn k_defaults_and_clamps() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "cust-001", k: 0, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 5);
    e.recommend(&Query { customer: "cust-001", k: u32::MAX, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 50);
}

#[test]
fn a_model_without_purchase_history_answers_from_the_embedding_alone() {
    let e = engine_with(&config());
    let mut s = Scratch::default();
    for customer in ["cust-001", "cust-004"] {
        let q = Query { customer, k: 8, ..Query::default() };
        e.recommend(&q, &mut s).expect("ok");
        let mixed = s.hits().to_vec();
        e.recommend_embedding(&q, &mut s).expect("ok");
        assert_eq!(mixed, s.hits(), "mixed is the embedding");
        e.recommend(&Query { mode: Mode::Discover, ..q }, &mut s).expect("ok");
        assert_eq!(mixed, s.hits(), "nothing was bought, so discover is the embedding too");
        e.recommend(&Query { mode: Mode::BuyAgain, ..q }, &mut s).expect("ok");
        assert!(s.hits().is_empty(), "nothing to buy again");
    }
    assert_eq!(Mode::parse(""), Some(Mode::Mixed));
    assert!(Mode::ALL.iter().all(|&m| Mode::parse(m.as_str()) == Some(m)));
    assert_eq!(Mode::parse("new_only"), None);
}
