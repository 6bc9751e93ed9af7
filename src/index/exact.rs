//! Exact search: score every candidate. The ground truth for recall, and the right plan for
//! small filtered subsets (one aisle, one zone) where a scan beats any graph or list probing.

use super::{Kernel, ProductIndex, TopK};

/// Scores `rows` (all of them, in the order given) against `query` into `out`.
#[inline]
pub fn scan_rows(
    vectors: &[f32],
    dim: usize,
    rows: impl Iterator<Item = u32>,
    query: &[f32],
    accept: impl Fn(u32) -> bool,
    out: &mut TopK,
) {
    let kernel = Kernel::detect();
    for row in rows {
        if !accept(row) {
            continue;
        }
        let start = row as usize * dim;
        if let Some(v) = vectors.get(start..start + dim) {
            out.push(kernel.dot(query, v), row);
        }
    }
}

/// A brute-force index over a row-major matrix.
#[derive(Debug, Clone, Copy)]
pub struct ExactIndex<'a> {
    /// `rows * dim` values.
    pub vectors: &'a [f32],
    /// Vector width.
    pub dim: usize,
}

impl ExactIndex<'_> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.vectors.len().checked_div(self.dim).unwrap_or(0)
    }
}

impl ProductIndex for ExactIndex<'_> {
    fn name(&self) -> &str {
        "exact"
    }

    fn search(&self, query: &[f32], k: usize, accept: &dyn Fn(u32) -> bool, out: &mut TopK) {
        out.reset(k);
        let kernel = Kernel::detect();
        for (row, v) in self.vectors.chunks_exact(self.dim.max(1)).enumerate() {
            if accept(row as u32) {
                out.push(kernel.dot(query, v), row as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_highest_inner_product_not_nearest_direction() {
        // Row 1 points the same way as the query but is short; row 2 is longer and wins on
        // inner product, which is what a recommender ranking by popularity-carrying norms wants.
        let vectors = [0.0, 1.0, 1.0, 0.0, 3.0, 1.0];
        let index = ExactIndex { vectors: &vectors, dim: 2 };
        let mut out = TopK::new(2);
        index.search(&[1.0, 0.0], 2, &|_| true, &mut out);
        assert_eq!(out.as_slice().iter().map(|&(_, r)| r).collect::<Vec<_>>(), vec![2, 1]);
        index.search(&[1.0, 0.0], 2, &|r| r != 2, &mut out);
        assert_eq!(out.as_slice()[0].1, 1);
    }
}
