//! Step "segments": k-means over customer vectors, with each segment's most purchased products, for
//! anonymous and opted-out shoppers.

use super::orders::CustomerOrders;
use super::{TrainData, TrainOptions};
use crate::index::ivf;
use crate::model::input::SegmentInput;

/// The segments and each customer's segment (both empty when `opts.segments` is 0).
pub fn segments(
    data: &TrainData,
    orders: &CustomerOrders,
    x: &[f32],
    dim: usize,
    opts: &TrainOptions,
) -> (Vec<SegmentInput>, Vec<u32>) {
    let (np, nc) = (data.products.len(), data.customers.len());
    let k = opts.segments.min(nc);
    if k == 0 {
        (Vec::new(), Vec::new())
    } else {
        let clustering = ivf::cluster(x, dim, k, 10, opts.seed ^ 0x5E6);
        let mut sums = vec![0f64; k * dim];
        let mut members = vec![0usize; k];
        for (c, &s) in clustering.assignment.iter().enumerate() {
            members[s as usize] += 1;
            for (acc, &v) in sums[s as usize * dim..(s as usize + 1) * dim].iter_mut().zip(&x[c * dim..(c + 1) * dim]) {
                *acc += v as f64;
            }
        }
        let mut bought = vec![0u32; k * np];
        for (c, &segment) in clustering.assignment.iter().enumerate().take(orders.customers()) {
            for o in orders.orders_of(c) {
                for &p in orders.items_of(o) {
                    bought[segment as usize * np + p as usize] += 1;
                }
            }
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
    }
}
