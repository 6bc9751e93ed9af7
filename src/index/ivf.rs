//! Inverted-file index for maximum inner-product search, stored flat so it can be searched in
//! place from the model artifact (no rebuild at load, no pointers).
//!
//! Products are clustered by direction (spherical k-means); the artifact stores product rows
//! sorted by cluster, so a list is one contiguous run of vectors. A query scores every centroid,
//! scans the `nprobe` lists whose centroids score highest, and keeps the best `k` by raw inner
//! product. `nprobe` is tuned at build time against exact search (recall@10) and stored with the
//! index. With a filter that rejects a fraction of products, the engine widens `nprobe` so the
//! number of admitted candidates stays about the same (see `engine`).

use std::cell::RefCell;

use super::exact::ExactIndex;
use super::{Kernel, ProductIndex, TopK, TopKHeap, dot, recall};
use crate::rng::SplitMix64;

/// A borrowed IVF index: vectors in list order, centroids, and list offsets.
#[derive(Debug, Clone, Copy)]
pub struct IvfView<'a> {
    /// `rows * dim` product vectors, rows sorted by list.
    pub vectors: &'a [f32],
    /// Vector width.
    pub dim: usize,
    /// `lists * dim` unit-length centroids.
    pub centroids: &'a [f32],
    /// `lists + 1` offsets into the rows.
    pub offsets: &'a [u32],
    /// Lists probed when the caller does not say.
    pub nprobe: usize,
}

impl IvfView<'_> {
    /// Number of lists.
    pub fn lists(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Searches the `nprobe` best lists. `probes` is caller-owned scratch, reused across queries.
    #[inline]
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        nprobe: usize,
        accept: impl Fn(u32) -> bool,
        out: &mut TopK,
        probes: &mut Vec<(f32, u32)>,
    ) {
        out.reset(k);
        if k == 0 {
            return;
        }
        self.probe(query, nprobe, probes);
        let kernel = Kernel::detect();
        for &(_, l) in probes.iter() {
            let (start, end) = (self.offsets[l as usize] as usize, self.offsets[l as usize + 1] as usize);
            let Some(block) = self.vectors.get(start * self.dim..end * self.dim) else {
                continue;
            };
            for (i, v) in block.chunks_exact(self.dim).enumerate() {
                let row = (start + i) as u32;
                if accept(row) {
                    out.push(kernel.dot(query, v), row);
                }
            }
        }
    }
}

impl IvfView<'_> {
    /// Fills `probes` with the `nprobe` lists (clamped to `1..=lists`) whose centroids score
    /// highest against `query`, as (centroid score, list), in no particular order.
    #[inline]
    pub fn probe(&self, query: &[f32], nprobe: usize, probes: &mut Vec<(f32, u32)>) {
        probes.clear();
        let lists = self.lists();
        if lists == 0 {
            return;
        }
        let nprobe = nprobe.clamp(1, lists);
        let kernel = Kernel::detect();
        for (l, c) in self.centroids.chunks_exact(self.dim).enumerate() {
            probes.push((kernel.dot(query, c), l as u32));
        }
        if nprobe < lists {
            probes.select_nth_unstable_by(nprobe - 1, |a, b| b.0.total_cmp(&a.0));
            probes.truncate(nprobe);
        }
    }

    /// The rows of list `l` (`offsets[l]..offsets[l + 1]`), empty when out of range.
    #[inline]
    pub fn list_rows(&self, l: u32) -> std::ops::Range<usize> {
        match (self.offsets.get(l as usize), self.offsets.get(l as usize + 1)) {
            (Some(&s), Some(&e)) if s <= e => s as usize..e as usize,
            _ => 0..0,
        }
    }
}

thread_local! {
    static PROBES: RefCell<Vec<(f32, u32)>> = const { RefCell::new(Vec::new()) };
}

impl ProductIndex for IvfView<'_> {
    fn name(&self) -> &str {
        "ivf-flat-ip"
    }

    fn search(&self, query: &[f32], k: usize, accept: &dyn Fn(u32) -> bool, out: &mut TopK) {
        PROBES.with_borrow_mut(|probes| self.search_with(query, k, self.nprobe, accept, out, probes));
    }
}

/// The result of clustering: centroids and the list of each input row.
#[derive(Debug, Clone)]
pub struct Clustering {
    /// `lists * dim` unit-length centroids.
    pub centroids: Vec<f32>,
    /// List of each input row.
    pub assignment: Vec<u32>,
}

/// A sensible list count for `n` products: about the square root, so a probe and a list scan cost
/// about the same.
pub fn default_lists(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(1, 4096)
}

fn normalised(v: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let norm = dot(v, v).sqrt();
    let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    v.iter().map(move |x| x * inv)
}

/// Best centroid (by inner product) for each row of `unit` (parallel over the machine's cores).
fn assign(unit: &[f32], dim: usize, centroids: &[f32], assignment: &mut [u32]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = assignment.len();
    let chunk = rows.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (part, out) in unit.chunks(chunk * dim).zip(assignment.chunks_mut(chunk)) {
            s.spawn(move || {
                for (v, slot) in part.chunks_exact(dim).zip(out.iter_mut()) {
                    let mut best = (f32::NEG_INFINITY, 0u32);
                    for (l, c) in centroids.chunks_exact(dim).enumerate() {
                        let s = dot(v, c);
                        if s > best.0 {
                            best = (s, l as u32);
                        }
                    }
                    *slot = best.1;
                }
            });
        }
    });
}

/// Clusters for maximum inner-product search. Vectors whose norms differ (trained vectors: norm
/// carries popularity) are first lifted onto the unit sphere one dimension up, `x -> [x / M,
/// sqrt(1 - |x|^2 / M^2)]` with `M` the largest norm, so that `q . x = M [q, 0] . x'`: inner product
/// ranking becomes a direction ranking there, which is what spherical k-means clusters by. The
/// centroids returned keep their first `dim` coordinates only, because a query's lifted last
/// coordinate is 0: probing by `q . c[..dim]` is probing by `[q, 0] . c`.
pub fn cluster_mips(vectors: &[f32], dim: usize, lists: usize, iterations: usize, seed: u64) -> Clustering {
    cluster_mips_sampled(vectors, dim, lists, iterations, seed, usize::MAX)
}

/// As [`cluster_mips`], fitting the centroids on at most `max_fit_rows` rows spread evenly over
/// the input, then assigning every row once: k-means over a million customers into a thousand
/// lists would otherwise cost ten full passes of a billion inner products. With no more rows
/// than that, exactly [`cluster_mips`].
pub fn cluster_mips_sampled(
    vectors: &[f32],
    dim: usize,
    lists: usize,
    iterations: usize,
    seed: u64,
    max_fit_rows: usize,
) -> Clustering {
    // Centre first: q . (x - m) = q . x - q . m ranks products exactly as q . x does, and without
    // the component every product shares the directions that remain are what tells them apart.
    let rows = vectors.len() / dim.max(1);
    let mut mean = vec![0f64; dim];
    for v in vectors.chunks_exact(dim) {
        mean.iter_mut().zip(v).for_each(|(m, &x)| *m += x as f64);
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / rows.max(1) as f64) as f32).collect();
    let centred: Vec<f32> = vectors.chunks_exact(dim).flat_map(|v| v.iter().zip(&mean).map(|(x, m)| x - m)).collect();
    let vectors = &centred[..];
    let max_norm = vectors.chunks_exact(dim).map(|v| dot(v, v)).fold(0.0f32, f32::max).sqrt();
    let inv = if max_norm > 0.0 { 1.0 / max_norm } else { 0.0 };
    let mut lifted = Vec::with_capacity(vectors.len() / dim.max(1) * (dim + 1));
    for v in vectors.chunks_exact(dim) {
        let start = lifted.len();
        lifted.extend(v.iter().map(|x| x * inv));
        let sq: f32 = dot(&lifted[start..], &lifted[start..]);
        lifted.push((1.0 - sq).max(0.0).sqrt());
    }
    drop(centred);
    let c = if rows <= max_fit_rows.max(1) {
        cluster(&lifted, dim + 1, lists, iterations, seed)
    } else {
        let fit_rows = max_fit_rows.max(1);
        let fit: Vec<f32> = (0..fit_rows)
            .flat_map(|i| {
                let r = i * rows / fit_rows;
                lifted[r * (dim + 1)..(r + 1) * (dim + 1)].iter().copied()
            })
            .collect();
        let fitted = cluster(&fit, dim + 1, lists, iterations, seed);
        // Lifted rows are unit length already: assign them as they are.
        let mut assignment = vec![0u32; rows];
        assign(&lifted, dim + 1, &fitted.centroids, &mut assignment);
        Clustering { centroids: fitted.centroids, assignment }
    };
    let centroids = c.centroids.chunks_exact(dim + 1).flat_map(|c| c[..dim].iter().copied()).collect();
    Clustering { centroids, assignment: c.assignment }
}

/// Spherical k-means over the rows of `vectors` into `lists` clusters; deterministic for `seed`.
pub fn cluster(vectors: &[f32], dim: usize, lists: usize, iterations: usize, seed: u64) -> Clustering {
    let rows = vectors.len() / dim.max(1);
    let lists = lists.clamp(1, rows.max(1));
    let unit: Vec<f32> = vectors.chunks_exact(dim).flat_map(normalised).collect();
    let mut rng = SplitMix64::new(seed);
    // Initial centroids: distinct random rows (partial Fisher-Yates over row numbers).
    let mut order: Vec<u32> = (0..rows as u32).collect();
    for i in 0..lists.min(rows) {
        let j = i + rng.below(rows - i);
        order.swap(i, j);
    }
    let mut centroids = vec![0.0f32; lists * dim];
    for (l, &row) in order.iter().take(lists).enumerate() {
        let r = row as usize;
        centroids[l * dim..(l + 1) * dim].copy_from_slice(&unit[r * dim..(r + 1) * dim]);
    }
    let mut assignment = vec![0u32; rows];
    for _ in 0..iterations {
        assign(&unit, dim, &centroids, &mut assignment);
        let mut sums = vec![0.0f32; lists * dim];
        let mut sizes = vec![0usize; lists];
        for (v, &l) in unit.chunks_exact(dim).zip(&assignment) {
            sizes[l as usize] += 1;
            for (s, x) in sums[l as usize * dim..(l as usize + 1) * dim].iter_mut().zip(v) {
                *s += x;
            }
        }
        for l in 0..lists {
            let c = &mut centroids[l * dim..(l + 1) * dim];
            if sizes[l] == 0 {
                // An empty list takes a random row, so no list stays dead.
                let r = rng.below(rows.max(1));
                c.copy_from_slice(&unit[r * dim..(r + 1) * dim]);
            } else {
                let n: Vec<f32> = normalised(&sums[l * dim..(l + 1) * dim]).collect();
                c.copy_from_slice(&n);
            }
        }
    }
    assign(&unit, dim, &centroids, &mut assignment);
    Clustering { centroids, assignment }
}

/// Rows grouped by list: `(order, offsets)` where `order[new_row] = old_row` and list `l` owns
/// new rows `offsets[l]..offsets[l + 1]`. Stable within a list.
pub fn order_by_list(assignment: &[u32], lists: usize) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; lists + 1];
    for &l in assignment {
        offsets[l as usize + 1] += 1;
    }
    for l in 0..lists {
        offsets[l + 1] += offsets[l];
    }
    let mut next = offsets.clone();
    let mut order = vec![0u32; assignment.len()];
    for (old, &l) in assignment.iter().enumerate() {
        order[next[l as usize] as usize] = old as u32;
        next[l as usize] += 1;
    }
    (order, offsets)
}

/// The smallest `nprobe` whose mean recall@`k` over `queries` reaches `target`, with that recall.
pub fn tune_nprobe(view: &IvfView<'_>, queries: &[f32], k: usize, target: f64) -> (usize, f64) {
    let exact = ExactIndex { vectors: view.vectors, dim: view.dim };
    let truths: Vec<Vec<(f32, u32)>> = queries
        .chunks_exact(view.dim)
        .map(|q| {
            let mut t = TopK::new(k);
            exact.search(q, k, &|_| true, &mut t);
            t.as_slice().to_vec()
        })
        .collect();
    let lists = view.lists();
    let mut found = TopK::new(k);
    let mut probes = Vec::new();
    let mut nprobe = 1;
    loop {
        let mut total = 0.0;
        for (q, truth) in queries.chunks_exact(view.dim).zip(&truths) {
            view.search_with(q, k, nprobe, |_| true, &mut found, &mut probes);
            total += recall(found.as_slice(), truth);
        }
        let mean = if truths.is_empty() { 1.0 } else { total / truths.len() as f64 };
        if mean >= target || nprobe >= lists {
            return (nprobe, mean);
        }
        nprobe = (nprobe + nprobe.div_ceil(4)).min(lists);
    }
}

/// Rows scored by every query before the next block (256 KiB of 64-wide vectors).
const EXACT_BLOCK_ROWS: usize = 1024;

/// The exact top `k` of every query in `queries` (a `TopKHeap` each), on all cores: the ground
/// truth of the long-answer tuning below.
fn exact_truths(vectors: &[f32], dim: usize, queries: &[f32], k: usize) -> Vec<Vec<(f32, u32)>> {
    let n = queries.len() / dim.max(1);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n.max(1));
    let per = n.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = queries
            .chunks(per * dim)
            .map(|part| {
                s.spawn(move || {
                    let kernel = Kernel::detect();
                    let mut heaps: Vec<TopKHeap> = part
                        .chunks_exact(dim)
                        .map(|_| {
                            let mut h = TopKHeap::default();
                            h.reset(k);
                            h
                        })
                        .collect();
                    // Blocks of rows that stay in cache while every query of the part scores
                    // them: one pass over the vectors, not one per query.
                    for (b, block) in vectors.chunks(EXACT_BLOCK_ROWS * dim).enumerate() {
                        for (q, heap) in part.chunks_exact(dim).zip(heaps.iter_mut()) {
                            for (i, v) in block.chunks_exact(dim).enumerate() {
                                let score = kernel.dot(q, v);
                                if heap.admits(score) {
                                    heap.push(score, (b * EXACT_BLOCK_ROWS + i) as u32);
                                }
                            }
                        }
                    }
                    heaps.iter_mut().map(|h| h.finish().to_vec()).collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().expect("recall thread")).collect()
    })
}

/// Mean recall@`k` of `view` probing `nprobe` lists, against `truths`.
fn mean_recall(
    view: &IvfView<'_>,
    queries: &[f32],
    truths: &[Vec<(f32, u32)>],
    k: usize,
    nprobe: usize,
    heap: &mut TopKHeap,
    probes: &mut Vec<(f32, u32)>,
) -> f64 {
    let kernel = Kernel::detect();
    let mut total = 0.0;
    for (q, truth) in queries.chunks_exact(view.dim).zip(truths) {
        heap.reset(k);
        view.probe(q, nprobe, probes);
        for &(_, l) in probes.iter() {
            let rows = view.list_rows(l);
            let Some(block) = view.vectors.get(rows.start * view.dim..rows.end * view.dim) else { continue };
            for (i, v) in block.chunks_exact(view.dim).enumerate() {
                let score = kernel.dot(q, v);
                if heap.admits(score) {
                    heap.push(score, (rows.start + i) as u32);
                }
            }
        }
        total += recall(heap.finish(), truth);
    }
    if truths.is_empty() { 1.0 } else { total / truths.len() as f64 }
}

/// As [`tune_nprobe`] for long answers (`k` in the hundreds or thousands, the audience of a
/// product), starting from `from` lists: the smallest `nprobe` whose mean recall@`k` reaches
/// `target`, with that recall. Exact answers are computed on all cores (a store-1m customer
/// index: a million rows per query).
pub fn tune_nprobe_wide(view: &IvfView<'_>, queries: &[f32], k: usize, target: f64, from: usize) -> (usize, f64) {
    let truths = exact_truths(view.vectors, view.dim, queries, k);
    let lists = view.lists().max(1);
    let (mut heap, mut probes) = (TopKHeap::default(), Vec::new());
    let mut nprobe = from.clamp(1, lists);
    loop {
        let mean = mean_recall(view, queries, &truths, k, nprobe, &mut heap, &mut probes);
        if mean >= target || nprobe >= lists {
            return (nprobe, mean);
        }
        nprobe = (nprobe + nprobe.div_ceil(4)).min(lists);
    }
}

/// Mean recall@`k` of `view` at `nprobe` over `queries`, against exact search (benches, tests).
pub fn measure_recall(view: &IvfView<'_>, queries: &[f32], k: usize, nprobe: usize) -> f64 {
    let truths = exact_truths(view.vectors, view.dim, queries, k);
    mean_recall(view, queries, &truths, k, nprobe, &mut TopKHeap::default(), &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_vectors(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..rows * dim).map(|_| rng.normal() as f32).collect()
    }

    #[test]
    fn order_by_list_groups_rows_and_offsets_cover_all() {
        let (order, offsets) = order_by_list(&[2, 0, 2, 1, 0], 3);
        assert_eq!(order, vec![1, 4, 3, 0, 2]);
        assert_eq!(offsets, vec![0, 2, 3, 5]);
    }

    #[test]
    fn full_probe_is_exact_and_tuning_reaches_target() {
        let dim = 16;
        let raw = random_vectors(2000, dim, 1);
        let c = cluster(&raw, dim, 40, 8, 7);
        let (order, offsets) = order_by_list(&c.assignment, 40);
        let vectors: Vec<f32> =
            order.iter().flat_map(|&o| raw[o as usize * dim..(o as usize + 1) * dim].to_vec()).collect();
        let view = IvfView { vectors: &vectors, dim, centroids: &c.centroids, offsets: &offsets, nprobe: 40 };
        let queries = random_vectors(50, dim, 2);
        let exact = ExactIndex { vectors: &vectors, dim };
        let (mut a, mut b) = (TopK::new(10), TopK::new(10));
        for q in queries.chunks_exact(dim) {
            view.search(q, 10, &|r| r % 3 != 0, &mut a);
            exact.search(q, 10, &|r| r % 3 != 0, &mut b);
            assert_eq!(a.as_slice(), b.as_slice());
        }
        let (nprobe, got) = tune_nprobe(&view, &queries, 10, 0.95);
        assert!(got >= 0.95 && nprobe <= 40, "nprobe {nprobe} recall {got}");
    }

    #[test]
    fn wide_tuning_reaches_its_target_and_full_probe_is_exact() {
        let dim = 16;
        let raw = random_vectors(3000, dim, 4);
        let c = cluster_mips(&raw, dim, 50, 8, 7);
        let (order, offsets) = order_by_list(&c.assignment, 50);
        let vectors: Vec<f32> =
            order.iter().flat_map(|&o| raw[o as usize * dim..(o as usize + 1) * dim].to_vec()).collect();
        let view = IvfView { vectors: &vectors, dim, centroids: &c.centroids, offsets: &offsets, nprobe: 1 };
        let queries = random_vectors(20, dim, 5);
        assert_eq!(measure_recall(&view, &queries, 200, 50), 1.0, "probing every list is exact");
        let (nprobe, got) = tune_nprobe_wide(&view, &queries, 200, 0.95, 2);
        assert!(got >= 0.95 && nprobe < 50, "nprobe {nprobe} recall {got}");
        assert!(measure_recall(&view, &queries, 200, nprobe) >= 0.95);
        let (_, lower) = tune_nprobe_wide(&view, &queries, 200, 0.0, 1);
        assert!(lower < got, "one list finds less than {nprobe}");
    }

    #[test]
    fn clustering_is_deterministic() {
        let raw = random_vectors(500, 8, 3);
        assert_eq!(cluster(&raw, 8, 10, 5, 9).assignment, cluster(&raw, 8, 10, 5, 9).assignment);
    }
}
