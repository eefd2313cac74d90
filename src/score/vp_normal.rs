//! An analytic VP (DDPM) prior: `x₀ ~ N(μ, τ²)` diffused by the linear-β schedule, with exact scores.
//!
//! `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε`, so `x_t/√ᾱ_t` is `x₀` plus noise of sd `σ_t = √((1 − ᾱ_t)/ᾱ_t)`:
//! the VP score is the VE score of [`NormalPrior`] at `σ_t`, rescaled,
//! `s_t(x) = s(x/√ᾱ_t, σ_t)/√ᾱ_t` (and its Jacobian by `1/ᾱ_t`). It lets DPS be measured against a
//! closed-form posterior.

use super::{NoiseKind, NormalPrior, ScoreError, ScoreModel, VpSchedule};
use ndarray::{Array2, ArrayView2};

/// `N(μ, τ²)` per coordinate under the DDPM forward process (β 1e-4 → 0.02, T = 1000).
pub struct VpNormalPrior {
    normal: NormalPrior,
    schedule: VpSchedule,
}

impl VpNormalPrior {
    /// iid `N(mu, tau²)` in `dim` coordinates with the DDPM schedule.
    pub fn iid(dim: usize, mu: f64, tau: f64) -> Result<Self, ScoreError> {
        Ok(Self {
            normal: NormalPrior::iid(dim, mu, tau)?,
            schedule: VpSchedule::ddpm(),
        })
    }

    /// `√ᾱ_t` and the equivalent VE noise level `σ_t` at timestep `level`.
    fn equivalent(&self, level: f64) -> Result<(f64, f64), ScoreError> {
        let t = self.schedule.index(level).ok_or_else(|| {
            ScoreError(format!(
                "timestep t = {level} is not in 0..{}",
                self.schedule.steps()
            ))
        })?;
        let ab = self.schedule.alpha_bar(t);
        Ok((ab.sqrt(), ((1.0 - ab) / ab).sqrt()))
    }
}

impl ScoreModel for VpNormalPrior {
    fn dim(&self) -> usize {
        self.normal.dim()
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Vp {
            beta_start: self.schedule.beta(0),
            beta_end: self.schedule.beta(self.schedule.steps() - 1),
            steps: self.schedule.steps(),
        }
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let (r, sigma) = self.equivalent(level)?;
        Ok(self.normal.score((&x / r).view(), sigma)? / r)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        let (r, sigma) = self.equivalent(level)?;
        Ok(self.normal.score_vjp((&x / r).view(), sigma, v)? / (r * r))
    }

    fn evaluations(&self) -> u64 {
        self.normal.evaluations()
    }
}
