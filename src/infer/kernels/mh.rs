//! Metropolis–Hastings modes and the score-only log-density difference (Ramzi et al., appendix B).
//!
//! Without a prior density, `log π(x*) − log π(x)` = exact likelihood difference +
//! `∫₀¹ s(x + t(x* − x)) · (x* − x) dt`, the path integral of the prior score along the straight line.

use ndarray::{Array1, Array2, ArrayView2};

use super::{ChainState, KernelError};
use crate::infer::target::{EvalError, Posterior};

/// How proposals are corrected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MhMode {
    /// Exact log densities (the prior must have one).
    Exact,
    /// Likelihood difference exact, prior difference by composite Simpson integration of the score.
    ///
    /// `points` is the number of Simpson sub-intervals of `[0, 1]`, the meaning of "a simple 4 points
    /// Simpson integration rule" in the paper: the authors' code (`num_delta_logp_steps=4`) runs
    /// composite Simpson 1/3 with N = 4 sub-intervals, nodes t = 0, ¼, ½, ¾, 1. The endpoint scores
    /// are the cached ones at x and x*, so one correction costs `points − 1` prior-score evaluations
    /// (3 by default), batched over chains. An odd `points ≥ 3` uses Simpson 3/8 on the last three
    /// sub-intervals; `points = 1` is the trapezoid rule. All rules with `points ≥ 2` are exact for
    /// cubic integrands.
    ScoreOnly { points: usize },
    /// Unadjusted: every evaluable proposal is accepted.
    Off,
}

impl MhMode {
    /// Default number of Simpson sub-intervals for the score-only correction.
    pub const DEFAULT_POINTS: usize = 4;

    /// Score-only with the paper's default rule.
    pub fn score_only() -> Self {
        MhMode::ScoreOnly {
            points: Self::DEFAULT_POINTS,
        }
    }
}

/// Quadrature weights on the nodes `t_j = j / n`, `j = 0..=n`, for `n = intervals.max(1)` equal
/// sub-intervals of `[0, 1]` (see [`MhMode::ScoreOnly`]). The weights sum to 1.
pub fn simpson_weights(intervals: usize) -> Vec<f64> {
    let n = intervals.max(1);
    let h = 1.0 / n as f64;
    let mut w = vec![0.0; n + 1];
    if n == 1 {
        w[0] = 0.5;
        w[1] = 0.5;
        return w;
    }
    // Simpson 1/3 on the first `n13` sub-intervals (even), 3/8 on the rest (0 or 3).
    let n13 = if n.is_multiple_of(2) { n } else { n - 3 };
    for k in (0..n13).step_by(2) {
        w[k] += h / 3.0;
        w[k + 1] += 4.0 * h / 3.0;
        w[k + 2] += h / 3.0;
    }
    if n13 < n {
        for (j, c) in [1.0, 3.0, 3.0, 1.0].iter().enumerate() {
            w[n13 + j] += 3.0 * h / 8.0 * c;
        }
    }
    w
}

/// Row-wise `∫₀¹ s(x0 + t(x1 − x0)) · (x1 − x0) dt` by [`simpson_weights`]`(points)`.
///
/// `s0`, `s1` are the (cached) prior scores at `x0`, `x1`; each interior node of every row goes to the
/// target in one batched [`Posterior::prior_score`] call. A row whose integrand is not finite yields NaN.
pub fn score_path_delta(
    target: &dyn Posterior,
    x0: ArrayView2<f64>,
    x1: ArrayView2<f64>,
    s0: ArrayView2<f64>,
    s1: ArrayView2<f64>,
    points: usize,
    sigma: f64,
) -> Result<Array1<f64>, EvalError> {
    let (rows, dim) = x0.dim();
    if x1.dim() != (rows, dim) || s0.dim() != (rows, dim) || s1.dim() != (rows, dim) {
        return Err(EvalError::Fatal("score_path_delta: mismatched shapes".into()));
    }
    let w = simpson_weights(points);
    let n = w.len() - 1;
    let dx = &x1 - &x0;
    let mut total = Array1::zeros(rows);
    for r in 0..rows {
        let d = dx.row(r);
        total[r] = w[0] * s0.row(r).dot(&d) + w[n] * s1.row(r).dot(&d);
    }
    if rows == 0 {
        return Ok(total);
    }
    // One call per interior node, of `rows` rows each: the batch size of the rest of the sampler, so
    // a network keeps one set of buffers (one call of all nodes' rows needed buffers 3× as large).
    let mut xs = Array2::zeros((rows, dim));
    for (j, wj) in w.iter().enumerate().take(n).skip(1) {
        let t = j as f64 / n as f64;
        for r in 0..rows {
            let mut row = xs.row_mut(r);
            row.assign(&x0.row(r));
            row.scaled_add(t, &dx.row(r));
        }
        let scores = target.prior_score(xs.view(), sigma)?;
        if scores.dim() != (rows, dim) {
            return Err(EvalError::Fatal("prior_score returned the wrong shape".into()));
        }
        for r in 0..rows {
            total[r] += wj * scores.row(r).dot(&dx.row(r));
        }
    }
    Ok(total.mapv(|v: f64| if v.is_finite() { v } else { f64::NAN }))
}

/// `log π(to) − log π(from)` per pair under `mode` (0 with MH off), and the number of prior-score
/// evaluations spent. A pair whose difference cannot be computed gets NaN (the caller rejects it).
pub(super) fn log_target_deltas(
    target: &dyn Posterior,
    mode: MhMode,
    from: &[&ChainState],
    to: &[&ChainState],
    sigma: f64,
) -> Result<(Vec<f64>, u64), KernelError> {
    match mode {
        MhMode::Off => Ok((vec![0.0; from.len()], 0)),
        MhMode::Exact => from
            .iter()
            .zip(to)
            .map(|(a, b)| match (a.log_density(), b.log_density()) {
                (Some(la), Some(lb)) => Ok(lb - la),
                _ => Err(KernelError::NoPriorDensity),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|d| (d, 0)),
        MhMode::ScoreOnly { points } => {
            if from.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let stack = |states: &[&ChainState], f: &dyn Fn(&ChainState) -> &Array1<f64>| {
                let dim = target.dim();
                let mut m = Array2::zeros((states.len(), dim));
                for (mut row, s) in m.rows_mut().into_iter().zip(states) {
                    row.assign(f(s));
                }
                m
            };
            let x0 = stack(from, &|s| &s.position);
            let x1 = stack(to, &|s| &s.position);
            let s0 = stack(from, &|s| &s.eval.score_prior);
            let s1 = stack(to, &|s| &s.eval.score_prior);
            let n_score = (points.max(1) as u64 - 1) * from.len() as u64;
            let prior =
                match score_path_delta(target, x0.view(), x1.view(), s0.view(), s1.view(), points, sigma) {
                    Ok(p) => p,
                    Err(EvalError::Fatal(m)) => return Err(KernelError::Fatal(m)),
                    Err(_) => Array1::from_elem(from.len(), f64::NAN),
                };
            let deltas = from
                .iter()
                .zip(to)
                .zip(&prior)
                .map(|((a, b), p)| b.eval.log_lik - a.eval.log_lik + p);
            Ok((deltas.collect(), n_score))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn weights_integrate_cubics_exactly() {
        for n in 1..=9 {
            let w = simpson_weights(n);
            assert_eq!(w.len(), n + 1);
            let integ = |f: &dyn Fn(f64) -> f64| -> f64 {
                w.iter()
                    .enumerate()
                    .map(|(j, wj)| wj * f(j as f64 / n as f64))
                    .sum()
            };
            assert!((integ(&|_| 1.0) - 1.0).abs() < 1e-14);
            assert!((integ(&|t| t) - 0.5).abs() < 1e-14);
            if n >= 2 {
                assert!(
                    (integ(&|t| t * t * t - 2.0 * t * t) - (0.25 - 2.0 / 3.0)).abs() < 1e-14,
                    "n={n}"
                );
            }
        }
        assert_eq!(
            simpson_weights(4),
            vec![1.0 / 12.0, 4.0 / 12.0, 2.0 / 12.0, 4.0 / 12.0, 1.0 / 12.0]
        );
        assert_eq!(
            simpson_weights(3),
            vec![1.0 / 8.0, 3.0 / 8.0, 3.0 / 8.0, 1.0 / 8.0]
        );
    }
}
