//! Trainer tests on a small demo store: what the model learns, co-purchase, repeat statistics, segments.

use std::sync::OnceLock;

use super::*;
use crate::demo::{self, DemoSpec, DemoStore};
use crate::rng::SplitMix64;

/// A small demo store and the model trained on it, shared by the tests.
fn trained() -> &'static (DemoStore, ModelInput) {
    static T: OnceLock<(DemoStore, ModelInput)> = OnceLock::new();
    T.get_or_init(|| {
        let store = demo::generate(&DemoSpec { products: 1_500, customers: 4_000, seed: 5, dim: 32 });
        let opts = TrainOptions { dim: 32, iterations: 8, segments: 8, ..TrainOptions::default() };
        let (input, _) = train(&store.train_data(), &opts).expect("trains");
        (store, input)
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let d = crate::index::dot(a, b);
    let n = (crate::index::dot(a, a) * crate::index::dot(b, b)).sqrt();
    if n > 0.0 { d / n } else { 0.0 }
}

#[test]
fn customers_with_the_same_planted_taste_end_up_near_each_other() {
    let (store, input) = trained();
    let dim = input.dim;
    let v = |c: usize| &input.customer_vectors[c * dim..(c + 1) * dim];
    let mut rng = SplitMix64::new(9);
    let (mut same, mut other) = (Vec::new(), Vec::new());
    while same.len() < 2_000 || other.len() < 2_000 {
        let (a, b) = (rng.below(store.customers.len()), rng.below(store.customers.len()));
        if a == b {
            continue;
        }
        let sim = cosine(v(a), v(b));
        if store.planted_taste(a) == store.planted_taste(b) { same.push(sim) } else { other.push(sim) }
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (s, o) = (mean(&same), mean(&other));
    assert!(s > o + 0.2, "same-taste cosine {s:.3} vs different-taste {o:.3}");
}

#[test]
fn planted_bundles_are_found_as_co_purchase_neighbours() {
    let (store, input) = trained();
    let (mut found, mut total) = (0, 0);
    for bundle in &store.bundles {
        for &a in bundle {
            for &b in bundle.iter().filter(|&&b| b != a) {
                total += 1;
                found += usize::from(input.co_purchase[a as usize].iter().take(10).any(|n| n.product == b));
            }
        }
    }
    assert!(total > 50, "the store plants bundles");
    let share = found as f64 / total as f64;
    assert!(share >= 0.8, "only {found} of {total} bundle partners are in the top 10 neighbours");
}

#[test]
fn repeat_statistics_and_popularity_count_every_line() {
    let (store, input) = trained();
    let repeat_lines: u64 = input.repeat.iter().flatten().map(|r| r.count as u64).sum();
    assert_eq!(repeat_lines, store.purchases.len() as u64);
    assert_eq!(input.product_purchases.iter().sum::<u64>(), store.purchases.len() as u64);
    let c0: Vec<u32> = store.purchases.iter().filter(|l| l.customer == 0).map(|l| l.product).collect();
    for r in &input.repeat[0] {
        assert_eq!(r.count as usize, c0.iter().filter(|&&p| p == r.product).count());
    }
}

#[test]
fn a_customer_known_only_from_social_data_gets_their_signals_vector() {
    let (store, _) = trained();
    let mut data = store.train_data();
    // A newcomer with no purchases who just turned vegetarian.
    let veg = data.signals.iter().position(|s| s == "lifestyle:vegetarian").expect("signal") as u32;
    data.customers.push("newcomer".into());
    data.social.push((data.customers.len() as u32 - 1, veg, 1.0));
    let opts = TrainOptions { dim: 16, iterations: 3, segments: 0, ..TrainOptions::default() };
    let (input, report) = train(&data, &opts).expect("trains");
    assert_eq!(report.customers_social_only, 1);
    let dim = input.dim;
    let newcomer = &input.customer_vectors[(data.customers.len() - 1) * dim..];
    let (_, signal) = input.signal_vectors.iter().find(|(n, _)| n == "lifestyle:vegetarian").expect("vector");
    assert!(cosine(newcomer, signal) > 0.999);
    assert!(newcomer.iter().any(|v| *v != 0.0));
}

#[test]
fn default_versions_carry_the_time_and_a_content_hash() {
    let (_, input) = trained();
    let version = &input.model_version;
    let (stamp, hash) = version.strip_prefix("train-").and_then(|v| v.split_once('-')).expect("train-<stamp>-<hash>");
    assert!(stamp.len() == 16 && stamp.ends_with('Z'), "{version}");
    assert_eq!(hash, format!("{:012x}", input.content_hash() >> 16));
    // Two models of the same second from different data: different versions.
    let mut other = input.clone();
    other.customer_vectors[0] += 1.0;
    assert_ne!(other.content_hash(), input.content_hash());
    assert_eq!(input.clone().content_hash(), input.content_hash(), "the same content, the same hash");
}

#[test]
fn co_purchase_keeps_the_number_of_orders_holding_both_products() {
    let (store, input) = trained();
    let mut orders: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for line in &store.purchases {
        orders.entry(line.order).or_default().push(line.product);
    }
    assert_eq!(input.total_orders, orders.len() as u64);
    let both = |a: u32, b: u32| orders.values().filter(|o| o.contains(&a) && o.contains(&b)).count() as u32;
    let mut checked = 0;
    for a in (0..input.products.len()).step_by(37) {
        for n in input.co_purchase[a].iter().take(3) {
            assert_eq!(n.together, both(a as u32, n.product), "products {a} and {}", n.product);
            assert!(u64::from(n.together) <= input.product_purchases[a]);
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} pairs checked");
}

#[test]
fn views_from_the_journal_pull_a_customer_toward_what_they_looked_at() {
    let (store, _) = trained();
    let mut data = store.train_data();
    // A newcomer who only looked at pet products (in the store, or on a screen), many times.
    let pet: Vec<u32> =
        (0..data.products.len() as u32).filter(|&p| data.products[p as usize].department == "Pet").collect();
    data.customers.push("watcher".into());
    let watcher = data.customers.len() as u32 - 1;
    for &p in pet.iter().take(6) {
        data.views.extend(std::iter::repeat_n((watcher, p), 5));
    }
    let opts = TrainOptions { dim: 16, iterations: 3, segments: 0, ..TrainOptions::default() };
    let (input, _) = train(&data, &opts).expect("trains");
    let dim = input.dim;
    let v = &input.customer_vectors[watcher as usize * dim..(watcher as usize + 1) * dim];
    assert!(v.iter().any(|x| *x != 0.0), "views alone give a vector");
    // Their best products by inner product are pet products.
    let mut scored: Vec<(f32, u32)> = (0..data.products.len() as u32)
        .map(|p| (crate::index::dot(v, &input.product_vectors[p as usize * dim..(p as usize + 1) * dim]), p))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let top_pet = scored.iter().take(10).filter(|(_, p)| pet.binary_search(p).is_ok()).count();
    assert!(top_pet >= 7, "{top_pet} of the top 10 are pet products");
}
