//! Step "interactions": each customer's orders summarised per product, into the confidences ALS
//! learns from and the store-wide repeat propensity of every product.
//!
//! Confidence is log weighting of a recency-decayed count, both counted in the customer's own
//! orders: `c = alpha * ln(1 + r)` with `r = sum over the orders holding the product of
//! 0.5^(orders since / decay_orders)`. The log keeps a heavy shopper's staples from swamping the
//! factors (per-customer normalisation), and counting recency in the customer's orders rather
//! than in calendar days from the data's newest line treats a weekly and a monthly shopper alike.
//! Products a customer only looked at or scanned (`endcap train --events`) join with a small
//! confidence, `alpha * ln(1 + view_weight * views)`.

use rayon::prelude::*;

use super::buy_again::{HALF_LIVES, propensity};
use super::orders::{CustomerOrders, ProductHistory};
use super::{TrainOptions, als};

/// What ALS and the buy-again model read.
pub struct Interactions {
    /// Customer rows: the products bought, with their confidence.
    pub by_customer: als::Sparse,
    /// Per product: the share of its purchases that were repeats, smoothed.
    pub propensity: Vec<f32>,
}

/// Summarises every customer of `orders` (products `0..products`).
pub fn interactions(orders: &CustomerOrders, products: usize, opts: &TrainOptions) -> Interactions {
    let nc = orders.customers();
    let factor = if opts.decay_orders > 0.0 { 0.5f64.powf(1.0 / opts.decay_orders) } else { 1.0 };
    let decay = |age: u32| factor.powi(age as i32);
    // Per customer: (products, confidences, (product, orders holding it)).
    type Row = (Vec<u32>, Vec<f32>, Vec<(u32, u32)>);
    let per_customer: Vec<Row> = (0..nc)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(work, hist): &mut (Vec<(u32, u32)>, Vec<ProductHistory>), c| {
                hist.clear();
                orders.summarise(c, HALF_LIVES, work, hist);
                // Recency-decayed count in the customer's orders, from the (product, order) pairs
                // `summarise` left sorted in `work`.
                let n = orders.orders_of(c).len() as u32;
                let mut cols = Vec::with_capacity(hist.len());
                let mut conf = Vec::with_capacity(hist.len());
                let mut i = 0;
                while i < work.len() {
                    let product = work[i].0;
                    let mut r = 0.0;
                    while i < work.len() && work[i].0 == product {
                        r += decay(n - 1 - work[i].1);
                        i += 1;
                    }
                    cols.push(product);
                    conf.push(opts.alpha * (r.ln_1p() as f32));
                }
                // Products looked at or scanned (the event journal) and not bought: weak
                // interactions, a view counting `view_weight` of a purchase.
                let bought = cols.len();
                for run in orders.views_of(c).chunk_by(|a, b| a == b) {
                    if cols[..bought].binary_search(&run[0]).is_err() {
                        cols.push(run[0]);
                        conf.push(opts.alpha * (opts.view_weight * run.len() as f32).ln_1p());
                    }
                }
                let counts = hist.iter().map(|h| (h.product, h.count)).collect();
                (cols, conf, counts)
            },
        )
        .collect();
    let pairs: usize = per_customer.iter().map(|c| c.0.len()).sum();
    let mut by_customer = als::Sparse {
        offsets: Vec::with_capacity(nc + 1),
        cols: Vec::with_capacity(pairs),
        conf: Vec::with_capacity(pairs),
    };
    by_customer.offsets.push(0);
    let (mut repeats, mut all) = (vec![0u64; products], vec![0u64; products]);
    for (cols, conf, counts) in per_customer {
        by_customer.cols.extend_from_slice(&cols);
        by_customer.conf.extend_from_slice(&conf);
        by_customer.offsets.push(by_customer.cols.len());
        for (product, count) in counts {
            repeats[product as usize] += u64::from(count - 1);
            all[product as usize] += u64::from(count);
        }
    }
    let propensity = propensity(&repeats, &all);
    Interactions { by_customer, propensity }
}
