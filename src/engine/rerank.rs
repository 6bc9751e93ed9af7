//! `rerank`: a screen sends the products it can show; the answer is the same products in the
//! shopper's order. Each product gets the score `recommend` would give it from the source that
//! knows it best: for a known customer of a blended model, the buy-again probability of a past
//! purchase, the calibrated discovery score of a product on their discovery list, else the
//! embedding's calibrated probability; for a model without purchase history, the inner product
//! with the customer's vector; for an anonymous shopper, the inner product with the signals they
//! state, else popularity. Products the shopper's rules (or `exclude`) remove are left out; ids the
//! catalogue does not know are listed last, in request order, flagged `unknown_product`; a repeated
//! id is answered once. Neither `k` nor diversity or promotions apply: the screen chose the set.

use super::blend::calibrated;
use super::recommend::Ask;
use super::*;

/// A `rerank` request. Empty strings mean "not given".
#[derive(Debug, Clone, Copy)]
pub struct RerankQuery<'a> {
    /// Customer id.
    pub customer: &'a str,
    /// The products to order (at most `recommend.max_rerank`).
    pub products: &'a IdList,
    /// Exclusions and stated signals (diversity does not apply).
    pub options: Options<'a>,
    /// The caller's clock (unix seconds); 0 = the model's newest purchase.
    pub now_unix_s: i64,
}

impl Default for RerankQuery<'_> {
    fn default() -> Self {
        RerankQuery { customer: "", products: &ids::EMPTY, options: Options::default(), now_unix_s: 0 }
    }
}

impl Engine {
    /// Orders `q.products` for the shopper; the answer is `s.hits()` (unknown ids last, with
    /// `row` = [`Hit::NONE`] and `because` = their position in the request).
    pub fn rerank(&self, q: &RerankQuery<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        if q.products.len() > self.settings.max_rerank {
            return Err(EngineError::InvalidArgument(format!(
                "rerank has {} products, at most {} are accepted",
                q.products.len(),
                self.settings.max_rerank
            )));
        }
        if q.products.longest() > MAX_ID_BYTES {
            return Err(EngineError::InvalidArgument(format!("a product id is longer than {MAX_ID_BYTES} bytes")));
        }
        let ask = Ask { customer: q.customer, options: q.options, shelf: true, ..Ask::default() };
        let r = self.resolve(&ask, s)?;
        let data = self.model.data();
        let products = &data.products;
        let cu = &data.customers;
        let dim = self.model.dim();
        let now = self.clock(q.now_unix_s);
        let b = &data.blend;
        let (disc_x, disc_y) = (f32s(&b.discover_scores), f32s(&b.discover_probs));
        let (emb_x, emb_y) = (f32s(&b.embedding_scores), f32s(&b.embedding_probs));
        let purchases = u32s(&products.purchases);

        // The taste products are scored against: the customer's vector, or the mean of the
        // signals the shopper states (built once into `s.query`).
        s.query.clear();
        if let Some(c) = r.customer {
            s.query.extend_from_slice(self.model.customer_vector(c));
        } else if let Some(seg) = r.segment {
            let seg = seg as usize;
            s.query.extend_from_slice(&f32s(&data.segments.centroids)[seg * dim..(seg + 1) * dim]);
        } else if r.stated_taste {
            s.query.resize(dim, 0.0);
            let vectors = f32s(&data.signals.vectors);
            let w = 1.0 / s.stated.len() as f32;
            for &sig in &s.stated {
                let v = &vectors[sig as usize * dim..(sig as usize + 1) * dim];
                s.query.iter_mut().zip(v).for_each(|(q, x)| *q += w * x);
            }
        }
        // A model without repeat statistics (planted vectors) has empty lists: no history.
        let start = |offsets: &[u32], c: u32| offsets.get(c as usize).map_or(0, |&o| o as usize);
        let (history, hist_start) = match r.customer {
            Some(c) => (cu.repeat.row(c as usize), start(u32s(&cu.repeat.offsets), c)),
            None => (&[][..], 0),
        };
        let (discover, disc_start) = match r.customer {
            Some(c) => (cu.discover.row(c as usize), start(u32s(&cu.discover.offsets), c)),
            None => (&[][..], 0),
        };
        let (disc_scores, disc_because) = (f32s(&cu.discover.scores), u32s(&cu.discover_because));

        let (mut cands, mut raw) = (std::mem::take(&mut s.cands), std::mem::take(&mut s.raw));
        let mut unknown = std::mem::take(&mut s.hits);
        let filter = self.filter(false, s);
        for (i, id) in q.products.iter().enumerate() {
            let Some(row) = products.ids.row(id) else {
                if unknown.iter().all(|h| q.products.get(h.because as usize) != Some(id)) {
                    let mut hit = Hit::new(Hit::NONE, 0.0, Reason::UnknownProduct);
                    hit.because = i as u32;
                    unknown.push(hit);
                }
                continue;
            };
            if !filter.admits(row) || cands.iter().any(|h| h.row == row) {
                continue;
            }
            let ip = if s.query.is_empty() { 0.0 } else { crate::index::dot(&s.query, self.model.product_vector(row)) };
            let (hit, tie) = match (r.customer, self.blended) {
                (Some(_), true) => {
                    if let Ok(j) = history.binary_search(&row) {
                        // A purchase in the live session restarts the product's clock.
                        let since = s.bought.iter().find(|b| b.0 == row).map_or(0, |b| b.1);
                        self.again_since(hist_start + j, now, since)
                    } else if let Some(j) = discover.iter().position(|&d| d == row) {
                        let score = disc_scores.get(disc_start + j).copied().unwrap_or(0.0);
                        let mut hit = Hit::new(row, calibrated(disc_x, disc_y, score), Reason::AlsoBought);
                        hit.because = disc_because.get(disc_start + j).copied().unwrap_or(Hit::NONE);
                        (hit, score)
                    } else {
                        (Hit::new(row, calibrated(emb_x, emb_y, ip), Reason::Personal), ip)
                    }
                }
                (Some(_), false) => (Hit::new(row, ip, Reason::Personal), ip),
                (None, _) if r.stated_taste || r.segment.is_some() => (Hit::new(row, ip, Reason::Personal), ip),
                (None, _) => {
                    let share = purchases.get(row as usize).copied().unwrap_or(0) as f32 / self.top_purchases;
                    (Hit::new(row, share, Reason::Popular), share)
                }
            };
            cands.push(hit);
            raw.push(tie);
        }
        (s.cands, s.raw) = (cands, raw);
        rank_candidates(s);
        // The answer: the ranked products, then the unknown ids in request order.
        let flagged = unknown.len();
        unknown.extend_from_slice(&s.cands);
        unknown.rotate_left(flagged);
        s.hits = unknown;
        s.trace.plan = Plan::Lists;
        Ok(())
    }
}

fn rank_candidates(s: &mut Scratch) {
    super::blend::rank_slice(&mut s.cands, &mut s.raw, &mut s.ranked);
}
