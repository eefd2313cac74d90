//! Analytic priors (`Normal`, `GaussianMixture`, `Flat`) with exact noise-conditional scores and densities.
//!
//! At noise level σ the prior is smoothed, `p_σ = p ∗ N(0, σ²I)`: an iid `N(μ, τ²)` becomes
//! `N(μ, τ² + σ²)`, and a mixture of isotropic Gaussians stays a mixture with variances `τ_k² + σ²`.
//! Every quantity (score, log density, Hessian-vector product) is exact, log densities include their
//! normalising constants.

use std::f64::consts::PI;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::{NoiseKind, ScoreError, ScoreModel};

fn check_rows(x: &ArrayView2<f64>, dim: usize) -> Result<(), ScoreError> {
    if x.ncols() == dim {
        Ok(())
    } else {
        Err(ScoreError(format!(
            "prior expects points of length {dim}, got {}",
            x.ncols()
        )))
    }
}

fn check_scale(name: &str, values: &[f64]) -> Result<(), ScoreError> {
    match values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        Some(v) => Err(ScoreError(format!("{name} must be positive and finite, got {v}"))),
        None => Ok(()),
    }
}

/// Independent normal prior `x_i ~ N(μ_i, τ_i²)` (iid when every `μ_i`, `τ_i` agree).
#[derive(Debug)]
pub struct NormalPrior {
    mu: Array1<f64>,
    tau: Array1<f64>,
    /// `(μ, τ)` when every element shares them (the scalar formulas then apply).
    iid: Option<(f64, f64)>,
    evals: AtomicU64,
}

impl NormalPrior {
    /// Per-element means and standard deviations (equal lengths, `τ_i > 0`).
    pub fn new(mu: Array1<f64>, tau: Array1<f64>) -> Result<Self, ScoreError> {
        if mu.len() != tau.len() {
            return Err(ScoreError(format!(
                "Normal prior: mu has {} elements, sigma {}",
                mu.len(),
                tau.len()
            )));
        }
        check_scale("Normal prior sigma", &tau.to_vec())?;
        if mu.iter().any(|m| !m.is_finite()) {
            return Err(ScoreError("Normal prior mean must be finite".into()));
        }
        let same = |a: &Array1<f64>| a.iter().all(|v| Some(v) == a.first());
        let iid = match (mu.first(), tau.first()) {
            (Some(&m), Some(&t)) if same(&mu) && same(&tau) => Some((m, t)),
            _ => None,
        };
        Ok(Self {
            mu,
            tau,
            iid,
            evals: AtomicU64::new(0),
        })
    }

    /// `dim` iid copies of `N(mu, tau²)`.
    pub fn iid(dim: usize, mu: f64, tau: f64) -> Result<Self, ScoreError> {
        Self::new(Array1::from_elem(dim, mu), Array1::from_elem(dim, tau))
    }

    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.mu.view()
    }

    pub fn std(&self) -> ArrayView1<'_, f64> {
        self.tau.view()
    }

    /// Variances of `p_σ`: `τ_i² + σ²`.
    fn variances(&self, sigma: f64) -> Array1<f64> {
        self.tau.mapv(|t| t * t + sigma * sigma)
    }
}

impl ScoreModel for NormalPrior {
    fn dim(&self) -> usize {
        self.mu.len()
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Analytic
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim())?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        if let Some((m, t)) = self.iid {
            let var = t * t + level * level;
            return Ok(x.mapv(|xi| -(xi - m) / var));
        }
        let var = self.variances(level);
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            row.zip_mut_with(&self.mu, |xi, m| *xi -= m);
            row.zip_mut_with(&var, |xi, v| *xi = -*xi / v);
        }
        Ok(out)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim())?;
        check_rows(&v, self.dim())?;
        if v.nrows() != x.nrows() {
            return Err(ScoreError("score_vjp: x and v have different batch sizes".into()));
        }
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        // ∂s/∂x = −diag(1/(τ² + σ²)), symmetric.
        let var = self.variances(level);
        let mut out = v.to_owned();
        for mut row in out.rows_mut() {
            row.zip_mut_with(&var, |vi, s2| *vi = -*vi / s2);
        }
        Ok(out)
    }

    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        if x.ncols() != self.dim() {
            return None;
        }
        if let Some((m, t)) = self.iid {
            let var = t * t + level * level;
            let norm = -0.5 * self.dim() as f64 * (2.0 * PI * var).ln();
            return Some(x.map_axis(Axis(1), |row| {
                norm - 0.5 * row.iter().map(|xi| (xi - m) * (xi - m)).sum::<f64>() / var
            }));
        }
        let var = self.variances(level);
        let norm: f64 = var.iter().map(|v| -0.5 * (2.0 * PI * v).ln()).sum();
        Some(x.map_axis(Axis(1), |row| {
            let quad: f64 = row
                .iter()
                .zip(&self.mu)
                .zip(&var)
                .map(|((xi, m), v)| (xi - m) * (xi - m) / v)
                .sum();
            norm - 0.5 * quad
        }))
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }

    fn has_vp_view(&self) -> bool {
        true
    }
}

/// Mixture of isotropic Gaussians `Σ_k w_k N(m_k, τ_k² I)`.
#[derive(Debug)]
pub struct GaussianMixturePrior {
    log_weights: Array1<f64>,
    means: Array2<f64>,
    sigmas: Array1<f64>,
    evals: AtomicU64,
}

/// Per-point quantities of the smoothed mixture: log density, responsibilities and component
/// gradients `g_k = (m_k − x)/v_k`.
struct MixturePoint {
    log_p: f64,
    resp: Array1<f64>,
    grads: Array2<f64>,
    vars: Array1<f64>,
}

impl GaussianMixturePrior {
    /// `weights` [K] (positive, normalised here), `means` [K, dim], `sigmas` [K] (positive).
    pub fn new(weights: Array1<f64>, means: Array2<f64>, sigmas: Array1<f64>) -> Result<Self, ScoreError> {
        let k = weights.len();
        if k == 0 || means.nrows() != k || sigmas.len() != k {
            return Err(ScoreError(format!(
                "GaussianMixture: {k} weights, {} means, {} sigmas (need the same non-zero number)",
                means.nrows(),
                sigmas.len()
            )));
        }
        check_scale("GaussianMixture weights", &weights.to_vec())?;
        check_scale("GaussianMixture sigmas", &sigmas.to_vec())?;
        if means.iter().any(|m| !m.is_finite()) {
            return Err(ScoreError("GaussianMixture means must be finite".into()));
        }
        let total = weights.sum();
        let log_weights = weights.mapv(|w| (w / total).ln());
        Ok(Self {
            log_weights,
            means,
            sigmas,
            evals: AtomicU64::new(0),
        })
    }

    /// Normalised component weights.
    pub fn weights(&self) -> Array1<f64> {
        self.log_weights.mapv(f64::exp)
    }

    pub fn means(&self) -> ArrayView2<'_, f64> {
        self.means.view()
    }

    pub fn sigmas(&self) -> ArrayView1<'_, f64> {
        self.sigmas.view()
    }

    fn point(&self, x: ArrayView1<f64>, sigma: f64) -> MixturePoint {
        let dim = x.len() as f64;
        let vars = self.sigmas.mapv(|t| t * t + sigma * sigma);
        let mut grads = self.means.to_owned();
        let mut logs = Array1::zeros(self.log_weights.len());
        for (k, mut g) in grads.rows_mut().into_iter().enumerate() {
            g -= &x;
            let v = vars[k];
            let sq: f64 = g.iter().map(|d| d * d).sum();
            logs[k] = self.log_weights[k] - 0.5 * dim * (2.0 * PI * v).ln() - 0.5 * sq / v;
            g.mapv_inplace(|d| d / v);
        }
        let max = logs.fold(f64::NEG_INFINITY, |a: f64, &b| a.max(b));
        let resp_unnorm = logs.mapv(|l| (l - max).exp());
        let total = resp_unnorm.sum();
        MixturePoint {
            log_p: max + total.ln(),
            resp: resp_unnorm / total,
            grads,
            vars,
        }
    }
}

impl ScoreModel for GaussianMixturePrior {
    fn dim(&self) -> usize {
        self.means.ncols()
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Analytic
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim())?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        let mut out = Array2::zeros(x.raw_dim());
        for (xr, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
            let p = self.point(xr, level);
            o.assign(&p.resp.dot(&p.grads));
        }
        Ok(out)
    }

    /// Hessian-vector product: with `r_k` the responsibilities, `g_k = (m_k − x)/v_k` and
    /// `s = Σ r_k g_k`, `∇s = Σ r_k (g_k g_kᵀ − I/v_k) − s sᵀ` (symmetric, so VJP = JVP).
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim())?;
        check_rows(&v, self.dim())?;
        if v.nrows() != x.nrows() {
            return Err(ScoreError("score_vjp: x and v have different batch sizes".into()));
        }
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        let mut out = Array2::zeros(x.raw_dim());
        for ((xr, vr), mut o) in x.rows().into_iter().zip(v.rows()).zip(out.rows_mut()) {
            let p = self.point(xr, level);
            let s = p.resp.dot(&p.grads);
            let gv = p.grads.dot(&vr);
            let coef = &p.resp * &gv;
            let inv_var: f64 = p.resp.iter().zip(&p.vars).map(|(r, var)| r / var).sum();
            let mut acc = coef.dot(&p.grads);
            acc.scaled_add(-inv_var, &vr);
            acc.scaled_add(-s.dot(&vr), &s);
            o.assign(&acc);
        }
        Ok(out)
    }

    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        if x.ncols() != self.dim() {
            return None;
        }
        Some(x.map_axis(Axis(1), |row| self.point(row, level).log_p))
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }

    fn has_vp_view(&self) -> bool {
        true
    }
}

/// Improper flat prior: score 0, log density 0 at every level.
#[derive(Debug)]
pub struct FlatPrior {
    dim: usize,
    evals: AtomicU64,
}

impl FlatPrior {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            evals: AtomicU64::new(0),
        }
    }
}

impl ScoreModel for FlatPrior {
    fn dim(&self) -> usize {
        self.dim
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Analytic
    }

    fn score(&self, x: ArrayView2<f64>, _level: f64) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim)?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        Ok(Array2::zeros(x.raw_dim()))
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        _level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        check_rows(&x, self.dim)?;
        check_rows(&v, self.dim)?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        Ok(Array2::zeros(v.raw_dim()))
    }

    fn log_density(&self, x: ArrayView2<f64>, _level: f64) -> Option<Array1<f64>> {
        (x.ncols() == self.dim).then(|| Array1::zeros(x.nrows()))
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Finite-difference check of score = ∇ log p and of the Hessian-vector product.
    fn check_derivatives(prior: &dyn ScoreModel, x: Array2<f64>, sigma: f64) {
        let h = 1e-5;
        let s = prior.score(x.view(), sigma).unwrap();
        let v = Array2::from_shape_fn(x.raw_dim(), |(i, j)| ((i * 7 + j * 3) % 5) as f64 - 2.0);
        let hv = prior.score_vjp(x.view(), sigma, v.view()).unwrap();
        for j in 0..x.ncols() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp.column_mut(j).mapv_inplace(|a| a + h);
            xm.column_mut(j).mapv_inplace(|a| a - h);
            let fd = (prior.log_density(xp.view(), sigma).unwrap()
                - prior.log_density(xm.view(), sigma).unwrap())
                / (2.0 * h);
            for i in 0..x.nrows() {
                assert!(
                    (fd[i] - s[[i, j]]).abs() < 1e-6,
                    "score fd {} vs {}",
                    fd[i],
                    s[[i, j]]
                );
            }
        }
        let xp = &x + &(&v * h);
        let xm = &x - &(&v * h);
        let fd =
            (prior.score(xp.view(), sigma).unwrap() - prior.score(xm.view(), sigma).unwrap()) / (2.0 * h);
        for (a, b) in fd.iter().zip(hv.iter()) {
            assert!((a - b).abs() < 1e-5, "hvp fd {a} vs {b}");
        }
    }

    #[test]
    fn normal_matches_closed_form_and_derivatives() {
        let p = NormalPrior::new(array![0.5, -1.0, 2.0], array![1.0, 0.5, 2.0]).unwrap();
        let x = array![[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]];
        let lp = p.log_density(x.view(), 0.3).unwrap();
        // Element 0 of row 0: N(0; 0.5, 1.09).
        let v = [1.09, 0.34, 4.09];
        let want: f64 = [(0.0f64, 0.5, v[0]), (0.0, -1.0, v[1]), (0.0, 2.0, v[2])]
            .iter()
            .map(|(x, m, v)| -0.5 * (2.0 * PI * v).ln() - 0.5 * (x - m) * (x - m) / v)
            .sum();
        assert!((lp[0] - want).abs() < 1e-12);
        check_derivatives(&p, x, 0.3);
        // score (2 rows) + score_vjp (2) + two finite-difference score calls (2 + 2).
        assert_eq!(p.evaluations(), 8);
    }

    #[test]
    fn mixture_derivatives_and_limits() {
        let means = array![[0.0, 1.0], [2.0, -1.0], [-3.0, 0.5]];
        let p = GaussianMixturePrior::new(array![1.0, 2.0, 1.0], means, array![0.5, 1.0, 0.7]).unwrap();
        let x = array![[0.1, 0.2], [1.5, -0.5], [40.0, -30.0]];
        check_derivatives(&p, x.clone(), 0.0);
        check_derivatives(&p, x.clone(), 0.8);
        // A single-component mixture is the normal prior.
        let one = GaussianMixturePrior::new(array![3.0], array![[1.0, 2.0]], array![0.7]).unwrap();
        let n = NormalPrior::new(array![1.0, 2.0], array![0.7, 0.7]).unwrap();
        let d = one.log_density(x.view(), 0.4).unwrap() - n.log_density(x.view(), 0.4).unwrap();
        assert!(d.iter().all(|e| e.abs() < 1e-9), "{d}");
        assert!(p
            .log_density(x.view(), 0.0)
            .unwrap()
            .iter()
            .all(|v| v.is_finite()));
    }

    #[test]
    fn flat_and_shape_errors() {
        let f = FlatPrior::new(3);
        assert_eq!(
            f.score(Array2::ones((2, 3)).view(), 1.0).unwrap(),
            Array2::<f64>::zeros((2, 3))
        );
        assert!(f.score(Array2::ones((2, 4)).view(), 1.0).is_err());
        assert!(NormalPrior::iid(3, 0.0, -1.0).is_err());
        assert!(NormalPrior::new(array![0.0], array![1.0, 1.0]).is_err());
        assert!(GaussianMixturePrior::new(array![1.0], array![[0.0], [1.0]], array![1.0]).is_err());
    }
}
