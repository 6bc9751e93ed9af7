//! Step "als": the factors (customer, product and signal vectors), and the seam where factors made
//! elsewhere come in.

use super::{Interactions, TrainData, TrainOptions, als, bar};
use crate::rng::SplitMix64;

/// Customer, product and signal vectors: what a model is made of besides counts. ALS makes them
/// here ([`als_factors`]); another trainer (Spark, say) can supply them and go through the same
/// [`super::assemble`].
#[derive(Debug, Clone, Default)]
pub struct Factors {
    /// Embedding width.
    pub dim: usize,
    /// `customers * dim`, in `TrainData::customers` order.
    pub customers: Vec<f32>,
    /// `products * dim`, in `TrainData::products` order.
    pub products: Vec<f32>,
    /// `signals * dim`, in `TrainData::signals` order.
    pub signals: Vec<f32>,
}

impl Factors {
    /// Checks the shapes against `data` and that every value is finite.
    pub fn check(&self, data: &TrainData) -> Result<(), String> {
        let d = self.dim;
        let shapes = [
            ("customer", self.customers.len(), data.customers.len()),
            ("product", self.products.len(), data.products.len()),
            ("signal", self.signals.len(), data.signals.len()),
        ];
        for (what, got, rows) in shapes {
            if got != rows * d {
                return Err(format!("{what} factors: {got} values, expected {rows} rows x {d}"));
            }
        }
        if self.customers.iter().chain(&self.products).chain(&self.signals).any(|v| !v.is_finite()) {
            return Err("factors hold non-finite values (ALS diverged? lower alpha or raise lambda)".into());
        }
        Ok(())
    }
}

/// Customer and product vectors by implicit-feedback ALS; each customer is pulled toward the mean
/// vector of their social signals (`signal_weight`), and signal vectors are re-learned from the
/// customers who carry them at every iteration. Customers known only from social data get the
/// mean of their signals' vectors.
pub fn als_factors(data: &TrainData, inter: &Interactions, opts: &TrainOptions) -> Result<Factors, String> {
    let dim = opts.dim;
    let (np, nc) = (data.products.len(), data.customers.len());
    let by_customer = &inter.by_customer;
    let by_product = by_customer.transpose(np);
    let has_purchases: Vec<bool> = (0..nc).map(|c| by_customer.offsets[c + 1] > by_customer.offsets[c]).collect();
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
        als::solve_rows(&mut x, &y, dim, by_customer, opts.lambda, opts.cg_steps, Some(&prior));
        als::solve_rows(&mut y, &x, dim, &by_product, opts.lambda, opts.cg_steps, None);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let signals = signal_vectors(data, &x, dim, &has_purchases);
    let prior_vectors = priors(data, &signals, dim);
    for c in (0..nc).filter(|&c| !has_purchases[c]) {
        x[c * dim..(c + 1) * dim].copy_from_slice(&prior_vectors[c * dim..(c + 1) * dim]);
    }
    let factors = Factors { dim, customers: x, products: y, signals };
    factors.check(data)?;
    Ok(factors)
}

/// The customer side solved again on `data` against `learned`'s product vectors (kept, with the
/// signal vectors): each customer's row is warm-started from its learned vector and given two
/// rounds of conjugate-gradient steps with the fresh confidences and its signals' prior, the
/// standard fold-in of new data into a trained model. Customers of `data` must be `learned`'s.
pub fn fold_in(
    data: &TrainData,
    inter: &Interactions,
    learned: &Factors,
    opts: &TrainOptions,
) -> Result<Factors, String> {
    learned.check(data)?;
    let dim = learned.dim;
    let nc = data.customers.len();
    let by_customer = &inter.by_customer;
    let has_purchases: Vec<bool> = (0..nc).map(|c| by_customer.offsets[c + 1] > by_customer.offsets[c]).collect();
    let mut has_signals = vec![false; nc];
    for &(c, _, w) in &data.social {
        has_signals[c as usize] |= w > 0.0;
    }
    let mu: Vec<f32> = has_signals.iter().map(|&s| if s { opts.signal_weight } else { 0.0 }).collect();
    let prior_vectors = priors(data, &learned.signals, dim);
    let prior = als::Prior { vectors: &prior_vectors, mu: &mu };
    let mut x = learned.customers.clone();
    for _ in 0..2 {
        als::solve_rows(&mut x, &learned.products, dim, by_customer, opts.lambda, opts.cg_steps, Some(&prior));
    }
    for c in (0..nc).filter(|&c| !has_purchases[c]) {
        x[c * dim..(c + 1) * dim].copy_from_slice(&prior_vectors[c * dim..(c + 1) * dim]);
    }
    let factors = Factors { dim, customers: x, products: learned.products.clone(), signals: learned.signals.clone() };
    factors.check(data)?;
    Ok(factors)
}

/// Signal vectors: the weighted mean of the vectors of the customers who carry each signal and
/// have purchases (customers known only from social data would only echo the signals back).
pub fn signal_vectors(data: &TrainData, x: &[f32], dim: usize, has_purchases: &[bool]) -> Vec<f32> {
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
