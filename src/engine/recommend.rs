//! `recommend`: products for a shopper, here, now. Resolve ids -> build the query vector (the
//! customer's taste pulled toward the basket, or the basket alone) -> pick a plan (an exact scan of
//! a small filtered subset, or the IVF index with the filter and a widened probe) -> hits with
//! score and reason. Shoppers without a vector get popular items in the zone or aisle.

use super::*;

impl Engine {
    /// Ranks products for `q`; the answer is `scratch.hits()`.
    pub fn recommend(&self, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
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
        let np = products.ids.len();
        let dim = self.model.dim();

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
        let restricted = aisle.is_some() || zone.is_some();
        if restricted {
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
        let words = self.rules.words();
        s.mask.clear();
        s.mask.resize(words, 0);
        let customer = match q.customer {
            "" => None,
            id => {
                let row = data.customers.ids.row(id);
                s.trace.unknown_customer = row.is_none();
                row
            }
        };
        s.exclude.clear();
        if let Some(c) = customer {
            for &sig in data.customers.signals.row(c as usize) {
                self.rules.add_signal(sig, &mut s.mask);
            }
            if q.new_only {
                s.exclude.extend_from_slice(data.customers.repeat.row(c as usize));
                s.exclude.sort_unstable();
            }
        }

        // The query vector: the customer's taste, moved toward the basket; or the basket alone.
        s.query.clear();
        let reason = match (customer, s.basket.is_empty()) {
            (Some(c), _) => {
                s.query.extend_from_slice(self.model.customer_vector(c));
                Reason::Personal
            }
            (None, false) => {
                s.query.resize(dim, 0.0);
                Reason::Basket
            }
            (None, true) => {
                s.trace.plan = Plan::Popular;
                self.popular(k, aisle.is_some(), zone.is_some(), restricted, s);
                return Ok(());
            }
        };
        if !s.basket.is_empty() {
            let weight = if reason == Reason::Basket { 1.0 } else { self.settings.basket_weight };
            let w = weight / s.basket.len() as f32;
            for &r in &s.basket {
                for (q, v) in s.query.iter_mut().zip(self.model.product_vector(r)) {
                    *q += w * v;
                }
            }
        }

        let tags = u64s(&products.tags);
        let product_aisle = u32s(&products.aisle);
        let (mask, basket, allowed, exclude) = (&s.mask[..], &s.basket[..], &s.aisles[..], &s.exclude[..]);
        let accept = |row: u32| {
            let r = row as usize;
            (!restricted || {
                let a = product_aisle[r] as usize;
                allowed[a / 64] & (1 << (a % 64)) != 0
            }) && !Rules::excludes(mask, &tags[r * words..(r + 1) * words])
                && !basket.contains(&row)
                && (exclude.is_empty() || exclude.binary_search(&row).is_err())
        };
        let vectors = f32s(&products.vectors);
        let candidates: usize = if restricted {
            (0..products.aisle_names.len())
                .filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0)
                .map(|a| products.by_aisle.row(a).len())
                .sum()
        } else {
            np
        };
        let exact_max = (self.settings.exact_scan_fraction * np as f64).max(self.settings.exact_scan_min as f64);
        if restricted && candidates as f64 <= exact_max {
            s.trace.plan = Plan::ExactScan;
            s.topk.reset(k);
            let rows = (0..products.aisle_names.len())
                .filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0)
                .flat_map(|a| products.by_aisle.row(a).iter().copied());
            scan_rows(vectors, dim, rows, &s.query, accept, &mut s.topk);
        } else {
            // Widen the probe by the share of products the filter removes, so about as many
            // admitted candidates are scored as for an unfiltered query.
            let kept = (candidates as f64 / np.max(1) as f64) * (1.0 - self.rules.excluded_fraction(mask));
            let nprobe = ((self.nprobe as f64 / kept.max(0.01)).ceil() as usize).max(self.nprobe);
            s.trace.plan = Plan::Ivf;
            s.trace.nprobe = nprobe.min(u32::MAX as usize) as u32;
            let view = IvfView {
                vectors,
                dim,
                centroids: f32s(&data.ivf.centroids),
                offsets: u32s(&data.ivf.offsets),
                nprobe,
            };
            view.search_with(&s.query, k, nprobe, accept, &mut s.topk, &mut s.probes);
        }
        s.hits.extend(s.topk.as_slice().iter().map(|&(score, row)| Hit { row, score, reason }));
        Ok(())
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
        let words = self.rules.words();
        let tags = u64s(&products.tags);
        let (mask, basket, allowed) = (&s.mask[..], &s.basket[..], &s.aisles[..]);
        let admit = |row: u32| {
            let r = row as usize;
            !Rules::excludes(mask, &tags[r * words..(r + 1) * words]) && !basket.contains(&row)
        };
        let score = |row: u32| purchases[row as usize] as f32 / self.top_purchases;
        if restricted {
            // Each aisle's list is sorted by popularity; merge the allowed aisles through a top-k.
            s.topk.reset(k);
            for a in (0..products.aisle_names.len()).filter(|&a| allowed[a / 64] & (1 << (a % 64)) != 0) {
                for &row in products.by_aisle.row(a).iter().filter(|&&r| admit(r)).take(k) {
                    s.topk.push(score(row), row);
                }
            }
            s.hits.extend(s.topk.as_slice().iter().map(|&(score, row)| Hit { row, score, reason }));
        } else {
            let best = u32s(&products.popular).iter().copied().filter(|&r| admit(r)).take(k);
            s.hits.extend(best.map(|row| Hit { row, score: score(row), reason }));
        }
    }
}
