//! The synthetic demo store: a supermarket catalogue, customers, social signals and purchase
//! history with known structure planted in it.
//!
//! It exists so that every other part of endcap (model builder, index, engine, server, load
//! generator, trainer, evaluation) can be exercised end to end without real retail data, and so that
//! tests can check answers against the truth: which taste each customer was given, which products
//! were planted as bundles, which customers are vegetarian. The same spec and seed give the same store
//! on every machine, because all randomness comes from [`SplitMix64`] streams keyed by
//! (seed, purpose, index) rather than from the order in which work happens to run (the thread count
//! does not change the output). One caveat: normals, Zipf weights and prices go through the
//! platform's `ln`, `cos`, `exp` and `powf`; a libm that rounds differently could move vector values
//! in their last bits, and a discrete draw only if a uniform lands exactly on a moved boundary.
//!
//! What it must not do: depend on any endcap module but `rng` and `model::input` (no engine, no I/O
//! other than [`DemoStore::write_csv`]), nor compute what the trainer is meant to learn (co-purchase
//! neighbours and repeat statistics are left empty in [`DemoStore::model_input`]).
//!
//! Units: prices are cents (`products.csv` writes the integer number of cents); timestamps are unix
//! seconds within [`HISTORY_DAYS`] days before [`EPOCH_TS`].

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use crate::model::input::{CustomerInput, ModelInput, ProductInput, SegmentInput};
use crate::rng::SplitMix64;

mod customers;
mod draw;
mod export;
mod history;
mod market;
mod products;
#[cfg(test)]
mod shape_tests;
mod tables;
#[cfg(test)]
mod tests;

use customers::*;
use draw::*;
use history::*;
use market::*;
use products::*;
use tables::*;

/// The fixed "now" of the demo store (2025-11-23T00:00:00Z): purchases happen before it.
pub const EPOCH_TS: i64 = 1_763_856_000;
/// How many days of purchase history the demo store has.
pub const HISTORY_DAYS: i64 = 180;

/// The planted tastes; a customer's `planted_taste` and each aisle's links index into this list.
pub const TASTES: [&str; 24] = [
    "healthy",
    "family",
    "gourmet",
    "budget",
    "bbq",
    "baking",
    "party",
    "baby",
    "pet",
    "asian-cooking",
    "italian",
    "breakfast",
    "mexican",
    "plant-based",
    "seafood",
    "snacking",
    "coffee-tea",
    "wine",
    "beer",
    "fitness",
    "home-care",
    "beauty-care",
    "convenience",
    "sweet-tooth",
];

/// How common each taste is as a customer's taste (relative weights, same order as [`TASTES`]).
const TASTE_PREVALENCE: [f64; 24] = [
    1.3, 1.6, 0.8, 1.4, 0.9, 0.7, 0.8, 0.6, 0.9, 0.7, 0.9, 1.0, 0.7, 0.6, 0.5, 1.1, 0.9, 0.7, 0.8, 0.8, 1.0, 0.8, 1.1,
    0.9,
];

/// The music genres carried as `music:*` signals.
pub const MUSIC: [&str; 6] = ["jazz", "pop", "rock", "classical", "hiphop", "country"];

/// Each taste's two favourite genres (indexes into [`MUSIC`]), so music correlates with taste.
const TASTE_MUSIC: [(usize, usize); 24] = [
    (1, 3), // healthy: pop, classical
    (1, 5), // family: pop, country
    (0, 3), // gourmet: jazz, classical
    (5, 1), // budget: country, pop
    (5, 2), // bbq: country, rock
    (3, 1), // baking: classical, pop
    (1, 4), // party: pop, hiphop
    (1, 3), // baby: pop, classical
    (5, 2), // pet: country, rock
    (1, 0), // asian-cooking: pop, jazz
    (0, 3), // italian: jazz, classical
    (1, 5), // breakfast: pop, country
    (4, 1), // mexican: hiphop, pop
    (0, 1), // plant-based: jazz, pop
    (0, 2), // seafood: jazz, rock
    (4, 2), // snacking: hiphop, rock
    (0, 3), // coffee-tea: jazz, classical
    (0, 3), // wine: jazz, classical
    (2, 5), // beer: rock, country
    (4, 1), // fitness: hiphop, pop
    (1, 5), // home-care: pop, country
    (1, 4), // beauty-care: pop, hiphop
    (4, 2), // convenience: hiphop, rock
    (1, 4), // sweet-tooth: pop, hiphop
];

/// Weights of an aisle's first, second and third taste link.
const LINK_WEIGHTS: [f32; 3] = [1.0, 0.6, 0.4];
/// Zipf exponent of product popularity inside an aisle.
const ZIPF_EXPONENT: f64 = 0.8;
/// Probability that the other members of a planted bundle join an order with a drawn member.
const BUNDLE_JOIN: f64 = 0.5;
/// The store's own brand: about 12% of products, sold cheaper.
const STORE_BRAND: &str = "Endcap Value";

// Stream salts: one per purpose, so adding draws to one purpose never shifts another's stream.
const SALT_TASTE: u64 = 0x7A57E;
const SALT_AISLE: u64 = 0xA151E;
const SALT_ALLOC: u64 = 0xA110C;
const SALT_ITEM: u64 = 0x17E5;
const SALT_PRODUCT: u64 = 0x9200;
const SALT_BUNDLE: u64 = 0xB0D1E;
const SALT_CUSTOMER: u64 = 0xC057;
const SALT_MARKET: u64 = 0x3A2E7;
const SALT_TREND: u64 = 0x72E4D;
const SALT_PROMO: u64 = 0x920;

/// What demo store to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    /// Number of products in the catalogue.
    pub products: usize,
    /// Number of customers.
    pub customers: usize,
    /// Seed of every random draw; same seed, same store.
    pub seed: u64,
    /// Embedding width of the planted vectors.
    pub dim: usize,
}

impl Default for DemoSpec {
    /// A small store: 5,000 products, 20,000 customers, seed 42, 64 dimensions.
    fn default() -> Self {
        Self { products: 5_000, customers: 20_000, seed: 42, dim: 64 }
    }
}

impl DemoSpec {
    /// A large store: 50,000 products, 1,000,000 customers (about 30 million purchase lines).
    pub fn store_1m() -> Self {
        Self { products: 50_000, customers: 1_000_000, seed: 42, dim: 64 }
    }
}

/// A physical zone of the store and the aisles in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Zone name as used in config and requests (e.g. `chilled`).
    pub name: &'static str,
    /// Names of the aisles in this zone.
    pub aisles: Vec<&'static str>,
}

/// The zones in display order; every aisle is in exactly one.
const ZONES: [&str; 10] = [
    "fresh",
    "chilled",
    "bakery-deli",
    "frozen",
    "pantry",
    "snacks",
    "drinks",
    "household",
    "health-beauty",
    "baby-pet",
];

/// The demo store's physical zones and the aisles in each (every aisle in exactly one zone).
pub fn zones() -> Vec<Zone> {
    ZONES
        .iter()
        .map(|&zone| Zone {
            name: zone,
            aisles: DEPARTMENTS
                .iter()
                .filter(|d| d.zone == zone)
                .flat_map(|d| d.aisles.iter().map(|a| a.name))
                .collect(),
        })
        .collect()
}

/// The departments and the aisles in each, in catalogue order.
pub fn departments() -> Vec<(&'static str, Vec<&'static str>)> {
    DEPARTMENTS.iter().map(|d| (d.name, d.aisles.iter().map(|a| a.name).collect())).collect()
}

/// Signal-driven exclusions the generator honours: a customer carrying the signal never buys a
/// product with any of the tags. Vegans carry both signals.
pub fn diet_rules() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![(VEGETARIAN, vec!["meat", "fish"]), (VEGAN, vec!["meat", "fish", "dairy", "eggs"])]
}

/// The store layout and diet rules as the `[[zones]]` and `[[rules]]` tables of
/// `config/endcap.toml`, so the shipped config can be kept identical to the demo store.
pub fn layout_toml() -> String {
    // Names are plain text without quotes or backslashes (checked by a test), so basic TOML
    // strings need no escaping.
    let list = |items: &[&str]| {
        let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut out = String::new();
    for zone in zones() {
        out.push_str(&format!("[[zones]]\nname = \"{}\"\naisles = {}\n\n", zone.name, list(&zone.aisles)));
    }
    for (signal, tags) in diet_rules() {
        out.push_str(&format!("[[rules]]\nsignal = \"{signal}\"\nexclude_tags = {}\n\n", list(&tags)));
    }
    out
}

const VEGETARIAN: &str = "lifestyle:vegetarian";
const VEGAN: &str = "lifestyle:vegan";

/// The generator's diet class for a signal of [`diet_rules`]: 1 + its position (0 eats anything).
fn diet_class(signal: &str) -> usize {
    1 + diet_rules().iter().position(|(s, _)| *s == signal).expect("diet signals are listed in diet_rules")
}

/// A customer's planted truth.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    /// Planted tastes (indexes into [`TASTES`]) with mix weights; the first is the primary.
    pub tastes: Vec<(u8, f32)>,
    /// Social signals (`namespace:value`) with weights in (0, 1].
    pub signals: Vec<(&'static str, f32)>,
}

/// One purchase line, stored compactly (16 bytes) because store-1m has ~30 million of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purchase {
    /// Customer index (`c{customer}`).
    pub customer: u32,
    /// Order index (`o{order}`), unique per (customer, basket).
    pub order: u32,
    /// Product index (`p{product}`).
    pub product: u32,
    /// Unix seconds; the same for every line of an order.
    pub ts: u32,
}

/// An aisle of the demo store.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAisle {
    /// Aisle name (no commas).
    pub name: &'static str,
    /// Department the aisle belongs to.
    pub department: &'static str,
    /// Zone the aisle is in.
    pub zone: &'static str,
    /// Linked tastes (indexes into [`TASTES`]) with link weights, strongest first.
    pub tastes: Vec<(usize, f32)>,
}

/// Row counts (header excluded) and bytes of the files written by [`DemoStore::write_csv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvSummary {
    /// Rows in `products.csv`.
    pub products: usize,
    /// Rows in `purchases.csv`.
    pub purchases: usize,
    /// Rows in `social.csv`.
    pub social: usize,
    /// Bytes written over all three files.
    pub bytes: u64,
}

/// A generated store: catalogue, customers, purchases and the planted truth behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStore {
    /// What was generated.
    pub spec: DemoSpec,
    /// The aisles (the catalogue's, whether or not they received products).
    pub aisles: Vec<DemoAisle>,
    /// The catalogue; ids are `p0`, `p1`, ...
    pub products: Vec<ProductInput>,
    /// Index into `aisles` of each product.
    pub product_aisle: Vec<u16>,
    /// Planted popularity weight of each product (Zipf inside its aisle).
    pub product_popularity: Vec<f32>,
    /// Customers (ids `c0`, `c1`, ...) with their planted tastes and signals.
    pub customers: Vec<DemoCustomer>,
    /// Purchase lines, grouped by customer, then by order in time order.
    pub purchases: Vec<Purchase>,
    /// Number of orders (order ids are `o0` .. `o{orders-1}`).
    pub orders: usize,
    /// Planted bundles: groups of 2-3 product indexes from complementary aisles.
    pub bundles: Vec<Vec<u32>>,
    /// Planted taste directions, `TASTES.len() * dim`, row-major.
    pub taste_vectors: Vec<f32>,
    /// Planted product vectors, `products.len() * dim`, row-major; norms carry popularity.
    pub product_vectors: Vec<f32>,
    /// Planted customer vectors, `customers.len() * dim`, row-major.
    pub customer_vectors: Vec<f32>,
}

// ---------------------------------------------------------------------------------------------
// Generation.
// ---------------------------------------------------------------------------------------------

/// Generates the demo store for `spec`, using all available cores; deterministic for a seed.
pub fn generate(spec: &DemoSpec) -> DemoStore {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    generate_with_threads(spec, threads)
}

/// As [`generate`], on `threads` threads; the output does not depend on `threads`.
pub fn generate_with_threads(spec: &DemoSpec, threads: usize) -> DemoStore {
    assert!(
        spec.products < u32::MAX as usize && spec.customers < u32::MAX as usize,
        "demo store sizes must fit in u32 indexes"
    );
    let dim = spec.dim;
    let seed = spec.seed;
    let cat = catalogue();
    let aisles: Vec<DemoAisle> = cat
        .iter()
        .map(|a| DemoAisle { name: a.name, department: a.department, zone: a.zone, tastes: a.tastes.clone() })
        .collect();

    // Taste directions: random unit vectors (nearly orthogonal in 64 dimensions).
    let mut taste_vectors = Vec::with_capacity(TASTES.len() * dim);
    for t in 0..TASTES.len() {
        let mut v = gaussian(&mut stream(seed, SALT_TASTE, t as u64), dim, 1.0);
        normalize(&mut v);
        taste_vectors.extend(v.iter().map(|&x| x as f32));
    }

    // Aisle directions: the taste mix plus an aisle-specific part, so aisles sharing a taste are
    // near but distinguishable. Traffic varies by aisle (some aisles are simply busier).
    let mut aisle_vectors = Vec::with_capacity(cat.len());
    let mut aisle_traffic = Vec::with_capacity(cat.len());
    for (a, aisle) in cat.iter().enumerate() {
        let mut rng = stream(seed, SALT_AISLE, a as u64);
        let mut v = gaussian(&mut rng, dim, 0.35);
        for &(t, w) in &aisle.tastes {
            for (x, &tv) in v.iter_mut().zip(&taste_vectors[t * dim..(t + 1) * dim]) {
                *x += w as f64 * tv as f64;
            }
        }
        normalize(&mut v);
        aisle_vectors.push(v);
        aisle_traffic.push(0.5 + rng.next_f64());
    }

    let (products, product_aisle, product_popularity, product_vectors) = generate_products(spec, &cat, &aisle_vectors);

    let diet_masks = diet_masks(&products);
    let market = Market::build(spec, &product_aisle, &product_popularity, &aisle_traffic);
    // Taste draws never reach the specialty tail: those products sell only through rare picks.
    let classes: Vec<ClassTables> = (0..=diet_rules().len())
        .map(|class| {
            ClassTables::build(&cat, &aisle_traffic, &product_aisle, &product_popularity, |p| {
                !market.is_tail[p] && (class == 0 || diet_masks[p] & (1 << (class - 1)) == 0)
            })
        })
        .collect();

    let bundles = plant_bundles(spec, &cat, &classes[0]);
    let mut bundle_of = vec![u32::MAX; products.len()];
    for (b, members) in bundles.iter().enumerate() {
        for &p in members {
            bundle_of[p as usize] = b as u32;
        }
    }

    let ctx = CustomerContext {
        seed,
        dim,
        taste_vectors: &taste_vectors,
        taste_cum: cumulative(TASTE_PREVALENCE),
        classes: &classes,
        bundles: &bundles,
        bundle_of: &bundle_of,
        diet_masks: &diet_masks,
        market: &market,
        vegetarian_class: diet_class(VEGETARIAN),
        vegan_class: diet_class(VEGAN),
    };
    let (customers, customer_vectors, purchases, orders) = generate_customers(&ctx, spec.customers, threads.max(1));

    DemoStore {
        spec: *spec,
        aisles,
        products,
        product_aisle,
        product_popularity,
        customers,
        purchases,
        orders,
        bundles,
        taste_vectors,
        product_vectors,
        customer_vectors,
    }
}
