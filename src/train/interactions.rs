//! Step "interactions": purchase lines grouped per customer and product, into a confidence from the
//! recency-decayed purchase count (half-life `decay_days`) for ALS, and the repeat-purchase
//! statistics (count, last time) that "buy it again" uses.

use rayon::prelude::*;

use super::{TrainData, TrainOptions, als};
use crate::index::ivf;
use crate::model::input::RepeatPurchase;

/// Per customer: sorted (product, decayed weight, count, last ts) for each product bought.
pub struct Interactions {
    /// Customer rows: the products bought, with confidence `alpha` x decayed count.
    pub by_customer: als::Sparse,
    /// Per customer: repeat-purchase statistics.
    pub repeat: Vec<Vec<RepeatPurchase>>,
}

pub fn interactions(data: &TrainData, opts: &TrainOptions) -> Interactions {
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
