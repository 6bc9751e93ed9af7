//! `similar`, `complete`, `bundles`, `rerank` and the request options on a model trained from a
//! small demo store, whose bundles, tastes and vegetarians are planted.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::*;
use crate::config::{PromotionConfig, RuleConfig};
use crate::demo::{self, DemoSpec, DemoStore};
use crate::index::exact::ExactIndex;
use crate::index::{ProductIndex, recall};
use crate::model::input::ModelInput;
use crate::model::{Model, build};
use crate::train::{TrainOptions, train};

fn trained() -> &'static (DemoStore, ModelInput) {
    static T: OnceLock<(DemoStore, ModelInput)> = OnceLock::new();
    T.get_or_init(|| {
        let store = demo::generate(&DemoSpec { products: 1_600, customers: 3_000, seed: 11, dim: 16 });
        let opts = TrainOptions { dim: 16, iterations: 5, segments: 0, ..TrainOptions::default() };
        let (input, _) = train(&store.train_data(), &opts).expect("trains");
        (store, input)
    })
}

fn settings() -> Config {
    let mut c = Config::default();
    c.rules.push(RuleConfig {
        signal: "lifestyle:vegetarian".into(),
        exclude_tags: vec!["meat".into(), "fish".into()],
        optional: false,
    });
    c
}

fn engine_with(c: &Config) -> Engine {
    let model = Model::from_artifact(build(&trained().1).expect("builds"), "test").expect("valid");
    Engine::new(model, &EngineSettings::from_config(c)).expect("rules resolve")
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| engine_with(&settings()))
}

/// Demo product index -> the engine's row.
fn row(e: &Engine, p: u32) -> u32 {
    e.model().data().products.ids.row(&format!("p{p}")).expect("known product")
}

fn has_tag(e: &Engine, row: u32, tag: &str) -> bool {
    let p = &e.model().data().products;
    let Some(t) = p.tag_names.position(tag) else { return false };
    let words = p.tag_words.to_native() as usize;
    u64s(&p.tags)[row as usize * words + t / 64] & (1 << (t % 64)) != 0
}

fn meaty(e: &Engine, hits: &[Hit]) -> usize {
    hits.iter().filter(|h| h.row != Hit::NONE && (has_tag(e, h.row, "meat") || has_tag(e, h.row, "fish"))).count()
}

fn aisle(e: &Engine, row: u32) -> u32 {
    u32s(&e.model().data().products.aisle)[row as usize]
}

fn vegetarians() -> Vec<String> {
    let (store, _) = trained();
    (0..store.customers.len())
        .filter(|&c| store.customers[c].signals.iter().any(|(s, _)| *s == "lifestyle:vegetarian"))
        .map(|c| format!("c{c}"))
        .take(60)
        .collect()
}

fn list(ids: &[&str]) -> IdList {
    ids.iter().copied().collect()
}

#[test]
fn similar_stays_in_the_aisle_widens_when_short_and_is_cosine_close_store_wide() {
    let e = engine();
    let mut s = Scratch::default();
    let p = &e.model().data().products;
    let department = |row: u32| u32s(&p.department)[row as usize];
    let (mut same, mut total, mut recall_sum, mut n, mut widened) = (0, 0, 0.0, 0, 0);
    let dim = e.model().dim();
    let unit = similar::unit_vectors(e.model());
    for prod in (0..1_600u32).step_by(23) {
        let id = format!("p{prod}");
        let r = row(e, prod);
        e.similar(&SimilarQuery { product: &id, k: 10, ..SimilarQuery::default() }, &mut s).expect("ok");
        assert_eq!(s.hits().len(), 10);
        assert!(s.hits().iter().all(|h| h.row != r && h.reason == Reason::Similar && h.because == r));
        assert!(s.hits().windows(2).all(|w| w[0].score >= w[1].score));
        let in_aisle = s.hits().iter().filter(|h| aisle(e, h.row) == aisle(e, r)).count();
        let others = p.by_aisle.row(aisle(e, r) as usize).len() - 1;
        // The whole aisle first; the rest from the department when the aisle is short.
        assert_eq!(in_aisle, others.min(10), "{id}");
        if others < 10 {
            widened += 1;
            assert!(s.hits().iter().all(|h| department(h.row) == department(r)) || others + 1 < 10);
        }
        same += in_aisle;
        total += s.hits().len();
        // Store-wide, against an exact cosine scan.
        let q = SimilarQuery { product: &id, k: 10, scope: Scope::Store, ..SimilarQuery::default() };
        e.similar(&q, &mut s).expect("ok");
        assert!(s.hits().iter().all(|h| h.row != r), "{id} is not its own substitute");
        let mut truth = TopK::new(10);
        let v = &unit[r as usize * dim..(r as usize + 1) * dim];
        ExactIndex { vectors: &unit, dim }.search(v, 10, &|x| x != r, &mut truth);
        let got: Vec<(f32, u32)> = s.hits().iter().map(|h| (h.score, h.row)).collect();
        recall_sum += recall(&got, truth.as_slice());
        n += 1;
    }
    assert!(same as f64 / total as f64 > 0.8, "{same} of {total} in the product's aisle");
    let recall = recall_sum / n as f64;
    assert!(recall >= 0.9, "store-wide recall@10 against exact cosine {recall:.3}");
    eprintln!("similar: {same}/{total} in the aisle, {widened} widened, store-wide recall@10 {recall:.3}");
}

#[test]
fn similar_restricts_to_an_aisle_and_refuses_unknown_products() {
    let e = engine();
    let mut s = Scratch::default();
    let (aisle_row, name) = {
        let p = &e.model().data().products;
        let a = aisle(e, row(e, 7));
        (a, p.aisle_names.get(a as usize).to_string())
    };
    e.similar(&SimilarQuery { product: "p3", aisle: &name, k: 8, ..SimilarQuery::default() }, &mut s).expect("ok");
    assert!(!s.hits().is_empty());
    assert!(s.hits().iter().all(|h| aisle(e, h.row) == aisle_row));
    let err = e.similar(&SimilarQuery { product: "nope", ..SimilarQuery::default() }, &mut s).unwrap_err();
    assert_eq!(err, EngineError::UnknownProduct("nope".into()));
}

#[test]
fn complete_returns_the_planted_bundle_partners_and_explains_them() {
    let (store, _) = trained();
    let e = engine();
    let mut s = Scratch::default();
    let (mut found, mut total) = (0, 0);
    for bundle in &store.bundles {
        for &a in bundle {
            let id = format!("p{a}");
            let basket = list(&[&id]);
            e.complete(&CompleteQuery { basket: &basket, k: 5, ..CompleteQuery::default() }, &mut s).expect("ok");
            assert_eq!(s.hits().len(), 5, "filled to k");
            let first = s.hits()[0];
            assert_eq!((first.reason, first.because), (Reason::BoughtWith, row(e, a)));
            for &b in bundle.iter().filter(|&&b| b != a) {
                total += 1;
                found += usize::from(s.hits().iter().any(|h| h.row == row(e, b)));
            }
        }
    }
    assert!(total > 100, "the store plants bundles");
    let share = found as f64 / total as f64;
    assert!(share >= 0.8, "only {found} of {total} planted partners in the top 5");
}

#[test]
fn complete_refuses_empty_and_unknown_baskets() {
    let e = engine();
    let mut s = Scratch::default();
    let err = e.complete(&CompleteQuery::default(), &mut s).unwrap_err();
    assert!(matches!(err, EngineError::InvalidArgument(m) if m.contains("empty")));
    let basket = list(&["ghost"]);
    let err = e.complete(&CompleteQuery { basket: &basket, ..CompleteQuery::default() }, &mut s).unwrap_err();
    assert_eq!(err, EngineError::UnknownProduct("ghost".into()));
}

#[test]
fn bundle_figures_are_the_counts_of_the_orders() {
    let (store, input) = trained();
    let e = engine();
    let mut orders: HashMap<u32, Vec<u32>> = HashMap::new();
    for l in &store.purchases {
        orders.entry(l.order).or_default().push(l.product);
    }
    let n = orders.len() as f64;
    let count = |f: &dyn Fn(&Vec<u32>) -> bool| orders.values().filter(|o| f(o)).count() as f64;
    let a = store.bundles[0][0];
    let mut out = Vec::new();
    e.bundles(&format!("p{a}"), 5, &mut out).expect("ok");
    assert!(!out.is_empty() && out.len() <= 5);
    assert_eq!(input.total_orders as f64, n);
    for b in &out {
        let partner: u32 = e.describe(b.row).0[1..].parse().expect("demo id");
        let both = count(&|o| o.contains(&a) && o.contains(&partner));
        let (oa, ob) = (count(&|o| o.contains(&a)), count(&|o| o.contains(&partner)));
        assert_eq!(b.orders as f64, both);
        assert!((b.support as f64 - both / n).abs() < 1e-6);
        assert!((b.confidence as f64 - both / oa).abs() < 1e-6);
        assert!((b.lift as f64 - both * n / (oa * ob)).abs() / (both * n / (oa * ob)) < 1e-4);
        assert!(b.orders >= e.settings.bundle_min_orders);
    }
    assert_eq!(e.bundles("ghost", 5, &mut out).unwrap_err(), EngineError::UnknownProduct("ghost".into()));
}

#[test]
fn rerank_orders_the_given_products_drops_excluded_ones_and_flags_unknown_ids() {
    let e = engine();
    let mut s = Scratch::default();
    let veg = vegetarians();
    let p = &e.model().data().products;
    // A shelf with meat, the customer's own purchases and others, an unknown id and a repeat.
    let c = &veg[0];
    let crow = e.model().data().customers.ids.row(c).expect("known");
    let bought: Vec<String> =
        e.model().data().customers.repeat.row(crow as usize).iter().take(3).map(|&r| p.ids.id(r).to_string()).collect();
    let meat: Vec<String> =
        (0..p.ids.len() as u32).filter(|&r| has_tag(e, r, "meat")).take(3).map(|r| p.ids.id(r).to_string()).collect();
    let mut shelf: Vec<&str> = bought.iter().chain(&meat).map(String::as_str).collect();
    shelf.extend(["p5", "p6", "ghost-1", "p5", "ghost-2"]);
    let products = list(&shelf);
    e.rerank(&RerankQuery { customer: c, products: &products, ..RerankQuery::default() }, &mut s).expect("ok");
    let hits = s.hits();
    assert_eq!(meaty(e, hits), 0, "a vegetarian's shelf loses its meat");
    let known: Vec<&Hit> = hits.iter().filter(|h| h.reason != Reason::UnknownProduct).collect();
    assert!(known.windows(2).all(|w| w[0].score >= w[1].score));
    let expected_known = bought.len() + 2 - bought.iter().filter(|b| *b == "p5" || *b == "p6").count();
    assert_eq!(known.len(), expected_known, "each admitted product once");
    let tail: Vec<u32> = hits[known.len()..].iter().map(|h| h.because).collect();
    assert_eq!(tail, vec![shelf.iter().position(|&x| x == "ghost-1").unwrap() as u32, shelf.len() as u32 - 1]);
    assert!(hits.iter().filter(|h| h.reason == Reason::BuyAgain).count() >= 1, "past purchases score as buy-again");
    // The bound.
    let many: Vec<String> = (0..201).map(|i| format!("p{i}")).collect();
    let many = list(&many.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(matches!(
        e.rerank(&RerankQuery { customer: c, products: &many, ..RerankQuery::default() }, &mut s),
        Err(EngineError::InvalidArgument(_))
    ));
}

#[test]
fn no_vegetarian_is_offered_meat_or_fish_by_any_operation_nor_an_anonymous_one_who_says_so() {
    let e = engine();
    let mut s = Scratch::default();
    let (store, _) = trained();
    let meat: Vec<String> = (0..store.products.len())
        .filter(|&p| store.products[p].tags.iter().any(|t| t == "meat"))
        .take(4)
        .map(|p| format!("p{p}"))
        .collect();
    let meat_basket = list(&meat.iter().map(String::as_str).collect::<Vec<_>>());
    let said = list(&["lifestyle:vegetarian"]);
    let stated = Options { signals: &said, ..Options::default() };
    let mut customers: Vec<(String, Options<'_>)> =
        vegetarians().into_iter().map(|c| (c, Options::default())).collect();
    customers.push((String::new(), stated));
    customers.push(("not-a-customer".into(), stated));
    let mut served = 0;
    for (c, options) in &customers {
        let c = c.as_str();
        for mode in Mode::ALL {
            e.recommend(&Query { customer: c, k: 20, mode, options: *options, ..Query::default() }, &mut s)
                .expect("ok");
            assert_eq!(meaty(e, s.hits()), 0, "recommend {mode:?} for {c:?}");
            served += s.hits().len();
        }
        for m in &meat {
            e.similar(
                &SimilarQuery { product: m, customer: c, k: 20, options: *options, ..SimilarQuery::default() },
                &mut s,
            )
            .expect("ok");
            assert_eq!(meaty(e, s.hits()), 0, "similar to {m} for {c:?}");
            served += s.hits().len();
        }
        e.complete(
            &CompleteQuery { basket: &meat_basket, customer: c, k: 20, options: *options, ..CompleteQuery::default() },
            &mut s,
        )
        .expect("ok");
        assert_eq!(meaty(e, s.hits()), 0, "complete for {c:?}");
        served += s.hits().len();
        e.rerank(
            &RerankQuery { customer: c, products: &meat_basket, options: *options, ..RerankQuery::default() },
            &mut s,
        )
        .expect("ok");
        assert!(s.hits().is_empty(), "rerank of meat for {c:?}");
    }
    assert!(served > 5_000, "only {served} items checked");
    // Without the rule, the same questions do bring meat: the checks above can fail.
    e.similar(&SimilarQuery { product: &meat[0], k: 20, ..SimilarQuery::default() }, &mut s).expect("ok");
    assert!(meaty(e, s.hits()) > 0);
}

#[test]
fn an_unknown_stated_signal_is_refused_not_ignored() {
    let e = engine();
    let mut s = Scratch::default();
    let typo = list(&["lifestyle:vegeterian"]);
    let q = Query { options: Options { signals: &typo, ..Options::default() }, ..Query::default() };
    assert_eq!(e.recommend(&q, &mut s).unwrap_err(), EngineError::UnknownSignal("lifestyle:vegeterian".into()));
    // A signal the model knows but no rule names is accepted (and steers an anonymous shopper).
    let taste = e.model().data().signals.names.get(0).to_string();
    let known = list(&[&taste]);
    let q = Query { k: 5, options: Options { signals: &known, ..Options::default() }, ..Query::default() };
    e.recommend(&q, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| h.reason == Reason::Personal));
}

#[test]
fn exclude_and_max_per_aisle_shape_every_answer() {
    let e = engine();
    let mut s = Scratch::default();
    e.recommend(&Query { customer: "c1", k: 10, ..Query::default() }, &mut s).expect("ok");
    let first: Vec<String> = s.hits().iter().take(3).map(|h| e.describe(h.row).0.to_string()).collect();
    let exclude = list(&first.iter().map(String::as_str).collect::<Vec<_>>());
    let options = Options { exclude: &exclude, max_per_aisle: 2, ..Options::default() };
    let basket = list(&["p10"]);
    for which in 0..3 {
        match which {
            0 => e.recommend(&Query { customer: "c1", k: 10, options, ..Query::default() }, &mut s),
            1 => e.similar(&SimilarQuery { product: "p10", k: 10, options, ..SimilarQuery::default() }, &mut s),
            _ => e.complete(&CompleteQuery { basket: &basket, k: 10, options, ..CompleteQuery::default() }, &mut s),
        }
        .expect("ok");
        assert_eq!(s.hits().len(), 10, "operation {which}: still k items");
        let mut per: HashMap<u32, usize> = HashMap::new();
        for h in s.hits() {
            assert!(!first.iter().any(|f| f == e.describe(h.row).0), "operation {which}: an excluded product");
            *per.entry(aisle(e, h.row)).or_default() += 1;
        }
        assert!(per.values().all(|&n| n <= 2), "operation {which}: {per:?}");
    }
    let too_many: Vec<String> = (0..201).map(|i| format!("x{i}")).collect();
    let too_many = list(&too_many.iter().map(String::as_str).collect::<Vec<_>>());
    let q = Query { options: Options { exclude: &too_many, ..Options::default() }, ..Query::default() };
    assert!(matches!(e.recommend(&q, &mut s), Err(EngineError::InvalidArgument(_))));
}

#[test]
fn promotions_are_bounded_marked_and_never_displace_a_habit() {
    let base = engine();
    let mut s = Scratch::default();
    // Promote the aisle most often among the customers' new (not buy-again) candidates.
    let p = &base.model().data().products;
    let mut seen = vec![0usize; p.aisle_names.len()];
    let customers: Vec<String> = (0..400).map(|i| format!("c{i}")).collect();
    for c in &customers {
        base.recommend(&Query { customer: c, k: 10, mode: Mode::Discover, ..Query::default() }, &mut s).expect("ok");
        s.cands.iter().for_each(|h| seen[aisle(base, h.row) as usize] += 1);
    }
    let promoted_aisle = (0..seen.len()).max_by_key(|&a| seen[a]).expect("aisles") as u32;
    let mut c = settings();
    c.recommend.max_promoted_share = 0.2;
    c.promotions.push(PromotionConfig {
        name: "test".into(),
        products: vec![],
        aisles: vec![p.aisle_names.get(promoted_aisle as usize).to_string()],
        boost: 10.0,
    });
    let e = engine_with(&c);
    let mut t = Scratch::default();
    let (mut shown, mut could, mut habits) = (0, 0, 0);
    for c in &customers {
        for mode in [Mode::Mixed, Mode::Discover] {
            base.recommend(&Query { customer: c, k: 10, mode, ..Query::default() }, &mut s).expect("ok");
            e.recommend(&Query { customer: c, k: 10, mode, ..Query::default() }, &mut t).expect("ok");
            let promoted = t.hits().iter().filter(|h| h.promoted).count();
            assert!(promoted <= 2, "{c}: {promoted} promoted of 10");
            assert!(t.hits().iter().filter(|h| h.promoted).all(|h| aisle(&e, h.row) == promoted_aisle));
            assert_eq!(t.trace.promoted as usize, promoted);
            assert_eq!(t.hits().len(), s.hits().len());
            for habit in s.hits().iter().filter(|h| h.reason == Reason::BuyAgain) {
                assert!(t.hits().iter().any(|h| h.row == habit.row), "{c}: a habitual item was displaced");
                habits += 1;
            }
            // In `discover` every slot is open to a promotion: one shows whenever a candidate
            // from the aisle was there.
            if mode == Mode::Discover && t.cands.iter().any(|h| aisle(&e, h.row) == promoted_aisle) {
                could += 1;
                shown += usize::from(promoted > 0);
            }
        }
    }
    assert!(habits > 1_000, "only {habits} habitual items checked");
    assert!(could > 50 && shown == could, "shown in {shown} of {could} discover answers that had the aisle");
}

#[test]
fn a_live_session_moves_the_next_answer() {
    let (store, _) = trained();
    let mut c = settings();
    let zone_aisles: Vec<String> = {
        let p = &engine().model().data().products;
        (0..3).map(|a| p.aisle_names.get(a).to_string()).collect()
    };
    c.zones.push(crate::config::ZoneConfig { name: "front".into(), aisles: zone_aisles.clone() });
    let e = engine_with(&c);
    let mut s = Scratch::default();
    let department = |row: u32| u32s(&e.model().data().products.department)[row as usize];

    // An anonymous shopper with no session gets popular products; after looking at three
    // products of one department, the answer leans there and says why.
    e.recommend(&Query { k: 10, ..Query::default() }, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| h.reason == Reason::Popular));
    // Pet food: a department only pet owners' taste reaches.
    let pet: Vec<usize> = (0..store.products.len()).filter(|&p| store.products[p].department == "Pet").collect();
    let seen: Vec<String> = pet.iter().take(3).map(|p| format!("p{p}")).collect();
    let dept = department(row(&e, pet[0] as u32));
    let before = s.hits().iter().filter(|h| department(h.row) == dept).count();
    let recent = list(&seen.iter().map(String::as_str).collect::<Vec<_>>());
    let looked = Options { context: Context { recent: &recent, ..Context::default() }, ..Options::default() };
    e.recommend(&Query { k: 10, options: looked, ..Query::default() }, &mut s).expect("ok");
    assert!(s.trace.session);
    assert!(s.hits().iter().all(|h| h.reason == Reason::Recent), "{:?}", s.hits());
    let after = s.hits().iter().filter(|h| department(h.row) == dept).count();
    assert!(after > before && after >= 5, "{after} of 10 from the department looked at (before: {before})");

    // A customer who just bought their likeliest item is not offered it again; the rest stays.
    e.recommend(&Query { customer: "c3", k: 10, ..Query::default() }, &mut s).expect("ok");
    let top = s.hits()[0];
    let top_id = e.describe(top.row).0.to_string();
    let bought = list(&[&top_id]);
    let just =
        Options { context: Context { bought: &bought, bought_at: &[1], ..Context::default() }, ..Options::default() };
    let q = Query { customer: "c3", k: 10, options: just, ..Query::default() };
    e.recommend(&q, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| h.row != top.row), "{top_id} was just bought");
    assert_eq!(s.hits().len(), 10);

    // The buy-again clock restarts at a purchase the model has not seen: the product is less
    // likely in rerank (which does not drop it) than before.
    let history = e.model().data().customers.repeat.row(e.model().data().customers.ids.row("c3").expect("c3") as usize);
    let again_id = e.describe(history[0]).0.to_string();
    let shelf = list(&[&again_id]);
    let now = e.model().data().blend.data_end_ts.to_native() + 30 * 86_400;
    e.rerank(&RerankQuery { customer: "c3", products: &shelf, now_unix_s: now, ..RerankQuery::default() }, &mut s)
        .expect("ok");
    let (p_before, days_before) = (s.hits()[0].score, s.hits()[0].days_since_last);
    let bought = list(&[&again_id]);
    let ctx = Context { bought: &bought, bought_at: &[now - 3_600], ..Context::default() };
    let q = RerankQuery {
        customer: "c3",
        products: &shelf,
        now_unix_s: now,
        options: Options { context: ctx, ..Options::default() },
    };
    e.rerank(&q, &mut s).expect("ok");
    assert!(s.hits()[0].days_since_last < 0.1 && days_before > 1.0, "{days_before} -> {}", s.hits()[0].days_since_last);
    assert_ne!(s.hits()[0].score, p_before);

    // The live basket joins the request's: excluded, and enough for complete on its own.
    let scanned = store.bundles[0][0];
    let basket = list(&[&format!("p{scanned}")]);
    let live = Options { context: Context { basket: &basket, ..Context::default() }, ..Options::default() };
    e.complete(&CompleteQuery { k: 5, options: live, ..CompleteQuery::default() }, &mut s)
        .expect("the live basket is a basket");
    assert!(s.hits().iter().all(|h| h.row != row(&e, scanned)));
    assert_eq!((s.hits()[0].reason, s.hits()[0].because), (Reason::BoughtWith, row(&e, scanned)));

    // The zone they walked into is the default filter, unless the request places them.
    let zoned = Options { context: Context { zone: "front", ..Context::default() }, ..Options::default() };
    e.recommend(&Query { customer: "c3", k: 10, options: zoned, ..Query::default() }, &mut s).expect("ok");
    let names = &e.model().data().products.aisle_names;
    assert!(s.hits().iter().all(|h| zone_aisles.iter().any(|a| a == names.get(aisle(&e, h.row) as usize))));
    let q = Query { customer: "c3", aisle: names.get(10), k: 5, options: zoned, ..Query::default() };
    e.recommend(&q, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| aisle(&e, h.row) == 10), "an aisle in the request wins");
    // Substitutes are about the product, not where the shopper stands: the session's zone
    // does not narrow `similar` (its own aisle first, as without a session).
    let far = (0..store.products.len() as u32)
        .find(|&p| !zone_aisles.contains(&store.products[p as usize].aisle))
        .expect("a product outside the zone");
    let id = format!("p{far}");
    e.similar(&SimilarQuery { product: &id, k: 5, options: zoned, ..SimilarQuery::default() }, &mut s).expect("ok");
    assert!(s.hits().iter().all(|h| aisle(&e, h.row) == aisle(&e, row(&e, far))), "its own aisle");
}

/// A model with planted vectors and no repeat statistics (what the fuzz targets serve): every
/// customer operation answers from taste alone (a fuzzed rerank once indexed the empty lists).
#[test]
fn a_model_without_repeat_statistics_answers_every_operation() {
    let input = demo::generate(&DemoSpec { products: 300, customers: 200, seed: 7, dim: 8 }).model_input();
    let e = Engine::new(
        Model::from_artifact(build(&input).expect("builds"), "t").expect("valid"),
        &EngineSettings::from_config(&settings()),
    )
    .expect("rules resolve");
    let mut s = Scratch::default();
    let shelf = list(&["p2", "p20", "p0"]);
    e.rerank(&RerankQuery { customer: "c42", products: &shelf, ..RerankQuery::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 3);
    e.recommend(&Query { customer: "c42", k: 5, ..Query::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 5);
    let basket = list(&["p2"]);
    e.complete(&CompleteQuery { customer: "c42", basket: &basket, k: 5, ..CompleteQuery::default() }, &mut s)
        .expect("ok");
    e.similar(&SimilarQuery { customer: "c42", product: "p2", k: 5, ..SimilarQuery::default() }, &mut s).expect("ok");
    assert_eq!(s.hits().len(), 5);
}
