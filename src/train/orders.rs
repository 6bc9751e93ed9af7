//! Purchase lines regrouped as each customer's orders in time order, each order a sorted,
//! de-duplicated product list. Everything counted "in the customer's own orders" (decayed
//! frequency, orders since the last purchase, the usual gap) starts here, so it is computed once.

use rayon::prelude::*;

use super::TrainData;
use crate::index::ivf;

/// Every customer's orders, oldest first (ties in time: the order id decides).
#[derive(Debug, Clone, Default)]
pub struct CustomerOrders {
    /// `customers + 1` offsets into the orders: customer `c` owns orders `customer[c]..customer[c + 1]`.
    pub customer: Vec<u32>,
    /// `orders + 1` offsets into `items`.
    pub order: Vec<u32>,
    /// Time of each order (unix seconds; the latest line's when an order's lines disagree).
    pub ts: Vec<i64>,
    /// Products of each order, sorted and distinct within the order.
    pub items: Vec<u32>,
    /// `customers + 1` offsets into `viewed` (empty: no views), from `TrainData::views`.
    pub view_offsets: Vec<u32>,
    /// Products each customer looked at or scanned (one per event), sorted per customer.
    pub viewed: Vec<u32>,
}

impl CustomerOrders {
    /// Groups `data`'s purchase lines.
    pub fn new(data: &TrainData) -> CustomerOrders {
        let p = &data.purchases;
        let nc = data.customers.len();
        let (lines, offsets) = ivf::order_by_list(&p.customer, nc);
        // Per customer: lines sorted by (time, order, product), split into orders, as flat
        // (order times, order lengths, items) so a customer costs three allocations.
        let per_customer: Vec<(Vec<i64>, Vec<u32>, Vec<u32>)> = (0..nc)
            .into_par_iter()
            .map(|c| {
                let mut mine: Vec<(i64, u32, u32)> = lines[offsets[c] as usize..offsets[c + 1] as usize]
                    .iter()
                    .map(|&l| (p.ts[l as usize], p.order[l as usize], p.product[l as usize]))
                    .collect();
                // An order is placed once; its time is its latest line's, so a split order stays one.
                mine.sort_unstable_by_key(|&(_, o, _)| o);
                let mut i = 0;
                while i < mine.len() {
                    let o = mine[i].1;
                    let end = i + mine[i..].iter().take_while(|l| l.1 == o).count();
                    let ts = mine[i..end].iter().map(|l| l.0).max().unwrap_or(0);
                    mine[i..end].iter_mut().for_each(|l| l.0 = ts);
                    i = end;
                }
                mine.sort_unstable();
                let (mut times, mut lengths, mut items) = (Vec::new(), Vec::new(), Vec::with_capacity(mine.len()));
                let mut last_order = None;
                for (ts, o, product) in mine {
                    if last_order != Some(o) {
                        times.push(ts);
                        lengths.push(0u32);
                        last_order = Some(o);
                    } else if items.last() == Some(&product) {
                        continue;
                    }
                    items.push(product);
                    *lengths.last_mut().expect("pushed above") += 1;
                }
                (times, lengths, items)
            })
            .collect();
        drop(lines);
        let n_orders: usize = per_customer.iter().map(|c| c.0.len()).sum();
        let n_items: usize = per_customer.iter().map(|c| c.2.len()).sum();
        let mut out = CustomerOrders {
            customer: Vec::with_capacity(nc + 1),
            order: Vec::with_capacity(n_orders + 1),
            ts: Vec::with_capacity(n_orders),
            items: Vec::with_capacity(n_items),
            view_offsets: Vec::new(),
            viewed: Vec::new(),
        };
        out.customer.push(0);
        out.order.push(0);
        for (times, lengths, items) in per_customer {
            out.ts.extend_from_slice(&times);
            for len in lengths {
                let end = out.order.last().copied().unwrap_or(0) + len;
                out.order.push(end);
            }
            out.items.extend_from_slice(&items);
            out.customer.push(out.ts.len() as u32);
        }
        if !data.views.is_empty() {
            let (viewed, offsets) = ivf::order_by_list(&data.views.iter().map(|v| v.0).collect::<Vec<_>>(), nc);
            out.viewed = viewed.iter().map(|&i| data.views[i as usize].1).collect();
            for c in 0..nc {
                out.viewed[offsets[c] as usize..offsets[c + 1] as usize].sort_unstable();
            }
            out.view_offsets = offsets;
        }
        out
    }

    /// The products customer `c` looked at or scanned, sorted (repeated once per event).
    pub fn views_of(&self, c: usize) -> &[u32] {
        match (self.view_offsets.get(c), self.view_offsets.get(c + 1)) {
            (Some(&s), Some(&e)) => &self.viewed[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Number of customers.
    pub fn customers(&self) -> usize {
        self.customer.len().saturating_sub(1)
    }

    /// The order range of customer `c`.
    pub fn orders_of(&self, c: usize) -> std::ops::Range<usize> {
        self.customer[c] as usize..self.customer[c + 1] as usize
    }

    /// The products of order `o`.
    pub fn items_of(&self, o: usize) -> &[u32] {
        &self.items[self.order[o] as usize..self.order[o + 1] as usize]
    }

    /// Customer `c`'s history summarised per product (see [`ProductHistory`]), appended to `out`
    /// sorted by product; `half_lives` are the decays (in orders) of the decayed frequencies.
    /// `work` is left holding the (product, order index) pairs, sorted.
    pub fn summarise(&self, c: usize, half_lives: [f64; 2], work: &mut Vec<(u32, u32)>, out: &mut Vec<ProductHistory>) {
        let orders = self.orders_of(c);
        let n = orders.len();
        work.clear();
        for (i, o) in orders.clone().enumerate() {
            work.extend(self.items_of(o).iter().map(|&p| (p, i as u32)));
        }
        work.sort_unstable();
        // Weight of an order `age` orders before the latest: 0.5^(age / h), as a running power.
        let factor = half_lives.map(|h| if h > 0.0 { 0.5f64.powf(1.0 / h) } else { 1.0 });
        let norms = factor.map(|f| if f < 1.0 { (1.0 - f.powi(n as i32)) / (1.0 - f) } else { n as f64 });
        let first_order = orders.start;
        let mut i = 0;
        while i < work.len() {
            let product = work[i].0;
            let end = i + work[i..].iter().take_while(|e| e.0 == product).count();
            let (first, last) = (work[i].1 as usize, work[end - 1].1 as usize);
            let count = end - i;
            let mut decayed = [0f64; 2];
            for e in &work[i..end] {
                let age = (n - 1 - e.1 as usize) as i32;
                for (d, &f) in decayed.iter_mut().zip(&factor) {
                    *d += f.powi(age);
                }
            }
            let (first_ts, last_ts) = (self.ts[first_order + first], self.ts[first_order + last]);
            let gaps = (count - 1) as f64;
            out.push(ProductHistory {
                product,
                count: count as u32,
                orders_since: (n - 1 - last) as u32,
                decayed: [
                    (decayed[0] / norms[0].max(f64::MIN_POSITIVE)) as f32,
                    (decayed[1] / norms[1].max(f64::MIN_POSITIVE)) as f32,
                ],
                last_ts,
                gap_days: if count > 1 { ((last_ts - first_ts) as f64 / 86_400.0 / gaps) as f32 } else { 0.0 },
                gap_orders: if count > 1 { ((last - first) as f64 / gaps) as f32 } else { 0.0 },
            });
            i = end;
        }
    }
}

/// One customer's history with one product, counted in the customer's own orders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProductHistory {
    /// The product.
    pub product: u32,
    /// Orders that contained it.
    pub count: u32,
    /// Orders placed since the last one that contained it (0: it was in the latest).
    pub orders_since: u32,
    /// Decayed shares of the customer's orders that contained it, one per half-life (in
    /// orders): 1 when every order did.
    pub decayed: [f32; 2],
    /// When last bought (unix seconds).
    pub last_ts: i64,
    /// Mean days between the first and last purchase per repeat (0 when bought once).
    pub gap_days: f32,
    /// Mean orders between purchases (0 when bought once).
    pub gap_orders: f32,
}
