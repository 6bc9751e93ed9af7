//! `recommend`: the served answer, merged from three sources by the probability that each
//! product is in this visit's basket.
//!
//! - **buy again**: every product the customer bought before, its probability from the trainer's
//!   logistic model: a logit stored per (customer, product) plus the time part, computed here with
//!   the caller's clock (days since the last purchase, and how due it is against the usual gap).
//! - **also bought**: the customer's discovery list (products they have not bought that
//!   customers like them bought), each score mapped to a probability by the trainer's
//!   calibration table.
//! - **personal**: the embedding's best products the customer has not bought
//!   (`recommend.rs`), each inner product mapped through its own calibration table.
//!
//! Every candidate passes the same filters (rules fail closed, zone/aisle, basket) before it is
//! ranked. `mixed` merges all three (with an optional quota of new products), `buy_again` uses the
//! first alone, `discover` the other two. Shoppers the model does not know, and models trained
//! without purchase history, are answered by the embedding or popularity as before. No
//! allocation once `Scratch` has grown, no clock, no I/O.

use super::features::time_features;
use super::recommend::{Ask, Resolved};
use super::*;

/// A calibration table applied to `score`: linear between knots, clamped to the end knots; 0
/// for an empty table.
#[inline]
pub fn calibrated(scores: &[f32], probs: &[f32], score: f32) -> f32 {
    let n = scores.len().min(probs.len());
    if n == 0 {
        return 0.0;
    }
    let i = scores[..n].partition_point(|&s| s <= score);
    if i == 0 {
        return probs[0];
    }
    if i == n {
        return probs[n - 1];
    }
    let (x0, x1, y0, y1) = (scores[i - 1], scores[i], probs[i - 1], probs[i]);
    let t = if x1 > x0 { (score - x0) / (x1 - x0) } else { 1.0 };
    y0 + t * (y1 - y0)
}

impl Engine {
    /// Ranks products for `q`; the answer is `scratch.hits()`.
    pub fn recommend(&self, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        let r = self.resolve(&Ask::from(q), s)?;
        let c = match r.customer {
            Some(c) if self.blended => c,
            // Nothing is known of this shopper's purchases (the basket, stated signals or
            // popularity), or a model without purchase history (planted vectors): the embedding
            // is all there is.
            _ => {
                if q.mode != Mode::BuyAgain {
                    self.embedding(&r, false, s);
                    self.embedding_candidates(&r, s);
                }
                self.select(&r, 0, s);
                return Ok(());
            }
        };
        let quota = if q.mode == Mode::Mixed { q.min_discover as usize } else { 0 };
        if q.mode != Mode::Discover {
            self.buy_again(&r, c, q.now_unix_s, s);
        }
        // In `mixed`, when k buy-again products are each likelier than anything the other
        // sources can score (their calibrations top out), the answer is those: skip the search.
        let settled = q.mode == Mode::Mixed
            && quota == 0
            && r.pool == r.k
            && s.cands.len() == r.k
            && s.cands.iter().all(|h| h.score > self.new_ceiling);
        if q.mode != Mode::BuyAgain && !settled {
            self.discovery(&r, c, s);
            self.embedding(&r, true, s);
            let b = &self.model.data().blend;
            let (xs, ys) = (f32s(&b.embedding_scores), f32s(&b.embedding_probs));
            for i in 0..s.topk.len() {
                let (score, row) = s.topk.as_slice()[i];
                let p = calibrated(xs, ys, score);
                // The same product from discovery: keep the likelier source.
                match s.cands.iter().position(|h| h.row == row) {
                    Some(j) if s.cands[j].score >= p => {}
                    Some(j) => {
                        s.cands[j] = Hit::new(row, p, Reason::Personal);
                        s.raw[j] = score;
                    }
                    None => {
                        s.cands.push(Hit::new(row, p, Reason::Personal));
                        s.raw.push(score);
                    }
                }
            }
        } else {
            s.trace.plan = Plan::History;
        }
        self.select(&r, quota, s);
        Ok(())
    }

    /// Buy-again candidates: the customer's admitted past purchases, at most `r.pool`, with
    /// their probability at the caller's time.
    fn buy_again(&self, r: &Resolved, c: u32, now_unix_s: i64, s: &mut Scratch) {
        let data = self.model.data();
        let cu = &data.customers;
        let (start, end) =
            match (u32s(&cu.repeat.offsets).get(c as usize), u32s(&cu.repeat.offsets).get(c as usize + 1)) {
                (Some(&a), Some(&b)) => (a as usize, b as usize),
                _ => return,
            };
        let now = self.clock(now_unix_s);
        let items = u32s(&cu.repeat.items);
        let first = s.cands.len();
        let (mut cands, mut raw) = (std::mem::take(&mut s.cands), std::mem::take(&mut s.raw));
        let filter = self.filter(r.restricted(), s);
        for (i, &row) in items.iter().enumerate().take(end).skip(start) {
            if filter.admits(row) {
                // A purchase in the live session restarts the product's clock.
                let since = s.bought.iter().find(|b| b.0 == row).map_or(0, |b| b.1);
                let (hit, logit) = self.again_since(i, now, since);
                cands.push(hit);
                raw.push(logit);
            }
        }
        (s.cands, s.raw) = (cands, raw);
        // Only the best of the pool can be in the answer.
        let k = r.pool;
        if s.cands.len() - first >= k {
            rank_slice(&mut s.cands[first..], &mut s.raw[first..], &mut s.ranked);
            s.cands.truncate(first + k);
            s.raw.truncate(first + k);
        }
    }

    /// `again`, with the last purchase no earlier than `since` (unix s; a purchase the model has
    /// not seen yet, from the live session).
    pub(super) fn again_since(&self, i: usize, now: i64, since: i64) -> (Hit, f32) {
        let data = self.model.data();
        let cu = &data.customers;
        let (items, last) = (u32s(&cu.repeat.items), view::i64s(&cu.repeat_last_ts));
        let (logits, gap_days, gap_orders) =
            (f32s(&cu.repeat_logit), f32s(&cu.repeat_gap_days), f32s(&cu.repeat_gap_orders));
        let w = f32s(&data.blend.time_weights);
        let (w_days, w_due) = (w.first().copied().unwrap_or(0.0), w.get(1).copied().unwrap_or(0.0));
        let days = ((now - last[i].max(since)).max(0) as f64 / 86_400.0) as f32;
        let t = time_features(days as f64, gap_days[i]);
        let logit = logits[i] as f64 + w_days as f64 * t[0] + w_due as f64 * t[1];
        let p = (1.0 / (1.0 + (-logit).exp())) as f32;
        let gap = |g: f32| if g > 0.0 { g } else { -1.0 };
        let hit = Hit {
            row: items[i],
            score: p,
            reason: Reason::BuyAgain,
            because: Hit::NONE,
            days_since_last: days,
            usual_gap_days: gap(gap_days[i]),
            usual_gap_orders: gap(gap_orders[i]),
            promoted: false,
        };
        (hit, logits[i])
    }

    /// The clock of a request: the caller's, or the model's newest purchase.
    pub(super) fn clock(&self, now_unix_s: i64) -> i64 {
        if now_unix_s > 0 { now_unix_s } else { self.data_end_ts }
    }

    /// Discovery candidates: the customer's list, admitted entries, at most `r.pool`.
    fn discovery(&self, r: &Resolved, c: u32, s: &mut Scratch) {
        let data = self.model.data();
        let cu = &data.customers;
        let offsets = u32s(&cu.discover.offsets);
        let (Some(&start), Some(&end)) = (offsets.get(c as usize), offsets.get(c as usize + 1)) else { return };
        let (items, scores, because) =
            (u32s(&cu.discover.items), f32s(&cu.discover.scores), u32s(&cu.discover_because));
        let b = &data.blend;
        let (xs, ys) = (f32s(&b.discover_scores), f32s(&b.discover_probs));
        let mut taken = 0;
        let end = (end as usize).min(items.len());
        let (mut cands, mut raw) = (std::mem::take(&mut s.cands), std::mem::take(&mut s.raw));
        let filter = self.filter(r.restricted(), s);
        for (i, &row) in items.iter().enumerate().take(end).skip(start as usize) {
            if taken == r.pool {
                break;
            }
            if !filter.admits(row) {
                continue;
            }
            let score = scores.get(i).copied().unwrap_or(0.0);
            let mut hit = Hit::new(row, calibrated(xs, ys, score), Reason::AlsoBought);
            hit.because = because.get(i).copied().unwrap_or(Hit::NONE);
            cands.push(hit);
            raw.push(score);
            taken += 1;
        }
        (s.cands, s.raw) = (cands, raw);
    }
}

/// Sorts `cands` (and `raw` alongside) by probability, then the source's raw score, then row,
/// best first; `ranked` is the reused index buffer.
pub(super) fn rank_slice(cands: &mut [Hit], raw: &mut [f32], ranked: &mut Vec<u32>) {
    ranked.clear();
    ranked.extend(0..cands.len() as u32);
    ranked.sort_unstable_by(|&a, &b| {
        let (x, y) = (&cands[a as usize], &cands[b as usize]);
        y.score.total_cmp(&x.score).then(raw[b as usize].total_cmp(&raw[a as usize])).then(x.row.cmp(&y.row))
    });
    // Apply the permutation in place (cycle by cycle), so no second buffer is needed.
    for i in 0..ranked.len() {
        let mut j = ranked[i] as usize;
        while j < i {
            j = ranked[j] as usize;
        }
        cands.swap(i, j);
        raw.swap(i, j);
    }
}
