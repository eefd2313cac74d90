//! The low-rank part of the HMC/NUTS metric, from the Hessian: Lanczos on the D-scaled Hessian of
//! `−log π` at a warm-up point, with Hessian–vector products from central differences of gradients.
//!
//! A diagonal metric cannot fix correlations that are not aligned with the axes (a deblurring
//! posterior is diagonal in frequency, not in pixels: its condition number in pixels is thousands,
//! and NUTS then needs a hundred leapfrog steps per draw). After a warm-up window has set the
//! diagonal `D` (the window's variances), `k` Lanczos steps on `A = D½ H D½` (H the Hessian of
//! `−log π` at the chain's current point) give an orthonormal basis `Q` of the Krylov space and
//! the tridiagonal `T = Qᵀ A Q`. With `T = S Θ Sᵀ`, the metric becomes
//! `M⁻¹ = D½ (I + Y diag(1/θ − 1) Yᵀ) D½` with the Ritz vectors `Y = Q S`: inside the Krylov space
//! it is `A⁻¹` projected, outside it the diagonal. Ritz values within a factor [`KEEP`] of 1 (nothing
//! to correct) and non-positive ones (no curvature to use) are dropped. For a Gaussian posterior
//! the differences are exact; elsewhere the metric is the local curvature at a warm-up point, which
//! changes only the efficiency, never the target (the metric is fixed while drawing).

use std::sync::Arc;

use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::kernels::{evaluate_points, KernelError, LowRank, Metric};
use super::target::Posterior;

/// Most Lanczos steps, and so the largest rank, of a low-rank metric.
pub const MAX_RANK: usize = 256;
/// Ritz values `θ` with `1/KEEP < θ < KEEP` leave the metric unchanged.
pub const KEEP: f64 = 1.25;
/// The central-difference step along a unit direction in D-scaled units: a thousandth of a
/// posterior standard deviation.
const STEP: f64 = 1e-3;

/// `A w = D½ H D½ w` at `x` by central differences of `∇ log π`; `None` when a point cannot be
/// evaluated. Returns the product and the evaluations spent (2).
fn hvp(
    target: &dyn Posterior,
    x: &Array1<f64>,
    s: &Array1<f64>,
    w: &Array1<f64>,
    sigma: f64,
) -> Result<Option<Array1<f64>>, KernelError> {
    let v = w * s;
    let mut plus = x.clone();
    plus.scaled_add(STEP, &v);
    let mut minus = x.clone();
    minus.scaled_add(-STEP, &v);
    let mut evals = evaluate_points(target, &[plus, minus], sigma)?;
    let (Some(Some(m)), Some(Some(p))) = (evals.pop(), evals.pop()) else {
        return Ok(None);
    };
    // H v = −(∇log π(x + hv) − ∇log π(x − hv)) / 2h.
    let hv = (m.grad() - p.grad()) / (2.0 * STEP);
    Ok(Some(hv * s))
}

/// The metric `diag` with the low-rank part from `k ≤ max_rank` Lanczos steps at `x` (the first
/// direction drawn from `rng`). Returns the metric and the gradient evaluations spent; the metric is
/// diagonal only when Lanczos finds nothing to correct or a point cannot be evaluated.
pub fn low_rank_metric(
    target: &dyn Posterior,
    x: &Array1<f64>,
    diag: Array1<f64>,
    sigma: f64,
    rng: &mut ChaCha8Rng,
    max_rank: usize,
) -> Result<(Metric, u64), KernelError> {
    let dim = diag.len();
    let k_max = max_rank.min(dim);
    let s = diag.mapv(|d| d.max(0.0).sqrt());
    let mut q: Array1<f64> = (0..dim).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    let norm = q.dot(&q).sqrt();
    if k_max == 0 || norm.is_nan() || norm <= 0.0 {
        return Ok((diag.into(), 0));
    }
    q /= norm;
    let mut basis: Vec<Array1<f64>> = Vec::with_capacity(k_max);
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::with_capacity(k_max), Vec::with_capacity(k_max));
    let mut spent = 0u64;
    for _ in 0..k_max {
        let Some(mut w) = hvp(target, x, &s, &q, sigma)? else {
            return Ok((diag.into(), spent + 2));
        };
        spent += 2;
        let a = q.dot(&w);
        w.scaled_add(-a, &q);
        if let (Some(prev), Some(&b)) = (basis.last(), beta.last()) {
            w.scaled_add(-b, prev);
        }
        basis.push(q.clone());
        alpha.push(a);
        // Full reorthogonalisation, twice (classical Gram–Schmidt loses orthogonality once
        // the extreme Ritz values converge).
        for _ in 0..2 {
            for b in &basis {
                let c = b.dot(&w);
                w.scaled_add(-c, b);
            }
        }
        let b = w.dot(&w).sqrt();
        let scale = alpha.iter().fold(0.0f64, |m, a| m.max(a.abs()));
        if !b.is_finite() || b <= 1e-10 * scale.max(f64::MIN_POSITIVE) {
            break; // an invariant subspace: T holds all of A's spectrum on it
        }
        if basis.len() < k_max {
            beta.push(b);
            q = w / b;
        }
    }
    let k = basis.len();
    if !alpha.iter().all(|a| a.is_finite()) {
        return Ok((diag.into(), spent));
    }
    let t = DMatrix::from_fn(k, k, |i, j| match i.abs_diff(j) {
        0 => alpha[i],
        1 => beta[i.min(j)],
        _ => 0.0,
    });
    let eig = SymmetricEigen::new(t);
    let keep: Vec<usize> = (0..k)
        .filter(|&i| {
            let th = eig.eigenvalues[i];
            th.is_finite() && th > 0.0 && (th >= KEEP || th <= 1.0 / KEEP)
        })
        .collect();
    if keep.is_empty() {
        return Ok((diag.into(), spent));
    }
    let mut v = Array2::<f64>::zeros((keep.len(), dim));
    let mut d = Array1::<f64>::zeros(keep.len());
    for (row, &i) in keep.iter().enumerate() {
        d[row] = 1.0 / eig.eigenvalues[i] - 1.0;
        let mut y = v.row_mut(row);
        for (j, b) in basis.iter().enumerate() {
            y.scaled_add(eig.eigenvectors[(j, i)], b);
        }
    }
    let metric = match LowRank::new(v, d) {
        Some(l) => Metric {
            diag,
            low_rank: Some(Arc::new(l)),
        },
        None => diag.into(),
    };
    Ok((metric, spent))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::infer::target::{Eval, EvalError};
    use ndarray::ArrayView2;
    use rand::SeedableRng;

    /// N(0, Σ) with Σ⁻¹ = P: log density and gradient exact.
    struct Gauss {
        precision: Array2<f64>,
    }

    impl Posterior for Gauss {
        fn dim(&self) -> usize {
            self.precision.nrows()
        }
        fn evaluate(&self, xs: ArrayView2<f64>, _sigma: f64) -> Vec<Result<Eval, EvalError>> {
            xs.rows()
                .into_iter()
                .map(|x| {
                    let g = -self.precision.dot(&x);
                    Ok(Eval {
                        log_lik: 0.5 * x.dot(&g),
                        log_prior: Some(0.0),
                        score_prior: Array1::zeros(g.len()),
                        grad_lik: g,
                    })
                })
                .collect()
        }
        fn prior_score(&self, xs: ArrayView2<f64>, _sigma: f64) -> Result<Array2<f64>, EvalError> {
            Ok(Array2::zeros(xs.raw_dim()))
        }
        fn has_prior_density(&self) -> bool {
            true
        }
    }

    /// A 40-dimensional precision with eigenvalues 1 … 1e4 in a random rotation.
    fn ill_conditioned(dim: usize) -> (Array2<f64>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut a = Array2::<f64>::from_shape_fn((dim, dim), |_| rng.sample(StandardNormal));
        // Gram–Schmidt for an orthogonal matrix.
        for j in 0..dim {
            for i in 0..j {
                let c = a.column(i).dot(&a.column(j));
                let ci = a.column(i).to_owned();
                a.column_mut(j).scaled_add(-c, &ci);
            }
            let n = a.column(j).dot(&a.column(j)).sqrt();
            a.column_mut(j).mapv_inplace(|v| v / n);
        }
        let lam = Array1::from_shape_fn(dim, |i| 10f64.powf(4.0 * i as f64 / (dim - 1) as f64));
        let p = a.dot(&Array2::from_diag(&lam)).dot(&a.t());
        let cov = a.dot(&Array2::from_diag(&lam.mapv(|l| 1.0 / l))).dot(&a.t());
        (p, cov)
    }

    /// Dense M⁻¹ of a metric, column by column.
    fn dense(m: &Metric) -> Array2<f64> {
        let n = m.len();
        let mut out = Array2::zeros((n, n));
        for j in 0..n {
            let mut e = Array1::zeros(n);
            e[j] = 1.0;
            out.column_mut(j).assign(&m.velocity(&e));
        }
        out
    }

    #[test]
    fn full_rank_lanczos_recovers_the_gaussian_covariance() {
        let dim = 40;
        let (p, cov) = ill_conditioned(dim);
        let target = Gauss { precision: p };
        let diag = Array1::from_shape_fn(dim, |i| 0.5 + 0.01 * i as f64);
        let x = Array1::from_shape_fn(dim, |i| (i as f64).sin());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (m, spent) = low_rank_metric(&target, &x, diag, 0.0, &mut rng, dim).unwrap();
        assert!(spent <= 2 * dim as u64);
        // Every direction whose scaled curvature is not within KEEP of 1 is corrected, so
        // M⁻¹ equals Σ except along those few directions, where it is within the factor KEEP.
        let got = dense(&m);
        // Compare in Σ's whitened frame: Σ^-½ M⁻¹ Σ^-½ has eigenvalues in [1/KEEP, KEEP];
        // equivalently every quadratic form vᵀM⁻¹v / vᵀΣv lies there.
        let mut r = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..200 {
            let v: Array1<f64> = (0..dim).map(|_| r.sample::<f64, _>(StandardNormal)).collect();
            let ratio = v.dot(&got.dot(&v)) / v.dot(&cov.dot(&v));
            assert!(ratio > 1.0 / KEEP - 1e-6 && ratio < KEEP + 1e-6, "ratio {ratio}");
        }
    }

    #[test]
    fn truncated_lanczos_still_gives_a_positive_definite_metric() {
        let dim = 40;
        let (p, _) = ill_conditioned(dim);
        let target = Gauss { precision: p };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (m, spent) =
            low_rank_metric(&target, &Array1::zeros(dim), Array1::ones(dim), 0.0, &mut rng, 8).unwrap();
        assert_eq!(spent, 16);
        assert!(m.rank() >= 1 && m.rank() <= 8);
        let got = dense(&m);
        let mut r = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..100 {
            let v: Array1<f64> = (0..dim).map(|_| r.sample::<f64, _>(StandardNormal)).collect();
            assert!(v.dot(&got.dot(&v)) > 0.0);
        }
    }

    #[test]
    fn an_isotropic_target_needs_no_correction() {
        let dim = 10;
        let target = Gauss {
            precision: Array2::eye(dim) * 2.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // D = 1/2 makes A = I: one Lanczos step finds the invariant subspace, nothing to keep.
        let (m, spent) = low_rank_metric(
            &target,
            &Array1::zeros(dim),
            Array1::from_elem(dim, 0.5),
            0.0,
            &mut rng,
            dim,
        )
        .unwrap();
        assert_eq!(m.rank(), 0);
        assert_eq!(spent, 2);
    }
}
