//! The VP (DDPM) view of an analytic or VE prior: `x₀ ~ p` diffused by a linear-β schedule.
//!
//! `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε`, so `x_t/√ᾱ_t` is `x₀` plus noise of sd `σ_t = √((1 − ᾱ_t)/ᾱ_t)`:
//! the VP score is the prior's VE score at `σ_t`, rescaled, `s_t(x) = s(x/√ᾱ_t, σ_t)/√ᾱ_t` (and its
//! Jacobian by `1/ᾱ_t`); as an ε-model, `ε(x, t) = −σ_t s(x/√ᾱ_t, σ_t)`. On `Normal` and
//! `GaussianMixture` priors it is exact (DDPM schedule, T = 1000), so DPS can be measured against
//! closed-form posteriors. On a VE network trained for σ in `[σ_min, σ_max]` the schedule is DDPM's
//! β slope (1e-4 → 0.02 over 1000 steps) cut at the first timestep whose σ_t reaches σ_max (all
//! 1000 when none does), and σ_t is clamped into the network's range.

use super::{Cotangent, NoiseKind, NormalPrior, ScoreError, ScoreModel, VpSchedule};
use ndarray::{Array2, ArrayView2};

/// An analytic prior (one whose [`ScoreModel::has_vp_view`] is true) or a VE prior seen as a DDPM prior.
pub struct VpView<P> {
    inner: P,
    schedule: VpSchedule,
    /// The VE prior's range `[σ_min, σ_max]` that σ_t is clamped into (`None`: exact at every σ).
    clamp: Option<(f64, f64)>,
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
    /// The view an analytic (`Normal`, `GaussianMixture`) or VE prior has: [`VpView::ddpm`] or
    /// [`VpView::of_ve`].
    pub fn new(inner: P) -> Result<Self, ScoreError> {
        match inner.noise_kind() {
            NoiseKind::Ve { .. } => Self::of_ve(inner),
            _ => Self::ddpm(inner),
        }
    }

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
            clamp: None,
        })
    }

    /// The view of a VE prior trained for σ in `[σ_min, σ_max]`: DDPM's β slope up to the first
    /// timestep whose σ_t reaches σ_max, σ_t clamped into the range. An error for a prior with one
    /// noise level, or a σ_max not above DDPM's σ_0 (no two timesteps).
    pub fn of_ve(inner: P) -> Result<Self, ScoreError> {
        let NoiseKind::Ve { sigma_min, sigma_max } = inner.noise_kind() else {
            return Err(ScoreError(format!(
                "the diffusion (VP) view of a network needs a VE prior, not {:?}",
                inner.noise_kind()
            )));
        };
        let full = VpSchedule::ddpm();
        let steps = (0..full.steps())
            .position(|t| full.sigma_equivalent(t) >= sigma_max)
            .map_or(full.steps(), |t| t + 1);
        if !(sigma_min > 0.0 && sigma_max > sigma_min) || steps < 2 {
            return Err(ScoreError(format!(
                "a VE prior trained for σ in [{sigma_min}, {sigma_max}] has no diffusion (VP) view: it needs a range of noise levels reaching above σ_0 = {:.4} of the DDPM schedule",
                full.sigma_equivalent(0)
            )));
        }
        Ok(Self {
            inner,
            schedule: VpSchedule::linear(full.beta(0), full.beta(steps - 1), steps),
            clamp: Some((sigma_min, sigma_max)),
        })
    }

    /// `√ᾱ_t` and the VE noise level `σ_t` the inner prior is evaluated at, for timestep `level`.
    fn equivalent(&self, level: f64) -> Result<(f64, f64), ScoreError> {
        let t = self.schedule.index(level).ok_or_else(|| {
            ScoreError(format!(
                "timestep t = {level} is not in 0..{}",
                self.schedule.steps()
            ))
        })?;
        let ab = self.schedule.alpha_bar(t);
        let sigma = ((1.0 - ab) / ab).sqrt();
        let sigma = self.clamp.map_or(sigma, |(lo, hi)| sigma.clamp(lo, hi));
        Ok((ab.sqrt(), sigma))
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

    fn score_and_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        f: &mut Cotangent<'_>,
    ) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
        let (r, sigma) = self.equivalent(level)?;
        let (s, j) = self
            .inner
            .score_and_vjp((&x / r).view(), sigma, &mut |s| f(&(s / r)))?;
        Ok((s / r, j / (r * r)))
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

    /// An exact prior posing as a VE network trained for σ in `[lo, hi]`.
    struct AsVe<P>(P, f64, f64);

    impl<P: ScoreModel> ScoreModel for AsVe<P> {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn noise_kind(&self) -> NoiseKind {
            NoiseKind::Ve {
                sigma_min: self.1,
                sigma_max: self.2,
            }
        }
        fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
            self.0.score(x, level)
        }
        fn score_vjp(
            &self,
            x: ArrayView2<f64>,
            level: f64,
            v: ArrayView2<f64>,
        ) -> Result<Array2<f64>, ScoreError> {
            self.0.score_vjp(x, level, v)
        }
    }

    /// The VP view of an exact VE model is the exact diffused Gaussian wherever σ_t lies in the VE
    /// range (as an ε-model, `ε = √(1−ᾱ)(x − √ᾱ μ)/(ᾱτ² + 1 − ᾱ)`), to 1e-12; its schedule is DDPM's
    /// cut at the first σ_t ≥ σ_max; below σ_min the level is clamped.
    #[test]
    fn ve_view_is_the_exact_diffusion_inside_the_range() {
        let (mu, tau) = (0.5, 2.0);
        let ve = AsVe(NormalPrior::iid(2, mu, tau).unwrap(), 0.02, 23.7);
        let p = VpView::new(&ve).unwrap();
        let full = VpSchedule::ddpm();
        let NoiseKind::Vp {
            beta_start,
            beta_end,
            steps,
        } = p.noise_kind()
        else {
            panic!()
        };
        assert!(full.sigma_equivalent(steps - 1) >= 23.7 && full.sigma_equivalent(steps - 2) < 23.7);
        assert!((beta_start - 1e-4).abs() < 1e-15 && (beta_end - full.beta(steps - 1)).abs() < 1e-15);
        eprintln!("σ_max 23.7: T = {steps}, β_end = {beta_end:.5}");
        let x = array![[0.3, -1.0], [4.0, 0.1]];
        for t in [3usize, 10, 200, steps - 2] {
            let ab = full.alpha_bar(t);
            assert!(full.sigma_equivalent(t) >= 0.02 && full.sigma_equivalent(t) <= 23.7);
            let got = p.score(x.view(), t as f64).unwrap();
            for (g, xi) in got.iter().zip(x.iter()) {
                let eps = (1.0 - ab).sqrt() * (xi - ab.sqrt() * mu) / (ab * tau * tau + 1.0 - ab);
                let want = -eps / (1.0 - ab).sqrt();
                assert!(
                    (g - want).abs() < 1e-12 * want.abs().max(1.0),
                    "t={t}: {g} vs {want}"
                );
            }
        }
        // t = 0 has σ_0 = 0.01 < σ_min: the VE score is taken at σ_min.
        let r = full.alpha_bar(0).sqrt();
        let want = ve.score((&x / r).view(), 0.02).unwrap() / r;
        assert_eq!(p.score(x.view(), 0.0).unwrap(), want);
        // A range past the DDPM schedule keeps all 1000 steps; one level or too narrow a range has no view.
        let wide = VpView::new(AsVe(FlatPrior::new(1), 0.01, 500.0)).unwrap();
        assert!(matches!(wide.noise_kind(), NoiseKind::Vp { steps: 1000, .. }));
        assert!(VpView::new(AsVe(FlatPrior::new(1), 0.05, 0.05)).is_err());
        assert!(VpView::new(AsVe(FlatPrior::new(1), 0.001, 0.008)).is_err());
        assert!(matches!(
            VpView::new(AsVe(FlatPrior::new(1), 0.001, 0.012))
                .unwrap()
                .noise_kind(),
            NoiseKind::Vp { steps: 2, .. }
        ));
    }
}
