//! The last step of every answer that suggests products: from the candidates the sources
//! gathered (`Scratch::cands`, with their probabilities or scores), the `k` items shown.
//!
//! In order: rank by score; keep at least `quota` new products (`min_discover`); at most
//! `max_per_aisle` items of one aisle (a greedy cut down the ranking: cheap, predictable, and
//! easy to explain on a shelf screen; MMR would trade score against vector similarity, which
//! costs a dot product per pair and answers a question stores did not ask); then promotions.
//!
//! Promotions are bounded three ways: a boost only reorders candidates the filters and rules
//! already admitted (it never brings in a product from outside the sources), promoted items take
//! at most `max_promoted_share` of the answer, and an item the shopper habitually buys that would
//! be shown without the promotion is still shown (it is pinned before the boost applies).

use std::collections::HashMap;

use super::blend::rank_slice;
use super::recommend::Resolved;
use super::*;

/// Per product row, the promotion boost (1 = none): the largest of the promotions naming the
/// product or its aisle. Empty when no promotion names anything in this model (names it does not
/// know are warnings: a promotion is not a safety rule).
pub(super) fn boosts(
    promotions: &[PromotionConfig],
    model: &Model,
    aisles: &HashMap<Box<str>, u32>,
    warnings: &mut Vec<String>,
) -> Vec<f32> {
    let products = &model.data().products;
    let mut boost = Vec::new();
    let raise = |row: u32, b: f32, boost: &mut Vec<f32>| {
        if boost.is_empty() {
            boost.resize(products.ids.len(), 1.0);
        }
        boost[row as usize] = boost[row as usize].max(b);
    };
    for p in promotions.iter().filter(|p| p.boost > 1.0) {
        for id in &p.products {
            match products.ids.row(id) {
                Some(row) => raise(row, p.boost, &mut boost),
                None => warnings.push(format!("promotion {:?}: product {id:?} is not in the catalogue", p.name)),
            }
        }
        for a in &p.aisles {
            match aisles.get(a.as_str()) {
                Some(&aisle) => {
                    for &row in products.by_aisle.row(aisle as usize) {
                        raise(row, p.boost, &mut boost);
                    }
                }
                None => warnings.push(format!("promotion {:?}: aisle {a:?} is not in the catalogue", p.name)),
            }
        }
    }
    boost
}

impl Engine {
    /// Cuts the candidates in `s.cands` down to the answer in `s.hits` (see the module doc).
    pub(super) fn select(&self, r: &Resolved, quota: usize, s: &mut Scratch) {
        rank_slice(&mut s.cands, &mut s.raw, &mut s.ranked);
        s.pinned.clear();
        let boosted = !self.boost.is_empty()
            && s.cands.iter().any(|h| h.reason != Reason::BuyAgain && self.boost[h.row as usize] > 1.0);
        if !boosted {
            self.take(r, quota, s);
            if r.fill {
                self.fill(r, s);
            }
            return;
        }
        // The answer without promotions: its habitual items are pinned.
        self.take(r, quota, s);
        s.pinned.extend(s.hits.iter().filter(|h| h.reason == Reason::BuyAgain).map(|h| h.row));
        s.hits.clear();
        for h in s.cands.iter_mut().filter(|h| h.reason != Reason::BuyAgain) {
            let b = self.boost[h.row as usize];
            if b > 1.0 {
                h.score *= b;
                h.promoted = true;
            }
        }
        rank_slice(&mut s.cands, &mut s.raw, &mut s.ranked);
        // Promoted items beyond the share lose their boost.
        let cap = (self.settings.max_promoted_share * r.k as f32).floor() as usize;
        let mut promoted = 0;
        for h in s.cands.iter_mut().filter(|h| h.promoted) {
            promoted += 1;
            if promoted > cap {
                h.score /= self.boost[h.row as usize];
                h.promoted = false;
            }
        }
        if promoted > cap {
            rank_slice(&mut s.cands, &mut s.raw, &mut s.ranked);
        }
        self.take(r, quota, s);
        s.trace.promoted = s.hits.iter().filter(|h| h.promoted).count() as u32;
        if r.fill {
            self.fill(r, s);
        }
    }

    /// Tops a short answer up to `r.k` with the store's most popular products the shopper's
    /// rules, the basket and the exclusions admit, from any aisle (`Options::conceal`), so the
    /// answer's length does not tell that rules emptied it.
    fn fill(&self, r: &Resolved, s: &mut Scratch) {
        if s.hits.len() >= r.k {
            return;
        }
        let popular = u32s(&self.model.data().products.popular);
        let mut hits = std::mem::take(&mut s.hits);
        let filter = self.filter(false, s);
        for &row in popular {
            if hits.len() == r.k {
                break;
            }
            if filter.admits(row) && !hits.iter().any(|h| h.row == row) {
                hits.push(Hit::new(row, 0.0, Reason::Popular));
            }
        }
        s.hits = hits;
    }

    /// The best `r.k` of the ranked candidates into `s.hits`: at least `quota` not buy-again
    /// (when there are that many), at most `r.max_per_aisle` per aisle, every pinned row kept.
    fn take(&self, r: &Resolved, quota: usize, s: &mut Scratch) {
        let k = r.k;
        let aisle_of = u32s(&self.model.data().products.aisle);
        let aisle = |row: u32| aisle_of.get(row as usize).copied().unwrap_or(0) as usize;
        let limit = r.max_per_aisle as usize;
        if limit > 0 {
            s.per_aisle.resize(self.aisles.len().max(1), 0);
            for &row in &s.pinned {
                s.per_aisle[aisle(row)] += 1;
            }
        }
        let fresh = s.cands.iter().filter(|h| h.reason != Reason::BuyAgain).count();
        let max_again = k - quota.min(k).min(fresh);
        let (mut again, mut taken, mut pinned_left) = (0, 0, s.pinned.len());
        for h in &s.cands {
            if taken == k {
                break;
            }
            let pinned = pinned_left > 0 && s.pinned.contains(&h.row);
            if !pinned {
                // Leave room for the pinned items still to come.
                if k - taken <= pinned_left {
                    continue;
                }
                if h.reason == Reason::BuyAgain && again == max_again {
                    continue;
                }
                if limit > 0 {
                    let a = aisle(h.row);
                    if s.per_aisle[a] as usize >= limit {
                        continue;
                    }
                    s.per_aisle[a] += 1;
                }
            } else {
                pinned_left -= 1;
            }
            if h.reason == Reason::BuyAgain {
                again += 1;
            }
            s.hits.push(*h);
            taken += 1;
        }
        if limit > 0 {
            s.per_aisle.iter_mut().for_each(|n| *n = 0);
        }
    }
}
