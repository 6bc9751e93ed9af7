//! Held-out baskets: each customer's last orders set aside, so that what is learned from the
//! earlier ones can be checked (and calibrated) against what the customer bought next.
//!
//! A split with `holdout = h` has `h` origins. At origin `j` the data known is every customer's
//! orders before their `(h - j)`-th last, and the basket to predict is that order; a customer
//! takes part in the origins where at least one of their orders comes before it. The trainer
//! holds out one basket (fitting its buy-again model and calibration); `endcap eval` rolls the
//! origin over the last `h`.

use rayon::prelude::*;

use super::TrainData;
use crate::index::ivf;

/// One held-out basket.
#[derive(Debug, Clone, PartialEq)]
pub struct Basket {
    /// Customer row.
    pub customer: u32,
    /// When it was bought (unix seconds).
    pub ts: i64,
    /// Its distinct products, sorted.
    pub products: Vec<u32>,
}

/// The split: which lines are held out at which origin.
#[derive(Debug, Clone)]
pub struct Holdout {
    /// Per purchase line: 0 when known from the start, `j + 1` when in the basket of origin `j`.
    rank: Vec<u8>,
    /// Per origin, its baskets, by customer.
    pub origins: Vec<Vec<Basket>>,
}

impl Holdout {
    /// Holds out the last `holdout` orders of every customer (at most all but the first).
    pub fn new(data: &TrainData, holdout: usize) -> Holdout {
        let holdout = holdout.clamp(1, 254);
        let p = &data.purchases;
        let nc = data.customers.len();
        let (lines, offsets) = ivf::order_by_list(&p.customer, nc);
        // Per customer: its held-out orders with their origin.
        let held: Vec<Vec<(u32, u8, i64)>> = (0..nc)
            .into_par_iter()
            .map(|c| {
                let mine = &lines[offsets[c] as usize..offsets[c + 1] as usize];
                let mut orders: Vec<(u32, i64)> =
                    mine.iter().map(|&l| (p.order[l as usize], p.ts[l as usize])).collect();
                orders.sort_unstable();
                let mut keyed: Vec<(i64, u32)> = Vec::new();
                for (o, ts) in orders {
                    match keyed.last_mut() {
                        Some((t, last)) if *last == o => *t = (*t).max(ts),
                        _ => keyed.push((ts, o)),
                    }
                }
                keyed.sort_unstable();
                let n = keyed.len();
                let kept = n.saturating_sub(1).min(holdout);
                keyed[n - kept..].iter().enumerate().map(|(i, &(ts, o))| (o, (holdout - kept + i) as u8, ts)).collect()
            })
            .collect();
        drop(lines);
        let mut order_rank = vec![0u8; data.orders];
        let mut order_basket: Vec<(u32, u32)> = vec![(u32::MAX, 0); data.orders];
        let mut origins: Vec<Vec<Basket>> = vec![Vec::new(); holdout];
        for (c, list) in held.iter().enumerate() {
            for &(o, j, ts) in list {
                order_rank[o as usize] = j + 1;
                order_basket[o as usize] = (j as u32, origins[j as usize].len() as u32);
                origins[j as usize].push(Basket { customer: c as u32, ts, products: Vec::new() });
            }
        }
        let rank: Vec<u8> = p.order.iter().map(|&o| order_rank[o as usize]).collect();
        for (i, &r) in rank.iter().enumerate() {
            if r > 0 {
                let (j, b) = order_basket[p.order[i] as usize];
                origins[j as usize][b as usize].products.push(p.product[i]);
            }
        }
        for basket in origins.iter_mut().flatten() {
            basket.products.sort_unstable();
            basket.products.dedup();
        }
        Holdout { rank, origins }
    }

    /// The data known at origin `j`: every line not held out at `j` or later.
    pub fn data_at(&self, data: &TrainData, j: usize) -> TrainData {
        let keep = |i: usize| (self.rank[i] as usize) <= j;
        let p = &data.purchases;
        let filter = |v: &[u32]| v.iter().enumerate().filter(|&(i, _)| keep(i)).map(|(_, &x)| x).collect();
        let purchases = crate::data::Purchases {
            customer: filter(&p.customer),
            product: filter(&p.product),
            order: filter(&p.order),
            ts: p.ts.iter().enumerate().filter(|&(i, _)| keep(i)).map(|(_, &x)| x).collect(),
        };
        TrainData { purchases, ..data.clone_without_purchases() }
    }
}

impl TrainData {
    /// A copy of everything but the purchase lines (which are left empty).
    pub fn clone_without_purchases(&self) -> TrainData {
        TrainData {
            products: self.products.clone(),
            customers: self.customers.clone(),
            purchases: crate::data::Purchases::default(),
            orders: self.orders,
            signals: self.signals.clone(),
            social: self.social.clone(),
            files: self.files.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Purchases;

    fn data() -> TrainData {
        // c0: orders 0 (t=10), 1 (t=20), 2 (t=30); c1: order 3 only; c2: orders 4 (t=5), 5 (t=6).
        let lines = [(0, 0, 10), (0, 1, 10), (1, 0, 20), (2, 2, 30), (2, 3, 30), (3, 1, 1), (4, 4, 5), (5, 4, 6)];
        let customer = [0, 0, 0, 0, 0, 1, 2, 2];
        let purchases = Purchases {
            customer: customer.to_vec(),
            product: lines.iter().map(|l| l.1).collect(),
            order: lines.iter().map(|l| l.0).collect(),
            ts: lines.iter().map(|l| l.2).collect(),
        };
        TrainData {
            products: Vec::new(),
            customers: vec!["c0".into(), "c1".into(), "c2".into()],
            purchases,
            orders: 6,
            ..TrainData::default()
        }
    }

    #[test]
    fn the_last_orders_are_held_out_by_origin_and_a_first_order_never_is() {
        let d = data();
        let h = Holdout::new(&d, 2);
        // Origin 0: c0's second order. Origin 1: c0's third and c2's second.
        assert_eq!(h.origins[0], vec![Basket { customer: 0, ts: 20, products: vec![0] }]);
        assert_eq!(
            h.origins[1],
            vec![
                Basket { customer: 0, ts: 30, products: vec![2, 3] },
                Basket { customer: 2, ts: 6, products: vec![4] }
            ]
        );
        assert_eq!(h.data_at(&d, 0).purchases.order, vec![0, 0, 3, 4]);
        assert_eq!(h.data_at(&d, 1).purchases.order, vec![0, 0, 1, 3, 4]);
        let one = Holdout::new(&d, 1);
        assert_eq!(one.origins[0].len(), 2);
        assert_eq!(one.data_at(&d, 0).purchases.len(), 5);
    }
}
