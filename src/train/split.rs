//! Held-out baskets: each customer's last orders set aside, so that what is learned from the
//! earlier ones can be checked (and calibrated) against what the customer bought next.
//!
//! A split with `holdout = h` has `h` origins. At origin `j` the orders known are every
//! customer's orders before their `(h - j)`-th last, and the basket to predict is that order; a
//! customer takes part in the origins where at least one of their orders comes before it. The
//! trainer holds out one basket (fitting its buy-again model and calibration); `endcap eval`
//! rolls the origin over the last `h`. Splits work on [`CustomerOrders`] (orders in time order),
//! never on raw purchase lines.

use super::orders::CustomerOrders;

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

impl CustomerOrders {
    /// How many of customer `c`'s last orders are held out at origin `j` or later.
    fn held_from(&self, c: usize, holdout: usize, j: usize) -> usize {
        let k = self.orders_of(c).len();
        k.saturating_sub(1).min(holdout).min(holdout.saturating_sub(j))
    }

    /// The orders known at origin `j` of a split holding out `holdout` baskets.
    pub fn known_at(&self, holdout: usize, j: usize) -> CustomerOrders {
        let customers = self.customers();
        let mut out = CustomerOrders {
            customer: Vec::with_capacity(customers + 1),
            order: vec![0],
            ts: Vec::with_capacity(self.ts.len()),
            items: Vec::with_capacity(self.items.len()),
            // Views carry no time that says which side of a held-out basket they fall on, so an
            // evaluation origin learns without them.
            view_offsets: Vec::new(),
            viewed: Vec::new(),
        };
        out.customer.push(0);
        for c in 0..customers {
            let orders = self.orders_of(c);
            let keep = orders.len() - self.held_from(c, holdout, j);
            for o in orders.start..orders.start + keep {
                out.ts.push(self.ts[o]);
                out.items.extend_from_slice(self.items_of(o));
                out.order.push(out.items.len() as u32);
            }
            out.customer.push(out.ts.len() as u32);
        }
        out
    }

    /// The baskets to predict at origin `j` of a split holding out `holdout` baskets, by customer.
    pub fn baskets_at(&self, holdout: usize, j: usize) -> Vec<Basket> {
        (0..self.customers())
            .filter_map(|c| {
                let held = self.held_from(c, holdout, j);
                // The customer's basket at origin j is held out from j on, not from j + 1 on.
                (held > self.held_from(c, holdout, j + 1)).then(|| {
                    let o = self.orders_of(c).end - held;
                    let mut products = self.items_of(o).to_vec();
                    products.sort_unstable();
                    Basket { customer: c as u32, ts: self.ts[o], products }
                })
            })
            .collect()
    }

    /// Only customers `rows`, renumbered in that order.
    pub fn subset(&self, rows: &[u32]) -> CustomerOrders {
        let mut out = CustomerOrders { customer: vec![0], order: vec![0], ..CustomerOrders::default() };
        for &c in rows {
            for o in self.orders_of(c as usize) {
                out.ts.push(self.ts[o]);
                out.items.extend_from_slice(self.items_of(o));
                out.order.push(out.items.len() as u32);
            }
            out.customer.push(out.ts.len() as u32);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Purchases;
    use crate::train::TrainData;

    fn orders() -> CustomerOrders {
        // c0: orders 0 (t=10), 1 (t=20), 2 (t=30); c1: order 3 only; c2: orders 4 (t=5), 5 (t=6).
        let lines = [(0, 0, 10), (0, 1, 10), (1, 0, 20), (2, 3, 30), (2, 2, 30), (3, 1, 1), (4, 4, 5), (5, 4, 6)];
        let customer = [0, 0, 0, 0, 0, 1, 2, 2];
        let purchases = Purchases {
            customer: customer.to_vec(),
            product: lines.iter().map(|l| l.1).collect(),
            order: lines.iter().map(|l| l.0).collect(),
            ts: lines.iter().map(|l| l.2).collect(),
        };
        let data = TrainData {
            customers: vec!["c0".into(), "c1".into(), "c2".into()],
            purchases,
            orders: 6,
            ..TrainData::default()
        };
        CustomerOrders::new(&data)
    }

    #[test]
    fn the_last_orders_are_held_out_by_origin_and_a_first_order_never_is() {
        let o = orders();
        // Origin 0: c0's second order. Origin 1: c0's third and c2's second.
        assert_eq!(o.baskets_at(2, 0), vec![Basket { customer: 0, ts: 20, products: vec![0] }]);
        assert_eq!(
            o.baskets_at(2, 1),
            vec![
                Basket { customer: 0, ts: 30, products: vec![2, 3] },
                Basket { customer: 2, ts: 6, products: vec![4] }
            ]
        );
        let at0 = o.known_at(2, 0);
        assert_eq!((at0.customer.clone(), at0.ts.clone()), (vec![0, 1, 2, 3], vec![10, 1, 5]));
        let at1 = o.known_at(2, 1);
        assert_eq!(at1.ts, vec![10, 20, 1, 5]);
        assert_eq!(at1.items_of(1), &[0]);
        // One basket held out: the last of every customer with two or more.
        assert_eq!(o.baskets_at(1, 0).len(), 2);
        assert_eq!(o.known_at(1, 0).ts.len(), 4);
        let sub = o.subset(&[2, 0]);
        assert_eq!((sub.customers(), sub.orders_of(0).len(), sub.orders_of(1).len()), (2, 2, 3));
    }
}
