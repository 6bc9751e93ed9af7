//! `recommend`'s first half and its embedding source: resolve ids and filters, then rank by the
//! embedding. Resolve ids -> build the query vector (the customer's taste pulled toward the
//! basket, or the basket alone) -> pick a plan (an exact scan of a small filtered subset, or the
//! IVF index with the filter and a widened probe) -> hits with score and reason. Shoppers without
//! a vector get popular items in the zone or aisle. `blend.rs` merges this source with the
//! customer's buy-again and discovery lists.

use super::*;

/// What a request resolved to; the filters themselves are in `Scratch` (aisles, basket, mask).
pub(super) struct Resolved {
    /// The customer's row, when given and known.
    pub(super) customer: Option<u32>,
    /// Items wanted.
    pub(super) k: usize,
    /// An aisle was asked for.
    pub(super) by_aisle: bool,
    /// A zone was asked for.
    pub(super) by_zone: bool,
}

impl Resolved {
    /// Candidates are restricted to some aisles.
    pub(super) fn restricted(&self) -> bool {
        self.by_aisle || self.by_zone
    }
}

/// A request's filters: the aisle/zone restriction, the shopper's rules and the basket, over the
/// model's arrays. Every source's candidates go through [`Filter::admits`].
pub(super) struct Filter<'a> {
    restricted: bool,
    words: usize,
    tags: &'a [u64],
    aisle_of: &'a [u32],
    allowed: &'a [u64],
    mask: &'a [u64],
    basket: &'a [u32],
}

impl Filter<'_> {
    /// Whether `row` passes: in the allowed aisles (when restricted), no tag the shopper's rules
    /// exclude (fail closed: a row without tags or aisle is refused), not in the basket.
    #[inline]
    pub(super) fn admits(&self, row: u32) -> bool {
        let r = row as usize;
        let Some(product_tags) = self.tags.get(r * self.words..(r + 1) * self.words) else { return false };
        (!self.restricted || {
            let Some(&a) = self.aisle_of.get(r) else { return false };
            let a = a as usize;
            self.allowed.get(a / 64).is_some_and(|w| w & (1 << (a % 64)) != 0)
        }) && !Rules::excludes(self.mask, product_tags)
            && !self.basket.contains(&row)
    }
}

impl Engine {
    /// Ranks products for `q` by the embedding alone, as endcap did before blending: all
    /// products, or (mode `discover`) those the customer has not bought. Scores are inner
    /// products. For evaluation, benches and the index's recall tests; the served answer is
    /// [`Engine::recommend`].
    pub fn recommend_embedding(&self, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        let r = self.resolve(q, s)?;
        self.embedding(&r, q.mode == Mode::Discover, s);
        let reason = if r.customer.is_some() { Reason::Personal } else { Reason::Basket };
        if s.trace.plan != Plan::Popular {
            s.hits.extend(s.topk.as_slice().iter().map(|&(score, row)| Hit::new(row, score, reason)));
        }
        Ok(())
    }

    /// Checks the request and resolves its ids and filters into `s`.
    pub(super) fn resolve(&self, q: &Query<'_>, s: &mut Scratch) -> Result<Resolved, EngineError> {
        s.trace = Trace::default();
        s.hits.clear();
        if q.customer.len() > MAX_ID_BYTES {
            return Err(EngineError::InvalidArgument(format!("customer id is longer than {MAX_ID_BYTES} bytes")));
        }
        if q.basket.len() > self.settings.max_basket {
            return Err(EngineError::InvalidArgument(format!(
                "basket has {} items, at most {} are accepted",
                q.basket.len(),
                self.settings.max_basket
            )));
        }
        let k = self.effective_k(q.k);
        let data = self.model.data();
        let products = &data.products;

        // Candidate restriction: an aisle, a zone, or both (their intersection).
        let aisle = match q.aisle {
            "" => None,
            name => Some(*self.aisles.get(name).ok_or_else(|| EngineError::UnknownAisle(name.to_string()))?),
        };
        let zone = match q.zone {
            "" => None,
            name => Some(self.zones.get(name).ok_or_else(|| EngineError::UnknownZone(name.to_string()))?),
        };
        s.aisles.clear();
        if aisle.is_some() || zone.is_some() {
            s.aisles.resize(products.aisle_names.len().div_ceil(64), 0);
            let mut allow = |a: u32| s.aisles[a as usize / 64] |= 1 << (a % 64);
            match (aisle, zone) {
                (Some(a), Some(z)) if z.contains(&a) => allow(a),
                (Some(_), Some(_)) => {}
                (Some(a), None) => allow(a),
                (None, Some(z)) => z.iter().copied().for_each(allow),
                (None, None) => {}
            }
        }

        // Basket: known products are excluded from the answer and pull the query toward them.
        s.basket.clear();
        for id in q.basket.iter() {
            match products.ids.row(id) {
                Some(r) => s.basket.push(r),
                None => s.trace.unknown_basket_items += 1,
            }
        }

        // Exclusions from the shopper's signals.
        s.mask.clear();
        s.mask.resize(self.rules.words(), 0);
        let customer = match q.customer {
            "" => None,
            id => {
                let row = data.customers.ids.row(id);
                s.trace.unknown_customer = row.is_none();
                row
            }
        };
        if let Some(c) = customer {
            for &sig in data.customers.signals.row(c as usize) {
                self.rules.add_signal(sig, &mut s.mask);
            }
        }
        Ok(Resolved { customer, k, by_aisle: aisle.is_some(), by_zone: zone.is_some() })
    }

    /// The request's filters over the model's arrays, resolved once per request (see
    /// [`Filter::admits`]).
    pub(super) fn filter<'a>(&'a self, restricted: bool, s: &'a Scratch) -> Filter<'a> {
        let products = &self.model.data().products;
        Filter {
            restricted,
            words: self.rules.words(),
            tags: u64s(&products.tags),
            aisle_of: u32s(&products.aisle),
            allowed: &s.aisles,
            mask: &s.mask,
            basket: &s.basket,
        }
    }

    /// The embedding source: the best `r.k` admitted products for the customer's vector pulled
    /// toward the basket (or the basket alone), leaving out the customer's past purchases when
    /// `new_only`, into `s.topk`. A shopper with neither gets popular items into `s.hits`
    /// (plan `Popular`).
    pub(super) fn embedding(&self, r: &Resolved, new_only: bool, s: &mut Scratch) {
        let k = r.k;
        let data = self.model.data();
        let products = &data.products;
        let np = products.ids.len();
        let dim = self.model.dim();
        let restricted = r.restricted();
        s.topk.reset(k);

        // The query vector: the customer's taste, moved toward the basket; or the basket alone.
        s.query.clear();
        match (r.customer, s.basket.is_empty()) {
            (Some(c), _) => s.query.extend_from_slice(self.model.customer_vector(c)),
            (None, false) => s.query.resize(dim, 0.0),
            (None, true) => {
                s.trace.plan = Plan::Popular;
                self.popular(k, r.by_aisle, r.by_zone, restricted, s);
                return;
            }
        }
        if !s.basket.is_empty() {
            let weight = if r.customer.is_none() { 1.0 } else { self.settings.basket_weight };
            let w = weight / s.basket.len() as f32;
            for &b in &s.basket {
                for (q, v) in s.query.iter_mut().zip(self.model.product_vector(b)) {
                    *q += w * v;
                }
            }
        }

        // The customer's history, sorted by product row (checked at load), for `new_only`.
        let history: &[u32] = match (new_only, r.customer) {
            (true, Some(c)) => data.customers.repeat.row(c as usize),
            _ => &[],
        };
        let mut topk = std::mem::take(&mut s.topk);
        let mut probes = std::mem::take(&mut s.probes);
        let scratch: &Scratch = s;
        let allowed = &scratch.aisles[..];
        let filter = self.filter(restricted, scratch);
        let accept = |row: u32| filter.admits(row) && (history.is_empty() || history.binary_search(&row).is_err());
        let vectors = f32s(&products.vectors);
        let in_aisles = |a: usize| allowed[a / 64] & (1 << (a % 64)) != 0;
        let candidates: usize = if restricted {
            (0..products.aisle_names.len()).filter(|&a| in_aisles(a)).map(|a| products.by_aisle.row(a).len()).sum()
        } else {
            np
        };
        let exact_max = (self.settings.exact_scan_fraction * np as f64).max(self.settings.exact_scan_min as f64);
        // Widen the probe by the share of products the filter removes, so about as many
        // admitted candidates are scored as for an unfiltered query.
        let kept = (candidates as f64 / np.max(1) as f64) * (1.0 - self.rules.excluded_fraction(&scratch.mask));
        let nprobe = ((self.nprobe as f64 / kept.max(0.01)).ceil() as usize).max(self.nprobe);
        let lists = u32s(&data.ivf.offsets).len().saturating_sub(1);
        // A probe that covers every list is a scan of the whole catalogue: the filtered subset
        // alone is less to scan, and exact (trained indexes tuned to a high nprobe get here).
        let plan = if restricted && (candidates as f64 <= exact_max || nprobe >= lists) {
            topk.reset(k);
            let rows = (0..products.aisle_names.len())
                .filter(|&a| in_aisles(a))
                .flat_map(|a| products.by_aisle.row(a).iter().copied());
            scan_rows(vectors, dim, rows, &scratch.query, accept, &mut topk);
            (Plan::ExactScan, 0)
        } else {
            let view = IvfView {
                vectors,
                dim,
                centroids: f32s(&data.ivf.centroids),
                offsets: u32s(&data.ivf.offsets),
                nprobe,
            };
            view.search_with(&scratch.query, k, nprobe, accept, &mut topk, &mut probes);
            (Plan::Ivf, nprobe.min(u32::MAX as usize) as u32)
        };
        s.topk = topk;
        s.probes = probes;
        s.trace.plan = plan.0;
        s.trace.nprobe = plan.1;
    }

    /// Popular items for a shopper without a vector, within the zone or aisle if given.
    fn popular(&self, k: usize, by_aisle: bool, by_zone: bool, restricted: bool, s: &mut Scratch) {
        let products = &self.model.data().products;
        let purchases = u32s(&products.purchases);
        let reason = match (by_aisle, by_zone) {
            (true, _) => Reason::PopularInAisle,
            (false, true) => Reason::PopularInZone,
            _ => Reason::Popular,
        };
        let score = |row: u32| purchases[row as usize] as f32 / self.top_purchases;
        if restricted {
            // Each aisle's list is sorted by popularity; merge the allowed aisles through a top-k.
            let mut topk = std::mem::take(&mut s.topk);
            topk.reset(k);
            let allowed = &s.aisles[..];
            let filter = self.filter(false, s);
            for a in (0..products.aisle_names.len()).filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0) {
                for &row in products.by_aisle.row(a).iter().filter(|&&r| filter.admits(r)).take(k) {
                    topk.push(score(row), row);
                }
            }
            s.hits.extend(topk.as_slice().iter().map(|&(score, row)| Hit::new(row, score, reason)));
            s.topk = topk;
        } else {
            let mut hits = std::mem::take(&mut s.hits);
            let filter = self.filter(false, s);
            let best = u32s(&products.popular).iter().copied().filter(|&r| filter.admits(r)).take(k);
            hits.extend(best.map(|row| Hit::new(row, score(row), reason)));
            s.hits = hits;
        }
    }
}
