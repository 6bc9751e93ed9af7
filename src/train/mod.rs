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
pub mod data;
pub mod eval;
pub mod run;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::index::ivf;
use crate::model::input::{CustomerInput, ModelInput, RepeatPurchase, SegmentInput};
use crate::rng::SplitMix64;
pub use data::{DataError, TrainData, read_dir};

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

fn bar(len: u64, what: &str) -> ProgressBar {
    data::progress_bar(what.to_string(), len, "{msg:>14} [{bar:30}] {pos}/{len} eta {eta}")
}

/// Per customer: sorted (product, decayed weight, count, last ts) for each product bought.
struct Interactions {
    by_customer: als::Sparse,
    repeat: Vec<Vec<RepeatPurchase>>,
}

fn interactions(data: &TrainData, opts: &TrainOptions) -> Interactions {
    let p = &data.purchases;
    let nc = data.customers.len();
    // Line numbers grouped by customer (a counting sort).
    let (lines, offsets) = ivf::order_by_list(&p.customer, nc);
    let newest = p.ts.iter().copied().max().unwrap_or(0);
    let half_life_s = opts.decay_days * 86_400.0;
    let decay = |ts: i64| -> f32 {
        if half_life_s <= 0.0 { 1.0 } else { 0.5f64.powf((newest - ts).max(0) as f64 / half_life_s) as f32 }
    };
    let per_customer: Vec<Vec<(u32, f32, RepeatPurchase)>> = (0..nc)
        .into_par_iter()
        .map(|c| {
            let mut mine: Vec<(u32, i64)> = lines[offsets[c] as usize..offsets[c + 1] as usize]
                .iter()
                .map(|&l| (p.product[l as usize], p.ts[l as usize]))
                .collect();
            mine.sort_unstable();
            let mut out: Vec<(u32, f32, RepeatPurchase)> = Vec::new();
            for (product, ts) in mine {
                match out.last_mut() {
                    Some((last, w, r)) if *last == product => {
                        *w += decay(ts);
                        r.count += 1;
                        r.last_ts = r.last_ts.max(ts);
                    }
                    _ => out.push((product, decay(ts), RepeatPurchase { product, count: 1, last_ts: ts })),
                }
            }
            out
        })
        .collect();
    let pairs: usize = per_customer.iter().map(Vec::len).sum();
    let mut by_customer = als::Sparse {
        offsets: Vec::with_capacity(nc + 1),
        cols: Vec::with_capacity(pairs),
        conf: Vec::with_capacity(pairs),
    };
    by_customer.offsets.push(0);
    let mut repeat = Vec::with_capacity(nc);
    for list in per_customer {
        by_customer.cols.extend(list.iter().map(|e| e.0));
        by_customer.conf.extend(list.iter().map(|e| opts.alpha * e.1));
        by_customer.offsets.push(by_customer.cols.len());
        repeat.push(list.into_iter().map(|e| e.2).collect());
    }
    Interactions { by_customer, repeat }
}

/// Frequently-bought-together neighbours of every product.
fn co_purchase(data: &TrainData, opts: &TrainOptions) -> Vec<Vec<(u32, f32)>> {
    let p = &data.purchases;
    let (np, no) = (data.products.len(), data.orders);
    // Orders as sorted, de-duplicated product lists (lines grouped by order, a counting sort).
    let (lines, offsets) = ivf::order_by_list(&p.order, no);
    let items: Vec<u32> = lines.iter().map(|&l| p.product[l as usize]).collect();
    drop(lines);
    let orders: Vec<Vec<u32>> = (0..no)
        .into_par_iter()
        .map(|o| {
            let mut v = items[offsets[o] as usize..offsets[o + 1] as usize].to_vec();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    drop(items);
    // Orders containing each product.
    let mut in_orders: Vec<Vec<u32>> = vec![Vec::new(); np];
    for (o, list) in orders.iter().enumerate() {
        for &item in list {
            in_orders[item as usize].push(o as u32);
        }
    }
    let order_count: Vec<f32> = in_orders.iter().map(|o| o.len() as f32).collect();
    let progress = bar(np as u64, "co-purchase");
    let result = (0..np)
        .into_par_iter()
        .map_init(
            || (vec![0u32; np], Vec::<u32>::new()),
            |(counts, touched), a| {
                for &o in &in_orders[a] {
                    for &b in &orders[o as usize] {
                        if b as usize != a {
                            if counts[b as usize] == 0 {
                                touched.push(b);
                            }
                            counts[b as usize] += 1;
                        }
                    }
                }
                let mut scored: Vec<(u32, f32)> = touched
                    .iter()
                    .filter(|&&b| counts[b as usize] >= opts.co_min_support)
                    .map(|&b| (b, counts[b as usize] as f32 / (order_count[a] * order_count[b as usize]).sqrt()))
                    .collect();
                for &b in touched.iter() {
                    counts[b as usize] = 0;
                }
                touched.clear();
                scored.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
                scored.truncate(opts.co_top);
                if a % 1024 == 0 {
                    progress.inc(1024);
                }
                scored
            },
        )
        .collect();
    progress.finish_and_clear();
    result
}

/// Signal vectors: the weighted mean of the vectors of the customers who carry each signal and
/// have purchases (customers known only from social data would only echo the signals back).
fn signal_vectors(data: &TrainData, x: &[f32], dim: usize, has_purchases: &[bool]) -> Vec<f32> {
    let ns = data.signals.len();
    let mut sums = vec![0f64; ns * dim];
    let mut weights = vec![0f64; ns];
    for &(c, s, w) in &data.social {
        if !has_purchases[c as usize] || w <= 0.0 {
            continue;
        }
        let xc = &x[c as usize * dim..(c as usize + 1) * dim];
        for (acc, &v) in sums[s as usize * dim..(s as usize + 1) * dim].iter_mut().zip(xc) {
            *acc += w as f64 * v as f64;
        }
        weights[s as usize] += w as f64;
    }
    sums.chunks_exact(dim)
        .zip(&weights)
        .flat_map(|(sum, &w)| sum.iter().map(move |&v| if w > 0.0 { (v / w) as f32 } else { 0.0 }))
        .collect()
}

/// Each customer's prior: the weighted mean of their signals' vectors (zero without signals).
fn priors(data: &TrainData, signals: &[f32], dim: usize) -> Vec<f32> {
    let nc = data.customers.len();
    let mut prior = vec![0f32; nc * dim];
    let mut weight = vec![0f32; nc];
    for &(c, s, w) in &data.social {
        let sv = &signals[s as usize * dim..(s as usize + 1) * dim];
        for (p, &v) in prior[c as usize * dim..(c as usize + 1) * dim].iter_mut().zip(sv) {
            *p += w * v;
        }
        weight[c as usize] += w;
    }
    for (p, &w) in prior.chunks_exact_mut(dim).zip(&weight) {
        if w > 0.0 {
            p.iter_mut().for_each(|v| *v /= w);
        }
    }
    prior
}

/// Trains a model from `data`. Progress bars go to stderr (hidden when it is not a terminal).
pub fn train(data: &TrainData, opts: &TrainOptions) -> Result<(ModelInput, TrainReport), String> {
    if opts.dim == 0 || opts.dim > 1024 {
        return Err(format!("dim must be 1 to 1024, not {}", opts.dim));
    }
    let dim = opts.dim;
    let (np, nc) = (data.products.len(), data.customers.len());
    let mut report = TrainReport::default();
    let mut step = |name: &'static str, started: Instant| {
        let took = started.elapsed();
        tracing::info!(step = name, took_ms = took.as_millis() as u64, "training step done");
        report.steps.push((name, took));
    };

    let t = Instant::now();
    let Interactions { by_customer, repeat } = interactions(data, opts);
    let by_product = by_customer.transpose(np);
    let has_purchases: Vec<bool> = (0..nc).map(|c| by_customer.offsets[c + 1] > by_customer.offsets[c]).collect();
    let pairs = by_customer.cols.len();
    step("interactions", t);

    let t = Instant::now();
    let co = co_purchase(data, opts);
    step("co-purchase", t);

    // ALS.
    let t = Instant::now();
    let mut rng = SplitMix64::new(opts.seed);
    let scale = 0.1 / (dim as f64).sqrt();
    let mut x: Vec<f32> = (0..nc * dim).map(|_| (rng.normal() * scale) as f32).collect();
    let mut y: Vec<f32> = (0..np * dim).map(|_| (rng.normal() * scale) as f32).collect();
    let has_signals = {
        let mut v = vec![false; nc];
        for &(c, _, w) in &data.social {
            v[c as usize] |= w > 0.0;
        }
        v
    };
    let mu: Vec<f32> = has_signals.iter().map(|&s| if s { opts.signal_weight } else { 0.0 }).collect();
    let progress = bar(opts.iterations as u64, "ALS iterations");
    for _ in 0..opts.iterations {
        let signals = signal_vectors(data, &x, dim, &has_purchases);
        let prior_vectors = priors(data, &signals, dim);
        let prior = als::Prior { vectors: &prior_vectors, mu: &mu };
        als::solve_rows(&mut x, &y, dim, &by_customer, opts.lambda, opts.cg_steps, Some(&prior));
        als::solve_rows(&mut y, &x, dim, &by_product, opts.lambda, opts.cg_steps, None);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let signals = signal_vectors(data, &x, dim, &has_purchases);
    let prior_vectors = priors(data, &signals, dim);
    let mut social_only = 0;
    for c in 0..nc {
        if !has_purchases[c] {
            x[c * dim..(c + 1) * dim].copy_from_slice(&prior_vectors[c * dim..(c + 1) * dim]);
            social_only += usize::from(has_signals[c]);
        }
    }
    if x.iter().chain(&y).any(|v| !v.is_finite()) {
        return Err("ALS diverged (non-finite values); lower alpha or raise lambda".into());
    }
    step("als", t);

    // Segments.
    let t = Instant::now();
    let k = opts.segments.min(nc);
    let (segments, customer_segment) = if k == 0 {
        (Vec::new(), Vec::new())
    } else {
        let clustering = ivf::cluster(&x, dim, k, 10, opts.seed ^ 0x5E6);
        let mut sums = vec![0f64; k * dim];
        let mut members = vec![0usize; k];
        for (c, &s) in clustering.assignment.iter().enumerate() {
            members[s as usize] += 1;
            for (acc, &v) in sums[s as usize * dim..(s as usize + 1) * dim].iter_mut().zip(&x[c * dim..(c + 1) * dim]) {
                *acc += v as f64;
            }
        }
        let mut bought = vec![0u32; k * np];
        for (&c, &p) in data.purchases.customer.iter().zip(&data.purchases.product) {
            bought[clustering.assignment[c as usize] as usize * np + p as usize] += 1;
        }
        let segments = (0..k)
            .map(|s| {
                let n = members[s].max(1) as f64;
                let centroid = sums[s * dim..(s + 1) * dim].iter().map(|&v| (v / n) as f32).collect();
                let counts = &bought[s * np..(s + 1) * np];
                let mut popular: Vec<u32> = (0..np as u32).filter(|&p| counts[p as usize] > 0).collect();
                popular.sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
                popular.truncate(opts.segment_popular);
                SegmentInput { centroid, popular }
            })
            .collect();
        (segments, clustering.assignment)
    };
    step("segments", t);

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
        .map(|(s, name)| (name.clone(), signals[s * dim..(s + 1) * dim].to_vec()))
        .collect();

    let version = if opts.version.is_empty() { format!("train-{}", utc_stamp()) } else { opts.version.clone() };
    let mut training = BTreeMap::new();
    let (from, to) = (data.purchases.ts.iter().min(), data.purchases.ts.iter().max());
    training.insert("source".into(), serde_json::json!("endcap train: implicit ALS + signals"));
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

    report.customers_with_purchases = has_purchases.iter().filter(|&&b| b).count();
    report.customers_social_only = social_only;
    report.pairs = pairs;
    let input = ModelInput {
        model_version: version,
        builder: "endcap train".into(),
        dim,
        products: data.products.clone(),
        product_vectors: y,
        product_purchases,
        customers,
        customer_vectors: x,
        signal_vectors,
        co_purchase: co,
        repeat,
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
