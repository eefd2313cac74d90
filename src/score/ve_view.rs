//! The VE view of a VP (DDPM) prior: the score of the data smoothed at any σ, from an ε-network.
//!
//! A VP prior gives the score of `x_t = √ᾱ_t c x₀ + √(1 − ᾱ_t) ε`, with `x₀` the data and `c` its
//! `data_scale`. In data units `x_t/(√ᾱ_t c) = x₀ + σ_t n` with `σ_t = √((1 − ᾱ_t)/ᾱ_t)/c`, so the
//! score of the data smoothed at `σ_t` is
//! `s(x, σ_t) = k_t s_t(k_t x) = −ε(k_t x, t)/σ_t` with `k_t = √ᾱ_t c`, and its VJP is `k_t²` times
//! the VP one at the same point. Between two timesteps, `e(x, σ) = −σ s(x, σ)` (ε itself, which stays
//! of order one at every level) is interpolated linearly in `ln σ` between the neighbours and divided
//! by σ; σ is clamped into `[σ_0, σ_{T−1}]`, the range the view reports as its `Ve` noise kind.

use super::{NoiseKind, ScoreError, ScoreModel};
use ndarray::{Array2, ArrayView2};

/// Relative distance from a timestep's σ under which a level counts as that timestep exactly.
const ON_GRID: f64 = 1e-12;

/// A VP (diffusion) prior seen as a noise-conditional (VE) prior in data units.
pub struct VeView<P> {
    inner: P,
    /// `σ_t` in data units for every timestep (strictly increasing).
    sigmas: Vec<f64>,
    /// `k_t = √ᾱ_t · data_scale`, the input scaling at timestep `t`.
    scales: Vec<f64>,
}

impl<P: ScoreModel> VeView<P> {
    /// The view of a VP prior; an error when `inner` is not a VP prior or its schedule is degenerate.
    pub fn new(inner: P) -> Result<Self, ScoreError> {
        // The prior's own schedule (a diffusers model's may be cosine or scaled-linear; the β ends
        // in `NoiseKind::Vp` describe only a linear one).
        let (Some(schedule), NoiseKind::Vp { .. }) = (inner.vp_schedule(), inner.noise_kind()) else {
            return Err(ScoreError(format!(
                "the VE view needs a VP (diffusion) prior, not {:?}",
                inner.noise_kind()
            )));
        };
        let c = inner.data_scale();
        let steps = schedule.steps();
        let valid = |b: f64| b.is_finite() && b > 0.0 && b < 1.0;
        if !((0..steps).all(|t| valid(schedule.beta(t))) && steps >= 1 && c.is_finite() && c > 0.0) {
            return Err(ScoreError(format!(
                "the VP schedule ({steps} steps, data scale {c}) has no VE view: every β must lie in (0, 1) and the data scale be positive"
            )));
        }
        let sigmas: Vec<f64> = (0..steps).map(|t| schedule.sigma_equivalent(t) / c).collect();
        let scales = (0..steps).map(|t| schedule.alpha_bar(t).sqrt() * c).collect();
        Ok(Self {
            inner,
            sigmas,
            scales,
        })
    }

    /// The VP prior seen through the view.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The timesteps whose scores make the score at σ, each with its factor `w_t σ_t/σ` on
    /// `s(x, σ_t)` (one timestep on the grid or outside the range, else the two neighbours).
    fn bracket(&self, sigma: f64) -> Result<Vec<(usize, f64)>, ScoreError> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(ScoreError(format!(
                "noise level σ = {sigma} must be finite and positive"
            )));
        }
        let last = self.sigmas.len() - 1;
        let (lo, hi) = (self.sigmas[0], self.sigmas[last]);
        if sigma <= lo * (1.0 + ON_GRID) {
            return Ok(vec![(0, 1.0)]);
        }
        if sigma >= hi * (1.0 - ON_GRID) {
            return Ok(vec![(last, 1.0)]);
        }
        // First timestep with σ_t ≥ σ: 1..=last, since σ_0 < σ < σ_last.
        let t1 = self.sigmas.partition_point(|&s| s < sigma);
        let t0 = t1 - 1;
        let (s0, s1) = (self.sigmas[t0], self.sigmas[t1]);
        if (s1 - sigma).abs() <= ON_GRID * s1 {
            return Ok(vec![(t1, s1 / sigma)]);
        }
        if (sigma - s0).abs() <= ON_GRID * s0 {
            return Ok(vec![(t0, s0 / sigma)]);
        }
        let w = (sigma / s0).ln() / (s1 / s0).ln();
        Ok(vec![(t0, (1.0 - w) * s0 / sigma), (t1, w * s1 / sigma)])
    }
}

impl<P: ScoreModel> ScoreModel for VeView<P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Ve {
            sigma_min: self.sigmas[0],
            sigma_max: self.sigmas[self.sigmas.len() - 1],
        }
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let mut out = Array2::zeros(x.raw_dim());
        for (t, f) in self.bracket(level)? {
            let k = self.scales[t];
            let s = self.inner.score((&x * k).view(), t as f64)?;
            out.scaled_add(f * k, &s);
        }
        Ok(out)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        let mut out = Array2::zeros(x.raw_dim());
        for (t, f) in self.bracket(level)? {
            let k = self.scales[t];
            let g = self.inner.score_vjp((&x * k).view(), t as f64, v)?;
            out.scaled_add(f * k * k, &g);
        }
        Ok(out)
    }

    fn evaluations(&self) -> u64 {
        self.inner.evaluations()
    }
}

#[cfg(test)]
#[path = "ve_view_tests.rs"]
mod tests;
