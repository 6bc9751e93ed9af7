//! Blending on a model trained from a small demo store: what each mode may return, the reasons
//! and their explanations, the quota, the clock, and rules that hold for every source.

use std::sync::OnceLock;

use super::*;
use crate::config::RuleConfig;
use crate::demo::{self, DemoSpec};
use crate::model::{Model, build};
use crate::train::{TrainOptions, train};

/// A trained engine with the vegetarian rule; customer `c0` bought meat and has just turned
/// vegetarian (the signal was added after their purchases).
fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let store = demo::generate(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 });
        let mut data = store.train_data();
        let meat_buyer = (0..data.customers.len())
            .find(|&c| {
                let veg = data.social.iter().any(|s| s.0 as usize == c && data.signals[s.1 as usize].contains("veg"));
                !veg && store.purchases.iter().any(|l| {
                    l.customer as usize == c && store.products[l.product as usize].tags.iter().any(|t| t == "meat")
                })
            })
            .expect("someone bought meat");
        data.customers.swap(0, meat_buyer);
        let remap = |c: u32| match c as usize {
            0 => meat_buyer as u32,
            x if x == meat_buyer => 0,
            _ => c,
        };
        data.purchases.customer.iter_mut().for_each(|c| *c = remap(*c));
        data.social.iter_mut().for_each(|s| s.0 = remap(s.0));
        let veg = data.signals.iter().position(|s| s == "lifestyle:vegetarian").expect("signal") as u32;
        data.social.push((0, veg, 1.0));
        let opts = TrainOptions { dim: 16, iterations: 4, segments: 0, ..TrainOptions::default() };
        let (input, _) = train(&data, &opts).expect("trains");
        let model = Model::from_artifact(build(&input).expect("builds"), "test").expect("valid");
        let mut c = Config::default();
        c.rules.push(RuleConfig {
            signal: "lifestyle:vegetarian".into(),
            exclude_tags: vec!["meat".into(), "fish".into()],
            optional: false,
        });
        Engine::new(model, &EngineSettings::from_config(&c)).expect("rules resolve")
    })
}

/// The product rows `customer` bought, sorted.
fn history(customer: &str) -> &'static [u32] {
    let data = engine().model().data();
    let row = data.customers.ids.row(customer).expect("known");
    data.customers.repeat.row(row as usize)
}

fn ask(customer: &str, mode: Mode, k: u32, s: &mut Scratch) -> Vec<Hit> {
    let q = Query { customer, k, mode, ..Query::default() };
    engine().recommend(&q, s).expect("ok");
    s.hits().to_vec()
}

fn has_tag(e: &Engine, row: u32, tag: &str) -> bool {
    let p = &e.model().data().products;
    let Some(t) = p.tag_names.position(tag) else { return false };
    let words = p.tag_words.to_native() as usize;
    u64s(&p.tags)[row as usize * words + t / 64] & (1 << (t % 64)) != 0
}

#[test]
fn modes_split_what_was_bought_from_what_is_new_and_explain_it() {
    let mut s = Scratch::default();
    let (mut again, mut also, mut personal) = (0, 0, 0);
    for c in 1..200 {
        let id = format!("c{c}");
        let bought = history(&id);
        let hits = ask(&id, Mode::BuyAgain, 10, &mut s);
        assert_eq!(s.trace.plan, Plan::History);
        for h in &hits {
            assert_eq!(h.reason, Reason::BuyAgain);
            assert!(bought.binary_search(&h.row).is_ok(), "{id}: buy-again of a product never bought");
            assert!(h.days_since_last >= 0.0 && (0.0..=1.0).contains(&h.score));
            assert!(h.usual_gap_days == -1.0 || h.usual_gap_days > 0.0);
            assert_eq!(h.usual_gap_days < 0.0, h.usual_gap_orders < 0.0);
            again += 1;
        }
        for h in ask(&id, Mode::Discover, 10, &mut s) {
            assert!(bought.binary_search(&h.row).is_err(), "{id}: discover suggested a product bought before");
            match h.reason {
                Reason::AlsoBought => {
                    assert!(bought.binary_search(&h.because).is_ok(), "the reason is a product the customer bought");
                    also += 1;
                }
                Reason::Personal => personal += 1,
                other => panic!("discover gave {other:?}"),
            }
        }
        let mixed = ask(&id, Mode::Mixed, 10, &mut s);
        assert_eq!(mixed.len(), 10);
        assert!(mixed.windows(2).all(|w| w[0].score >= w[1].score), "ranked by probability");
        let rows: std::collections::HashSet<u32> = mixed.iter().map(|h| h.row).collect();
        assert_eq!(rows.len(), mixed.len(), "no product twice");
    }
    assert!(again > 500 && also > 100 && personal > 100, "{again} buy-again, {also} also-bought, {personal} personal");
}

#[test]
fn rules_hold_for_every_source_even_for_past_purchases() {
    let e = engine();
    let mut s = Scratch::default();
    // c0 bought meat before turning vegetarian: never reminded of it, in any mode or zone.
    assert!(history("c0").iter().any(|&r| has_tag(e, r, "meat")), "the fixture bought meat");
    for mode in Mode::ALL {
        for k in [5, 50] {
            for h in ask("c0", mode, k, &mut s) {
                assert!(!has_tag(e, h.row, "meat") && !has_tag(e, h.row, "fish"), "{mode:?} offered {}", h.row);
            }
        }
    }
    // And the same customer without the rule would have been reminded: the rule does the work.
    let again = {
        let data = e.model().data();
        let row = data.customers.ids.row("c0").expect("known") as usize;
        data.customers.repeat.row(row).iter().filter(|&&r| has_tag(e, r, "meat")).count()
    };
    assert!(again > 0);
}

#[test]
fn the_quota_makes_room_for_new_products() {
    let mut s = Scratch::default();
    let mut forced = 0;
    for c in 1..100 {
        let id = format!("c{c}");
        let plain = ask(&id, Mode::Mixed, 10, &mut s);
        let q = Query { customer: &id, k: 10, mode: Mode::Mixed, min_discover: 4, ..Query::default() };
        engine().recommend(&q, &mut s).expect("ok");
        let quota = s.hits().to_vec();
        let new = |hits: &[Hit]| hits.iter().filter(|h| h.reason != Reason::BuyAgain).count();
        // The embedding always has new products to offer here, so the quota is always met.
        assert!(new(&quota) >= 4, "{id}: {} new with a quota of 4", new(&quota));
        assert!(quota.windows(2).all(|w| w[0].score >= w[1].score));
        forced += usize::from(new(&plain) < 4);
    }
    assert!(forced > 10, "the quota must change some answers ({forced})");
}

#[test]
fn the_clock_sets_the_days_since_the_last_purchase() {
    let e = engine();
    let mut s = Scratch::default();
    let data_end = e.data_end_ts;
    let at = |now: i64, s: &mut Scratch| {
        let q = Query { customer: "c7", k: 50, mode: Mode::BuyAgain, now_unix_s: now, ..Query::default() };
        e.recommend(&q, s).expect("ok");
        s.hits().to_vec()
    };
    let unset = at(0, &mut s);
    assert_eq!(unset, at(data_end, &mut s), "no clock means the model's newest purchase");
    let later = at(data_end + 30 * 86_400, &mut s);
    for h in &later {
        let before = unset.iter().find(|u| u.row == h.row).expect("same products");
        assert!((h.days_since_last - before.days_since_last - 30.0).abs() < 1e-3);
    }
    assert_ne!(
        unset.iter().map(|h| h.score).collect::<Vec<_>>(),
        later.iter().map(|h| h.score).collect::<Vec<_>>(),
        "dueness moves the probabilities"
    );
}

#[test]
fn unknown_shoppers_baskets_and_filters() {
    let e = engine();
    let mut s = Scratch::default();
    assert!(ask("stranger", Mode::BuyAgain, 5, &mut s).is_empty(), "nothing to remind a stranger of");
    assert!(ask("stranger", Mode::Discover, 5, &mut s).iter().all(|h| h.reason == Reason::Popular));
    // At checkout the basket is excluded from the reminders.
    let top = ask("c3", Mode::BuyAgain, 3, &mut s);
    let basket: IdList = top.iter().map(|h| e.describe(h.row).0).collect();
    let q = Query { customer: "c3", basket: &basket, k: 3, mode: Mode::BuyAgain, ..Query::default() };
    e.recommend(&q, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| !top.iter().any(|t| t.row == h.row)));
    // An aisle filter applies to every source.
    let aisle = e.describe(top[0].row).2.to_string();
    for mode in Mode::ALL {
        let q = Query { customer: "c3", aisle: &aisle, k: 10, mode, ..Query::default() };
        e.recommend(&q, &mut s).expect("ok");
        assert!(s.hits().iter().all(|h| e.describe(h.row).2 == aisle), "{mode:?}");
    }
}

#[test]
fn rank_slice_applies_the_permutation() {
    let mut cands: Vec<Hit> =
        [0.2, 0.9, 0.5, 0.9].iter().enumerate().map(|(i, &p)| Hit::new(i as u32, p, Reason::Personal)).collect();
    let mut raw = vec![1.0, 1.0, 3.0, 2.0];
    blend::rank_slice(&mut cands, &mut raw, &mut Vec::new());
    assert_eq!(cands.iter().map(|h| h.row).collect::<Vec<_>>(), vec![3, 1, 2, 0]);
    assert_eq!(raw, vec![2.0, 1.0, 3.0, 1.0]);
}

#[test]
fn mixed_skips_the_search_only_when_nothing_new_could_enter() {
    let e = engine();
    let mut s = Scratch::default();
    let (mut settled, mut searched) = (0, 0);
    for c in 1..300 {
        let id = format!("c{c}");
        let hits = ask(&id, Mode::Mixed, 3, &mut s);
        if s.trace.plan == Plan::History {
            settled += 1;
            // Every hit beats the best probability discovery or the embedding could give.
            assert!(hits.iter().all(|h| h.reason == Reason::BuyAgain && h.score > e.new_ceiling), "{id}");
        } else {
            searched += 1;
        }
    }
    assert!(settled > 0 && searched > 0, "{settled} settled, {searched} searched");
}
