//! The exact VP (DDPM) view of an analytic prior: `x₀ ~ p` diffused by the linear-β schedule.
//!
//! `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε`, so `x_t/√ᾱ_t` is `x₀` plus noise of sd `σ_t = √((1 − ᾱ_t)/ᾱ_t)`:
//! the VP score is the analytic prior's VE score at `σ_t`, rescaled,
//! `s_t(x) = s(x/√ᾱ_t, σ_t)/√ᾱ_t` (and its Jacobian by `1/ᾱ_t`). It lets DPS (and its corrector) run
//! on `Normal` and `GaussianMixture` priors and be measured against closed-form posteriors.

use super::{NoiseKind, NormalPrior, ScoreError, ScoreModel, VpSchedule};
use ndarray::{Array2, ArrayView2};

/// An analytic prior (one whose [`ScoreModel::has_vp_view`] is true) seen as a DDPM prior.
pub struct VpView<P> {
    inner: P,
    schedule: VpSchedule,
}

/// `N(μ, τ²)` per coordinate under the DDPM forward process.
pub type VpNormalPrior = VpView<NormalPrior>;

impl VpNormalPrior {
    /// iid `N(mu, tau²)` in `dim` coordinates with the DDPM schedule.
    pub fn iid(dim: usize, mu: f64, tau: f64) -> Result<Self, ScoreError> {
        Self::ddpm(NormalPrior::iid(dim, mu, tau)?)
    }
}

impl<P: ScoreModel> VpView<P> {
    /// The view under the DDPM schedule (β 1e-4 → 0.02, T = 1000); an error when `inner` has no
    /// exact diffused scores (not analytic, or improper like `Flat`).
    pub fn ddpm(inner: P) -> Result<Self, ScoreError> {
        if inner.noise_kind() != NoiseKind::Analytic || !inner.has_vp_view() {
            return Err(ScoreError(
                "only a Normal or GaussianMixture prior has an exact diffusion (VP) view".into(),
            ));
        }
        Ok(Self {
            inner,
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

impl<P: ScoreModel> ScoreModel for VpView<P> {
    fn dim(&self) -> usize {
        self.inner.dim()
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
        Ok(self.inner.score((&x / r).view(), sigma)? / r)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        let (r, sigma) = self.equivalent(level)?;
        Ok(self.inner.score_vjp((&x / r).view(), sigma, v)? / (r * r))
    }

    fn evaluations(&self) -> u64 {
        self.inner.evaluations()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::score::{FlatPrior, GaussianMixturePrior};
    use ndarray::array;

    /// The VP score at t is the score of `x_t = √ᾱ x₀ + √(1−ᾱ) ε`: for N(μ, τ²), `−(x − √ᾱ μ)/(ᾱτ² + 1 − ᾱ)`.
    #[test]
    fn normal_view_is_the_diffused_normal() {
        let p = VpNormalPrior::iid(2, 0.5, 2.0).unwrap();
        let s = VpSchedule::ddpm();
        for t in [0usize, 10, 500, 999] {
            let ab = s.alpha_bar(t);
            let x = array![[0.3, -1.0]];
            let got = p.score(x.view(), t as f64).unwrap();
            for j in 0..2 {
                let want = -(x[[0, j]] - ab.sqrt() * 0.5) / (ab * 4.0 + 1.0 - ab);
                assert!((got[[0, j]] - want).abs() < 1e-12, "t={t}");
            }
        }
    }

    #[test]
    fn mixture_has_a_view_and_flat_does_not() {
        let m = GaussianMixturePrior::new(array![1.0, 1.0], array![[-2.0], [2.0]], array![0.5, 0.5]).unwrap();
        let v = VpView::ddpm(&m as &dyn ScoreModel).unwrap();
        // At t = T−1 the diffused mixture is nearly N(0, 1): the score is close to −x.
        let s = v.score(array![[0.7]].view(), 999.0).unwrap();
        assert!((s[[0, 0]] + 0.7).abs() < 0.01, "{s}");
        assert!(VpView::ddpm(FlatPrior::new(2)).is_err());
        assert!(v.score(array![[0.0]].view(), -3.0).is_err());
    }
}
