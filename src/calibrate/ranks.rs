//! One repetition's statistics: the truth's randomised rank among draws thinned to their effective
//! sample size (Talts et al. 2018), the central rank intervals it falls in, and conformal scores.

use crate::infer::{quantile_sorted as quantile, Diagnostics};
use ndarray::{ArrayView1, ArrayView3};

/// The nominal levels of the central intervals: 10%, 20%, …, 90%.
pub const LEVELS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Per-parameter results of one repetition.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RepStats {
    /// Normalised rank in (0, 1): (r + U)/(L + 1) with r the number of the L thinned draws below
    /// the truth and U uniform; exactly Uniform(0, 1) when the draws are exact and independent.
    pub u: Vec<f64>,
    /// Bit k set when the truth lies in the central `LEVELS[k]` of the rank distribution,
    /// |u − 1/2| ≤ q/2: probability exactly q for exact, independent draws, whatever their number
    /// (the interval between empirical quantiles of L draws covers less: [min, max] of 8 draws
    /// covers 7/9, not 90%). The conformal scores below use the draws' own intervals.
    pub covered: Vec<u16>,
    pub truth: Vec<f64>,
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
    /// Per parameter, for each level of `LEVELS`: the factor by which the central interval's
    /// half-widths about the median must be scaled to reach the truth (conformal scores), [dim × 9].
    pub scale: Vec<f64>,
    /// The fewest draws kept for a rank (the thinning of the worst-mixing parameter).
    pub min_kept: usize,
}

/// Keep about `ess` of a chain's `n` draws: every k-th, ending at the last.
fn stride(total: usize, ess: f64) -> usize {
    if !(ess.is_finite() && ess >= 1.0) {
        return total.max(1);
    }
    ((total as f64 / ess).floor() as usize).max(1)
}

/// Ranks, rank-interval coverage and conformal scores of `truth` ([dim]) among `draws` ([chains,
/// draws, dim]), whose diagnostics are `diag`.
pub fn rep_stats(
    draws: ArrayView3<f64>,
    diag: &Diagnostics,
    truth: ArrayView1<f64>,
    rng: &mut dyn rand::RngCore,
) -> RepStats {
    let (chains, n, dim) = draws.dim();
    let total = chains * n;
    let mut out = RepStats {
        min_kept: usize::MAX,
        ..RepStats::default()
    };
    let mut all = Vec::with_capacity(total);
    for d in 0..dim {
        let t = truth[d];
        let k = stride(total, diag.ess_bulk[d]);
        let (mut below, mut kept) = (0usize, 0usize);
        all.clear();
        for c in 0..chains {
            for j in 0..n {
                let x = draws[[c, j, d]];
                if (n - 1 - j) % k == 0 {
                    kept += 1;
                    below += usize::from(x < t);
                }
            }
        }
        let jitter: f64 = rand_distr::Distribution::sample(&rand_distr::Open01, rng);
        let u = (below as f64 + jitter) / (kept as f64 + 1.0);
        out.u.push(u);
        out.min_kept = out.min_kept.min(kept);
        all.extend(draws.slice(ndarray::s![.., .., d]).iter().copied());
        let mut bits = 0u16;
        for (i, q) in LEVELS.iter().enumerate() {
            if (u - 0.5).abs() <= q / 2.0 {
                bits |= 1 << i;
            }
        }
        out.covered.push(bits);
        all.sort_by(f64::total_cmp);
        let median = quantile(&all, 0.5);
        for q in LEVELS {
            let half = if t >= median {
                quantile(&all, 0.5 + q / 2.0) - median
            } else {
                median - quantile(&all, 0.5 - q / 2.0)
            };
            let gap = (t - median).abs();
            out.scale.push(match (gap > 0.0, half > 0.0) {
                (false, _) => 0.0,
                (true, true) => gap / half,
                (true, false) => f64::INFINITY,
            });
        }
        out.truth.push(t);
        out.mean.push(diag.mean[d]);
        out.sd.push(diag.sd[d]);
    }
    if dim == 0 {
        out.min_kept = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array3};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn exact_independent_draws_give_uniform_ranks_and_nominal_coverage() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let reps = 400;
        let (mut u, mut cov90) = (Vec::new(), 0usize);
        for _ in 0..reps {
            let draws = Array3::from_shape_simple_fn((2, 50, 1), || StandardNormal.sample(&mut rng));
            let truth = Array1::from(vec![StandardNormal.sample(&mut rng)]);
            let s = rep_stats(
                draws.view(),
                &Diagnostics::compute(draws.view()),
                truth.view(),
                &mut rng,
            );
            u.push(s.u[0]);
            cov90 += usize::from(s.covered[0] & (1 << 8) != 0);
        }
        let mean = u.iter().sum::<f64>() / reps as f64;
        // Uniform(0, 1): sd 1/√12 per rank; 5 standard errors.
        assert!(
            (mean - 0.5).abs() < 5.0 * (1.0 / 12.0f64).sqrt() / (reps as f64).sqrt(),
            "{mean}"
        );
        let c = cov90 as f64 / reps as f64;
        assert!((c - 0.9).abs() < 5.0 * (0.09 / reps as f64).sqrt(), "{c}");
    }

    #[test]
    fn a_chain_stuck_above_the_truth_ranks_it_lowest() {
        let draws = Array3::from_elem((1, 40, 1), 0.3);
        let s = rep_stats(
            draws.view(),
            &Diagnostics::compute(draws.view()),
            Array1::from(vec![0.0]).view(),
            &mut ChaCha8Rng::seed_from_u64(1),
        );
        assert!(s.min_kept >= 1);
        assert!(s.u[0] < 1.0 / (s.min_kept as f64 + 1.0), "rank 0: u = {}", s.u[0]);
        assert_eq!(s.covered[0], 0, "no interval of a constant chain at 0.3 covers 0");
    }
}
