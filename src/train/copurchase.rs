//! Step "co-purchase": per product, the products most often in the same order, scored by
//! co-occurrence normalised by both products' order counts (cosine), above a minimum support.
//! Each neighbour keeps its raw count of orders, for support, confidence and lift.

use rayon::prelude::*;

use super::orders::CustomerOrders;
use super::{TrainOptions, bar};
use crate::model::input::CoPurchase;

/// Frequently-bought-together neighbours of every product (`products` of them).
pub fn co_purchase(orders: &CustomerOrders, products: usize, opts: &TrainOptions) -> Vec<Vec<CoPurchase>> {
    // Orders containing each product, as one flat list per product (a counting sort).
    let mut start = vec![0u32; products + 1];
    for &p in &orders.items {
        start[p as usize + 1] += 1;
    }
    for p in 0..products {
        start[p + 1] += start[p];
    }
    let mut next = start.clone();
    let mut in_orders = vec![0u32; orders.items.len()];
    for o in 0..orders.ts.len() {
        for &p in orders.items_of(o) {
            in_orders[next[p as usize] as usize] = o as u32;
            next[p as usize] += 1;
        }
    }
    drop(next);
    let holding = |p: usize| &in_orders[start[p] as usize..start[p + 1] as usize];
    let progress = bar(products as u64, "co-purchase");
    let result = (0..products)
        .into_par_iter()
        .map_init(
            || (vec![0u32; products], Vec::<u32>::new()),
            |(counts, touched), a| {
                for &o in holding(a) {
                    for &b in orders.items_of(o as usize) {
                        if b as usize != a {
                            if counts[b as usize] == 0 {
                                touched.push(b);
                            }
                            counts[b as usize] += 1;
                        }
                    }
                }
                let n_a = holding(a).len() as f32;
                let mut scored: Vec<CoPurchase> = touched
                    .iter()
                    .filter(|&&b| counts[b as usize] >= opts.co_min_support)
                    .map(|&b| {
                        let together = counts[b as usize];
                        let score = together as f32 / (n_a * holding(b as usize).len() as f32).sqrt();
                        CoPurchase { product: b, score, together }
                    })
                    .collect();
                for &b in touched.iter() {
                    counts[b as usize] = 0;
                }
                touched.clear();
                scored.sort_unstable_by(|x, y| y.score.total_cmp(&x.score).then(x.product.cmp(&y.product)));
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
