//! Weighted alternating least squares for implicit feedback (Hu, Koren and Volinsky 2008), each
//! row solved by a few conjugate-gradient steps warm-started from its previous value (Takács,
//! Pilászy and Tikk 2011), rows in parallel with rayon.
//!
//! For a row u (a customer, or a product on the other half-step) with observed columns i, the
//! preference is 1 with confidence `1 + c_ui`, everything unobserved is 0 with confidence 1, and
//! the row solves
//!
//! ```text
//! (G + sum_i c_ui y_i y_i^T + (lambda + mu_u) I) x_u = sum_i (1 + c_ui) y_i + mu_u p_u
//! ```
//!
//! where `G = Y^T Y` is shared by all rows (computed once per half-step with ndarray), and `p_u`
//! is an optional prior the row is pulled toward with weight `mu_u` (customers: the mean vector of
//! their social signals). The matrix is never formed: CG only needs `A v`, which costs
//! `d^2 + 2 d n_u`.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::index::Kernel;

/// Row-major sparse rows: the observed columns of each row and their confidence `c_ui`.
#[derive(Debug, Clone, Default)]
pub struct Sparse {
    /// `rows + 1` offsets into `cols`.
    pub offsets: Vec<usize>,
    /// Column of each entry.
    pub cols: Vec<u32>,
    /// Confidence minus one (`c_ui`), per entry.
    pub conf: Vec<f32>,
}

impl Sparse {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Row `r`: (columns, confidences).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (s, e) = (self.offsets[r], self.offsets[r + 1]);
        (&self.cols[s..e], &self.conf[s..e])
    }

    /// The transpose, with `cols` columns (counting sort; rows of the result are sorted).
    pub fn transpose(&self, cols: usize) -> Sparse {
        let mut offsets = vec![0usize; cols + 1];
        for &c in &self.cols {
            offsets[c as usize + 1] += 1;
        }
        for i in 0..cols {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut t_cols = vec![0u32; self.cols.len()];
        let mut t_conf = vec![0f32; self.cols.len()];
        for r in 0..self.rows() {
            let (cs, vs) = self.row(r);
            for (&c, &v) in cs.iter().zip(vs) {
                let at = &mut next[c as usize];
                t_cols[*at] = r as u32;
                t_conf[*at] = v;
                *at += 1;
            }
        }
        Sparse { offsets, cols: t_cols, conf: t_conf }
    }
}

/// A prior for some rows: `mu[u] > 0` pulls row u toward `vectors[u]`.
pub struct Prior<'a> {
    /// `rows * dim` prior vectors.
    pub vectors: &'a [f32],
    /// Pull per row (0 = none).
    pub mu: &'a [f32],
}

/// `G = Y^T Y` for `n x dim` row-major `y`, in f32 (ndarray's matrix product).
pub fn gram(y: &[f32], dim: usize) -> Vec<f32> {
    let n = y.len() / dim.max(1);
    let view = ArrayView2::from_shape((n, dim), y).expect("y is n x dim");
    let g = view.t().dot(&view);
    g.iter().copied().collect()
}

/// Per-thread work vectors for CG.
struct Work {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

/// The vector kernels the solver runs, picked once per half-step: AVX2 + FMA when the CPU has
/// both, portable otherwise (the same choice as `index::Kernel`).
#[derive(Clone, Copy)]
struct Ops {
    dot: Kernel,
    /// `y += a * x` over the shorter length.
    axpy: unsafe fn(f32, &[f32], &mut [f32]),
}

impl Ops {
    fn detect() -> Ops {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Ops { dot: Kernel::detect(), axpy: axpy_avx2 };
        }
        Ops { dot: Kernel::detect(), axpy: axpy_portable }
    }

    #[inline(always)]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        // SAFETY: `detect` picks `axpy_avx2` only on CPUs with AVX2 and FMA.
        unsafe { (self.axpy)(a, x, y) }
    }
}

fn axpy_portable(a: f32, x: &[f32], y: &mut [f32]) {
    for (o, v) in y.iter_mut().zip(x) {
        *o += a * v;
    }
}

/// `y += a * x` with 8-lane fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_avx2(a: f32, x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = x.len().min(y.len());
    let (x8, x_rest) = x[..n].as_chunks::<8>();
    let (y8, y_rest) = y[..n].as_chunks_mut::<8>();
    let av = _mm256_set1_ps(a);
    for (xc, yc) in x8.iter().zip(y8.iter_mut()) {
        // SAFETY: each chunk holds 8 floats.
        unsafe {
            let r = _mm256_fmadd_ps(av, _mm256_loadu_ps(xc.as_ptr()), _mm256_loadu_ps(yc.as_ptr()));
            _mm256_storeu_ps(yc.as_mut_ptr(), r);
        }
    }
    for (o, v) in y_rest.iter_mut().zip(x_rest) {
        *o += a * v;
    }
}

/// Solves every row of `x` (`rows * dim`, updated in place from its current value) against the
/// fixed factors `y` (`cols * dim`).
pub fn solve_rows(
    x: &mut [f32],
    y: &[f32],
    dim: usize,
    rows: &Sparse,
    lambda: f32,
    cg_steps: usize,
    prior: Option<&Prior<'_>>,
) {
    let g = gram(y, dim);
    let ops = Ops::detect();
    x.par_chunks_mut(dim).enumerate().for_each_init(
        || Work { r: vec![0.0; dim], p: vec![0.0; dim], ap: vec![0.0; dim] },
        |w, (u, xu)| {
            let (cols, conf) = rows.row(u);
            let (mu, pu) = match prior {
                Some(p) if p.mu[u] > 0.0 => (p.mu[u], Some(&p.vectors[u * dim..(u + 1) * dim])),
                _ => (0.0, None),
            };
            let row = Row { y, dim, g: &g, cols, conf, reg: lambda + mu };
            solve_row(ops, &row, xu, pu.map(|p| (mu, p)), cg_steps, w);
        },
    );
}

/// One row's system: `A = G + sum_i c_i y_i y_i^T + reg I`.
struct Row<'a> {
    y: &'a [f32],
    dim: usize,
    g: &'a [f32],
    cols: &'a [u32],
    conf: &'a [f32],
    reg: f32,
}

impl Row<'_> {
    /// `out = A v`. `G v` as a sum of G's columns (G is symmetric), so every step is an axpy.
    #[inline]
    fn apply(&self, ops: Ops, out: &mut [f32], v: &[f32]) {
        let dim = self.dim;
        out.iter_mut().zip(v).for_each(|(o, x)| *o = self.reg * x);
        for (j, &vj) in v.iter().enumerate() {
            ops.axpy(vj, &self.g[j * dim..(j + 1) * dim], out);
        }
        for (&c, &w) in self.cols.iter().zip(self.conf) {
            let yi = &self.y[c as usize * dim..(c as usize + 1) * dim];
            ops.axpy(w * ops.dot.dot(yi, v), yi, out);
        }
    }
}

fn solve_row(ops: Ops, row: &Row<'_>, x: &mut [f32], prior: Option<(f32, &[f32])>, cg_steps: usize, w: &mut Work) {
    let dim = row.dim;
    // r = b - A x, with b = sum_i (1 + c_i) y_i + mu p.
    row.apply(ops, &mut w.ap, x);
    w.r.iter_mut().zip(&w.ap).for_each(|(r, ax)| *r = -ax);
    for (&c, &cv) in row.cols.iter().zip(row.conf) {
        ops.axpy(1.0 + cv, &row.y[c as usize * dim..(c as usize + 1) * dim], &mut w.r);
    }
    if let Some((mu, p)) = prior {
        ops.axpy(mu, p, &mut w.r);
    }
    w.p.copy_from_slice(&w.r);
    let mut rs = ops.dot.dot(&w.r, &w.r);
    for _ in 0..cg_steps {
        if rs < 1e-12 {
            break;
        }
        row.apply(ops, &mut w.ap, &w.p);
        let pap = ops.dot.dot(&w.p, &w.ap);
        if pap <= 0.0 || !pap.is_finite() {
            break;
        }
        let alpha = rs / pap;
        ops.axpy(alpha, &w.p, x);
        ops.axpy(-alpha, &w.ap, &mut w.r);
        let rs_new = ops.dot.dot(&w.r, &w.r);
        let beta = rs_new / rs;
        // p = r + beta p
        for (pv, rv) in w.p.iter_mut().zip(&w.r) {
            *pv = rv + beta * *pv;
        }
        rs = rs_new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Solves `a x = b` (small, dense, row-major) by Gaussian elimination with partial pivoting.
    fn dense_solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for col in 0..n {
            let pivot = (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs())).unwrap();
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
            for row in col + 1..n {
                let f = a[row * n + col] / a[col * n + col];
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
        let mut x = vec![0.0; n];
        for row in (0..n).rev() {
            let s: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
            x[row] = (b[row] - s) / a[row * n + row];
        }
        x
    }

    #[test]
    fn cg_reaches_the_closed_form_solution_of_one_row() {
        // 6 items in 3 dimensions; the user bought items 1 and 4 (confidences 4 and 9).
        let dim = 3;
        let y: Vec<f32> =
            vec![0.9, 0.1, 0.0, 0.2, 0.8, 0.1, 0.0, 0.3, 0.7, 0.5, 0.5, 0.0, 0.1, 0.9, 0.4, 0.3, 0.0, 0.6];
        let (cols, conf) = (vec![1u32, 4], vec![4.0f32, 9.0]);
        let (lambda, mu, prior) = (0.1f32, 0.5f32, [0.2f32, -0.1, 0.3]);

        // The known answer: (Y^T C Y + (lambda + mu) I) x = Y^T C p + mu prior, formed densely.
        let mut a = vec![0f64; dim * dim];
        let mut b = vec![0f64; dim];
        for i in 0..6 {
            let c = cols.iter().position(|&k| k as usize == i).map_or(1.0, |j| 1.0 + conf[j] as f64);
            let p = if cols.contains(&(i as u32)) { 1.0 } else { 0.0 };
            for r in 0..dim {
                b[r] += c * p * y[i * dim + r] as f64;
                for s in 0..dim {
                    a[r * dim + s] += c * (y[i * dim + r] * y[i * dim + s]) as f64;
                }
            }
        }
        for r in 0..dim {
            a[r * dim + r] += (lambda + mu) as f64;
            b[r] += (mu * prior[r]) as f64;
        }
        let exact = dense_solve(a, b);

        let rows = Sparse { offsets: vec![0, 2], cols, conf };
        let mut x = vec![0.0f32; dim];
        // CG on an n x n system converges in at most n steps.
        let p = Prior { vectors: &prior, mu: &[mu] };
        solve_rows(&mut x, &y, dim, &rows, lambda, dim, Some(&p));
        for (got, want) in x.iter().zip(&exact) {
            assert!((*got as f64 - want).abs() < 1e-4, "{x:?} vs {exact:?}");
        }
        // Warm start: more steps from the solution stay at the solution.
        solve_rows(&mut x, &y, dim, &rows, lambda, 3, Some(&p));
        for (got, want) in x.iter().zip(&exact) {
            assert!((*got as f64 - want).abs() < 1e-4);
        }
    }

    #[test]
    fn alternating_fits_a_block_structure() {
        // Two groups of users each buying all but one of their own group's items: after ALS,
        // every user scores each item of their own group, the one not bought included, above
        // every item of the other group.
        let (users, items, dim) = (40usize, 20usize, 4usize);
        let mut offsets = vec![0];
        let (mut cols, mut conf) = (Vec::new(), Vec::new());
        for u in 0..users {
            let group = u % 2;
            let skipped = 2 * (u / 2 % (items / 2)) + group;
            for i in (0..items).filter(|&i| i % 2 == group && i != skipped) {
                cols.push(i as u32);
                conf.push(5.0);
            }
            offsets.push(cols.len());
        }
        let by_user = Sparse { offsets, cols, conf };
        let by_item = by_user.transpose(items);
        let mut rng = crate::rng::SplitMix64::new(1);
        let mut x: Vec<f32> = (0..users * dim).map(|_| rng.next_f64() as f32 * 0.1).collect();
        let mut y: Vec<f32> = (0..items * dim).map(|_| rng.next_f64() as f32 * 0.1).collect();
        for _ in 0..10 {
            solve_rows(&mut x, &y, dim, &by_user, 0.1, 3, None);
            solve_rows(&mut y, &x, dim, &by_item, 0.1, 3, None);
        }
        for u in 0..users {
            let xu = &x[u * dim..(u + 1) * dim];
            let score = |i: usize| crate::index::dot(xu, &y[i * dim..(i + 1) * dim]);
            let own = (0..items).filter(|i| i % 2 == u % 2).map(score).fold(f32::INFINITY, f32::min);
            let other = (0..items).filter(|i| i % 2 != u % 2).map(score).fold(f32::NEG_INFINITY, f32::max);
            assert!(own > other, "user {u}: worst own item {own} <= best other item {other}");
        }
    }
}
