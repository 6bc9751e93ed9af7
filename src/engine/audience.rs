//! `audience`: the reverse of a recommendation. "Who should hear about X?" is the customers whose
//! vectors have the highest inner product with X's (one product; the mean vector of several; an
//! aisle's mean vector), found in the customer index or, for a small filtered group, by an exact
//! scan of it; "what type of customer buys X?" is the signals and segments over-represented among
//! them (share in the audience, share among all customers, lift). What this needs of a model
//! (customers' signals as bits, the members of each signal and segment, aisle vectors, segment
//! profiles) is computed once per model in `groups.rs`.
//!
//! Rules apply in reverse and fail closed: a customer whose rules exclude any product asked about
//! is never in its audience (no vegetarian in a steak audience; no vegetarian in the audience of
//! an aisle that holds meat). Groups smaller than `audience.min_group` are never described
//! (k-anonymity): an audience must hold that many customers, and a signal or segment is shown only
//! when that many of the group carry it. Which customers must be withheld (erased, opted out) is
//! the caller's to say, by id; they are never in an answer.
//!
//! Like the rest of the engine: no I/O, no clock, no allocation once `Scratch` has grown.

use super::groups::{Share, bits_of};
use super::*;
use crate::index::{Kernel, TopKHeap};

/// Longest signal name accepted in a request, bytes.
const MAX_SIGNAL_BYTES: usize = 128;

/// An audience request. Exactly one of `product`, `products` and `aisle` is given (empty: not
/// given).
#[derive(Debug, Clone, Copy)]
pub struct AudienceQuery<'a> {
    /// One product id.
    pub product: &'a str,
    /// Several product ids: the audience of the set (their mean vector).
    pub products: &'a IdList,
    /// An aisle name: the audience of the aisle (its products' mean vector).
    pub aisle: &'a str,
    /// Customers wanted; 0 = `audience.default_k`; above `audience.max_k` is refused.
    pub k: u32,
    /// Only customers who carry every one of these signals.
    pub signals: &'a IdList,
    /// Only customers of this segment.
    pub segment: Option<u32>,
}

impl Default for AudienceQuery<'_> {
    fn default() -> Self {
        AudienceQuery { product: "", products: &ids::EMPTY, aisle: "", k: 0, signals: &ids::EMPTY, segment: None }
    }
}

/// An audience's buffers (reused across requests) and its answer.
#[derive(Debug, Default)]
pub(super) struct AudienceScratch {
    heap: TopKHeap,
    query: Vec<f32>,
    /// The union of the asked products' tags.
    tags: Vec<u64>,
    /// Signals a customer must carry (the request's) and must not (whose rules exclude a tag).
    required: Vec<u64>,
    excluded: Vec<u64>,
    probes: Vec<(f32, u32)>,
    signal_counts: Vec<u32>,
    segment_counts: Vec<u32>,
    signals: Vec<Share>,
    segments: Vec<Share>,
}

/// The answer of the last successful `audience`.
#[derive(Debug, Clone, Copy)]
pub struct AudienceAnswer<'a> {
    /// (score, customer row), best first: the raw inner product with the asked vector.
    pub members: &'a [(f32, u32)],
    /// Signals over-represented among them, highest lift first.
    pub signals: &'a [Share],
    /// The audience's segment mix, largest first (segments at least `min_group` of it are in).
    pub segments: &'a [Share],
}

impl Scratch {
    /// The answer of the last successful [`Engine::audience`].
    pub fn audience(&self) -> AudienceAnswer<'_> {
        let a = &self.audience;
        AudienceAnswer { members: a.heap.as_slice(), signals: &a.signals, segments: &a.segments }
    }
}

impl Engine {
    /// The audience of `q`: at most `k` customers, best first, none whose rules exclude a product
    /// asked about and none `withheld` (by customer id: erased, opted out), with the customer type
    /// of the group. Refuses (`GroupTooSmall`) a `k` below `audience.min_group` and an audience
    /// that comes out smaller than it.
    pub fn audience(
        &self,
        q: &AudienceQuery<'_>,
        withheld: impl Fn(&str) -> bool,
        s: &mut Scratch,
    ) -> Result<(), EngineError> {
        s.trace = Trace::default();
        let a = &mut s.audience;
        a.heap.reset(0);
        a.signals.clear();
        a.segments.clear();
        let cfg = &self.audience_settings;
        let k = if q.k == 0 { cfg.default_k } else { q.k };
        if k > cfg.max_k {
            return Err(EngineError::InvalidArgument(format!(
                "k {k} is over the limit of {} customers (audience.max_k)",
                cfg.max_k
            )));
        }
        if k < cfg.min_group {
            return Err(EngineError::GroupTooSmall(format!(
                "k {k} is below the smallest group an answer may describe, {} customers (audience.min_group)",
                cfg.min_group
            )));
        }
        self.target(q, a)?;
        let restrict = self.filters(q, a)?;
        let trace = self.search_customers(k as usize, restrict, q.segment, &withheld, a);
        s.trace = trace;
        if a.heap.finish().len() < cfg.min_group as usize {
            // The count itself is not said: below the threshold it would single people out.
            return Err(EngineError::GroupTooSmall(format!(
                "fewer than audience.min_group = {} customers match: too small a group to answer; \
                 ask with fewer signals or without a segment",
                cfg.min_group
            )));
        }
        self.describe_audience(a);
        Ok(())
    }

    /// The query vector and the union of the asked products' tags.
    fn target(&self, q: &AudienceQuery<'_>, a: &mut AudienceScratch) -> Result<(), EngineError> {
        let given =
            usize::from(!q.product.is_empty()) + usize::from(!q.products.is_empty()) + usize::from(!q.aisle.is_empty());
        if given != 1 {
            return Err(EngineError::InvalidArgument(
                "an audience is of one product, a list of products or an aisle: give exactly one of them".into(),
            ));
        }
        let d = self.model.data();
        let p = &d.products;
        let dim = self.model.dim();
        let words = self.rules.words();
        let product_tags = u64s(&p.tags);
        a.query.clear();
        a.query.resize(dim, 0.0);
        a.tags.clear();
        a.tags.resize(words, 0);
        let add = |row: u32, a: &mut AudienceScratch, weight: f32| {
            for (x, v) in a.query.iter_mut().zip(self.model.product_vector(row)) {
                *x += weight * v;
            }
            let start = row as usize * words;
            for (t, w) in a.tags.iter_mut().zip(product_tags.get(start..start + words).unwrap_or(&[])) {
                *t |= w;
            }
        };
        if !q.product.is_empty() {
            if q.product.len() > MAX_ID_BYTES {
                return Err(EngineError::InvalidArgument(format!("product id is longer than {MAX_ID_BYTES} bytes")));
            }
            let row = p.ids.row(q.product).ok_or_else(|| EngineError::UnknownProduct(q.product.to_string()))?;
            add(row, a, 1.0);
        } else if !q.products.is_empty() {
            let max = self.audience_settings.max_products;
            if q.products.len() > max {
                return Err(EngineError::InvalidArgument(format!(
                    "{} products, at most {max} are accepted (audience.max_products)",
                    q.products.len()
                )));
            }
            if q.products.longest() > MAX_ID_BYTES {
                return Err(EngineError::InvalidArgument(format!("a product id is longer than {MAX_ID_BYTES} bytes")));
            }
            let weight = 1.0 / q.products.len() as f32;
            for id in q.products.iter() {
                let row = p.ids.row(id).ok_or_else(|| EngineError::UnknownProduct(id.to_string()))?;
                add(row, a, weight);
            }
        } else {
            let aisle =
                *self.aisles.get(q.aisle).ok_or_else(|| EngineError::UnknownAisle(q.aisle.to_string()))? as usize;
            let au = &self.groups;
            a.query.copy_from_slice(&au.aisle_vectors[aisle * dim..(aisle + 1) * dim]);
            a.tags.copy_from_slice(&au.aisle_tags[aisle * words..(aisle + 1) * words]);
        }
        Ok(())
    }

    /// Resolves the signal and segment filters and the signals the rules exclude; returns the
    /// smallest member list that restricts the audience (a segment's, a required signal's), if
    /// any.
    fn filters<'e>(&'e self, q: &AudienceQuery<'_>, a: &mut AudienceScratch) -> Result<Option<&'e [u32]>, EngineError> {
        let d = self.model.data();
        let au = &self.groups;
        let names = &d.signals.names;
        a.required.clear();
        a.required.resize(au.words, 0);
        a.excluded.clear();
        a.excluded.resize(au.words, 0);
        let mut restrict: Option<&[u32]> = None;
        let mut narrow = |rows: &'e [u32]| {
            if restrict.is_none_or(|r| rows.len() < r.len()) {
                restrict = Some(rows);
            }
        };
        let max = self.audience_settings.max_signals;
        if q.signals.len() > max {
            return Err(EngineError::InvalidArgument(format!(
                "{} signals, at most {max} are accepted (audience.max_signals)",
                q.signals.len()
            )));
        }
        for name in q.signals.iter() {
            if name.len() > MAX_SIGNAL_BYTES {
                return Err(EngineError::InvalidArgument(format!("a signal is longer than {MAX_SIGNAL_BYTES} bytes")));
            }
            let sig = names.position(name).ok_or_else(|| EngineError::UnknownSignal(name.to_string()))?;
            a.required[sig / 64] |= 1 << (sig % 64);
            narrow(au.signal_members(sig as u32));
        }
        if let Some(g) = q.segment {
            let segments = au.segments.len();
            if g as usize >= segments {
                return Err(EngineError::InvalidArgument(format!(
                    "unknown segment {g}: the model has {segments} (numbered from 0)"
                )));
            }
            narrow(au.segment_members(g));
        }
        // Rules in reverse: a signal whose rule excludes any tag of the asked products keeps its
        // carriers out of the audience.
        for sig in 0..names.len() as u32 {
            if Rules::excludes(self.rules.signal_mask(sig), &a.tags) {
                a.excluded[sig as usize / 64] |= 1 << (sig % 64);
            }
        }
        Ok(restrict)
    }

    /// Lists probed for an answer of `k` customers before any filter: the index's short tuning
    /// up to 10, its long tuning at `wide_k`, interpolated on log k between, and grown in
    /// proportion beyond (not measured there).
    fn audience_nprobe(&self, k: usize) -> usize {
        let ci = &self.model.data().customer_ivf;
        let (short, wide_k, wide) =
            (ci.ivf.nprobe.to_native() as f64, ci.wide_k.to_native() as f64, ci.wide_nprobe.to_native() as f64);
        let k = k as f64;
        let n = if k <= 10.0 || wide_k <= 10.0 {
            short.max(if k > 10.0 { wide * k / wide_k.max(1.0) } else { 0.0 })
        } else if k <= wide_k {
            short + (wide - short) * (k / 10.0).ln() / (wide_k / 10.0).ln()
        } else {
            wide * k / wide_k
        };
        n.ceil() as usize
    }

    /// Fills `a.heap` with the best `k` admitted customers: an exact scan of `restrict` when it is
    /// no larger than what the index would visit, else the index with the filters as a predicate
    /// and the probe widened by the share of customers they remove.
    fn search_customers(
        &self,
        k: usize,
        restrict: Option<&[u32]>,
        segment: Option<u32>,
        withheld: &dyn Fn(&str) -> bool,
        a: &mut AudienceScratch,
    ) -> Trace {
        let d = self.model.data();
        let au = &self.groups;
        let ids = &d.customers.ids;
        let dim = self.model.dim();
        let nc = au.customers();
        let vectors = self.model.customer_vectors();
        let ci = &d.customer_ivf;
        let view = IvfView {
            vectors,
            dim,
            centroids: f32s(&ci.ivf.centroids),
            offsets: u32s(&ci.ivf.offsets),
            nprobe: ci.ivf.nprobe.to_native() as usize,
        };
        let lists = view.lists().max(1);
        let segment_of = u32s(&d.customers.segment);

        // How much of the population the filters keep (signals assumed independent).
        let excluded: u64 = bits_of(&a.excluded).map(|s| au.signal_counts[s as usize] as u64).sum();
        let kept = restrict.map_or(nc, <[u32]>::len) as f64 / nc.max(1) as f64
            * (1.0 - (excluded as f64 / nc.max(1) as f64).min(1.0));
        let base = self.audience_nprobe(k);
        let nprobe = ((base as f64 / kept.max(0.01)).ceil() as usize).clamp(base.min(lists), lists);
        let visited = nprobe * nc / lists;

        let AudienceScratch { heap, query, required, excluded, probes, .. } = a;
        heap.reset(k);
        let filtered = restrict.is_some() || excluded.iter().any(|&w| w != 0);
        let (required, excluded, query): (&[u64], &[u64], &[f32]) = (required, excluded, query);
        let admits = |row: u32| {
            !filtered || {
                let bits = au.signals_of(row);
                bits.len() == required.len()
                    && bits.iter().zip(required).all(|(b, r)| b & r == *r)
                    && bits.iter().zip(excluded).all(|(b, x)| b & x == 0)
                    && segment.is_none_or(|g| segment_of.get(row as usize) == Some(&g))
            }
        };
        let kernel = Kernel::detect();
        let mut offer = |row: u32, v: &[f32]| {
            if admits(row) {
                let score = kernel.dot(query, v);
                if heap.admits(score) && !withheld(ids.id(row)) {
                    heap.push(score, row);
                }
            }
        };
        match restrict {
            Some(rows) if rows.len() <= visited || nprobe >= lists => {
                for &row in rows {
                    let start = row as usize * dim;
                    if let Some(v) = vectors.get(start..start + dim) {
                        offer(row, v);
                    }
                }
                Trace { plan: Plan::ExactScan, ..Trace::default() }
            }
            _ => {
                view.probe(query, nprobe, probes);
                for &(_, l) in probes.iter() {
                    let rows = view.list_rows(l);
                    let Some(block) = vectors.get(rows.start * dim..rows.end * dim) else { continue };
                    for (i, v) in block.chunks_exact(dim).enumerate() {
                        offer((rows.start + i) as u32, v);
                    }
                }
                if nprobe >= lists {
                    Trace { plan: Plan::ExactScan, ..Trace::default() }
                } else {
                    Trace { plan: Plan::Ivf, nprobe: nprobe as u32, ..Trace::default() }
                }
            }
        }
    }

    /// The customer type of the audience in `a.heap`: over-represented signals and the segment mix,
    /// each line carried by at least `min_group` of it.
    fn describe_audience(&self, a: &mut AudienceScratch) {
        let au = &self.groups;
        let min_group = self.audience_settings.min_group;
        let members = a.heap.as_slice();
        let size = members.len() as u32;
        a.signal_counts.clear();
        a.signal_counts.resize(au.signal_counts.len(), 0);
        a.segment_counts.clear();
        a.segment_counts.resize(au.segments.len(), 0);
        let segment_of = u32s(&self.model.data().customers.segment);
        for &(_, row) in members {
            for s in bits_of(au.signals_of(row)) {
                a.signal_counts[s as usize] += 1;
            }
            if let Some(c) = segment_of.get(row as usize).and_then(|&g| a.segment_counts.get_mut(g as usize)) {
                *c += 1;
            }
        }
        au.over_represented(&a.signal_counts, size, min_group, &mut a.signals);
        a.segments.clear();
        let nc = au.customers().max(1) as f32;
        for (g, &count) in a.segment_counts.iter().enumerate() {
            let all = au.segments[g].size;
            if count >= min_group && all > 0 {
                let (share, overall) = (count as f32 / size.max(1) as f32, all as f32 / nc);
                a.segments.push(Share { group: g as u32, count, share, overall, lift: share / overall });
            }
        }
        a.segments.sort_unstable_by(|x, y| y.count.cmp(&x.count).then(x.group.cmp(&y.group)));
    }

    /// Each segment's profile (size, best sellers, over-represented signals), computed when the
    /// engine was built.
    pub fn segments(&self) -> &[SegmentProfile] {
        &self.groups.segments
    }

    /// Customers in the served model.
    pub fn customers(&self) -> usize {
        self.groups.customers()
    }

    /// The id of customer `row`.
    pub fn customer_id(&self, row: u32) -> &str {
        self.model.data().customers.ids.id(row)
    }

    /// The segment of customer `row`, if the model has segments.
    pub fn customer_segment(&self, row: u32) -> Option<u32> {
        u32s(&self.model.data().customers.segment).get(row as usize).copied()
    }

    /// The name of signal `s`.
    pub fn signal_name(&self, s: u32) -> &str {
        self.model.data().signals.names.get(s as usize)
    }

    /// The smallest group an answer describes (`audience.min_group`).
    pub fn min_group(&self) -> u32 {
        self.audience_settings.min_group
    }
}
