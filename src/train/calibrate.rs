//! Calibration: a monotone map from a source's score (an "also bought" similarity, an embedding
//! inner product) to the probability that the product is in the customer's next basket, fitted
//! on held-out baskets by isotonic regression (pool adjacent violators) and kept as a small table
//! of knots. The engine interpolates between knots (`engine::calibrated`), so scores of different
//! sources become comparable and can be merged.

/// Knots of a calibration: (score, probability), scores increasing, probabilities non-decreasing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibration {
    /// The knots.
    pub knots: Vec<(f32, f32)>,
    /// Samples it was fitted on.
    pub samples: usize,
    /// Positives among them.
    pub positives: usize,
}

/// Fits a calibration on (score, in the basket) samples, with at most `max_knots` knots.
pub fn fit(samples: &mut [(f32, bool)], max_knots: usize) -> Calibration {
    samples.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Pool adjacent violators over blocks (sum of labels, count, sum of scores).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for &(score, label) in samples.iter().filter(|s| s.0.is_finite()) {
        blocks.push((f64::from(u8::from(label)), 1.0, score as f64));
        while blocks.len() > 1 {
            let (y2, n2, s2) = blocks[blocks.len() - 1];
            let (y1, n1, s1) = blocks[blocks.len() - 2];
            if y1 / n1 < y2 / n2 {
                break;
            }
            blocks.pop();
            *blocks.last_mut().expect("two blocks") = (y1 + y2, n1 + n2, s1 + s2);
        }
    }
    // At most `max_knots`: merge neighbouring blocks into groups of about equal size (means of
    // merged monotone blocks stay monotone).
    let total: f64 = blocks.iter().map(|b| b.1).sum();
    let per = (total / max_knots.max(1) as f64).max(1.0);
    let mut knots: Vec<(f32, f32)> = Vec::new();
    let mut acc = (0.0, 0.0, 0.0);
    for (i, b) in blocks.iter().enumerate() {
        acc = (acc.0 + b.0, acc.1 + b.1, acc.2 + b.2);
        if acc.1 >= per || i + 1 == blocks.len() {
            let knot = ((acc.2 / acc.1) as f32, (acc.0 / acc.1) as f32);
            match knots.last_mut() {
                // Equal mean scores (many ties): keep one knot, the pooled one.
                Some(last) if last.0 >= knot.0 => last.1 = last.1.max(knot.1),
                _ => knots.push(knot),
            }
            acc = (0.0, 0.0, 0.0);
        }
    }
    let positives = samples.iter().filter(|s| s.1).count();
    Calibration { knots, samples: samples.len(), positives }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::calibrated;
    use crate::rng::SplitMix64;

    #[test]
    fn isotonic_fit_follows_a_monotone_truth_and_interpolates() {
        // P(label | score) = score, scores uniform in [0, 1].
        let mut rng = SplitMix64::new(1);
        let mut samples: Vec<(f32, bool)> = (0..50_000)
            .map(|_| {
                let s = rng.next_f64();
                (s as f32, rng.chance(s))
            })
            .collect();
        let c = fit(&mut samples, 16);
        assert!(c.knots.len() <= 16 && c.knots.len() >= 8, "{:?}", c.knots);
        assert!(c.knots.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        let (xs, ys): (Vec<f32>, Vec<f32>) = c.knots.iter().copied().unzip();
        for s in [0.1f32, 0.4, 0.75] {
            assert!((calibrated(&xs, &ys, s) - s).abs() < 0.05, "{s}");
        }
        // Clamped outside the knots; empty tables give 0.
        assert_eq!(calibrated(&xs, &ys, -5.0), ys[0]);
        assert_eq!(calibrated(&xs, &ys, 5.0), ys[ys.len() - 1]);
        assert_eq!(calibrated(&[], &[], 1.0), 0.0);
        assert_eq!(c.samples, 50_000);
    }

    #[test]
    fn decreasing_evidence_is_pooled_flat() {
        let mut samples = vec![(0.1, true), (0.2, true), (0.3, false), (0.4, false)];
        let c = fit(&mut samples, 8);
        assert_eq!(c.knots, vec![(0.25, 0.5)]);
    }
}
