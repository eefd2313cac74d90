//! Annealed HMC's last step as a draw: x ~ N(x̂, C) conditioned on the data, the second-order Tweedie
//! approximation of p(x | x_σ, y), in place of the EDS mean x̂ alone.
//!
//! Given a draw x_σ at the last level, the clean image's denoising posterior p(x | x_σ) has mean
//! x̂ = x_σ + σ² s(x_σ, σ) (Tweedie) and covariance C = σ² ∂x̂/∂x_σ = σ² (I + σ² ∂s/∂x)
//! (second-order Tweedie); the data add p(y | x). With p(x | x_σ) taken as N(x̂, C) and
//! `y ~ Normal(A x + b, σ_n)`, p(x | x_σ, y) is Gaussian, and one exact draw of it is Matheron's
//! update of a draw of N(x̂, C):
//!
//! x_p = x̂ + C^½ z,  x = x_p + C Aᵀ (A C Aᵀ + σ_n² I)⁻¹ (y − b − A x_p − σ_n e),  z, e ~ N(0, I).
//!
//! C^½ z comes from `LANCZOS` steps of Lanczos on C (each a batched VJP of the score), the solve from
//! conjugate gradients (A C Aᵀ + σ_n² I has condition number at most 1 + σ² ‖A‖²/σ_n²). ∂s/∂x is
//! taken as symmetric (a score's Jacobian is a Hessian); eigenvalues of C below 0 count as 0. For a
//! Gaussian prior the step is exact: when x_σ is a draw of p(x | y) plus N(0, σ² I), x is a draw of
//! p(x | y). EDS keeps x̂ only, which removes C's spread (σ² in a direction the prior leaves wide).
//! Without the likelihood's structure (a non-linear mean, Poisson data, a latent noise level) the
//! step is not available and the run says so.

use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::infer::target::{EvalError, LinearGaussian, Posterior};

/// What annealed HMC does to its draws at σ_min.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denoise {
    /// Keep them (draws of the last level's posterior).
    Off,
    /// The EDS step, the denoising posterior's mean (the paper's).
    Mean,
    /// A draw of p(x | x_σmin, y) under the second-order Tweedie approximation (linear Gaussian
    /// likelihoods only).
    Draw,
}

/// Lanczos steps for C^½ z.
pub const LANCZOS: usize = 24;
/// Most conjugate-gradient iterations, and the relative residual they stop at (a network's VJPs in
/// f32 are good to about 1e-6).
const CG_MAX: usize = 100;
const CG_TOL: f64 = 1e-5;

/// What the step cost and how well its solves converged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrawStats {
    /// Score evaluations and VJPs (one per row each).
    pub score_evals: u64,
    /// Most CG iterations over the batches, and the largest relative residual left.
    pub cg_iterations: usize,
    pub cg_residual: f64,
}

/// C V = σ² (V + σ² Vᵀ ∂s/∂x), row by row at the points `xs`.
struct Cov<'a> {
    target: &'a dyn Posterior,
    xs: ArrayView2<'a, f64>,
    sigma: f64,
}

impl Cov<'_> {
    fn apply(&self, v: &Array2<f64>, stats: &mut DrawStats) -> Result<Array2<f64>, EvalError> {
        let s2 = self.sigma * self.sigma;
        let g = self.target.prior_score_vjp(self.xs, self.sigma, v.view())?;
        stats.score_evals += v.nrows() as u64;
        Ok((v + &(g * s2)) * s2)
    }
}

/// `C^½ z` for every row `z` of `zs`, by `steps` Lanczos steps with full re-orthogonalisation:
/// ‖z‖ Q f(T) e₁ with f = √max(·, 0) of the tridiagonal T.
fn sqrt_times(
    cov: &Cov<'_>,
    zs: &Array2<f64>,
    steps: usize,
    stats: &mut DrawStats,
) -> Result<Array2<f64>, EvalError> {
    let (n, d) = zs.dim();
    let norms: Vec<f64> = zs.rows().into_iter().map(|z| z.dot(&z).sqrt()).collect();
    let mut q = zs.clone();
    for (mut row, nz) in q.rows_mut().into_iter().zip(&norms) {
        if *nz > 0.0 {
            row /= *nz;
        }
    }
    let mut basis: Vec<Array2<f64>> = vec![q];
    let (mut alpha, mut beta) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    // Rows whose Krylov space is exhausted (β ≈ 0) stop growing.
    let mut live = vec![true; n];
    for _ in 0..steps.min(d) {
        let cur = basis.last().expect("the basis starts with z");
        let mut w = cov.apply(cur, stats)?;
        for r in 0..n {
            if !live[r] {
                w.row_mut(r).fill(0.0);
                continue;
            }
            let a = cur.row(r).dot(&w.row(r));
            alpha[r].push(a);
            // α = qᵀ C q; the rest of C q, orthogonalised twice against every basis vector, gives β.
            for _ in 0..2 {
                for b in &basis {
                    let c = b.row(r).dot(&w.row(r));
                    w.row_mut(r).scaled_add(-c, &b.row(r));
                }
            }
            let bn = w.row(r).dot(&w.row(r)).sqrt();
            let scale = alpha[r].iter().map(|a: &f64| a.abs()).fold(0.0, f64::max);
            if bn <= 1e-10 * scale.max(f64::MIN_POSITIVE) {
                live[r] = false;
                w.row_mut(r).fill(0.0);
            } else {
                beta[r].push(bn);
                w.row_mut(r).mapv_inplace(|v| v / bn);
            }
        }
        if !live.iter().any(|l| *l) {
            break;
        }
        basis.push(w);
    }
    let mut out = Array2::zeros((n, d));
    for r in 0..n {
        let k = alpha[r].len();
        if k == 0 || norms[r] == 0.0 {
            continue;
        }
        let t = DMatrix::from_fn(k, k, |i, j| {
            if i == j {
                alpha[r][i]
            } else if i.abs_diff(j) == 1 {
                beta[r][i.min(j)]
            } else {
                0.0
            }
        });
        let eig = SymmetricEigen::new(t);
        for (j, q) in basis.iter().enumerate().take(k) {
            let c: f64 = (0..k)
                .map(|i| {
                    eig.eigenvalues[i].max(0.0).sqrt() * eig.eigenvectors[(j, i)] * eig.eigenvectors[(0, i)]
                })
                .sum();
            out.row_mut(r).scaled_add(c * norms[r], &q.row(r));
        }
    }
    Ok(out)
}

/// Row-wise `A C Aᵀ w + σ_n² w` for `w` on the observed entries.
fn normal_op(
    cov: &Cov<'_>,
    lg: &dyn LinearGaussian,
    w: &[Vec<f64>],
    stats: &mut DrawStats,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let at = adjoints(lg, w)?;
    let cat = cov.apply(&at, stats)?;
    let s2 = lg.noise() * lg.noise();
    (0..w.len())
        .into_par_iter()
        .map(|r| {
            let a = lg.apply(cat.row(r))?;
            Ok(a.iter().zip(&w[r]).map(|(a, w)| a + s2 * w).collect())
        })
        .collect()
}

/// The rows `Aᵀ wᵣ`.
fn adjoints(lg: &dyn LinearGaussian, w: &[Vec<f64>]) -> Result<Array2<f64>, EvalError> {
    let rows: Vec<Array1<f64>> = w.par_iter().map(|w| lg.adjoint(w)).collect::<Result<_, _>>()?;
    let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
    ndarray::stack(Axis(0), &views).map_err(|e| EvalError::Fatal(e.to_string()))
}

/// Solve `(A C Aᵀ + σ_n² I) w = r` for every row by conjugate gradients (batched: one VJP batch
/// per iteration for all rows).
fn solve(
    cov: &Cov<'_>,
    lg: &dyn LinearGaussian,
    rhs: Vec<Vec<f64>>,
    stats: &mut DrawStats,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let n = rhs.len();
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>();
    let mut x: Vec<Vec<f64>> = rhs.iter().map(|r| vec![0.0; r.len()]).collect();
    let b2: Vec<f64> = rhs.iter().map(|r| norm(r)).collect();
    let mut res = rhs.clone();
    let mut p = rhs;
    let mut rr: Vec<f64> = b2.clone();
    let mut it = 0;
    let done = |rr: &[f64]| (0..n).all(|r| rr[r] <= CG_TOL * CG_TOL * b2[r]);
    while it < CG_MAX && !done(&rr) {
        let ap = normal_op(cov, lg, &p, stats)?;
        for r in 0..n {
            if rr[r] <= CG_TOL * CG_TOL * b2[r] {
                continue;
            }
            let pap: f64 = p[r].iter().zip(&ap[r]).map(|(a, b)| a * b).sum();
            if pap.is_nan() || pap <= 0.0 {
                return Err(EvalError::NonFinite(format!(
                    "the data-consistency solve met a non-positive curvature ({pap:.3e})"
                )));
            }
            let a = rr[r] / pap;
            for ((x, res), (p, ap)) in x[r]
                .iter_mut()
                .zip(res[r].iter_mut())
                .zip(p[r].iter().zip(&ap[r]))
            {
                *x += a * p;
                *res -= a * ap;
            }
            let new = norm(&res[r]);
            let bta = new / rr[r];
            for (p, res) in p[r].iter_mut().zip(&res[r]) {
                *p = res + bta * *p;
            }
            rr[r] = new;
        }
        it += 1;
    }
    stats.cg_iterations = stats.cg_iterations.max(it);
    let worst = (0..n)
        .map(|r| if b2[r] > 0.0 { (rr[r] / b2[r]).sqrt() } else { 0.0 })
        .fold(0.0, f64::max);
    stats.cg_residual = stats.cg_residual.max(worst);
    Ok(x)
}

/// Draws of p(x | x_σ, y) for the rows `xs` (points at noise level σ), with the standard normal
/// vectors `z` (rows × dim) and `e` (rows × observed entries) given; `lg` is the likelihood as
/// [`Posterior::linear_gaussian`] gives it.
pub fn denoise_draw(
    target: &dyn Posterior,
    lg: &dyn LinearGaussian,
    xs: ArrayView2<f64>,
    sigma: f64,
    (z, e): (&Array2<f64>, &Array2<f64>),
    stats: &mut DrawStats,
) -> Result<Array2<f64>, EvalError> {
    let s = target.prior_score(xs, sigma)?;
    stats.score_evals += xs.nrows() as u64;
    let mut xp = &xs + &(s * (sigma * sigma));
    let cov = Cov { target, xs, sigma };
    xp += &sqrt_times(&cov, z, LANCZOS, stats)?;
    let noise = lg.noise();
    let rhs: Vec<Vec<f64>> = (0..xs.nrows())
        .into_par_iter()
        .map(|r| {
            let a = lg.apply(xp.row(r))?;
            Ok(lg
                .resid()
                .iter()
                .zip(a)
                .zip(e.row(r))
                .map(|((y, a), e)| y - a - noise * e)
                .collect())
        })
        .collect::<Result<_, EvalError>>()?;
    let w = solve(&cov, lg, rhs, stats)?;
    let update = cov.apply(&adjoints(lg, &w)?, stats)?;
    Zip::from(&mut xp).and(&update).for_each(|x, u| *x += u);
    if !xp.iter().all(|v| v.is_finite()) {
        return Err(EvalError::NonFinite("the denoising draw".into()));
    }
    Ok(xp)
}

/// Standard normal `rows × cols` from `rng`.
pub fn normals(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.sample(StandardNormal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::target::Eval;
    use rand::SeedableRng;

    /// A target whose prior score is −D x with D diagonal (a Gaussian N(0, D⁻¹) at this σ).
    struct Diag(Array1<f64>);

    impl Posterior for Diag {
        fn dim(&self) -> usize {
            self.0.len()
        }
        fn evaluate(&self, _: ArrayView2<f64>, _: f64) -> Vec<Result<Eval, EvalError>> {
            Vec::new()
        }
        fn prior_score(&self, xs: ArrayView2<f64>, _: f64) -> Result<Array2<f64>, EvalError> {
            Ok(-&xs * &self.0)
        }
        fn prior_score_vjp(
            &self,
            _: ArrayView2<f64>,
            _: f64,
            v: ArrayView2<f64>,
        ) -> Result<Array2<f64>, EvalError> {
            Ok(-&v * &self.0)
        }
        fn has_prior_density(&self) -> bool {
            false
        }
    }

    /// Lanczos's C^½ z against the exact square root of a diagonal C with a spread of eigenvalues.
    #[test]
    fn lanczos_square_root_matches_the_exact_one() {
        let d = 200;
        // Prior variances τ² from 1e-4 to 10 at level σ: score −x/(τ² + σ²), C = σ² τ²/(τ² + σ²).
        let sigma = 0.1;
        let tau2 = Array1::from_shape_fn(d, |j| 1e-4 * 1e5f64.powf(j as f64 / (d - 1) as f64));
        let prec = tau2.mapv(|t| 1.0 / (t + sigma * sigma));
        let target = Diag(prec.clone());
        let xs = Array2::zeros((3, d));
        let cov = Cov {
            target: &target,
            xs: xs.view(),
            sigma,
        };
        let z = normals(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 3, d);
        let mut stats = DrawStats::default();
        let got = sqrt_times(&cov, &z, LANCZOS, &mut stats).unwrap();
        let s2: f64 = sigma * sigma;
        let c = tau2.mapv(|t| (s2 * t / (t + s2)).sqrt());
        let want = &z * &c;
        let err = (&got - &want).mapv(|v| v * v).sum().sqrt() / want.mapv(|v| v * v).sum().sqrt();
        assert!(err < 2e-2, "relative error {err}");
        assert_eq!(stats.score_evals, 3 * LANCZOS as u64);
    }
}
