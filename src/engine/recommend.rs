//! `recommend`'s first half and its embedding source: resolve ids and filters, then rank by the
//! embedding. Resolve ids -> build the query vector (the customer's taste pulled toward the
//! basket, or the basket alone) -> pick a plan (an exact scan of a small filtered subset, or the
//! IVF index with the filter and a widened probe) -> hits with score and reason. Shoppers without
//! a vector get popular items in the zone or aisle. `blend.rs` merges this source with the
//! customer's buy-again and discovery lists.

use super::*;

/// What every operation's request shares, before it is resolved: who, where, the basket, how
/// many, and the options.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ask<'a> {
    pub(super) customer: &'a str,
    pub(super) zone: &'a str,
    pub(super) aisle: &'a str,
    pub(super) basket: &'a IdList,
    pub(super) k: u32,
    pub(super) options: Options<'a>,
    /// Ordering a given shelf (rerank): what the session bought or holds in its basket stays
    /// admissible (the shelf still holds it; a purchase restarts its buy-again clock instead).
    pub(super) shelf: bool,
    /// The session's zone is the default filter (recommend only: substitutes and what goes with
    /// a basket are not about where the shopper stands).
    pub(super) session_zone: bool,
    /// An anonymous shopper with a basket or a session is answered from the segment nearest to
    /// it (recommend only: measured there, `segment_tests.rs`).
    pub(super) by_segment: bool,
}

impl Default for Ask<'_> {
    fn default() -> Self {
        Ask {
            customer: "",
            zone: "",
            aisle: "",
            basket: &ids::EMPTY,
            k: 0,
            options: Options::default(),
            shelf: false,
            session_zone: false,
            by_segment: false,
        }
    }
}

impl<'a> From<&Query<'a>> for Ask<'a> {
    fn from(q: &Query<'a>) -> Ask<'a> {
        Ask {
            customer: q.customer,
            zone: q.zone,
            aisle: q.aisle,
            basket: q.basket,
            k: q.k,
            options: q.options,
            shelf: false,
            session_zone: true,
            by_segment: true,
        }
    }
}

/// What a request resolved to; the filters themselves are in `Scratch` (aisles, basket,
/// exclusions, mask).
pub(super) struct Resolved {
    /// The customer's row, when given and known.
    pub(super) customer: Option<u32>,
    /// Items wanted.
    pub(super) k: usize,
    /// Candidates each source gathers: `k`, or more when the answer is cut by more than score
    /// (diversity, promotions).
    pub(super) pool: usize,
    /// An aisle was asked for.
    pub(super) by_aisle: bool,
    /// A zone was asked for.
    pub(super) by_zone: bool,
    /// At most this many items per aisle (0 = no limit).
    pub(super) max_per_aisle: u32,
    /// The shopper stated signals the model has vectors for (`Scratch::stated`).
    pub(super) stated_taste: bool,
    /// Answered from this segment's centroid: a concealed unknown customer's (chosen by the
    /// id), an opted-out customer's own, or an anonymous shopper's nearest to their basket and
    /// session.
    pub(super) segment: Option<u32>,
    /// The centroid's weight in the query (`segment` only).
    pub(super) segment_weight: f32,
    /// The basket's weight in the query.
    pub(super) basket_weight: f32,
    /// The weight of the products the session looked at, together.
    pub(super) recent_weight: f32,
    /// Top a short answer up to `k` (`Options::conceal`).
    pub(super) fill: bool,
}

impl Resolved {
    /// The query has a taste of its own (a customer, stated signals, a segment), beyond the
    /// basket and recent items.
    pub(super) fn tasted(&self) -> bool {
        self.customer.is_some() || self.stated_taste || self.segment.is_some()
    }
}

impl Resolved {
    /// Candidates are restricted to some aisles.
    pub(super) fn restricted(&self) -> bool {
        self.by_aisle || self.by_zone
    }
}

/// How many candidates per answer item sources gather when the answer is cut by more than score.
const POOL_FACTOR: usize = 4;

/// A request's filters: the aisle/zone restriction, the shopper's rules, the basket and the
/// exclusions, over the model's arrays. Every source's candidates go through [`Filter::admits`].
pub(super) struct Filter<'a> {
    restricted: bool,
    words: usize,
    tags: &'a [u64],
    aisle_of: &'a [u32],
    allowed: &'a [u64],
    mask: &'a [u64],
    basket: &'a [u32],
    exclude: &'a [u32],
}

impl Filter<'_> {
    /// Whether `row` passes: in the allowed aisles (when restricted), no tag the shopper's rules
    /// exclude (fail closed: a row without tags or aisle is refused), not in the basket, not
    /// excluded by the request.
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
            && (self.exclude.is_empty() || self.exclude.binary_search(&row).is_err())
    }
}

impl Engine {
    /// Ranks products for `q` by the embedding alone, as endcap did before blending: all
    /// products, or (mode `discover`) those the customer has not bought. Scores are inner
    /// products. For evaluation, benches and the index's recall tests; the served answer is
    /// [`Engine::recommend`].
    pub fn recommend_embedding(&self, q: &Query<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        let r = self.resolve(&Ask::from(q), s)?;
        self.embedding(&r, q.mode == Mode::Discover, s);
        self.embedding_candidates(&r, s);
        self.select(&r, 0, s);
        Ok(())
    }

    /// Checks the request and resolves its ids and filters into `s`.
    pub(super) fn resolve(&self, q: &Ask<'_>, s: &mut Scratch) -> Result<Resolved, EngineError> {
        s.trace = Trace::default();
        s.hits.clear();
        s.cands.clear();
        s.raw.clear();
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
        let opts = &q.options;
        if opts.exclude.len() > self.settings.max_exclude {
            return Err(EngineError::InvalidArgument(format!(
                "exclude has {} products, at most {} are accepted",
                opts.exclude.len(),
                self.settings.max_exclude
            )));
        }
        if opts.signals.len() > self.settings.max_signals {
            return Err(EngineError::InvalidArgument(format!(
                "{} signals stated, at most {} are accepted",
                opts.signals.len(),
                self.settings.max_signals
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
        let ctx = &opts.context;
        let zone = match q.zone {
            // The zone the shopper walked into lately, when the request does not place them (an
            // unknown one, from an older layout, is no filter rather than an error).
            "" if q.session_zone && q.aisle.is_empty() && !ctx.zone.is_empty() => self.zones.get(ctx.zone),
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

        // Basket: known products are excluded from the answer and pull the query toward them;
        // the session's live basket joins it.
        s.basket.clear();
        for id in q.basket.iter() {
            match products.ids.row(id) {
                Some(r) => s.basket.push(r),
                None => s.trace.unknown_basket_items += 1,
            }
        }
        for r in ctx.basket.iter().filter_map(|id| products.ids.row(id)).filter(|_| !q.shelf) {
            if !s.basket.contains(&r) {
                s.basket.push(r);
            }
        }
        s.recent.clear();
        s.recent.extend(ctx.recent.iter().filter_map(|id| products.ids.row(id)));
        s.bought.clear();
        for (i, id) in ctx.bought.iter().enumerate() {
            if let Some(r) = products.ids.row(id) {
                s.bought.push((r, ctx.bought_at.get(i).copied().unwrap_or(0)));
            }
        }
        s.trace.session = !ctx.is_empty();

        // Products the request excludes (unknown ids cannot be returned anyway), and what the
        // shopper just bought.
        s.exclude.clear();
        s.exclude.extend(opts.exclude.iter().filter_map(|id| products.ids.row(id)));
        if !q.shelf {
            s.exclude.extend(s.bought.iter().map(|&(r, _)| r));
        }
        s.exclude.sort_unstable();

        // Exclusions from the shopper's signals: the ones they state, and a known customer's.
        s.mask.clear();
        s.mask.resize(self.rules.words(), 0);
        s.stated.clear();
        for name in opts.signals.iter() {
            if name.len() > MAX_ID_BYTES || !self.rules.add_stated(name, &mut s.mask) {
                let shown: String = name.chars().take(64).collect();
                return Err(EngineError::UnknownSignal(shown));
            }
            if let Some(row) = data.signals.names.position(name) {
                s.stated.push(row as u32);
            }
        }
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
        let reshaped = opts.reshapes() || !self.boost.is_empty();
        let pool = if reshaped { k.saturating_mul(POOL_FACTOR) } else { k };
        // A concealed answer with no customer row is answered from the segment its id chooses
        // (stated signals then act as rules only), so it looks like a known customer's.
        let segments = data.segments.centroids.len() / self.model.dim().max(1);
        let asked = if opts.asked.is_empty() { q.customer } else { opts.asked };
        // The taste of a shopper without a customer row: a customer who opted out, their own
        // segment (never their vector); a concealed id, the segment it hashes to; anyone else
        // (anonymous, an unknown or a forgotten id) with a basket or a session and no stated
        // signals, the segment that likes those products most (recommend only).
        let named = !asked.is_empty();
        let hashed = || (xxhash_rust::xxh3::xxh3_64(asked.as_bytes()) % segments as u64) as u32;
        // (An opted-out id the model has no row for is concealed like any unknown id.)
        let segment = match () {
            _ if customer.is_some() || segments == 0 => None,
            _ if named && opts.opted_out => data
                .customers
                .ids
                .row(asked)
                .and_then(|row| self.customer_segment(row))
                .or_else(|| opts.conceal.then(hashed)),
            _ if named && opts.conceal => Some(hashed()),
            _ if q.by_segment && self.settings.anonymous_segment_weight > 0.0 && s.stated.is_empty() => {
                self.nearest_segment(s)
            }
            _ => None,
        };
        let nearest = segment.is_some() && !(named && (opts.opted_out || opts.conceal));
        let stated_taste = customer.is_none() && segment.is_none() && !s.stated.is_empty();
        // A segment chosen by the basket is weighed against it; any other taste is pulled
        // toward the basket by `basket_weight`.
        let (segment_weight, basket_weight) = match () {
            _ if nearest => (self.settings.anonymous_segment_weight, 1.0),
            _ if customer.is_some() || segment.is_some() || stated_taste => (1.0, self.settings.basket_weight),
            _ => (1.0, 1.0),
        };
        // Alone (or beside the segment they chose), what the shopper just looked at counts as a
        // basket; beside a taste of their own or a basket, by `session_weight`.
        let alone = customer.is_none() && !stated_taste && (segment.is_none() || nearest);
        let recent_weight = if alone && s.basket.is_empty() { 1.0 } else { self.settings.session_weight };
        Ok(Resolved {
            customer,
            k,
            pool,
            by_aisle: aisle.is_some(),
            by_zone: zone.is_some(),
            max_per_aisle: opts.max_per_aisle,
            stated_taste,
            segment,
            segment_weight,
            basket_weight,
            recent_weight,
            fill: opts.conceal,
        })
    }

    /// The segment whose centroid scores highest against the mean of what an anonymous shopper
    /// holds and looked at (basket and session), or `None` with neither. Uses `s.query` as
    /// scratch (the embedding rebuilds it).
    fn nearest_segment(&self, s: &mut Scratch) -> Option<u32> {
        if s.basket.is_empty() && s.recent.is_empty() {
            return None;
        }
        let dim = self.model.dim();
        s.query.clear();
        s.query.resize(dim, 0.0);
        for &row in s.basket.iter().chain(&s.recent) {
            s.query.iter_mut().zip(self.model.product_vector(row)).for_each(|(q, v)| *q += v);
        }
        let centroids = f32s(&self.model.data().segments.centroids);
        let dot = |c: &[f32]| c.iter().zip(&s.query).map(|(a, b)| a * b).sum::<f32>();
        centroids
            .chunks_exact(dim)
            .enumerate()
            .map(|(g, c)| (dot(c), g as u32))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, g)| g)
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
            exclude: &s.exclude,
        }
    }

    /// The embedding source's best products (`s.topk`) as candidates: `segment` when a segment's
    /// taste is the query's, `personal` for a known customer or stated signals, `basket` for a
    /// basket alone, `recent` for a session alone. (Popular answers are already candidates.)
    pub(super) fn embedding_candidates(&self, r: &Resolved, s: &mut Scratch) {
        if s.trace.plan == Plan::Popular {
            return;
        }
        let reason = match (r.tasted(), s.basket.is_empty()) {
            _ if r.segment.is_some() => Reason::Segment,
            (true, _) => Reason::Personal,
            (false, false) => Reason::Basket,
            (false, true) => Reason::Recent,
        };
        for &(score, row) in s.topk.as_slice() {
            s.cands.push(Hit::new(row, score, reason));
            s.raw.push(score);
        }
    }

    /// The embedding source: the best `r.pool` admitted products for the customer's vector (or
    /// their stated signals' vectors, or a segment's centroid) pulled toward the basket and the
    /// session, or the basket or session alone, leaving out the customer's past purchases when
    /// `new_only`, into `s.topk`. A shopper with none of these gets popular items as candidates
    /// (plan `Popular`).
    pub(super) fn embedding(&self, r: &Resolved, new_only: bool, s: &mut Scratch) {
        let k = r.pool;
        let data = self.model.data();
        let products = &data.products;
        let dim = self.model.dim();
        let restricted = r.restricted();
        s.topk.reset(k);

        // The query vector: the customer's taste (or the mean of the signals they state), moved
        // toward the basket; or the basket alone.
        s.query.clear();
        match (r.customer, r.stated_taste || r.segment.is_some(), s.basket.is_empty()) {
            (Some(c), _, _) => s.query.extend_from_slice(self.model.customer_vector(c)),
            (None, true, _) if !r.stated_taste => {
                let seg = r.segment.unwrap_or(0) as usize;
                let w = r.segment_weight;
                s.query.extend(f32s(&data.segments.centroids)[seg * dim..(seg + 1) * dim].iter().map(|v| w * v));
            }
            (None, true, _) => {
                s.query.resize(dim, 0.0);
                let vectors = f32s(&data.signals.vectors);
                let w = 1.0 / s.stated.len() as f32;
                for &sig in &s.stated {
                    let v = &vectors[sig as usize * dim..(sig as usize + 1) * dim];
                    s.query.iter_mut().zip(v).for_each(|(q, x)| *q += w * x);
                }
            }
            (None, false, false) => s.query.resize(dim, 0.0),
            (None, false, true) if !s.recent.is_empty() => s.query.resize(dim, 0.0),
            (None, false, true) => {
                s.trace.plan = Plan::Popular;
                self.popular(k, r.by_aisle, r.by_zone, restricted, s);
                return;
            }
        }
        if !s.basket.is_empty() {
            let weight = r.basket_weight;
            let w = weight / s.basket.len() as f32;
            for &b in &s.basket {
                for (q, v) in s.query.iter_mut().zip(self.model.product_vector(b)) {
                    *q += w * v;
                }
            }
        }
        // What the shopper just looked at or picked up pulls too, the newest most (weights 1 to
        // n over n items), less than the basket; alone, it is the query.
        if !s.recent.is_empty() {
            let weight = r.recent_weight;
            let n = s.recent.len() as f32;
            let total = n * (n + 1.0) / 2.0;
            for (i, &row) in s.recent.iter().enumerate() {
                let w = weight * (i as f32 + 1.0) / total;
                for (q, v) in s.query.iter_mut().zip(self.model.product_vector(row)) {
                    *q += w * v;
                }
            }
        }

        // The customer's history, sorted by product row (checked at load), for `new_only`.
        let history: &[u32] = match (new_only, r.customer) {
            (true, Some(c)) => data.customers.repeat.row(c as usize),
            _ => &[],
        };
        self.search(r, f32s(&products.vectors), self.nprobe, history, s);
    }

    /// The best `r.pool` admitted products for `s.query` by inner product over `vectors` (the
    /// product vectors, or their unit-length copies for cosine), leaving out `history` (sorted
    /// rows), into `s.topk`: an exact scan of a small filtered subset, or the IVF index probing
    /// `base_nprobe` lists widened by the share of products the filter removes.
    pub(super) fn search(&self, r: &Resolved, vectors: &[f32], base_nprobe: usize, history: &[u32], s: &mut Scratch) {
        let k = r.pool;
        let data = self.model.data();
        let products = &data.products;
        let np = products.ids.len();
        let dim = self.model.dim();
        let restricted = r.restricted();
        let mut topk = std::mem::take(&mut s.topk);
        let mut probes = std::mem::take(&mut s.probes);
        let scratch: &Scratch = s;
        let allowed = &scratch.aisles[..];
        let filter = self.filter(restricted, scratch);
        let accept = |row: u32| filter.admits(row) && (history.is_empty() || history.binary_search(&row).is_err());
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
        let nprobe = ((base_nprobe as f64 / kept.max(0.01)).ceil() as usize).max(base_nprobe);
        let lists = u32s(&data.ivf.offsets).len().saturating_sub(1);
        // A probe that covers every list is a scan of the whole catalogue: the filtered subset
        // alone is less to scan, and exact (trained indexes tuned to a high nprobe get here).
        topk.reset(k);
        let plan = if restricted && (candidates as f64 <= exact_max || nprobe >= lists) {
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

    /// Popular items for a shopper without a vector, within the zone or aisle if given, as
    /// candidates.
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
            for &(score, row) in topk.as_slice() {
                s.cands.push(Hit::new(row, score, reason));
                s.raw.push(score);
            }
            s.topk = topk;
        } else {
            let (mut cands, mut raw) = (std::mem::take(&mut s.cands), std::mem::take(&mut s.raw));
            let filter = self.filter(false, s);
            for row in u32s(&products.popular).iter().copied().filter(|&r| filter.admits(r)).take(k) {
                cands.push(Hit::new(row, score(row), reason));
                raw.push(score(row));
            }
            (s.cands, s.raw) = (cands, raw);
        }
    }
}
