//! The posterior at one VE-equivalent noise level of a VP (diffusion) prior, for the corrector.
//!
//! A VP network gives the score of `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε` with `x₀ = data × scale`. Since
//! `x_t/√ᾱ_t = x₀ + σ_t ε` with `σ_t = √((1 − ᾱ_t)/ᾱ_t)`, the score of the data smoothed at
//! `σ_c = σ_t/scale` (data units) is `scale · √ᾱ_t · s_t(√ᾱ_t · scale · x)`.

use super::dps::Respaced;
use crate::infer::posterior::GraphPosterior;
use crate::infer::target::{Eval, EvalError, Posterior};
use crate::score::ScoreModel;
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

/// VE-equivalent noise level (in the diffusion's units, `x₀ = data × scale`) the corrector aims for;
/// the timestep chosen is the first whose σ_t reaches it.
pub const CORRECTOR_SIGMA: f64 = 0.02;

/// `π_σc(x | y)`: the likelihood at level σ_c (variance `σ_n² + σ_c²`, as annealed HMC's levels) and
/// the VP prior's score at timestep `t`. The `sigma` every method is given is the likelihood's level;
/// the prior's level is fixed at construction.
pub struct VpLevel<'a> {
    post: &'a GraphPosterior,
    prior: &'a dyn ScoreModel,
    t: usize,
    sqrt_ab: f64,
    scale: f64,
    /// Where the VP prior's latent sits in the row; the other coordinates (latent noise levels) have
    /// a flat placeholder prior: their score is 0.
    offset: usize,
    /// σ_c in data units.
    pub sigma: f64,
}

impl<'a> VpLevel<'a> {
    /// The level whose σ_t first reaches [`CORRECTOR_SIGMA`] (or the last timestep).
    pub fn new(post: &'a GraphPosterior, prior: &'a dyn ScoreModel) -> Result<Self, EvalError> {
        let Some(schedule) = prior.vp_schedule() else {
            return Err(EvalError::Fatal(
                "the corrector's VP level needs a VP prior".into(),
            ));
        };
        let offset = match post.score_slot() {
            Some((off, len)) if len == prior.dim() && post.gibbs_coords().len() + len == post.dim() => off,
            _ => {
                return Err(EvalError::Fatal(format!(
                    "the corrector samples one latent of length {} (and exact latents beside it), but the model has {} values",
                    prior.dim(),
                    post.dim()
                )))
            }
        };
        let sched = Respaced::from_schedule(&schedule, schedule.steps());
        let sigma_of = |ab: f64| ((1.0 - ab) / ab).sqrt();
        let k = sched
            .alpha_bar
            .iter()
            .position(|&ab| sigma_of(ab) >= CORRECTOR_SIGMA)
            .unwrap_or(sched.alpha_bar.len().saturating_sub(1));
        let ab = sched.alpha_bar.get(k).copied().unwrap_or(1.0);
        let scale = prior.data_scale();
        Ok(Self {
            post,
            prior,
            t: sched.timesteps.get(k).copied().unwrap_or(0),
            sqrt_ab: ab.sqrt(),
            scale,
            offset,
            sigma: sigma_of(ab) / scale,
        })
    }

    /// The timestep of the prior's level.
    pub fn timestep(&self) -> usize {
        self.t
    }

    fn score(&self, xs: ArrayView2<f64>) -> Result<Array2<f64>, EvalError> {
        let k = self.sqrt_ab * self.scale;
        let cols = ndarray::s![.., self.offset..self.offset + self.prior.dim()];
        let part = self
            .prior
            .score((&xs.slice(cols) * k).view(), self.t as f64)
            .map_err(|e| EvalError::Fatal(e.to_string()))?;
        let mut s = Array2::zeros(xs.raw_dim());
        s.slice_mut(cols).assign(&(part * k));
        if s.iter().all(|v| v.is_finite()) {
            Ok(s)
        } else {
            Err(EvalError::NonFinite(
                "prior score at the corrector's level".into(),
            ))
        }
    }
}

impl Posterior for VpLevel<'_> {
    fn dim(&self) -> usize {
        self.post.dim()
    }

    fn evaluate(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<Eval, EvalError>> {
        let liks: Vec<Result<(f64, Array1<f64>), EvalError>> = (0..xs.nrows())
            .into_par_iter()
            .map(|i| self.post.likelihood(xs.row(i), sigma))
            .collect();
        let prior = self.score(xs);
        liks.into_iter()
            .enumerate()
            .map(|(i, lik)| {
                let (log_lik, grad_lik) = lik?;
                let score = prior.as_ref().map_err(Clone::clone)?;
                Ok(Eval {
                    log_lik,
                    log_prior: None,
                    grad_lik,
                    score_prior: score.row(i).to_owned(),
                })
            })
            .collect()
    }

    fn prior_score(&self, xs: ArrayView2<f64>, _sigma: f64) -> Result<Array2<f64>, EvalError> {
        self.score(xs)
    }

    fn has_prior_density(&self) -> bool {
        false
    }
}
