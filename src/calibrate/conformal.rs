//! Conformal recalibration of the posterior's central intervals: per level, the scale of the
//! half-widths about the median that controls the expected fraction of uncovered pixels of a new
//! image (conformal risk control, Angelopoulos et al. 2022), learned on one half of the
//! repetitions and checked on the other.

use super::ranks::{RepStats, LEVELS};
use serde::{Deserialize, Serialize};

/// What `--interval-scale FILE` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntervalScale {
    pub levels: Vec<f64>,
    /// Per level, the factor for the half-widths (null when too few repetitions for that level).
    pub scale: Vec<Option<f64>>,
    /// Repetitions it was learned on.
    pub calibration_reps: usize,
    /// Coverage before and after scaling on the held-out repetitions (empty without any).
    pub heldout_reps: usize,
    pub heldout_coverage_raw: Vec<f64>,
    pub heldout_coverage_scaled: Vec<f64>,
    pub guarantee: String,
}

/// The guarantee, in words (kept in the file so that it travels with the numbers).
pub const GUARANTEE: &str = "For a new image drawn like the calibration truths, with data simulated from the model's own \
likelihood, the expected fraction of its pixels outside the scaled central interval of level q is at most 1 − q \
(conformal risk control over exchangeable images). It says nothing about one given pixel or region, nor about images \
or noise unlike the calibration set (another anatomy, scanner or noise model), and it holds on average over images, \
not for every image.";

/// Fraction of `scores` above `s`.
fn miss(scores_sorted: &[f64], s: f64) -> f64 {
    let above = scores_sorted.len() - scores_sorted.partition_point(|&v| v <= s);
    above as f64 / scores_sorted.len().max(1) as f64
}

/// The smallest scale whose risk-controlled miscoverage is at most α: (n/(n+1)) R̂(s) + 1/(n+1) ≤ α.
fn learn(per_rep: &[Vec<f64>], alpha: f64) -> f64 {
    let n = per_rep.len() as f64;
    let ok = |s: f64| {
        let r = per_rep.iter().map(|v| miss(v, s)).sum::<f64>() / n;
        n / (n + 1.0) * r + 1.0 / (n + 1.0) <= alpha
    };
    let mut cands: Vec<f64> = per_rep
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    cands.push(0.0);
    cands.sort_by(f64::total_cmp);
    cands.dedup();
    // The risk is non-increasing in s: bisect over the candidates.
    if !cands.last().is_some_and(|&s| ok(s)) {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0usize, cands.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if ok(cands[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    cands[lo]
}

fn scores(reps: &[RepStats], k: usize) -> Vec<Vec<f64>> {
    reps.iter()
        .map(|r| {
            let mut v: Vec<f64> = r.scale.iter().skip(k).step_by(LEVELS.len()).copied().collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect()
}

/// Learn the scales on the first half of `reps` and report coverage on the second half.
pub fn conformal(reps: &[RepStats]) -> IntervalScale {
    let half = reps.len().div_ceil(2);
    let (cal, test) = reps.split_at(half);
    let mut out = IntervalScale {
        levels: LEVELS.to_vec(),
        scale: Vec::new(),
        calibration_reps: cal.len(),
        heldout_reps: test.len(),
        heldout_coverage_raw: Vec::new(),
        heldout_coverage_scaled: Vec::new(),
        guarantee: GUARANTEE.to_string(),
    };
    for (k, q) in LEVELS.iter().enumerate() {
        let s = learn(&scores(cal, k), 1.0 - q);
        out.scale.push(s.is_finite().then_some(s));
        if !test.is_empty() {
            let t = scores(test, k);
            let cov = |s: f64| 1.0 - t.iter().map(|v| miss(v, s)).sum::<f64>() / t.len() as f64;
            out.heldout_coverage_raw.push(cov(1.0));
            out.heldout_coverage_scaled.push(cov(s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Repetitions whose intervals are too narrow by 2×: truths N(0, 4) against a unit posterior.
    fn narrow(reps: usize, dim: usize, rng: &mut ChaCha8Rng) -> Vec<RepStats> {
        (0..reps)
            .map(|_| {
                let draws =
                    ndarray::Array3::from_shape_simple_fn((1, 400, dim), || StandardNormal.sample(rng));
                let truth = ndarray::Array1::from_shape_simple_fn(dim, || {
                    2.0 * Distribution::<f64>::sample(&StandardNormal, rng)
                });
                super::super::rep_stats(
                    draws.view(),
                    &crate::infer::Diagnostics::compute(draws.view()),
                    truth.view(),
                    rng,
                )
            })
            .collect()
    }

    #[test]
    fn scales_intervals_too_narrow_by_two_back_to_nominal() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let c = conformal(&narrow(80, 50, &mut rng));
        let k90 = 8;
        // The exact factor is 2 (the posterior sd is half the truths'); the draws' quantiles are noisy.
        assert!((c.scale[k90].unwrap() - 2.0).abs() < 0.25, "{:?}", c.scale);
        assert!(c.heldout_coverage_raw[k90] < 0.6, "{:?}", c.heldout_coverage_raw);
        // Held-out coverage: at least nominal up to the spread of 40 repetitions of 50 pixels.
        assert!(
            c.heldout_coverage_scaled[k90] > 0.9 - 0.03,
            "{:?}",
            c.heldout_coverage_scaled
        );
        assert!(
            c.heldout_coverage_scaled[k90] < 0.97,
            "{:?}",
            c.heldout_coverage_scaled
        );
    }

    #[test]
    fn too_few_repetitions_give_no_scale() {
        // α = 0.1 needs 1/(n+1) ≤ 0.1: n = 4 cannot.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = conformal(&narrow(8, 5, &mut rng));
        assert!(c.scale[8].is_none());
    }
}
