//! An adapter from hnsw_rs (0.3) to [`ProductIndex`], kept so the serving index can be chosen by
//! measurement (`benches/index_compare.rs`), not by reputation. It is compiled only with the crate
//! feature `hnsw` and is not on the serving path.
//!
//! hnsw_rs ranks by a distance, and its `DistDot` (`1 - a.b`) is only a distance for unit vectors,
//! while endcap ranks by raw inner product (norms carry popularity). The adapter therefore uses the
//! standard reduction of maximum inner-product search to cosine search: with `M` the largest product
//! norm, a product `x` is indexed as `[x / M, sqrt(1 - |x|^2 / M^2)]` (unit length) and a query `q`
//! is searched as `[q / |q|, 0]`. The reduced dot product is `q.x / (|q| M)`, so for one query it
//! ranks products exactly as `q.x` does. Scores handed back are the original inner products,
//! recomputed from the caller's product vectors.
//!
//! The graph lives in hnsw_rs's own heap structures (an `Arc` per node and per link), holds a copy
//! of the reduced vectors, and cannot be searched in place from the model artifact: at start it must
//! be rebuilt, or reloaded from hnsw_rs's own dump files ([`HnswIndex::dump`], [`HnswIndex::reload`]).
//!
//! What it must not do: change ranking semantics (scores stay raw inner products, a filter is a
//! predicate over product rows), or be used by the engine without a bench that says it should.

use std::cell::RefCell;
use std::path::Path;

use hnsw_rs::anndists::dist::distances::Distance;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::{Hnsw, Point};
use hnsw_rs::hnswio::HnswIo;

use super::{ProductIndex, TopK, dot};

/// Scale applied to the reduced product vectors so rounding never pushes a reduced dot product
/// above 1 (hnsw_rs's own `DistDot` asserts it does not). It multiplies every reduced score by the
/// same constant, so the ranking is unchanged.
const SHRINK: f32 = 1.0 - 1e-5;

/// hnsw_rs keeps one neighbour table per possible layer for every node, whatever its level.
const LAYER_TABLES: usize = 16;

/// Graph and search parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers (hnsw_rs `max_nb_connection`, "M"); the base layer
    /// keeps up to twice as many. At most 256.
    pub max_nb_connection: usize,
    /// Width of the candidate list while inserting ("ef_construction").
    pub ef_construction: usize,
    /// Width of the candidate list while searching ("ef"); raised to `k` when smaller.
    pub ef_search: usize,
}

impl Default for HnswParams {
    /// M 16, ef_construction 200, ef_search 64: the values the design card named.
    fn default() -> Self {
        Self { max_nb_connection: 16, ef_construction: 200, ef_search: 64 }
    }
}

/// Why an index could not be built, dumped or reloaded.
#[derive(Debug, thiserror::Error)]
pub enum HnswError {
    /// The vectors or parameters cannot make a graph.
    #[error("cannot build an hnsw_rs index: {0}")]
    Invalid(String),
    /// hnsw_rs could not write or read its dump files.
    #[error("hnsw_rs dump in {dir}: {message}")]
    Dump {
        /// The dump directory.
        dir: String,
        /// hnsw_rs's message.
        message: String,
    },
}

/// `1 - a.b` over reduced (unit) vectors, clamped at 0, computed with endcap's vectorised [`dot`].
///
/// hnsw_rs's `DistDot` computes the same value with a scalar fold (vectorised only with its
/// `simdeez_f` or nightly `stdsimd` features) and panics if rounding makes it negative.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReducedDot;

impl Distance<f32> for ReducedDot {
    #[inline]
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// Graph size, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswStats {
    /// Nodes in the graph.
    pub points: usize,
    /// Neighbour entries over all nodes and layers.
    pub links: usize,
    /// Highest layer reached.
    pub max_level: u8,
}

impl HnswStats {
    /// Estimated heap bytes of the graph, reduced-vector copies included, for `dim`-wide products.
    ///
    /// Per node: the `Arc<Point>` allocation, its vector copy (`dim + 1` floats), the
    /// `Arc<RwLock<..>>` around its neighbour tables (48 bytes), 16 empty-or-not tables (24 bytes
    /// each) and its slot in the layer list (8 bytes). Per link: an 8-byte pointer plus its own
    /// `Arc<PointWithOrder>` allocation (16 bytes of counts, 16 of payload). Spare `Vec` capacity
    /// and allocator overhead are not counted, so this is a lower bound.
    pub fn estimated_bytes(&self, dim: usize) -> usize {
        let node = 16 + std::mem::size_of::<Point<'static, f32>>() + (dim + 1) * 4 + 48 + LAYER_TABLES * 24 + 8;
        self.points * node + self.links * (8 + 32)
    }

    /// The part of [`Self::estimated_bytes`] that is the copy of the reduced vectors.
    pub fn vector_copy_bytes(&self, dim: usize) -> usize {
        self.points * (dim + 1) * 4
    }
}

/// An hnsw_rs graph over product rows, searched by raw inner product.
pub struct HnswIndex<'a, D: Distance<f32> + Send + Sync = ReducedDot> {
    graph: Hnsw<'a, f32, D>,
    vectors: &'a [f32],
    dim: usize,
    /// Search width used by [`ProductIndex::search`].
    pub ef_search: usize,
}

impl<D: Distance<f32> + Send + Sync> std::fmt::Debug for HnswIndex<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("rows", &self.rows())
            .field("dim", &self.dim)
            .field("max_nb_connection", &self.graph.get_max_nb_connection())
            .field("ef_construction", &self.graph.get_ef_construction())
            .field("ef_search", &self.ef_search)
            .finish()
    }
}

thread_local! {
    /// The reduced query, reused across queries on this thread.
    static REDUCED_QUERY: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn check(vectors: &[f32], dim: usize, params: &HnswParams) -> Result<usize, HnswError> {
    let invalid = |m: String| Err(HnswError::Invalid(m));
    if dim == 0 || !vectors.len().is_multiple_of(dim) {
        return invalid(format!("{} values do not make rows of width {dim}", vectors.len()));
    }
    let rows = vectors.len() / dim;
    if rows >= i32::MAX as usize {
        return invalid(format!("{rows} rows; hnsw_rs numbers points with i32"));
    }
    if !(2..=256).contains(&params.max_nb_connection) {
        return invalid(format!("max_nb_connection {} is outside 2..=256", params.max_nb_connection));
    }
    if params.ef_construction == 0 {
        return invalid("ef_construction is 0".into());
    }
    // hnsw_rs panics on a NaN distance, so refuse non-finite input here with a readable message.
    if let Some(i) = vectors.iter().position(|x| !x.is_finite()) {
        return invalid(format!("value {i} (row {}) is not finite", i / dim));
    }
    Ok(rows)
}

impl<'a> HnswIndex<'a, ReducedDot> {
    /// Builds the graph over `vectors` (`rows * dim`, row-major) with all cores (hnsw_rs's parallel
    /// insert). Row `r` is stored under hnsw_rs id `r`.
    pub fn build(vectors: &'a [f32], dim: usize, params: HnswParams) -> Result<Self, HnswError> {
        Self::build_with(vectors, dim, params, ReducedDot)
    }
}

impl<'a, D: Distance<f32> + Send + Sync> HnswIndex<'a, D> {
    /// [`HnswIndex::build`] with another distance over the reduced vectors (e.g. hnsw_rs's
    /// `DistDot`, for comparison); it must rank unit vectors by decreasing dot product.
    pub fn build_with(vectors: &'a [f32], dim: usize, params: HnswParams, distance: D) -> Result<Self, HnswError> {
        let rows = check(vectors, dim, &params)?;
        let max_norm = vectors.chunks_exact(dim).map(|v| dot(v, v)).fold(0.0f32, f32::max).sqrt();
        let inv = if max_norm > 0.0 { 1.0 / max_norm } else { 0.0 };
        let width = dim + 1;
        let mut reduced = Vec::with_capacity(rows * width);
        for v in vectors.chunks_exact(dim) {
            let start = reduced.len();
            reduced.extend(v.iter().map(|x| x * inv * SHRINK));
            let scaled: f32 = reduced[start..].iter().map(|x| x * x).sum::<f32>() / (SHRINK * SHRINK);
            reduced.push((1.0 - scaled).max(0.0).sqrt() * SHRINK);
        }
        // Layers: hnsw_rs's level draw rarely goes past ln n, but its `file_dump` refuses a graph
        // created with fewer than its maximum (16) layer tables, so ask for all of them.
        let graph = Hnsw::new(params.max_nb_connection, rows, LAYER_TABLES, params.ef_construction, distance);
        let items: Vec<(&[f32], usize)> = reduced.chunks_exact(width).enumerate().map(|(r, v)| (v, r)).collect();
        // hnsw_rs copies each slice into its own node, so `reduced` is dropped after this.
        graph.parallel_insert_slice(&items);
        let mut graph = graph;
        graph.set_searching_mode(true);
        Ok(Self { graph, vectors, dim, ef_search: params.ef_search.max(1) })
    }

    /// Number of rows indexed.
    pub fn rows(&self) -> usize {
        self.graph.get_nb_point()
    }

    /// The parameters the graph was built with, and the current search width.
    pub fn params(&self) -> HnswParams {
        HnswParams {
            max_nb_connection: self.graph.get_max_nb_connection() as usize,
            ef_construction: self.graph.get_ef_construction(),
            ef_search: self.ef_search,
        }
    }

    /// Counts nodes and links by walking the graph (slow: for reports, not for the request path).
    pub fn stats(&self) -> HnswStats {
        let indexation = self.graph.get_point_indexation();
        let links = indexation.into_iter().map(|p| p.get_neighborhood_id().iter().map(Vec::len).sum::<usize>()).sum();
        HnswStats { points: indexation.get_nb_point(), links, max_level: indexation.get_max_level_observed() }
    }

    /// The `k` best rows by inner product with search width `ef`. With `filter`, hnsw_rs's filter
    /// API restricts the result set during the graph walk (`search_filter`); without it, the plain
    /// search runs, which stops earlier. Scores are the original inner products.
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        out: &mut TopK,
    ) {
        out.reset(k);
        if k == 0 || query.len() != self.dim {
            return;
        }
        let found = REDUCED_QUERY.with_borrow_mut(|reduced| {
            let norm = dot(query, query).sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            reduced.clear();
            reduced.extend(query.iter().map(|x| x * inv));
            reduced.push(0.0);
            match filter {
                Some(accept) => {
                    let by_id = |id: &usize| accept(*id as u32);
                    self.graph.search_filter(reduced, k, ef.max(k), Some(&by_id))
                }
                None => self.graph.search(reduced, k, ef.max(k)),
            }
        });
        for n in found {
            let row = n.d_id as u32;
            let start = n.d_id * self.dim;
            if let Some(v) = self.vectors.get(start..start + self.dim) {
                out.push(dot(query, v), row);
            }
        }
    }

    /// Writes hnsw_rs's dump (`<basename>.hnsw.graph` and `<basename>.hnsw.data`) into `dir`, which
    /// must exist. Returns the basename hnsw_rs chose (it appends a number rather than overwrite a
    /// file that is memory-mapped).
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<String, HnswError> {
        self.graph
            .file_dump(dir, basename)
            .map_err(|e| HnswError::Dump { dir: dir.display().to_string(), message: e.to_string() })
    }
}

impl<'a, D: Distance<f32> + Default + Send + Sync> HnswIndex<'a, D> {
    /// Reloads a graph written by [`HnswIndex::dump`] over the same `vectors` (same row order).
    /// hnsw_rs rebuilds its node and link structures from the files; nothing is searched in place.
    pub fn reload(io: &'a mut HnswIo, vectors: &'a [f32], dim: usize, ef_search: usize) -> Result<Self, HnswError> {
        let graph: Hnsw<'a, f32, D> =
            io.load_hnsw().map_err(|e| HnswError::Dump { dir: "(reload)".into(), message: e.to_string() })?;
        if dim == 0 || graph.get_nb_point() * dim != vectors.len() {
            return Err(HnswError::Invalid(format!(
                "the dump has {} points, the vectors {} values of width {dim}",
                graph.get_nb_point(),
                vectors.len()
            )));
        }
        Ok(Self { graph, vectors, dim, ef_search: ef_search.max(1) })
    }
}

impl<D: Distance<f32> + Send + Sync> ProductIndex for HnswIndex<'_, D> {
    fn name(&self) -> &str {
        "hnsw_rs"
    }

    /// Always goes through hnsw_rs's filter API: the trait cannot tell an accept-all predicate from
    /// a real one. Callers that know there is no filter call [`HnswIndex::search_with`] with `None`.
    fn search(&self, query: &[f32], k: usize, accept: &dyn Fn(u32) -> bool, out: &mut TopK) {
        self.search_with(query, k, self.ef_search, Some(accept), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::exact::ExactIndex;
    use crate::index::recall;
    use crate::rng::SplitMix64;

    /// Random directions with norms spread over 0.2..2, so inner product and cosine rankings differ.
    fn products(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        let mut out = Vec::with_capacity(rows * dim);
        for _ in 0..rows {
            let v: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
            let scale = (0.2 + 1.8 * rng.next_f64()) as f32 / dot(&v, &v).sqrt();
            out.extend(v.iter().map(|x| x * scale));
        }
        out
    }

    fn mean_recall(
        index: &HnswIndex<'_>,
        exact: &ExactIndex<'_>,
        queries: &[f32],
        accept: &dyn Fn(u32) -> bool,
    ) -> f64 {
        let dim = exact.dim;
        let (mut found, mut truth) = (TopK::new(10), TopK::new(10));
        let mut total = 0.0;
        for q in queries.chunks_exact(dim) {
            index.search(q, 10, accept, &mut found);
            exact.search(q, 10, accept, &mut truth);
            assert!(found.as_slice().iter().all(|&(_, r)| accept(r)), "a rejected row came back");
            for &(score, row) in found.as_slice() {
                let v = &exact.vectors[row as usize * dim..(row as usize + 1) * dim];
                assert_eq!(score, dot(q, v), "score is not the raw inner product");
            }
            total += recall(found.as_slice(), truth.as_slice());
        }
        total / (queries.len() / dim) as f64
    }

    #[test]
    fn recall_against_exact_search_with_and_without_filter() {
        let dim = 16;
        let vectors = products(2000, dim, 1);
        let queries = products(100, dim, 2);
        let params = HnswParams { max_nb_connection: 16, ef_construction: 100, ef_search: 64 };
        let index = HnswIndex::build(&vectors, dim, params).expect("builds");
        assert_eq!(index.rows(), 2000);
        let exact = ExactIndex { vectors: &vectors, dim };
        let all = mean_recall(&index, &exact, &queries, &|_| true);
        assert!(all >= 0.9, "recall@10 {all}");
        let filtered = mean_recall(&index, &exact, &queries, &|r| r % 3 != 0);
        assert!(filtered >= 0.9, "filtered recall@10 {filtered}");
        let stats = index.stats();
        assert_eq!(stats.points, 2000);
        assert!(stats.links >= 2000 && stats.estimated_bytes(dim) > stats.vector_copy_bytes(dim));
    }

    #[test]
    fn ranks_by_inner_product_not_direction() {
        // Row 1 points exactly along the query but is short; row 2 is longer and wins.
        let vectors = [0.0, 1.0, 1.0, 0.0, 3.0, 1.0, -1.0, 0.5];
        let index = HnswIndex::build(&vectors, 2, HnswParams::default()).expect("builds");
        let mut out = TopK::new(2);
        index.search_with(&[1.0, 0.0], 2, 16, None, &mut out);
        assert_eq!(out.as_slice(), &[(3.0, 2), (1.0, 1)]);
    }

    #[test]
    fn refuses_bad_input_instead_of_panicking_later() {
        let p = HnswParams::default();
        assert!(HnswIndex::build(&[1.0, f32::NAN], 2, p).is_err());
        assert!(HnswIndex::build(&[1.0, 2.0, 3.0], 2, p).is_err());
        assert!(HnswIndex::build(&[1.0, 2.0], 2, HnswParams { max_nb_connection: 300, ..p }).is_err());
    }

    #[test]
    fn dump_and_reload_give_the_same_answers() {
        let dim = 8;
        let vectors = products(500, dim, 3);
        let index = HnswIndex::build(&vectors, dim, HnswParams::default()).expect("builds");
        let dir = std::env::temp_dir().join(format!("endcap-hnsw-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let name = index.dump(&dir, "graph").expect("dumps");
        let mut io = HnswIo::new(&dir, &name);
        let reloaded: HnswIndex<'_> = HnswIndex::reload(&mut io, &vectors, dim, 64).expect("reloads");
        let (mut a, mut b) = (TopK::new(10), TopK::new(10));
        for q in products(20, dim, 4).chunks_exact(dim) {
            index.search_with(q, 10, 64, None, &mut a);
            reloaded.search_with(q, 10, 64, None, &mut b);
            assert_eq!(a.as_slice(), b.as_slice());
        }
        drop(reloaded);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
