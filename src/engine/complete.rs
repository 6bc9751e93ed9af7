//! `complete` (what goes with this basket, for checkout terminals and screens) and `bundles`
//! (what goes with this product, for the category manager), both from the co-purchase lists the
//! trainer stores in the artifact with the number of orders behind every pair.
//!
//! For a basket item `b` and a partner `n` held together in `t` of the `N` orders, of which `b`
//! is in `o_b` and `n` in `o_n`: support `t / N`, confidence `t / o_b` (the share of `b`'s
//! orders that also hold `n`), lift `t N / (o_b o_n)` (how much likelier `n` is beside `b` than
//! in any order). `complete` scores a partner by the chance that at least one basket item brings
//! it, `1 - prod(1 - confidence)`, over the pairs with at least `bundle_min_orders` orders
//! (confidence is a probability a terminal can show; lift alone ranks rare pairs first). For a
//! known customer of a blended model that is mixed with their taste (the embedding's calibrated
//! probability) by `complete_taste_weight`. When the lists give fewer than `k` partners the rest
//! comes from the basket's taste (`basket`), as `recommend` would answer.

use super::blend::calibrated;
use super::recommend::Ask;
use super::*;

/// A `complete` request. Empty strings mean "not given".
#[derive(Debug, Clone, Copy)]
pub struct CompleteQuery<'a> {
    /// The basket (at least one product, here or in the shopper's live basket).
    pub basket: &'a IdList,
    /// Customer id: their rules apply, and their taste when the model has it.
    pub customer: &'a str,
    /// Zone name: only products in the zone.
    pub zone: &'a str,
    /// Items wanted; 0 = the default, above the maximum is clamped.
    pub k: u32,
    /// Exclusions, stated signals, diversity.
    pub options: Options<'a>,
}

impl Default for CompleteQuery<'_> {
    fn default() -> Self {
        CompleteQuery { basket: &ids::EMPTY, customer: "", zone: "", k: 0, options: Options::default() }
    }
}

/// One bundle partner of a product, with the figures merchandisers use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bundle {
    /// The partner's product row.
    pub row: u32,
    /// Orders holding both products.
    pub orders: u32,
    /// Share of all orders holding both.
    pub support: f32,
    /// Share of the product's orders that also hold the partner.
    pub confidence: f32,
    /// How much likelier the partner is beside the product than in any order (1 = independent).
    pub lift: f32,
}

impl Engine {
    /// Products to complete `q.basket`; the answer is `s.hits()`: `bought_with` items (with
    /// `because` = the basket item whose pair is strongest), then `basket` items if the lists
    /// run short.
    pub fn complete(&self, q: &CompleteQuery<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        // The session's live basket counts (a checkout that streamed its scans as events).
        if q.basket.is_empty() && q.options.context.basket.is_empty() {
            return Err(EngineError::InvalidArgument(
                "the basket is empty: complete needs at least one product".into(),
            ));
        }
        let ask =
            Ask { customer: q.customer, zone: q.zone, basket: q.basket, k: q.k, options: q.options, ..Ask::default() };
        let r = self.resolve(&ask, s)?;
        if s.basket.is_empty() {
            let named = q.basket.get(0).or(q.options.context.basket.get(0)).unwrap_or("");
            let first: String = named.chars().take(64).collect();
            return Err(EngineError::UnknownProduct(first));
        }
        let data = self.model.data();
        let p = &data.products;
        let (offsets, items, together) =
            (u32s(&p.co_purchase.offsets), u32s(&p.co_purchase.items), u32s(&p.co_purchase_together));
        let purchases = u32s(&p.purchases);
        let min_orders = self.settings.bundle_min_orders;

        // Every (partner, confidence, basket item) pair, then merged by partner.
        s.pairs.clear();
        let mut pairs = std::mem::take(&mut s.pairs);
        let filter = self.filter(r.restricted(), s);
        for &b in &s.basket {
            let (Some(&start), Some(&end)) = (offsets.get(b as usize), offsets.get(b as usize + 1)) else { continue };
            let orders_b = purchases.get(b as usize).copied().unwrap_or(0).max(1) as f32;
            for (i, &n) in items.iter().enumerate().take(end as usize).skip(start as usize) {
                let t = together.get(i).copied().unwrap_or(0);
                if t >= min_orders && filter.admits(n) {
                    pairs.push((n, t as f32 / orders_b, b));
                }
            }
        }
        pairs.sort_unstable_by_key(|&(n, _, _)| n);
        // The customer's taste, or a concealed answer's segment (PROTOCOL.md, "Privacy of answers").
        let dim = self.model.dim();
        let taste: Option<&[f32]> = match (r.customer, r.segment) {
            _ if !self.blended || self.settings.complete_taste_weight <= 0.0 => None,
            (Some(c), _) => Some(self.model.customer_vector(c)),
            (None, Some(seg)) => f32s(&data.segments.centroids).get(seg as usize * dim..(seg as usize + 1) * dim),
            (None, None) => None,
        };
        let w = self.settings.complete_taste_weight;
        let b = &data.blend;
        let (xs, ys) = (f32s(&b.embedding_scores), f32s(&b.embedding_probs));
        let mut i = 0;
        while i < pairs.len() {
            let n = pairs[i].0;
            let (mut miss, mut best, mut because) = (1.0f32, -1.0f32, Hit::NONE);
            while i < pairs.len() && pairs[i].0 == n {
                let (_, conf, from) = pairs[i];
                miss *= 1.0 - conf.clamp(0.0, 1.0);
                if conf > best {
                    (best, because) = (conf, from);
                }
                i += 1;
            }
            let co = 1.0 - miss;
            let score = match taste {
                Some(t) => {
                    let ip = crate::index::dot(t, self.model.product_vector(n));
                    (1.0 - w) * co + w * calibrated(xs, ys, ip)
                }
                None => co,
            };
            let mut hit = Hit::new(n, score, Reason::BoughtWith);
            hit.because = because;
            s.cands.push(hit);
            s.raw.push(co);
        }
        s.pairs = pairs;
        s.trace.plan = Plan::Lists;

        // Short lists: the basket's taste fills the rest, below every co-purchase partner.
        if s.cands.len() < r.k {
            let listed = s.cands.len();
            self.embedding(&r, false, s);
            let plan = s.trace.plan;
            let mut cands = std::mem::take(&mut s.cands);
            for &(ip, row) in s.topk.as_slice() {
                if cands[..listed].iter().all(|h| h.row != row) {
                    cands.push(Hit::new(row, 0.0, Reason::Basket));
                    s.raw.push(ip);
                }
            }
            s.cands = cands;
            s.trace.plan = if listed == 0 { plan } else { Plan::Lists };
        }
        self.select(&r, 0, s);
        Ok(())
    }

    /// The bundle partners of `product` with at least `bundle_min_orders` orders, in the stored
    /// order (co-occurrence normalised by both products' orders, which balances lift and
    /// support), at most `k` (clamped like every answer), into `out`. No shopper, so no rules: a
    /// category manager's question.
    pub fn bundles(&self, product: &str, k: u32, out: &mut Vec<Bundle>) -> Result<(), EngineError> {
        out.clear();
        if product.len() > MAX_ID_BYTES {
            return Err(EngineError::InvalidArgument(format!("product id is longer than {MAX_ID_BYTES} bytes")));
        }
        let p = &self.model.data().products;
        let row = p.ids.row(product).ok_or_else(|| EngineError::UnknownProduct(product.chars().take(64).collect()))?;
        let k = self.effective_k(k);
        let (offsets, items, together) =
            (u32s(&p.co_purchase.offsets), u32s(&p.co_purchase.items), u32s(&p.co_purchase_together));
        let purchases = u32s(&p.purchases);
        let total = p.total_orders.to_native() as f64;
        let (Some(&start), Some(&end)) = (offsets.get(row as usize), offsets.get(row as usize + 1)) else {
            return Ok(());
        };
        let orders_a = purchases[row as usize].max(1) as f64;
        for (i, &n) in items.iter().enumerate().take(end as usize).skip(start as usize) {
            if out.len() == k {
                break;
            }
            let t = together.get(i).copied().unwrap_or(0);
            if t < self.settings.bundle_min_orders {
                continue;
            }
            let orders_n = purchases.get(n as usize).copied().unwrap_or(0).max(1) as f64;
            let t64 = t as f64;
            out.push(Bundle {
                row: n,
                orders: t,
                support: if total > 0.0 { (t64 / total) as f32 } else { 0.0 },
                confidence: (t64 / orders_a) as f32,
                lift: if total > 0.0 { (t64 * total / (orders_a * orders_n)) as f32 } else { 0.0 },
            });
        }
        Ok(())
    }
}
