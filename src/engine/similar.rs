//! `similar`: substitutes for a product (out of stock, or the shopper is looking at it).
//!
//! Similarity is the cosine of the two products' vectors, not their inner product: in an
//! implicit-feedback factorisation a product's vector length grows with how often it is bought, so
//! the raw inner product ranks the store's best sellers next to anything. Dividing out the
//! lengths leaves the direction, "bought by the same kind of shopper". Unit-length copies of the
//! product vectors are computed once per model (`unit_vectors`), so a request is the same search
//! as `recommend`'s over those copies: an exact scan of a small zone or aisle, the product index
//! for a large one (its lists were clustered on the raw vectors, so `similar` probes three times
//! as many lists), and over the whole store a second IVF clustered on the unit vectors
//! ([`CosineIndex`], built with the engine, its probe tuned then against an exact cosine scan).
//! The recall against an exact cosine scan is measured in the tests and the bench. The customer,
//! when given, only brings their rules; the product's own neighbours are the answer.
//!
//! Vectors learned from baskets say "bought by the same kind of shopper", which spans the store:
//! on the demo store only 4% of a product's ten nearest vectors share its aisle (the burger buyer's
//! vectors point at buns, ketchup and beer too). A substitute is a product of the same kind, so
//! the search is scoped: by default to the product's own aisle, widening to its department and
//! then the store only when the narrower scope has fewer than `k` admitted products (`scope`
//! `department` starts at the department, `store` is the pure cosine neighbourhood). A zone or
//! aisle in the request replaces the scope.

use super::recommend::{Ask, Resolved};
use super::*;

/// Lists of the product index probed for `similar` in a zone or aisle too large to scan, as a
/// multiple of the model's `nprobe` (see the module doc).
const PROBE_FACTOR: usize = 3;

/// A second IVF, over the unit vectors and clustered on them (spherical k-means), for the
/// store-wide cosine search: the product index's lists were clustered on the raw vectors, whose
/// lengths grow with sales, so they do not group products by direction and a cosine search had to
/// read most of them. Built when the engine is (`Engine::new`): at store-1m 0.35 s of k-means and
/// 0.3 s of tuning, on this machine's kernel (replicas on different CPUs may tune it a list or
/// two apart).
#[derive(Debug, Default)]
pub(super) struct CosineIndex {
    centroids: Vec<f32>,
    offsets: Vec<u32>,
    /// Position in `vectors` -> product row.
    rows: Vec<u32>,
    /// The unit vectors in list order.
    vectors: Vec<f32>,
    /// Lists probed, tuned when built (see [`cosine_index`]).
    nprobe: usize,
}

/// Products whose own vectors tune the [`CosineIndex`]'s probe.
const TUNING_QUERIES: usize = 256;

/// The recall@10 the probe is tuned to, each query's own product counted (it is always found):
/// about 0.955 on the other nine.
const TUNED_RECALL: f64 = 0.96;

/// The [`CosineIndex`] of `unit` (row-major unit vectors) with about `sqrt(products)` lists.
pub(super) fn cosine_index(unit: &[f32], dim: usize) -> CosineIndex {
    let n = unit.len() / dim.max(1);
    if n == 0 {
        return CosineIndex::default();
    }
    let c = crate::index::ivf::cluster(unit, dim, crate::index::ivf::default_lists(n), 10, 0xC05);
    let lists = c.centroids.len() / dim;
    let (rows, offsets) = crate::index::ivf::order_by_list(&c.assignment, lists);
    let vectors: Vec<f32> =
        rows.iter().flat_map(|&r| unit[r as usize * dim..(r as usize + 1) * dim].iter().copied()).collect();
    // The fewest lists that find the cosine neighbours of a sample of products, as `similar` asks.
    // (A zero vector, a product never bought, has no neighbours to find.)
    let sample = TUNING_QUERIES.min(n);
    let queries: Vec<f32> = (0..sample)
        .map(|i| &unit[i * n / sample * dim..][..dim])
        .filter(|v| v.iter().any(|&x| x != 0.0))
        .flatten()
        .copied()
        .collect();
    let view = IvfView { vectors: &vectors, dim, centroids: &c.centroids, offsets: &offsets, nprobe: 1 };
    let (nprobe, _) = crate::index::ivf::tune_nprobe(&view, &queries, 10, TUNED_RECALL);
    CosineIndex { centroids: c.centroids, offsets, rows, vectors, nprobe }
}

/// Where `similar` looks first (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// The product's aisle, then its department, then the store.
    #[default]
    Aisle,
    /// The product's department, then the store.
    Department,
    /// The whole store: the pure cosine neighbourhood.
    Store,
}

impl Scope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Aisle => "aisle",
            Scope::Department => "department",
            Scope::Store => "store",
        }
    }

    /// The scope of a wire name; `""` is the default (`aisle`).
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "" | "aisle" => Some(Scope::Aisle),
            "department" => Some(Scope::Department),
            "store" => Some(Scope::Store),
            _ => None,
        }
    }

    /// The next wider scope.
    fn wider(self) -> Option<Scope> {
        match self {
            Scope::Aisle => Some(Scope::Department),
            Scope::Department => Some(Scope::Store),
            Scope::Store => None,
        }
    }
}

/// A `similar` request. Empty strings mean "not given".
#[derive(Debug, Clone, Copy)]
pub struct SimilarQuery<'a> {
    /// The product to find substitutes for.
    pub product: &'a str,
    /// Customer id: their rules apply.
    pub customer: &'a str,
    /// Zone name: only products in the zone.
    pub zone: &'a str,
    /// Aisle name: only products in the aisle.
    pub aisle: &'a str,
    /// Items wanted; 0 = the default, above the maximum is clamped.
    pub k: u32,
    /// Where to look first (ignored when a zone or aisle is given).
    pub scope: Scope,
    /// Exclusions, stated signals, diversity.
    pub options: Options<'a>,
}

impl Default for SimilarQuery<'_> {
    fn default() -> Self {
        SimilarQuery {
            product: "",
            customer: "",
            zone: "",
            aisle: "",
            k: 0,
            scope: Scope::Aisle,
            options: Options::default(),
        }
    }
}

/// The product vectors scaled to unit length, row-major (a zero vector stays zero).
pub(super) fn unit_vectors(model: &Model) -> Vec<f32> {
    let dim = model.dim();
    let mut unit = model.product_vectors().to_vec();
    for v in unit.chunks_exact_mut(dim.max(1)) {
        let norm = crate::index::dot(v, v).sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    unit
}

impl Engine {
    /// Products most similar to `q.product` (cosine), admitted by the filters; the answer is
    /// `s.hits()`, each with reason `similar` and `because` = the product.
    pub fn similar(&self, q: &SimilarQuery<'_>, s: &mut Scratch) -> Result<(), EngineError> {
        if q.product.len() > MAX_ID_BYTES {
            return Err(EngineError::InvalidArgument(format!("product id is longer than {MAX_ID_BYTES} bytes")));
        }
        let ask =
            Ask { customer: q.customer, zone: q.zone, aisle: q.aisle, k: q.k, options: q.options, ..Ask::default() };
        let mut r = self.resolve(&ask, s)?;
        let products = &self.model.data().products;
        let row = products.ids.row(q.product);
        let row = row.ok_or_else(|| EngineError::UnknownProduct(q.product.chars().take(64).collect()))?;
        // The product itself is never its own substitute.
        s.basket.push(row);
        let dim = self.model.dim();
        s.query.clear();
        s.query.extend_from_slice(&self.unit[row as usize * dim..(row as usize + 1) * dim]);
        let (aisle_of, department_of) = (u32s(&products.aisle), u32s(&products.department));
        let (own_aisle, own_department) = (aisle_of[row as usize], department_of[row as usize]);
        // A zone or aisle in the request is the one scope; else from `q.scope` outward. A wider
        // scope only tops the answer up to `k` (so every product of the narrower scope stays
        // in it), and its search finds the narrower one's products again (all of them: there
        // were too few), so those are skipped by where they sit.
        let mut scope = if r.restricted() { None } else { Some(q.scope) };
        let mut searched: Option<Scope> = None;
        let limit = r.max_per_aisle;
        s.per_aisle.resize(self.aisles.len().max(1), 0);
        let mut usable = 0;
        loop {
            if let Some(sc) = scope {
                s.aisles.clear();
                if sc != Scope::Store {
                    s.aisles.resize(products.aisle_names.len().div_ceil(64), 0);
                    for a in 0..products.aisle_names.len() {
                        let first = products.by_aisle.row(a).first().map(|&p| department_of[p as usize]);
                        let inside = match sc {
                            Scope::Aisle => a as u32 == own_aisle,
                            _ => first == Some(own_department),
                        };
                        if inside {
                            s.aisles[a / 64] |= 1 << (a % 64);
                        }
                    }
                }
                r.by_aisle = sc != Scope::Store;
            }
            if r.restricted() {
                self.search(&r, &self.unit, self.nprobe * PROBE_FACTOR, &[], s);
            } else {
                self.cosine_search(&r, s);
            }
            for i in 0..s.topk.len() {
                let (score, found) = s.topk.as_slice()[i];
                let a = aisle_of[found as usize] as usize;
                let seen = match searched {
                    Some(Scope::Aisle) => a as u32 == own_aisle,
                    Some(Scope::Department) => department_of[found as usize] == own_department,
                    _ => false,
                };
                let fits = limit == 0 || (s.per_aisle[a] as u32) < limit;
                if seen || (searched.is_some() && (usable == r.k || !fits)) {
                    continue;
                }
                if fits {
                    usable += 1;
                    s.per_aisle[a] += 1;
                }
                let mut hit = Hit::new(found, score, Reason::Similar);
                hit.because = row;
                s.cands.push(hit);
                s.raw.push(score);
            }
            searched = scope;
            match scope.and_then(Scope::wider) {
                Some(next) if usable < r.k => scope = Some(next),
                _ => break,
            }
        }
        s.per_aisle.iter_mut().for_each(|c| *c = 0);
        self.select(&r, 0, s);
        Ok(())
    }

    /// The best `r.pool` admitted products for `s.query` (a unit vector) by cosine over the whole
    /// catalogue, through the [`CosineIndex`], into `s.topk`, probing its tuned number of lists
    /// widened by the share of products the shopper's rules exclude and by the pool's length.
    fn cosine_search(&self, r: &Resolved, s: &mut Scratch) {
        let cos = &self.cosine;
        let kept = 1.0 - self.rules.excluded_fraction(&s.mask);
        // Tuned for 10 neighbours; a longer answer (or a wider pool) needs more lists.
        let longer = (r.pool as f64 / 10.0).sqrt().max(1.0);
        let nprobe = ((cos.nprobe as f64 * longer / kept.max(0.01)).ceil() as usize).max(cos.nprobe);
        let (mut topk, mut probes) = (std::mem::take(&mut s.topk), std::mem::take(&mut s.probes));
        let filter = self.filter(false, s);
        let accept = |pos: u32| cos.rows.get(pos as usize).is_some_and(|&row| filter.admits(row));
        let view = IvfView {
            vectors: &cos.vectors,
            dim: self.model.dim(),
            centroids: &cos.centroids,
            offsets: &cos.offsets,
            nprobe,
        };
        view.search_with(&s.query, r.pool, nprobe, accept, &mut topk, &mut probes);
        topk.map_rows(|pos| cos.rows[pos as usize]);
        (s.topk, s.probes) = (topk, probes);
        s.trace.plan = Plan::Ivf;
        s.trace.nprobe = nprobe.min(u32::MAX as usize) as u32;
    }
}
