//! "Customers who bought X also bought Y": co-purchase counted per customer (not per order),
//! and each customer's discovery list built from it.
//!
//! Per-order co-purchase (`copurchase.rs`) finds what goes in the same basket (basket
//! completion). Counted per customer, pairs show what the same people buy across visits: a
//! taste, a habit, what customers like this one adopted. `sim(a, b) = n_ab / sqrt(n_a n_b)` with
//! `n` counted in distinct customers (each customer's [`ALSO_BOUGHT_CAP`] most frequent products
//! count), kept when `n_ab >= also_min_support`.
//!
//! A customer's discovery list is the products they have not bought, scored like item-kNN: the
//! mean similarity to every product they have bought, best `discover_top` first, each with the
//! bought product that contributed most (the `because` of the answer). (Weighting the bought
//! products by how recently and often they were bought scored the same on the demo store, so
//! the standard, simpler form is kept.)

use rayon::prelude::*;

use super::orders::{CustomerOrders, ProductHistory};
use super::{TrainOptions, bar};
use crate::model::input::Discovery;

/// Products per customer that count toward "also bought": their most frequent ones. A customer's
/// pairs cost the square of their products, so the heaviest histories are capped; the cap is
/// above what most customers have (about 40 distinct products on the demo store).
pub const ALSO_BOUGHT_CAP: usize = 64;

/// Per product: the products most often bought by the same customers, best first.
pub fn also_bought(orders: &CustomerOrders, products: usize, opts: &TrainOptions) -> Vec<Vec<(u32, f32)>> {
    let nc = orders.customers();
    // Each customer's distinct products (their ALSO_BOUGHT_CAP most frequent), sorted.
    let sets: Vec<Vec<u32>> = (0..nc)
        .into_par_iter()
        .map_init(Vec::new, |all: &mut Vec<u32>, c| {
            all.clear();
            all.extend(orders.orders_of(c).flat_map(|o| orders.items_of(o).iter().copied()));
            all.sort_unstable();
            let mut counted: Vec<(u32, u32)> = Vec::new();
            for &p in all.iter() {
                match counted.last_mut() {
                    Some((q, n)) if *q == p => *n += 1,
                    _ => counted.push((p, 1)),
                }
            }
            if counted.len() > ALSO_BOUGHT_CAP {
                counted.select_nth_unstable_by(ALSO_BOUGHT_CAP - 1, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                counted.truncate(ALSO_BOUGHT_CAP);
            }
            let mut set: Vec<u32> = counted.into_iter().map(|e| e.0).collect();
            set.sort_unstable();
            set
        })
        .collect();
    // Buyers of each product, as one flat list per product (a counting sort).
    let mut start = vec![0u32; products + 1];
    for set in &sets {
        for &p in set {
            start[p as usize + 1] += 1;
        }
    }
    for p in 0..products {
        start[p + 1] += start[p];
    }
    let mut next = start.clone();
    let mut buyers = vec![0u32; start[products] as usize];
    for (c, set) in sets.iter().enumerate() {
        for &p in set {
            buyers[next[p as usize] as usize] = c as u32;
            next[p as usize] += 1;
        }
    }
    drop(next);
    let buyers_of = |p: usize| &buyers[start[p] as usize..start[p + 1] as usize];
    let progress = bar(products as u64, "also-bought");
    let min_support = opts.also_min_support.max(1);
    let result = (0..products)
        .into_par_iter()
        .map_init(
            || (vec![0u32; products], Vec::<u32>::new()),
            |(counts, touched), a| {
                if a % 1024 == 0 {
                    progress.inc(1024);
                }
                if (buyers_of(a).len() as u32) < min_support {
                    return Vec::new();
                }
                for &c in buyers_of(a) {
                    for &b in &sets[c as usize] {
                        if b as usize != a {
                            if counts[b as usize] == 0 {
                                touched.push(b);
                            }
                            counts[b as usize] += 1;
                        }
                    }
                }
                let n_a = buyers_of(a).len() as f32;
                let mut scored: Vec<(u32, f32)> = touched
                    .iter()
                    .filter(|&&b| counts[b as usize] >= min_support)
                    .map(|&b| (b, counts[b as usize] as f32 / (n_a * buyers_of(b as usize).len() as f32).sqrt()))
                    .collect();
                for &b in touched.iter() {
                    counts[b as usize] = 0;
                }
                touched.clear();
                scored.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
                scored.truncate(opts.also_top);
                scored
            },
        )
        .collect();
    progress.finish_and_clear();
    result
}

/// Work buffers for [`discover`], reused across customers.
#[derive(Default)]
pub struct DiscoverWork {
    score: Vec<f32>,
    best: Vec<(f32, u32)>,
    touched: Vec<u32>,
}

/// The discovery list of a customer whose history is `history` (sorted by product), appended
/// to `out`.
pub fn discover(
    history: &[ProductHistory],
    neighbours: &[Vec<(u32, f32)>],
    top: usize,
    w: &mut DiscoverWork,
    out: &mut Vec<Discovery>,
) {
    let products = neighbours.len();
    if w.score.len() != products {
        w.score = vec![0.0; products];
        w.best = vec![(0.0, u32::MAX); products];
    }
    let total: f32 = history.len() as f32;
    if total <= 0.0 {
        return;
    }
    for h in history {
        let weight = 1.0 / total;
        for &(p, sim) in &neighbours[h.product as usize] {
            let i = p as usize;
            if history.binary_search_by_key(&p, |e| e.product).is_ok() {
                continue;
            }
            if w.score[i] == 0.0 {
                w.touched.push(p);
            }
            let part = weight * sim;
            w.score[i] += part;
            if part > w.best[i].0 {
                w.best[i] = (part, h.product);
            }
        }
    }
    let start = out.len();
    for &p in &w.touched {
        let i = p as usize;
        out.push(Discovery { product: p, score: w.score[i], because: w.best[i].1 });
        w.score[i] = 0.0;
        w.best[i] = (0.0, u32::MAX);
    }
    w.touched.clear();
    // The best `top` first: select them, then sort only those.
    let order = |x: &Discovery, y: &Discovery| y.score.total_cmp(&x.score).then(x.product.cmp(&y.product));
    let mine = &mut out[start..];
    if top < mine.len() {
        if top > 0 {
            mine.select_nth_unstable_by(top - 1, order);
        }
        out.truncate(start + top);
    }
    out[start..].sort_unstable_by(order);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(products: &[(u32, f32)]) -> Vec<ProductHistory> {
        products
            .iter()
            .map(|&(product, d)| ProductHistory {
                product,
                count: 1,
                orders_since: 0,
                decayed: [d, d],
                last_ts: 0,
                gap_days: 0.0,
                gap_orders: 0.0,
            })
            .collect()
    }

    #[test]
    fn discovery_leaves_out_what_was_bought_and_names_the_strongest_reason() {
        // 0 -> 2 (0.5), 3 (0.1); 1 -> 2 (0.2), 0 (0.9).
        let neighbours = vec![vec![(2, 0.5), (3, 0.1)], vec![(0, 0.9), (2, 0.2)], vec![], vec![]];
        let mut out = Vec::new();
        discover(&history(&[(0, 0.5), (1, 0.5)]), &neighbours, 10, &mut DiscoverWork::default(), &mut out);
        assert_eq!(out.len(), 2, "product 0 was bought: never suggested");
        assert_eq!((out[0].product, out[0].because), (2, 0));
        assert!((out[0].score - 0.35).abs() < 1e-6);
        assert_eq!((out[1].product, out[1].because), (3, 0));
        let mut top1 = Vec::new();
        discover(&history(&[(0, 0.5), (1, 0.5)]), &neighbours, 1, &mut DiscoverWork::default(), &mut top1);
        assert_eq!(top1, out[..1]);
    }
}
