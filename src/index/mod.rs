//! Nearest-neighbour search over product vectors by inner product (maximum inner-product search).
//!
//! Scores are raw inner products, never cosines: trained vector norms carry popularity. Two
//! strategies live here behind one small trait: an exact scan (`exact`), used for small filtered
//! subsets and as the ground truth for recall, and an inverted-file index (`ivf`) whose lists are
//! stored in the model artifact and searched in place. `hnsw` (feature `hnsw`) adapts hnsw_rs for
//! the comparison bench. This layer knows nothing of customers, aisles or rules: a filter is a
//! predicate over product rows. It never allocates per query beyond the caller's `TopK`.
//!
//! The same IVF layout indexes customers (the audience of a product is a maximum inner-product
//! search over customer vectors with the product's vector as the query); audiences are long
//! (hundreds to thousands of rows), so they collect into [`TopKHeap`] instead of [`TopK`].

pub mod exact;
#[cfg(feature = "hnsw")]
pub mod hnsw;
pub mod ivf;

/// A product index: the `k` rows with the highest inner product with `query` among rows the
/// filter accepts.
pub trait ProductIndex {
    /// Short name for reports (`exact`, `ivf-flat-ip`, `hnsw_rs`).
    fn name(&self) -> &str;
    /// Fills `out` (reset to `k`) with the best accepted rows, best first.
    fn search(&self, query: &[f32], k: usize, accept: &dyn Fn(u32) -> bool, out: &mut TopK);
}

/// Inner product. On x86-64 CPUs with AVX2 and FMA it runs an 8-lane fused multiply-add kernel;
/// elsewhere the portable one below. Loops that score many vectors take a [`Kernel`] once
/// instead, so each product costs one call and no feature check.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    Kernel::detect().dot(a, b)
}

/// The inner-product kernel this CPU runs best, picked once per scan (the feature check is a
/// cached load, but a check and a second call per product vector showed up in profiles).
#[derive(Clone, Copy)]
pub struct Kernel(unsafe fn(&[f32], &[f32]) -> f32);

impl Kernel {
    /// AVX2 + FMA when the CPU has both (checked at run time, cached by std), else portable.
    #[inline]
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernel(dot_avx2);
        }
        Kernel(dot_portable)
    }

    /// Inner product of `a` and `b` (over the shorter length).
    #[inline(always)]
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `detect` is the only constructor; it picks `dot_avx2` only when the CPU has
        // the features that kernel is compiled for.
        unsafe { (self.0)(a, b) }
    }
}

/// Portable inner product, written so the compiler vectorises it (eight independent
/// accumulators; SSE2 on the baseline x86-64 target).
#[inline]
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (a8, a_tail) = a.as_chunks::<8>();
    let (b8, b_tail) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (x, y) in a8.iter().zip(b8) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// AVX2 + FMA inner product: two 8-lane accumulators, 16 floats per step.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (a16, a_rest) = a[..n].as_chunks::<16>();
    let (b16, b_rest) = b[..n].as_chunks::<16>();
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    for (x, y) in a16.iter().zip(b16) {
        // SAFETY: each chunk holds 16 floats, so both 8-float loads are in bounds.
        unsafe {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr()), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr().add(8)), _mm256_loadu_ps(y.as_ptr().add(8)), acc1);
        }
    }
    let acc = _mm256_add_ps(acc0, acc1);
    let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    let mut sum = _mm_cvtss_f32(s);
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}

/// The `k` best (score, row) pairs seen so far, best first. Reused across queries.
#[derive(Debug, Clone, Default)]
pub struct TopK {
    k: usize,
    items: Vec<(f32, u32)>,
}

impl TopK {
    /// An empty collector for `k` results.
    pub fn new(k: usize) -> Self {
        Self { k, items: Vec::with_capacity(k + 1) }
    }

    /// Empties the collector and sets a new `k`, keeping the allocation.
    pub fn reset(&mut self, k: usize) {
        self.k = k;
        self.items.clear();
        self.items.reserve(k + 1);
    }

    /// Scores at or below this cannot enter.
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.items.len() < self.k { f32::NEG_INFINITY } else { self.items[self.k - 1].0 }
    }

    /// Offers a candidate. Ties keep the lower row first, so results are deterministic.
    #[inline]
    pub fn push(&mut self, score: f32, row: u32) {
        if self.k == 0 || score <= self.threshold() || score.is_nan() {
            return;
        }
        let at = self.items.partition_point(|&(s, r)| s > score || (s == score && r < row));
        self.items.insert(at, (score, row));
        self.items.truncate(self.k);
    }

    /// The results, best first.
    pub fn as_slice(&self) -> &[(f32, u32)] {
        &self.items
    }

    /// Renames every result's row through `f` (a search over a reordered copy of the vectors
    /// gives positions in that copy), then restores the order `push` keeps (ties: lower row).
    pub fn map_rows(&mut self, f: impl Fn(u32) -> u32) {
        self.items.iter_mut().for_each(|item| item.1 = f(item.1));
        self.items.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }

    /// Number of results held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was accepted.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many results were asked for.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// A candidate in [`TopKHeap`], ordered so the *worst* is the greatest (the heap's root): a lower
/// score is worse, and between equal scores the higher row is worse.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Worst(f32, u32);

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The `k` best (score, row) pairs for a large `k` (audiences): a binary heap whose root is the
/// worst kept, so an accepted candidate costs O(log k) where [`TopK`]'s sorted insert costs O(k).
/// [`finish`](Self::finish) sorts the result best first. Same ties as `TopK`: equal scores keep
/// the lower row. Reused across queries; allocates only to grow.
#[derive(Debug, Clone, Default)]
pub struct TopKHeap {
    k: usize,
    heap: std::collections::BinaryHeap<Worst>,
    sorted: Vec<(f32, u32)>,
}

impl TopKHeap {
    /// Empties the collector and sets a new `k`, keeping the allocations.
    pub fn reset(&mut self, k: usize) {
        self.k = k;
        self.heap.clear();
        self.sorted.clear();
        self.heap.reserve(k);
        self.sorted.reserve(k);
    }

    /// True when a candidate scoring `score` could still enter (cheap: check before the work of
    /// admitting a candidate).
    #[inline]
    pub fn admits(&self, score: f32) -> bool {
        self.k > 0 && (self.heap.len() < self.k || self.heap.peek().is_some_and(|w| score >= w.0))
    }

    /// Offers a candidate; NaN is never kept.
    #[inline]
    pub fn push(&mut self, score: f32, row: u32) {
        if self.k == 0 || score.is_nan() {
            return;
        }
        let c = Worst(score, row);
        if self.heap.len() < self.k {
            self.heap.push(c);
        } else if let Some(mut root) = self.heap.peek_mut()
            && c < *root
        {
            *root = c;
        }
    }

    /// Number of results held.
    pub fn len(&self) -> usize {
        self.heap.len().max(self.sorted.len())
    }

    /// True when nothing was accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sorts what was kept, best first, and returns it (call once after the last `push`).
    pub fn finish(&mut self) -> &[(f32, u32)] {
        if !self.heap.is_empty() {
            self.sorted.clear();
            self.sorted.extend(self.heap.drain().map(|w| (w.0, w.1)));
            self.sorted.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        &self.sorted
    }

    /// The sorted results of the last [`finish`](Self::finish).
    pub fn as_slice(&self) -> &[(f32, u32)] {
        &self.sorted
    }
}

/// recall@k of `found` against the exact answer `truth` (fraction of `truth` rows found).
pub fn recall(found: &[(f32, u32)], truth: &[(f32, u32)]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hits = truth.iter().filter(|(_, r)| found.iter().any(|(_, f)| f == r)).count();
    hits as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_for_all_lengths() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-3, "n={n}");
            assert!((dot_portable(&a, &b) - naive).abs() < 1e-3, "n={n}");
        }
    }

    #[test]
    fn topk_keeps_best_in_order_and_breaks_ties_by_row() {
        let mut t = TopK::new(3);
        for (s, r) in [(0.5, 1), (0.9, 2), (0.1, 3), (0.9, 0), (0.7, 4), (f32::NAN, 5)] {
            t.push(s, r);
        }
        assert_eq!(t.as_slice(), &[(0.9, 0), (0.9, 2), (0.7, 4)]);
        t.reset(1);
        assert!(t.is_empty());
        t.push(-1.0, 9);
        assert_eq!(t.as_slice(), &[(-1.0, 9)]);
    }

    #[test]
    fn topk_zero_k_accepts_nothing() {
        let mut t = TopK::new(0);
        t.push(1.0, 1);
        assert!(t.is_empty());
    }

    #[test]
    fn heap_keeps_what_topk_keeps() {
        let mut rng = crate::rng::SplitMix64::new(3);
        let mut heap = TopKHeap::default();
        for k in [0, 1, 7, 100] {
            let mut sorted = TopK::new(k);
            heap.reset(k);
            for row in 0..1_000u32 {
                // Few distinct scores, so ties are common.
                let score = (rng.below(50) as f32 - 25.0) / 4.0;
                sorted.push(score, row);
                if heap.admits(score) {
                    heap.push(score, row);
                }
            }
            heap.push(f32::NAN, 5);
            assert_eq!(heap.finish(), sorted.as_slice(), "k={k}");
            assert_eq!(heap.as_slice().len(), k);
        }
    }

    #[test]
    fn recall_counts_overlap() {
        let truth = [(1.0, 1), (0.9, 2), (0.8, 3), (0.7, 4)];
        let found = [(1.0, 1), (0.9, 2), (0.5, 9), (0.4, 4)];
        assert_eq!(recall(&found, &truth), 0.75);
    }
}
