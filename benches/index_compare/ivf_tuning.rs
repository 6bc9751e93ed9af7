//! The IVF side: building lists at a given size and widening `nprobe` for filtered searches.

use super::*;

pub(super) struct BuiltIvf {
    pub(super) lists: usize,
    /// Product vectors in list order.
    pub(super) vectors: Vec<f32>,
    pub(super) centroids: Vec<f32>,
    pub(super) offsets: Vec<u32>,
    /// `order[ivf_row] = original row`.
    pub(super) order: Vec<u32>,
    pub(super) nprobe: usize,
    pub(super) tuned_recall: f64,
    pub(super) build_s: f64,
}

impl BuiltIvf {
    pub(super) fn build(raw: &[f32], dim: usize, lists: usize, seed: u64, tune_queries: &[f32]) -> Self {
        let started = Instant::now();
        let clustering = ivf::cluster_mips(raw, dim, lists, KMEANS_ITERATIONS, seed);
        let lists = clustering.centroids.len() / dim;
        let (order, offsets) = ivf::order_by_list(&clustering.assignment, lists);
        let vectors: Vec<f32> =
            order.iter().flat_map(|&o| &raw[o as usize * dim..(o as usize + 1) * dim]).copied().collect();
        let view = IvfView { vectors: &vectors, dim, centroids: &clustering.centroids, offsets: &offsets, nprobe: 1 };
        let (nprobe, tuned_recall) = ivf::tune_nprobe(&view, tune_queries, K, TARGET_RECALL);
        let build_s = started.elapsed().as_secs_f64();
        Self { lists, vectors, centroids: clustering.centroids, offsets, order, nprobe, tuned_recall, build_s }
    }

    pub(super) fn view(&self, dim: usize) -> IvfView<'_> {
        IvfView { vectors: &self.vectors, dim, centroids: &self.centroids, offsets: &self.offsets, nprobe: self.nprobe }
    }

    pub(super) fn extra_bytes(&self) -> usize {
        (self.centroids.len() + self.offsets.len()) * 4
    }

    /// A filter over original rows, re-indexed to list order.
    pub(super) fn reorder(&self, accept: &[bool]) -> Vec<bool> {
        self.order.iter().map(|&o| accept[o as usize]).collect()
    }
}

/// The engine's widening: `ceil(nprobe / kept)`, kept floored at 1%, never below `nprobe`.
pub(super) fn widened(nprobe: usize, kept: usize, n: usize) -> usize {
    let share = (kept as f64 / n.max(1) as f64).max(0.01);
    ((nprobe as f64 / share).ceil() as usize).max(nprobe)
}
