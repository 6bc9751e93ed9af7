//! The offline trainer: purchase and social data in, a [`ModelInput`] out (which `model::build`
//! turns into the artifact `serve` loads).
//!
//! Steps, each timed for the summary:
//! 1. **read** (`data.rs`): CSV or Parquet in the data contract; malformed rows skipped, counted,
//!    reported.
//! 2. **interactions**: purchase lines grouped per customer and product: a confidence from the
//!    recency-decayed purchase count (half-life `decay_days`), and the repeat-purchase statistics
//!    (count, last time) that "buy it again" will use.
//! 3. **co-purchase**: per product, the products most often in the same order, scored by
//!    co-occurrence normalised by both products' order counts (cosine), above a minimum support.
//! 4. **als** (`als.rs`): customer and product vectors by implicit-feedback ALS; each customer is
//!    pulled toward the mean vector of their social signals (`signal_weight`), and signal vectors
//!    are re-learned from the customers who carry them at every iteration. Customers known only
//!    from social data get the mean of their signals' vectors.
//! 5. **segments**: k-means over customer vectors, with each segment's most purchased products.
//!
//! The ANN index is built from the result by `model::build`, like every artifact.

pub mod als;
mod copurchase;
pub mod eval;
mod factors;
mod interactions;
pub mod run;
mod segments;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::data;
pub use crate::data::{DataError, TrainData, read_dir};
use crate::model::input::{CustomerInput, ModelInput};
pub use copurchase::co_purchase;
pub use factors::{Factors, als_factors};
pub use interactions::{Interactions, interactions};
pub use run::demo_model;
pub use segments::segments;

/// Training settings (`endcap train` flags).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Embedding width.
    pub dim: usize,
    /// ALS iterations (each solves customers, then products).
    pub iterations: usize,
    /// Confidence per decayed purchase: `c = alpha * r`.
    pub alpha: f32,
    /// L2 regularisation.
    pub lambda: f32,
    /// Conjugate-gradient steps per row and half-iteration.
    pub cg_steps: usize,
    /// Recency half-life in days: a purchase this old counts half. 0 = no decay.
    pub decay_days: f64,
    /// How strongly a customer's vector is pulled toward their signals' mean (0 = ignore signals).
    pub signal_weight: f32,
    /// Co-purchase: orders two products must share to be neighbours.
    pub co_min_support: u32,
    /// Co-purchase: neighbours kept per product.
    pub co_top: usize,
    /// Customer segments (k-means clusters).
    pub segments: usize,
    /// Most popular products kept per segment.
    pub segment_popular: usize,
    /// Seed for initialisation and clustering.
    pub seed: u64,
    /// Model version; empty = `train-<UTC time>`.
    pub version: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            dim: 64,
            iterations: 10,
            alpha: 10.0,
            lambda: 0.5,
            cg_steps: 3,
            decay_days: 180.0,
            signal_weight: 2.0,
            co_min_support: 3,
            co_top: 20,
            segments: 24,
            segment_popular: 100,
            seed: 42,
            version: String::new(),
        }
    }
}

/// Time per step, for the summary.
#[derive(Debug, Clone, Default)]
pub struct TrainReport {
    /// (step, wall time), in order.
    pub steps: Vec<(&'static str, Duration)>,
    /// Customers with purchases / known only from social data.
    pub customers_with_purchases: usize,
    /// Customers with signals and no purchases.
    pub customers_social_only: usize,
    /// Distinct (customer, product) pairs.
    pub pairs: usize,
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    data::progress_bar(what.to_string(), len, "{msg:>14} [{bar:30}] {pos}/{len} eta {eta}")
}

/// Wall time per step, logged as each ends and kept for the summary.
#[derive(Debug, Default)]
pub struct Steps(Vec<(&'static str, Duration)>);

impl Steps {
    /// Runs step `name`, timing it.
    pub fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = step();
        let took = started.elapsed();
        tracing::info!(step = name, took_ms = took.as_millis() as u64, "training step done");
        self.0.push((name, took));
        out
    }
}

/// Trains a model from `data`: interactions -> co-purchase -> ALS factors -> [`assemble`].
/// Progress bars go to stderr (hidden when it is not a terminal).
pub fn train(data: &TrainData, opts: &TrainOptions) -> Result<(ModelInput, TrainReport), String> {
    if opts.dim == 0 || opts.dim > 1024 {
        return Err(format!("dim must be 1 to 1024, not {}", opts.dim));
    }
    let mut steps = Steps::default();
    let inter = steps.run("interactions", || interactions(data, opts));
    let co = steps.run("co-purchase", || co_purchase(data, opts));
    let factors = steps.run("als", || als_factors(data, &inter, opts))?;
    assemble(data, inter, co, factors, opts, steps, "endcap train: implicit ALS + signals")
}

/// The steps after the factors, whoever made them: segments, popularity, and the model input with
/// its training summary (`source` says where the factors came from). This is the seam for factors
/// trained elsewhere.
pub fn assemble(
    data: &TrainData,
    inter: Interactions,
    co: Vec<Vec<(u32, f32)>>,
    factors: Factors,
    opts: &TrainOptions,
    mut steps: Steps,
    source: &str,
) -> Result<(ModelInput, TrainReport), String> {
    factors.check(data)?;
    let dim = factors.dim;
    let (np, nc) = (data.products.len(), data.customers.len());
    let by_customer = &inter.by_customer;
    let has_purchases: Vec<bool> = (0..nc).map(|c| by_customer.offsets[c + 1] > by_customer.offsets[c]).collect();
    let mut has_signals = vec![false; nc];
    for &(c, _, w) in &data.social {
        has_signals[c as usize] |= w > 0.0;
    }
    let pairs = by_customer.cols.len();
    let (segments, customer_segment) = steps.run("segments", || segments(data, &factors.customers, dim, opts));

    let mut product_purchases = vec![0u64; np];
    for &p in &data.purchases.product {
        product_purchases[p as usize] += 1;
    }
    let mut customer_signals: Vec<Vec<(String, f32)>> = vec![Vec::new(); nc];
    for &(c, s, w) in &data.social {
        customer_signals[c as usize].push((data.signals[s as usize].clone(), w));
    }
    let customers = data
        .customers
        .iter()
        .zip(customer_signals)
        .map(|(id, signals)| CustomerInput { id: id.clone(), signals })
        .collect();
    let signal_vectors = data
        .signals
        .iter()
        .enumerate()
        .map(|(s, name)| (name.clone(), factors.signals[s * dim..(s + 1) * dim].to_vec()))
        .collect();

    let version = if opts.version.is_empty() { format!("train-{}", utc_stamp()) } else { opts.version.clone() };
    let mut training = BTreeMap::new();
    let (from, to) = (data.purchases.ts.iter().min(), data.purchases.ts.iter().max());
    training.insert("source".into(), serde_json::json!(source));
    training.insert("purchase_lines".into(), serde_json::json!(data.purchases.len()));
    training.insert("orders".into(), serde_json::json!(data.orders));
    training.insert("customer_product_pairs".into(), serde_json::json!(pairs));
    training.insert("time_span".into(), serde_json::json!({ "from": from, "to": to }));
    training.insert(
        "options".into(),
        serde_json::json!({
            "dim": opts.dim, "iterations": opts.iterations, "alpha": opts.alpha, "lambda": opts.lambda,
            "cg_steps": opts.cg_steps, "decay_days": opts.decay_days, "signal_weight": opts.signal_weight,
            "co_min_support": opts.co_min_support, "co_top": opts.co_top, "segments": opts.segments,
            "seed": opts.seed,
        }),
    );
    let skipped: BTreeMap<String, u64> = data
        .files
        .iter()
        .flat_map(|f| {
            let name = data::file_name(&f.path);
            f.skipped.iter().map(move |(reason, n)| (format!("{name}: {reason}"), *n))
        })
        .collect();
    training.insert("rows_skipped".into(), serde_json::json!(skipped));

    let mut report = TrainReport { steps: steps.0, ..TrainReport::default() };
    report.customers_with_purchases = has_purchases.iter().filter(|&&b| b).count();
    report.customers_social_only = (0..nc).filter(|&c| !has_purchases[c] && has_signals[c]).count();
    report.pairs = pairs;
    let input = ModelInput {
        model_version: version,
        builder: "endcap train".into(),
        dim,
        products: data.products.clone(),
        product_vectors: factors.products,
        product_purchases,
        customers,
        customer_vectors: factors.customers,
        signal_vectors,
        co_purchase: co,
        repeat: inter.repeat,
        segments,
        customer_segment,
        training,
        seed: opts.seed,
    };
    Ok((input, report))
}

/// `YYYYMMDDTHHMMSSZ` for now.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests;
