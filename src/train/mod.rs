//! The offline trainer: purchase and social data in, a [`ModelInput`] out (which `model::build`
//! turns into the artifact `serve` loads).
//!
//! Training has two halves. **Fit** (`fit.rs`) holds out each customer's last basket and learns
//! from the orders before it: ALS factors, the buy-again model and the calibration of every
//! source, all checked against the held-out baskets (and, unless switched off, the trainer's own
//! evaluation against the baselines, on customers the fitting did not see). **Refresh**
//! (`assemble.rs`) applies what was learned to the data a model is made from: the customers'
//! vectors folded in again on all their orders, repeat statistics with their buy-again logits,
//! co-purchase, "also bought" and discovery lists, segments.
//!
//! Steps, each timed for the summary:
//! 1. **read** (`crate::data`): CSV or Parquet in the data contract; malformed rows skipped,
//!    counted, reported.
//! 2. **hold-out** (`split.rs`): the last basket of every customer with an earlier one.
//! 3. **orders**, **interactions** (`orders.rs`, `interactions.rs`): each customer's orders in time
//!    order, summarised per product; ALS confidence by log weighting of a count decayed in the
//!    customer's own orders; each product's repeat propensity.
//! 4. **als** (`als.rs`, `factors.rs`): customer and product vectors by implicit-feedback ALS;
//!    each customer is pulled toward the mean vector of their social signals (`signal_weight`),
//!    and signal vectors are re-learned from the customers who carry them at every iteration.
//! 5. **also-bought** (`also_bought.rs`): co-purchase counted per customer.
//! 6. **buy-again model**, **calibration**, **self-check** (`buy_again.rs`, `calibrate.rs`,
//!    `eval/`): fitted and checked on the held-out baskets.
//! 7. Refresh on all the data: **fold-in**, **co-purchase** (`copurchase.rs`: per product, the
//!    products most often in the same order), **also-bought**, **lists** (repeat statistics and
//!    discovery lists), **segments** (`segments.rs`: k-means over customer vectors).
//!
//! The ANN index is built from the result by `model::build`, like every artifact.

pub mod als;
mod also_bought;
pub(crate) mod assemble;
pub mod buy_again;
pub mod calibrate;
mod copurchase;
pub mod eval;
mod factors;
pub mod fit;
mod interactions;
pub mod orders;
pub mod run;
mod segments;
pub mod split;

use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::data;
pub use crate::data::{DataError, TrainData, read_dir};
use crate::model::input::ModelInput;
pub use also_bought::{DiscoverWork, also_bought, discover};
pub use assemble::{Counted, Parts, assemble, refresh};
pub use buy_again::BuyAgainModel;
pub use calibrate::Calibration;
pub use copurchase::co_purchase;
pub use factors::{Factors, als_factors, fold_in, signal_vectors};
pub use fit::{Learned, fit};
pub use interactions::{Interactions, interactions};
use orders::CustomerOrders;
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
    /// Recency half-life of ALS confidence, in the customer's own orders: a purchase this many
    /// orders ago counts half. 0 = no decay.
    pub decay_orders: f64,
    /// How strongly a customer's vector is pulled toward their signals' mean (0 = ignore signals).
    pub signal_weight: f32,
    /// What a view or scan from the event journal counts for against a purchase, for products the
    /// customer has not bought: `c = alpha * ln(1 + view_weight * views)`.
    pub view_weight: f32,
    /// Co-purchase: orders two products must share to be neighbours.
    pub co_min_support: u32,
    /// Co-purchase: neighbours kept per product.
    pub co_top: usize,
    /// Also bought: customers two products must share to be neighbours.
    pub also_min_support: u32,
    /// Also bought: neighbours kept per product.
    pub also_top: usize,
    /// Discovery: products kept per customer.
    pub discover_top: usize,
    /// Evaluate the model on held-out baskets against the baselines while training (off by
    /// default here, on by default in `endcap train`).
    pub self_check: bool,
    /// Customer segments (k-means clusters).
    pub segments: usize,
    /// Most popular products kept per segment.
    pub segment_popular: usize,
    /// Seed for initialisation and clustering.
    pub seed: u64,
    /// Model version; empty = `train-<UTC time>-<content hash>`.
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
            decay_orders: 8.0,
            signal_weight: 2.0,
            view_weight: 0.1,
            co_min_support: 3,
            co_top: 20,
            also_min_support: 3,
            also_top: 30,
            discover_top: 20,
            self_check: false,
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
    /// The trainer's own held-out evaluation (when `self_check`).
    pub self_check: Option<eval::EvalReport>,
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    data::progress_bar(what.to_string(), len, "{msg:>14} [{bar:30}] {pos}/{len} eta {eta}")
}

/// Wall time per step, logged as each ends and kept for the summary.
#[derive(Debug, Default)]
pub struct Steps(Vec<(&'static str, Duration)>);

impl Steps {
    /// Runs step `name`, timing it (and logging the process's memory after it).
    pub fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = step();
        self.record(name, started.elapsed());
        out
    }

    /// Records a step timed elsewhere.
    pub fn record(&mut self, name: &'static str, took: Duration) {
        let (rss, peak) = run::rss_bytes();
        tracing::info!(
            step = name,
            took_ms = took.as_millis() as u64,
            rss_mb = rss / 1_000_000,
            peak_rss_mb = peak / 1_000_000,
            "training step done"
        );
        self.0.push((name, took));
    }
}

/// Trains a model from `data`: [`fit`] on the orders before each customer's last, then
/// [`refresh`] on everything. Progress bars go to stderr (hidden when it is not a terminal).
pub fn train(data: &TrainData, opts: &TrainOptions) -> Result<(ModelInput, TrainReport), String> {
    let mut steps = Steps::default();
    let orders = steps.run("orders", || CustomerOrders::new(data));
    train_orders(data, &orders, opts, steps)
}

/// [`train`] from orders already grouped (`data`'s purchase lines are not read: a caller may
/// free them once `orders` exists).
pub fn train_orders(
    data: &TrainData,
    orders: &CustomerOrders,
    opts: &TrainOptions,
    mut steps: Steps,
) -> Result<(ModelInput, TrainReport), String> {
    opts.check()?;
    let learned = fit(data, orders, opts, &mut steps)?;
    let source = "endcap train: implicit ALS + signals, buy-again, discovery";
    let (input, mut report) = refresh(data, orders, &learned, opts, steps, Parts::ALL, source)?;
    report.self_check = learned.self_check;
    Ok((input, report))
}

impl TrainOptions {
    /// Refuses settings training cannot use.
    pub fn check(&self) -> Result<(), String> {
        if self.dim == 0 || self.dim > 1024 {
            return Err(format!("dim must be 1 to 1024, not {}", self.dim));
        }
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        if !non_negative(self.decay_orders) || !self.alpha.is_finite() || !non_negative(self.lambda as f64) {
            return Err("decay_orders and lambda must be 0 or more, alpha finite".into());
        }
        if !non_negative(self.view_weight as f64) {
            return Err(format!("view_weight must be 0 or more, not {}", self.view_weight));
        }
        Ok(())
    }
}

/// `YYYYMMDDTHHMMSSZ` for now.
pub(crate) fn utc_stamp() -> String {
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
