//! Fit: learning from held-out baskets. Each customer's last basket is set aside; factors and
//! counts come from the orders before it; the buy-again model and the calibration of the
//! discovery and embedding sources are fitted on half of the customers with a held-out basket;
//! the other half checks the assembled model against the baselines (the self-check), so the
//! check never sees a customer the fitting saw.

use rayon::prelude::*;

use super::buy_again::{FEATURES, HALF_LIVES, customer_repeat, features};
use super::calibrate::{Calibration, fit as calibrate};
use super::orders::{CustomerOrders, ProductHistory};
use super::split::Basket;
use super::{
    BuyAgainModel, Counted, DiscoverWork, Factors, Steps, TrainData, TrainOptions, als_factors, also_bought, discover,
    eval, interactions,
};
use crate::index::{Kernel, TopK};
use crate::model::input::Discovery;

/// Customers whose held-out baskets fit the buy-again model and the discovery calibration.
pub const FIT_CUSTOMERS: usize = 50_000;
/// Customers whose held-out baskets calibrate the embedding (each an exact scan of the catalogue).
pub const EMBEDDING_CUSTOMERS: usize = 2_000;
/// Embedding candidates per customer when calibrating (more than any answer uses).
pub const EMBEDDING_CANDIDATES: usize = 50;
/// Customers the self-check evaluates.
const CHECK_CUSTOMERS: usize = 5_000;
/// Knots per calibration table.
pub const KNOTS: usize = 32;

/// What training learns from held-out baskets, kept for every model refreshed from it.
#[derive(Debug, Clone)]
pub struct Learned {
    /// Factors learned on the orders before each held-out basket (a refresh folds the customers
    /// in again on the data it is given).
    pub factors: Factors,
    /// The buy-again model.
    pub buy_again: BuyAgainModel,
    /// Discovery scores to probabilities.
    pub discover: Calibration,
    /// Embedding inner products to probabilities.
    pub embedding: Calibration,
    /// The trainer's own held-out evaluation, when it ran.
    pub self_check: Option<eval::EvalReport>,
}

/// A customer's place in a deterministic shuffle (for samples and halves).
fn shuffled(customer: u32, seed: u64) -> u64 {
    crate::rng::SplitMix64::new(seed ^ 0xF17 ^ (customer as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

/// The first `n` of `baskets` in a deterministic shuffle.
fn sample<'a>(baskets: &[&'a Basket], n: usize, seed: u64) -> Vec<&'a Basket> {
    let mut v = baskets.to_vec();
    v.sort_by_key(|b| (shuffled(b.customer, seed), b.customer));
    v.truncate(n);
    v
}

/// Learns from `all` (every customer's orders; `data` gives the catalogue, customers and social
/// signals) minus each customer's last basket (see the module doc).
pub fn fit(data: &TrainData, all: &CustomerOrders, opts: &TrainOptions, steps: &mut Steps) -> Result<Learned, String> {
    let np = data.products.len();
    let (orders, baskets) = steps.run("hold-out", || (all.known_at(1, 0), all.baskets_at(1, 0)));
    let inter = steps.run("interactions", || interactions(&orders, np, opts));
    let factors = steps.run("als", || als_factors(data, &inter, opts))?;
    let neighbours = steps.run("also-bought", || also_bought(&orders, np, opts));

    // Two halves of the customers with a held-out basket: one fits, the other checks.
    let (fitting, checking): (Vec<&Basket>, Vec<&Basket>) =
        baskets.iter().partition(|b| shuffled(b.customer, opts.seed).is_multiple_of(2));
    let fitting = sample(&fitting, FIT_CUSTOMERS, opts.seed);
    let buy_again =
        steps.run("buy-again model", || BuyAgainModel::fit(&buy_again_rows(&orders, &inter.propensity, &fitting)));
    let (discover_cal, embedding_cal) = steps.run("calibration", || {
        let d = discover_calibration(&orders, &neighbours, &fitting, opts.discover_top);
        let e = embedding_calibration(&orders, &factors, &fitting[..fitting.len().min(EMBEDDING_CUSTOMERS)]);
        (d, e)
    });
    let mut learned =
        Learned { factors, buy_again, discover: discover_cal, embedding: embedding_cal, self_check: None };
    if opts.self_check && !checking.is_empty() {
        let check = sample(&checking, CHECK_CUSTOMERS, opts.seed);
        let counted = Counted { orders: &orders, inter, co: Vec::new(), neighbours };
        let report = steps.run("self-check", || eval::self_check(data, &counted, &check, &learned, opts))?;
        learned.self_check = Some(report);
    }
    Ok(learned)
}

/// Buy-again fitting rows: every product each customer bought before their held-out basket,
/// with its features at the basket's time, labelled by whether the basket holds it.
fn buy_again_rows(orders: &CustomerOrders, propensity: &[f32], baskets: &[&Basket]) -> Vec<([f64; FEATURES], bool)> {
    baskets
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(work, hist), b| {
                hist.clear();
                orders.summarise(b.customer as usize, HALF_LIVES, work, hist);
                let n = orders.orders_of(b.customer as usize).len();
                basket_buy_again_rows(hist, n, propensity, b)
            },
        )
        .flatten()
        .collect()
}

/// The buy-again fitting rows of one held-out basket `b`, from the customer's `history` (sorted
/// by product) over the `n_orders` orders before it.
pub fn basket_buy_again_rows(
    history: &[ProductHistory],
    n_orders: usize,
    propensity: &[f32],
    b: &Basket,
) -> Vec<([f64; FEATURES], bool)> {
    let routine = customer_repeat(history);
    history
        .iter()
        .map(|h| {
            let days = (b.ts - h.last_ts) as f64 / 86_400.0;
            let x = features(h, n_orders, routine, propensity[h.product as usize], days);
            (x, b.products.binary_search(&h.product).is_ok())
        })
        .collect()
}

/// Discovery calibration: every entry of each customer's discovery list, labelled.
fn discover_calibration(
    orders: &CustomerOrders,
    neighbours: &[Vec<(u32, f32)>],
    baskets: &[&Basket],
    top: usize,
) -> Calibration {
    let mut samples: Vec<(f32, bool)> = baskets
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new(), DiscoverWork::default(), Vec::new()),
            |(work, hist, dw, found), b| {
                hist.clear();
                orders.summarise(b.customer as usize, HALF_LIVES, work, hist);
                basket_discover_samples(hist, neighbours, top, dw, found, b)
            },
        )
        .flatten()
        .collect();
    calibrate(&mut samples, KNOTS)
}

/// The discovery calibration samples of one held-out basket `b`: the customer's discovery list
/// from their `history` before it, each entry labelled by whether `b` holds it.
pub fn basket_discover_samples(
    history: &[ProductHistory],
    neighbours: &[Vec<(u32, f32)>],
    top: usize,
    work: &mut DiscoverWork,
    found: &mut Vec<Discovery>,
    b: &Basket,
) -> Vec<(f32, bool)> {
    found.clear();
    discover(history, neighbours, top, work, found);
    found.iter().map(|d| (d.score, b.products.binary_search(&d.product).is_ok())).collect()
}

/// Embedding calibration: each customer's best products by exact inner product among those
/// they have not bought, labelled.
fn embedding_calibration(orders: &CustomerOrders, factors: &Factors, baskets: &[&Basket]) -> Calibration {
    let dim = factors.dim;
    let kernel = Kernel::detect();
    let mut samples: Vec<(f32, bool)> = baskets
        .par_iter()
        .map_init(
            || (TopK::new(EMBEDDING_CANDIDATES), Vec::new()),
            |(top, bought), b| {
                let c = b.customer as usize;
                bought.clear();
                bought.extend(orders.orders_of(c).flat_map(|o| orders.items_of(o).iter().copied()));
                bought.sort_unstable();
                bought.dedup();
                let x = &factors.customers[c * dim..(c + 1) * dim];
                basket_embedding_samples(x, &factors.products, dim, bought, kernel, top, b)
            },
        )
        .flatten()
        .collect();
    calibrate(&mut samples, KNOTS)
}

/// The embedding calibration samples of one held-out basket `b`: the customer's (vector `x`)
/// best products by exact inner product among those not `bought` (sorted), labelled.
pub fn basket_embedding_samples(
    x: &[f32],
    product_vectors: &[f32],
    dim: usize,
    bought: &[u32],
    kernel: Kernel,
    top: &mut TopK,
    b: &Basket,
) -> Vec<(f32, bool)> {
    top.reset(EMBEDDING_CANDIDATES);
    for (p, y) in product_vectors.chunks_exact(dim).enumerate() {
        let p = p as u32;
        if bought.binary_search(&p).is_err() {
            top.push(kernel.dot(x, y), p);
        }
    }
    top.as_slice().iter().map(|&(s, p)| (s, b.products.binary_search(&p).is_ok())).collect()
}
