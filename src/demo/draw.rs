//! Random draws for the generator: independent streams keyed by (seed, purpose, index), so the
//! store does not depend on which thread draws what, and the distributions it uses.

use super::*;

// ---------------------------------------------------------------------------------------------
// Random helpers.
// ---------------------------------------------------------------------------------------------

/// An independent stream for (purpose, index): the same whatever order or thread draws it.
pub(super) fn stream(seed: u64, salt: u64, index: u64) -> SplitMix64 {
    // SplitMix64's first output is a bijective mix of its seed, so distinct indexes give
    // unrelated starting states rather than shifted copies of one stream.
    let base = SplitMix64::new(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64();
    SplitMix64::new(SplitMix64::new(base ^ index).next_u64())
}

/// A vector of `dim` standard normals scaled so its expected norm is `norm`.
pub(super) fn gaussian(rng: &mut SplitMix64, dim: usize, norm: f64) -> Vec<f64> {
    let sigma = norm / (dim.max(1) as f64).sqrt();
    (0..dim).map(|_| rng.normal() * sigma).collect()
}

pub(super) fn normalize(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Index drawn from a cumulative weight table in O(log n); the table must be non-empty.
pub(super) fn pick(cum: &[f64], rng: &mut SplitMix64) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.next_f64() * total;
    cum.partition_point(|&c| c <= x).min(cum.len().saturating_sub(1))
}

pub(super) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Poisson(lambda) by Knuth's product method (lambda is small here).
pub(super) fn poisson(rng: &mut SplitMix64, lambda: f64) -> usize {
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.next_f64();
    while p > limit && k < 64 {
        k += 1;
        p *= rng.next_f64();
    }
    k
}

/// Weight in (0, 1] rounded to hundredths, so CSV round trips are exact.
pub(super) fn weight_between(rng: &mut SplitMix64, lo: f64, hi: f64) -> f32 {
    let w = lo + (hi - lo) * rng.next_f64();
    ((w * 100.0).round().clamp(1.0, 100.0) / 100.0) as f32
}
