//! Test support for the kernel tests: closed-form linear-Gaussian targets, small dense linear algebra,
//! an ESS estimate (Geyer initial monotone sequence, Stan's multi-chain form) and z-score checks.
#![allow(dead_code)]

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use uq::infer::{Eval, EvalError, Posterior};
use uq::score::ScoreModel;

/// `y = A x + N(0, noise²)` with prior `prior` (any analytic `ScoreModel`).
pub struct LinGauss<P: ScoreModel> {
    pub a: Array2<f64>,
    pub y: Array1<f64>,
    pub noise: f64,
    pub prior: P,
}

impl<P: ScoreModel> Posterior for LinGauss<P> {
    fn dim(&self) -> usize {
        self.a.ncols()
    }

    fn evaluate(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<Eval, EvalError>> {
        let var = self.noise * self.noise + sigma * sigma;
        let scores = self.prior.score(xs, sigma).map_err(|e| EvalError::Fatal(e.0));
        let logp = self.prior.log_density(xs, sigma);
        xs.rows()
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let scores = scores.as_ref().map_err(Clone::clone)?;
                let r = &self.y - &self.a.dot(&x);
                Ok(Eval {
                    log_lik: -0.5 * r.dot(&r) / var,
                    log_prior: logp.as_ref().map(|l| l[i]),
                    grad_lik: self.a.t().dot(&r) / var,
                    score_prior: scores.row(i).to_owned(),
                })
            })
            .collect()
    }

    fn prior_score(&self, xs: ArrayView2<f64>, sigma: f64) -> Result<Array2<f64>, EvalError> {
        self.prior.score(xs, sigma).map_err(|e| EvalError::Fatal(e.0))
    }

    fn has_prior_density(&self) -> bool {
        true
    }
}

pub fn normal_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize, scale: f64) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| {
        scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
    })
}

pub fn normal_vector(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Array1<f64> {
    Array1::from_shape_fn(n, |_| {
        scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
    })
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Lower Cholesky factor of a symmetric positive-definite matrix.
pub fn cholesky(m: &Array2<f64>) -> Array2<f64> {
    let n = m.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = m[[i, i]] - s;
                assert!(d > 0.0, "matrix not positive definite");
                l[[i, i]] = d.sqrt();
            } else {
                l[[i, j]] = (m[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    l
}

/// Solve `m x = b` for symmetric positive-definite `m`.
pub fn spd_solve(m: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let l = cholesky(m);
    let n = b.len();
    let mut z = Array1::<f64>::zeros(n);
    for i in 0..n {
        z[i] = (b[i] - (0..i).map(|k| l[[i, k]] * z[k]).sum::<f64>()) / l[[i, i]];
    }
    let mut x = Array1::<f64>::zeros(n);
    for i in (0..n).rev() {
        x[i] = (z[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
    }
    x
}

pub fn spd_inverse(m: &Array2<f64>) -> Array2<f64> {
    let n = m.nrows();
    let mut inv = Array2::zeros((n, n));
    for j in 0..n {
        let mut e = Array1::zeros(n);
        e[j] = 1.0;
        inv.column_mut(j).assign(&spd_solve(m, e.view()));
    }
    inv
}

pub fn spd_logdet(m: &Array2<f64>) -> f64 {
    2.0 * cholesky(m).diag().iter().map(|d| d.ln()).sum::<f64>()
}

/// log N(x; mean, cov).
pub fn gauss_logpdf(x: ArrayView1<f64>, mean: &Array1<f64>, cov: &Array2<f64>) -> f64 {
    let d = &x - mean;
    let q = d.dot(&spd_solve(cov, d.view()));
    -0.5 * (q + spd_logdet(cov) + x.len() as f64 * (2.0 * std::f64::consts::PI).ln())
}

/// Posterior `N(mean, cov)` of `y = A x + N(0, noise²)` under `x ~ N(mu, diag(tau²))`.
pub fn gaussian_posterior(
    a: &Array2<f64>,
    y: &Array1<f64>,
    noise: f64,
    mu: &Array1<f64>,
    tau: &Array1<f64>,
) -> (Array1<f64>, Array2<f64>) {
    let n2 = noise * noise;
    let mut prec = a.t().dot(a) / n2;
    for i in 0..mu.len() {
        prec[[i, i]] += 1.0 / (tau[i] * tau[i]);
    }
    let rhs = a.t().dot(y) / n2 + mu / &tau.mapv(|t| t * t);
    (spd_solve(&prec, rhs.view()), spd_inverse(&prec))
}

/// Effective sample size of one scalar over chains (`series` is [chains, draws]): Stan's
/// multi-chain autocorrelation with Geyer's initial monotone positive sequence (no splitting or
/// rank normalisation; enough for MCSE on well-mixed targets).
pub fn ess(series: ArrayView2<f64>) -> f64 {
    let (m, n) = series.dim();
    let means = series.mean_axis(Axis(1)).unwrap();
    let centered: Vec<Array1<f64>> = (0..m).map(|c| &series.row(c) - means[c]).collect();
    let acov = |c: usize, t: usize| -> f64 {
        let x = &centered[c];
        (0..n - t).map(|i| x[i] * x[i + t]).sum::<f64>() / n as f64
    };
    let chain_var: Vec<f64> = (0..m).map(|c| acov(c, 0) * n as f64 / (n as f64 - 1.0)).collect();
    let w = chain_var.iter().sum::<f64>() / m as f64;
    let grand = means.mean().unwrap();
    let b = if m > 1 {
        n as f64 * means.iter().map(|v| (v - grand).powi(2)).sum::<f64>() / (m as f64 - 1.0)
    } else {
        0.0
    };
    let var_plus = w * (n as f64 - 1.0) / n as f64 + b / n as f64;
    if var_plus <= 0.0 {
        return (m * n) as f64;
    }
    let rho = |t: usize| -> f64 { 1.0 - (w - (0..m).map(|c| acov(c, t)).sum::<f64>() / m as f64) / var_plus };
    let mut sum = 0.0;
    let mut prev = f64::INFINITY;
    let mut t = 0;
    while t + 1 < n {
        let mut pair = rho(t) + rho(t + 1);
        if pair <= 0.0 {
            break;
        }
        pair = pair.min(prev);
        prev = pair;
        sum += pair;
        t += 2;
    }
    let tau = (-1.0 + 2.0 * sum).max(1.0 / ((m * n) as f64).log10());
    (m * n) as f64 / tau
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    let a = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    let b = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    let c = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    let d = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    }
}

/// Two-sided Bonferroni bound at family level 1%: `Φ⁻¹(1 − 0.01 / (2k))`.
pub fn bonferroni_bound(k: usize) -> f64 {
    normal_quantile(1.0 - 0.01 / (2.0 * k as f64))
}

/// z-score of the posterior mean estimate of a scalar series ([chains, draws]) against `truth`.
pub fn z_mean(series: ArrayView2<f64>, truth: f64) -> (f64, f64) {
    let mean = series.mean().unwrap();
    let var = series.var(1.0);
    let e = ess(series);
    ((mean - truth) / (var / e).sqrt(), e)
}

/// z-score of the variance estimate (mean of squared deviations) against `truth`.
pub fn z_var(series: ArrayView2<f64>, truth: f64) -> (f64, f64) {
    let mean = series.mean().unwrap();
    let sq = series.mapv(|v| (v - mean).powi(2));
    z_mean(sq.view(), truth)
}

/// Check every coordinate's mean and variance against the truth; returns (max |z| mean, max |z|
/// var, min ESS) and asserts both maxima stay below the Bonferroni bound across coordinates.
pub fn check_moments(
    label: &str,
    draws: &ndarray::Array3<f64>,
    mean: &Array1<f64>,
    var: &Array1<f64>,
) -> (f64, f64, f64) {
    let dim = mean.len();
    let bound = bonferroni_bound(dim);
    let (mut zm, mut zv, mut min_ess) = (0.0f64, 0.0f64, f64::INFINITY);
    for j in 0..dim {
        let s = draws.index_axis(Axis(2), j);
        let (z1, e1) = z_mean(s, mean[j]);
        let (z2, e2) = z_var(s, var[j]);
        zm = zm.max(z1.abs());
        zv = zv.max(z2.abs());
        min_ess = min_ess.min(e1).min(e2);
    }
    eprintln!("{label}: max|z| mean {zm:.2}, var {zv:.2} (bound {bound:.2}), min ESS {min_ess:.0}");
    assert!(
        zm < bound && zv < bound,
        "{label}: z-scores beyond the Bonferroni bound {bound:.2}: mean {zm:.2}, var {zv:.2}"
    );
    assert!(
        min_ess > 100.0,
        "{label}: ESS {min_ess:.0} too small for a meaningful MCSE test"
    );
    (zm, zv, min_ess)
}

/// The circular 5×5 blur (width 1) of `tests/models/blur8.uq` (side × side images) as a dense matrix.
pub fn blur_matrix(side: usize) -> Array2<f64> {
    let (n, s) = (5usize, 1.0f64);
    let c = (n as f64 - 1.0) / 2.0;
    let mut k = Array2::from_shape_fn((n, n), |(i, j)| {
        let (a, b) = (i as f64 - c, j as f64 - c);
        (-(a * a + b * b) / (2.0 * s * s)).exp()
    });
    k /= k.sum();
    let d = side * side;
    let mut m = Array2::zeros((d, d));
    for i in 0..side {
        for j in 0..side {
            for ((a, b), kv) in k.indexed_iter() {
                let p = (i + side + n / 2 - a) % side;
                let q = (j + side + n / 2 - b) % side;
                m[[i * side + j, p * side + q]] += kv;
            }
        }
    }
    m
}
