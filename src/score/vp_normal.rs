//! An analytic VP (DDPM) prior: `x₀ ~ N(μ, τ²)` diffused by the linear-β schedule, with exact scores.
//!
//! `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε` is Gaussian, `N(√ᾱ_t μ, ᾱ_t τ² + 1 − ᾱ_t)`, so the score and its
//! Jacobian are exact. It lets DPS be measured against a closed-form posterior.

use super::{NoiseKind, ScoreError, ScoreModel, VpSchedule};
use ndarray::{Array1, Array2, ArrayView2};
use std::sync::atomic::{AtomicU64, Ordering};

/// `N(μ, diag τ²)` under the DDPM forward process (β linear from `beta_start` to `beta_end`).
pub struct VpNormalPrior {
    mu: Array1<f64>,
    tau: Array1<f64>,
    schedule: VpSchedule,
    evals: AtomicU64,
}

impl VpNormalPrior {
    /// iid `N(mu, tau²)` in `dim` coordinates with the DDPM schedule (β 1e-4 → 0.02, T = 1000).
    pub fn iid(dim: usize, mu: f64, tau: f64) -> Result<Self, ScoreError> {
        if !(tau.is_finite() && tau > 0.0 && mu.is_finite()) {
            return Err(ScoreError("VP Normal prior: need finite μ and τ > 0".into()));
        }
        Ok(Self {
            mu: Array1::from_elem(dim, mu),
            tau: Array1::from_elem(dim, tau),
            schedule: VpSchedule::ddpm(),
            evals: AtomicU64::new(0),
        })
    }

    fn moments(&self, level: f64) -> Result<(f64, Array1<f64>), ScoreError> {
        let t = self.schedule.index(level).ok_or_else(|| {
            ScoreError(format!(
                "timestep t = {level} is not in 0..{}",
                self.schedule.steps()
            ))
        })?;
        let ab = self.schedule.alpha_bar(t);
        Ok((ab.sqrt(), self.tau.mapv(|s| ab * s * s + 1.0 - ab)))
    }

    fn check(&self, x: &ArrayView2<f64>) -> Result<(), ScoreError> {
        if x.ncols() != self.mu.len() {
            return Err(ScoreError(format!(
                "the prior expects rows of {} values, got {}",
                self.mu.len(),
                x.ncols()
            )));
        }
        Ok(())
    }
}

impl ScoreModel for VpNormalPrior {
    fn dim(&self) -> usize {
        self.mu.len()
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Vp {
            beta_start: self.schedule.beta(0),
            beta_end: self.schedule.beta(self.schedule.steps() - 1),
            steps: self.schedule.steps(),
        }
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        self.check(&x)?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        let (m, var) = self.moments(level)?;
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for ((v, mu), s2) in row.iter_mut().zip(&self.mu).zip(&var) {
                *v = -(*v - m * mu) / s2;
            }
        }
        Ok(out)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        self.check(&x)?;
        self.check(&v)?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        let (_, var) = self.moments(level)?;
        let mut out = v.to_owned();
        for mut row in out.rows_mut() {
            row.zip_mut_with(&var, |vi, s2| *vi = -*vi / s2);
        }
        Ok(out)
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }
}
