//! The baselines, computed from one customer's history at one origin: popularity of what they
//! have not bought, personal frequency (plain and decayed), item-kNN. Lists shorter than k are
//! padded with popular products the customer has not bought.

use super::DECAYED_HALF_LIFE;
use crate::train::orders::{CustomerOrders, ProductHistory};

/// Per-thread buffers: the customer's history and item-kNN scores.
pub(super) struct Work {
    pairs: Vec<(u32, u32)>,
    hist: Vec<ProductHistory>,
    score: Vec<f32>,
    touched: Vec<u32>,
}

impl Work {
    /// Buffers for a catalogue of `products`.
    pub(super) fn new(products: usize) -> Work {
        Work { pairs: Vec::new(), hist: Vec::new(), score: vec![0.0; products], touched: Vec::new() }
    }

    /// Summarises customer `c`'s orders (decayed share 0 with the baseline's half-life); the
    /// result stays in the buffer for the other baselines, sorted by product.
    pub(super) fn history(&mut self, orders: &CustomerOrders, c: usize) -> Vec<ProductHistory> {
        self.hist.clear();
        orders.summarise(c, [DECAYED_HALF_LIFE, DECAYED_HALF_LIFE], &mut self.pairs, &mut self.hist);
        self.hist.clone()
    }

    fn bought(&self, p: u32) -> bool {
        self.hist.binary_search_by_key(&p, |h| h.product).is_ok()
    }

    /// Popular products the customer has not bought.
    pub(super) fn popular_new(&self, popular: &[u32], k: usize) -> Vec<u32> {
        popular.iter().copied().filter(|&p| !self.bought(p)).take(k).collect()
    }

    fn pad(&self, mut list: Vec<u32>, popular: &[u32], k: usize) -> Vec<u32> {
        if list.len() < k {
            let more: Vec<u32> = popular
                .iter()
                .copied()
                .filter(|&p| !self.bought(p) && !list.contains(&p))
                .take(k - list.len())
                .collect();
            list.extend(more);
        }
        list
    }

    /// The customer's products by orders holding them (or by their decayed share), the most
    /// recent first among equals.
    pub(super) fn frequency(&self, popular: &[u32], k: usize, decayed: bool) -> Vec<u32> {
        let mut ranked: Vec<&ProductHistory> = self.hist.iter().collect();
        let key = |h: &ProductHistory| if decayed { h.decayed[0] as f64 } else { h.count as f64 };
        ranked.sort_by(|a, b| {
            key(b).total_cmp(&key(a)).then(a.orders_since.cmp(&b.orders_since)).then(a.product.cmp(&b.product))
        });
        self.pad(ranked.iter().take(k).map(|h| h.product).collect(), popular, k)
    }

    /// Item-kNN: every product scored by the summed similarity to the customer's products; the
    /// best k of all products, and of those not bought.
    pub(super) fn item_knn(
        &mut self,
        neighbours: &[Vec<(u32, f32)>],
        popular: &[u32],
        k: usize,
    ) -> (Vec<u32>, Vec<u32>) {
        for h in &self.hist {
            for &(p, sim) in neighbours.get(h.product as usize).map_or(&[][..], |v| &v[..]) {
                if self.score[p as usize] == 0.0 {
                    self.touched.push(p);
                }
                self.score[p as usize] += sim;
            }
        }
        let mut scored: Vec<(f32, u32)> = self.touched.iter().map(|&p| (self.score[p as usize], p)).collect();
        for &p in &self.touched {
            self.score[p as usize] = 0.0;
        }
        self.touched.clear();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let all = scored.iter().take(k).map(|s| s.1).collect();
        let new = scored.iter().filter(|s| !self.bought(s.1)).take(k).map(|s| s.1).collect();
        (self.pad(all, popular, k), self.pad(new, popular, k))
    }
}
