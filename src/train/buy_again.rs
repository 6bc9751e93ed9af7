//! "Buy it again" as a learned probability: for every product a customer has bought, the chance
//! that it is in their next basket, from a small logistic regression on features counted in the
//! customer's own orders, fitted on held-out baskets.
//!
//! Features of a (customer, product) history (`orders::ProductHistory`), at the time of a visit:
//! how often (log count, share of orders), how recently in orders (two decayed shares with
//! half-lives of 2 and 8 orders, log orders since the last purchase, and how due it is in
//! orders: orders since / usual gap in orders), how long the history is, how much of the
//! customer's shopping is repeats (a routine shopper against an explorer), whether there is a
//! usual gap, the product's repeat propensity across all customers (a birthday cake is rarely
//! bought twice, milk is), and two that depend on the visit's time: log days since the last
//! purchase and how due it is (days since / usual gap in days).
//!
//! The model is stored split: everything but the two time features is folded into one logit per
//! (customer, product) at training time; the engine adds the time part with the server's clock.

use rayon::prelude::*;

use super::orders::ProductHistory;
pub use crate::engine::{MAX_DAYS, MAX_DUE, time_features};
use crate::model::input::RepeatPurchase;

/// Half-lives (in the customer's orders) of the two decayed frequencies.
pub const HALF_LIVES: [f64; 2] = [2.0, 8.0];
/// Static features, then the two time features.
pub const FEATURES: usize = 12;
const STATIC: usize = 10;
/// L2 penalty on the weights (not the bias), per fitting row.
const L2: f64 = 1e-4;

/// Every feature of one history at a visit `days_since` days after its last purchase, for a
/// customer with `n_orders` orders of whose purchases a share `customer_repeat` were repeats.
pub fn features(
    h: &ProductHistory,
    n_orders: usize,
    customer_repeat: f32,
    propensity: f32,
    days_since: f64,
) -> [f64; FEATURES] {
    let t = time_features(days_since, h.gap_days);
    let due_orders = if h.gap_orders > 0.0 { (h.orders_since as f64 / h.gap_orders as f64).min(MAX_DUE) } else { 0.0 };
    [
        (h.count as f64).ln_1p(),
        h.count as f64 / n_orders.max(1) as f64,
        h.decayed[0] as f64,
        h.decayed[1] as f64,
        (h.orders_since as f64).ln_1p(),
        due_orders.ln_1p(),
        (n_orders as f64).ln_1p(),
        customer_repeat as f64,
        f64::from(h.count > 1),
        propensity as f64,
        t[0],
        t[1],
    ]
}

/// The share of a customer's purchases that were repeats (an order holding a product they had
/// bought in an earlier order), from their history.
pub fn customer_repeat(history: &[ProductHistory]) -> f32 {
    let all: u64 = history.iter().map(|h| h.count as u64).sum();
    let repeats: u64 = history.iter().map(|h| (h.count - 1) as u64).sum();
    (repeats as f64 / all.max(1) as f64) as f32
}

/// Per product: the share of its purchases that were repeats (a customer buying it again),
/// smoothed toward the store's share with the weight of 20 purchases. `repeats[p]` counts
/// purchases after a customer's first, `all[p]` every purchase (orders holding it).
pub fn propensity(repeats: &[u64], all: &[u64]) -> Vec<f32> {
    let store = repeats.iter().sum::<u64>() as f64 / all.iter().sum::<u64>().max(1) as f64;
    repeats.iter().zip(all).map(|(&r, &n)| ((r as f64 + 20.0 * store) / (n as f64 + 20.0)) as f32).collect()
}

/// The fitted model: weights on standardised features.
#[derive(Debug, Clone, PartialEq)]
pub struct BuyAgainModel {
    /// Intercept.
    pub bias: f64,
    /// One weight per feature (on the standardised feature).
    pub weights: [f64; FEATURES],
    /// Feature means used for standardising.
    pub mean: [f64; FEATURES],
    /// Feature standard deviations used for standardising (1 where constant).
    pub scale: [f64; FEATURES],
    /// Rows it was fitted on, and the share that were positive.
    pub rows: usize,
    /// Share of fitting rows that were in the next basket.
    pub positive_share: f64,
}

impl Default for BuyAgainModel {
    /// A model that knows only frequency: more orders with the product, more likely.
    fn default() -> Self {
        let mut weights = [0.0; FEATURES];
        weights[1] = 1.0;
        BuyAgainModel {
            bias: -2.0,
            weights,
            mean: [0.0; FEATURES],
            scale: [1.0; FEATURES],
            rows: 0,
            positive_share: 0.0,
        }
    }
}

impl BuyAgainModel {
    /// The logit of a full feature row.
    pub fn logit(&self, x: &[f64; FEATURES]) -> f64 {
        self.bias + (0..FEATURES).map(|i| self.weights[i] * (x[i] - self.mean[i]) / self.scale[i]).sum::<f64>()
    }

    /// The part of the logit that does not depend on the visit's time (all of it but the time
    /// weights times the raw time features), for the artifact.
    pub fn static_logit(&self, x: &[f64; FEATURES]) -> f32 {
        let mut l = self.bias;
        for (i, &xi) in x.iter().enumerate() {
            let w = self.weights[i] / self.scale[i];
            l += if i < STATIC { w * (xi - self.mean[i]) } else { -w * self.mean[i] };
        }
        l as f32
    }

    /// A customer's repeat list for the artifact: each product of `history` (from `orders`
    /// orders) with its counts and the static part of its buy-again logit.
    pub fn repeat_list(&self, history: &[ProductHistory], orders: usize, propensity: &[f32]) -> Vec<RepeatPurchase> {
        let routine = customer_repeat(history);
        history
            .iter()
            .map(|h| RepeatPurchase {
                product: h.product,
                count: h.count,
                last_ts: h.last_ts,
                base_logit: self.static_logit(&features(h, orders, routine, propensity[h.product as usize], 0.0)),
                gap_days: h.gap_days,
                gap_orders: h.gap_orders,
            })
            .collect()
    }

    /// Weights on the raw time features (log days since, log dueness), for the artifact.
    pub fn time_weights(&self) -> [f32; 2] {
        [(self.weights[STATIC] / self.scale[STATIC]) as f32, (self.weights[STATIC + 1] / self.scale[STATIC + 1]) as f32]
    }

    /// Fits by Newton's method (iteratively reweighted least squares) on `rows` of features with
    /// their labels. Falls back to [`Default`] when there is nothing to learn from.
    pub fn fit(rows: &[([f64; FEATURES], bool)]) -> BuyAgainModel {
        let n = rows.len();
        let positives = rows.iter().filter(|r| r.1).count();
        if n == 0 || positives == 0 || positives == n {
            return BuyAgainModel { rows: n, ..BuyAgainModel::default() };
        }
        let mut mean = [0.0; FEATURES];
        for (x, _) in rows {
            for i in 0..FEATURES {
                mean[i] += x[i] / n as f64;
            }
        }
        let mut scale = [0.0; FEATURES];
        for (x, _) in rows {
            for i in 0..FEATURES {
                scale[i] += (x[i] - mean[i]).powi(2) / n as f64;
            }
        }
        let scale = scale.map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 });
        // Parameters: bias, then the weights.
        const P: usize = FEATURES + 1;
        let base = positives as f64 / n as f64;
        let mut theta = [0.0; P];
        theta[0] = (base / (1.0 - base)).ln();
        for _ in 0..12 {
            let (grad, hess) = rows
                .par_iter()
                .fold(
                    || ([0.0; P], [[0.0; P]; P]),
                    |(mut g, mut h), (x, y)| {
                        let mut z = [1.0; P];
                        for i in 0..FEATURES {
                            z[i + 1] = (x[i] - mean[i]) / scale[i];
                        }
                        let logit: f64 = (0..P).map(|i| theta[i] * z[i]).sum();
                        let p = 1.0 / (1.0 + (-logit).exp());
                        let (r, w) = (f64::from(u8::from(*y)) - p, (p * (1.0 - p)).max(1e-9));
                        for i in 0..P {
                            g[i] += r * z[i];
                            for j in 0..=i {
                                h[i][j] += w * z[i] * z[j];
                            }
                        }
                        (g, h)
                    },
                )
                .reduce(
                    || ([0.0; P], [[0.0; P]; P]),
                    |(mut g, mut h), (g2, h2)| {
                        for i in 0..P {
                            g[i] += g2[i];
                            for j in 0..P {
                                h[i][j] += h2[i][j];
                            }
                        }
                        (g, h)
                    },
                );
            let mut a = [[0.0; P]; P];
            let mut b = grad;
            for i in 0..P {
                for j in 0..=i {
                    a[i][j] = hess[i][j];
                    a[j][i] = hess[i][j];
                }
                if i > 0 {
                    a[i][i] += L2 * n as f64;
                    b[i] -= L2 * n as f64 * theta[i];
                }
            }
            let Some(step) = solve(a, b) else { break };
            let size: f64 = step.iter().map(|s| s * s).sum::<f64>().sqrt();
            for i in 0..P {
                theta[i] += step[i];
            }
            if !size.is_finite() || size < 1e-5 {
                break;
            }
        }
        if theta.iter().any(|t| !t.is_finite()) {
            return BuyAgainModel { rows: n, ..BuyAgainModel::default() };
        }
        let mut weights = [0.0; FEATURES];
        weights.copy_from_slice(&theta[1..]);
        BuyAgainModel { bias: theta[0], weights, mean, scale, rows: n, positive_share: base }
    }
}

/// Solves a small symmetric positive-definite system by Gaussian elimination with pivoting.
fn solve<const P: usize>(mut a: [[f64; P]; P], mut b: [f64; P]) -> Option<[f64; P]> {
    for col in 0..P {
        let pivot = (col..P).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..P {
            let f = a[row][col] / pivot_row[col];
            for (v, &p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; P];
    for row in (0..P).rev() {
        let s: f64 = (row + 1..P).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn fitting_recovers_a_known_logistic_model_and_splits_it_for_the_artifact() {
        // Labels drawn from a known model on two features; the others are noise.
        let mut rng = SplitMix64::new(3);
        let rows: Vec<([f64; FEATURES], bool)> = (0..40_000)
            .map(|_| {
                let mut x = [0.0; FEATURES];
                for v in x.iter_mut() {
                    *v = rng.normal();
                }
                let logit = -1.0 + 1.5 * x[1] - 0.8 * x[STATIC];
                (x, rng.chance(1.0 / (1.0 + (-logit).exp())))
            })
            .collect();
        let m = BuyAgainModel::fit(&rows);
        let raw = |i: usize| m.weights[i] / m.scale[i];
        assert!((raw(1) - 1.5).abs() < 0.1, "{m:?}");
        assert!((raw(STATIC) + 0.8).abs() < 0.1, "{m:?}");
        assert!(raw(3).abs() < 0.1);
        // The static logit plus the time weights gives the full logit back.
        let x = rows[7].0;
        let t = m.time_weights();
        let split = m.static_logit(&x) as f64 + t[0] as f64 * x[STATIC] + t[1] as f64 * x[STATIC + 1];
        assert!((split - m.logit(&x)).abs() < 1e-4);
    }

    #[test]
    fn nothing_to_learn_gives_the_frequency_model() {
        let rows = vec![([0.5; FEATURES], false); 10];
        assert_eq!(BuyAgainModel::fit(&rows).weights, BuyAgainModel::default().weights);
        assert_eq!(time_features(-3.0, 0.0), [0.0, 0.0]);
        assert!((time_features(10.0, 5.0)[1] - 3f64.ln()).abs() < 1e-12);
    }
}
