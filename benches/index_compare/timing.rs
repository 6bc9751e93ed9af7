//! Timing and recall: per-query latency over passes, percentiles and medians, exact ground truths.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) struct Measured {
    pub(super) recall: f64,
    pub(super) median_us: f64,
    pub(super) p99_us: f64,
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

/// Times `search` on every query (one at a time, this thread); recall against `truths` from the
/// first pass, after mapping result rows through `to_truth_row`.
pub(super) fn measure(
    queries: &[f32],
    dim: usize,
    truths: &[Vec<(f32, u32)>],
    to_truth_row: &dyn Fn(u32) -> u32,
    mut search: impl FnMut(&[f32], &mut TopK),
) -> Measured {
    let mut out = TopK::new(K);
    for q in queries.chunks_exact(dim).take(100) {
        search(q, &mut out);
    }
    let n = queries.len() / dim;
    let (mut medians, mut p99s) = (Vec::new(), Vec::new());
    let mut recall_sum = 0.0;
    let mut took_us = Vec::with_capacity(n);
    let mut mapped = Vec::with_capacity(K);
    for pass in 0..PASSES {
        took_us.clear();
        let started = Instant::now();
        for (i, q) in queries.chunks_exact(dim).enumerate() {
            let t = Instant::now();
            search(q, &mut out);
            took_us.push(t.elapsed().as_nanos() as f64 / 1000.0);
            if pass == 0 {
                mapped.clear();
                mapped.extend(out.as_slice().iter().map(|&(s, r)| (s, to_truth_row(r))));
                recall_sum += recall(&mapped, &truths[i]);
            }
        }
        took_us.sort_by(f64::total_cmp);
        medians.push(percentile(&took_us, 0.5));
        p99s.push(percentile(&took_us, 0.99));
        if started.elapsed().as_secs_f64() > SLOW_PASS_S {
            break;
        }
    }
    Measured { recall: recall_sum / n.max(1) as f64, median_us: median(medians), p99_us: median(p99s) }
}

pub(super) fn exact_truths(
    vectors: &[f32],
    dim: usize,
    queries: &[f32],
    accept: &dyn Fn(u32) -> bool,
) -> Vec<Vec<(f32, u32)>> {
    let exact = ExactIndex { vectors, dim };
    let mut out = TopK::new(K);
    queries
        .chunks_exact(dim)
        .map(|q| {
            exact.search(q, K, accept, &mut out);
            out.as_slice().to_vec()
        })
        .collect()
}

pub(super) fn mb(bytes: f64) -> String {
    format!("{:.1}", bytes / 1e6)
}

/// One line of the final summary: the cheapest setting of an index that clears the recall bar.
pub(super) struct Candidate {
    pub(super) index: String,
    pub(super) setting: String,
    pub(super) measured: Measured,
    pub(super) build_s: f64,
    pub(super) extra_mb: String,
    pub(super) in_artifact: &'static str,
}

pub(super) fn offer(best: &mut Option<Candidate>, c: Candidate) {
    if c.measured.recall >= RECALL_BAR && best.as_ref().is_none_or(|b| c.measured.median_us < b.measured.median_us) {
        *best = Some(c);
    }
}
