//! Step "co-purchase": per product, the products most often in the same order, scored by
//! co-occurrence normalised by both products' order counts (cosine), above a minimum support.

use rayon::prelude::*;

use super::{TrainData, TrainOptions, bar};
use crate::index::ivf;

/// Frequently-bought-together neighbours of every product.
pub fn co_purchase(data: &TrainData, opts: &TrainOptions) -> Vec<Vec<(u32, f32)>> {
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
