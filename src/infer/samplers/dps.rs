//! Diffusion posterior sampling (Chung et al. 2023, Algorithm 1), with CCDF starts and strided schedules.

use crate::infer::posterior::GraphPosterior;
use crate::infer::run::stream_rngs;
use crate::infer::target::EvalError;
use crate::score::{NoiseKind, ScoreModel, VpSchedule, VpView};
use ndarray::{Array1, Array2, Axis};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// DPS settings. `zeta` is the step of the official code, x ← x′ − ζ/‖A‖ ∇ₓ‖y − A(x̂₀(x))‖, divided by
/// the operator norm of the measurement so that it does not depend on the units of `y`.
#[derive(Clone, Debug)]
pub struct DpsConfig {
    pub zeta: f64,
    /// Reverse steps (≤ T; fewer = a strided, respaced schedule).
    pub steps: usize,
    /// Reverse-step noise variance: β̃_t, the forward posterior's (`true`, "fixed small"), or β_t
    /// (`false`, "fixed large", guided-diffusion's choice for models without learned variances, on
    /// which the official DPS code builds); Ho et al. (2020) found the two alike for sampling.
    pub small_variance: bool,
    /// CCDF: initial estimate (flat, data units) and the fraction of the schedule to start from.
    pub init: Option<(Array1<f64>, f64)>,
}

/// One reverse-diffusion progress report.
#[derive(Clone, Debug)]
pub struct DpsProgress {
    pub step: usize,
    pub total: usize,
    pub t: usize,
    pub residual: f64,
}

#[derive(Clone, Debug)]
pub struct DpsOutput {
    /// x̂₀ at the last step for every chain, in data units: [chains, dim].
    pub samples: Array2<f64>,
    /// The timesteps visited, in order.
    pub timesteps: Vec<usize>,
    /// Mean data-consistency residual ‖y − A(x̂₀)‖ per step.
    pub residuals: Vec<f64>,
    /// Reverse steps the schedule has (`timesteps` holds those done).
    pub planned_steps: usize,
    pub partial: bool,
}

/// The respaced DDPM schedule: original timesteps τ_k and their ᾱ.
pub struct Respaced {
    pub timesteps: Vec<usize>,
    pub alpha_bar: Vec<f64>,
}

impl Respaced {
    /// Linear β from `beta_start` to `beta_end` over `t_total`, respaced to `steps` evenly spread steps.
    pub fn new(beta_start: f64, beta_end: f64, t_total: usize, steps: usize) -> Self {
        Self::from_schedule(&VpSchedule::linear(beta_start, beta_end, t_total.max(1)), steps)
    }

    /// Any VP schedule (a prior's [`ScoreModel::vp_schedule`]), respaced to `steps` evenly spread steps.
    pub fn from_schedule(schedule: &VpSchedule, steps: usize) -> Self {
        let t_total = schedule.steps().max(1);
        let steps = steps.clamp(1, t_total);
        let mut timesteps: Vec<usize> = (0..steps)
            .map(|k| ((k as f64) * (t_total - 1) as f64 / (steps.max(2) - 1) as f64).round() as usize)
            .collect();
        timesteps.dedup();
        let alpha_bar = timesteps.iter().map(|&t| schedule.alpha_bar(t)).collect();
        Respaced { timesteps, alpha_bar }
    }
}

/// The prior as DPS sees it: a VP prior as it is, an analytic one (`Normal`, `GaussianMixture`)
/// through its exact diffusion view and a VE network through its VP view ([`VpView::new`]).
pub fn vp_prior<'a>(prior: &'a dyn ScoreModel) -> Result<Box<dyn ScoreModel + 'a>, EvalError> {
    match prior.noise_kind() {
        NoiseKind::Vp { .. } => Ok(Box::new(prior)),
        NoiseKind::Analytic | NoiseKind::Ve { .. } => VpView::new(prior)
            .map(|v| Box::new(v) as Box<dyn ScoreModel + 'a>)
            .map_err(|e| EvalError::Fatal(format!("DPS: {e}"))),
        other => Err(EvalError::Fatal(format!(
            "DPS needs a VP (diffusion), VE or analytic Normal/GaussianMixture prior, not {other:?}"
        ))),
    }
}

/// Run DPS for `chains` independent samples, all chains batched through the network. An analytic
/// prior runs through its exact VP view ([`vp_prior`]).
pub fn run_dps(
    post: &GraphPosterior,
    prior: &dyn ScoreModel,
    cfg: &DpsConfig,
    chains: usize,
    seed: u64,
    progress: &(dyn Fn(&DpsProgress) + Sync),
    stop: &AtomicBool,
) -> Result<DpsOutput, EvalError> {
    let streams: Vec<u64> = (0..chains as u64).collect();
    run_dps_streams(post, prior, cfg, (seed, &streams), progress, stop)
}

/// [`run_dps`] with sample `p` drawing on stream `streams[p]`: a sample depends only on the seed and
/// its stream, not on the others of its batch (the network evaluates every image of a batch alike).
pub fn run_dps_streams(
    post: &GraphPosterior,
    prior: &dyn ScoreModel,
    cfg: &DpsConfig,
    (seed, streams): (u64, &[u64]),
    progress: &(dyn Fn(&DpsProgress) + Sync),
    stop: &AtomicBool,
) -> Result<DpsOutput, EvalError> {
    let chains = streams.len();
    let view = vp_prior(prior)?;
    let prior: &dyn ScoreModel = view.as_ref();
    let Some(schedule) = prior.vp_schedule() else {
        return Err(EvalError::Fatal("DPS needs a VP (diffusion) prior".into()));
    };
    let sched = Respaced::from_schedule(&schedule, cfg.steps);
    let scale = prior.data_scale();
    let dim = prior.dim();
    let full = post.layout().dim;
    let offset = match post.score_slot() {
        Some((off, len)) if len == dim => off,
        _ => {
            return Err(EvalError::Fatal(format!(
                "DPS: no latent of length {dim} for the VP prior"
            )))
        }
    };
    let mut rngs = stream_rngs(seed, streams);
    let gauss = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
    let n = sched.timesteps.len();
    // Where to start: the top (x_T ~ N(0, I)) or, for CCDF, k0 with x = √ᾱ x̂₀ + √(1−ᾱ) z.
    let k_start = match &cfg.init {
        Some((_, t0)) => ((t0.clamp(0.0, 1.0) * n as f64).round() as usize).clamp(1, n) - 1,
        None => n - 1,
    };
    let mut x = Array2::<f64>::zeros((chains, dim));
    for (c, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
        let ab = sched.alpha_bar[k_start];
        for (j, v) in row.iter_mut().enumerate() {
            let z = gauss(&mut rngs[c]);
            *v = match &cfg.init {
                Some((x0, _)) => {
                    ab.sqrt() * x0.get(j).copied().unwrap_or(0.0) * scale + (1.0 - ab).sqrt() * z
                }
                None => z,
            };
        }
    }
    // ζ is relative to the operator norm of A (1 for MRI and inpainting; 50 for `50 * blur(x)`).
    let step = cfg.zeta / post.operator_norm()?;
    let mut x0 = Array2::<f64>::zeros((chains, dim));
    let mut residuals = Vec::new();
    let mut visited = Vec::new();
    let mut partial = false;
    for k in (0..=k_start).rev() {
        if stop.load(Ordering::Relaxed) {
            partial = true;
            break;
        }
        let t = sched.timesteps[k];
        let ab = sched.alpha_bar[k];
        let ab_prev = if k > 0 { sched.alpha_bar[k - 1] } else { 1.0 };
        let beta = 1.0 - ab / ab_prev;
        // x̂₀ from the score, the measurement's gradient g at x̂₀ (in data units, per chain; the image
        // sits at `offset` of the posterior's row, other latents do not enter the measurement), then
        // the network's VJP of g on the same forward pass.
        let mut g = Array2::<f64>::zeros((chains, dim));
        let mut mean_res = 0.0;
        let mut failed: Option<EvalError> = None;
        let mut guidance = |s: &Array2<f64>| -> Result<Array2<f64>, crate::score::ScoreError> {
            x0 = (&x + &(s * (1.0 - ab))) / ab.sqrt();
            let meas: Vec<Result<(f64, Array1<f64>), EvalError>> = (0..chains)
                .into_par_iter()
                .map(|c| {
                    let mut row = Array1::zeros(full);
                    row.slice_mut(ndarray::s![offset..offset + dim])
                        .assign(&x0.row(c).mapv(|v| v / scale));
                    post.measurement_norm(row.view())
                })
                .collect();
            for (c, m) in meas.into_iter().enumerate() {
                match m {
                    Ok((norm, grad)) => {
                        mean_res += norm / chains as f64;
                        g.row_mut(c)
                            .assign(&(grad.slice(ndarray::s![offset..offset + dim]).to_owned() / scale));
                    }
                    Err(e) => {
                        failed = Some(e);
                        return Err(crate::score::ScoreError("the measurement failed".into()));
                    }
                }
            }
            Ok(g.clone())
        };
        // ∇ₓ‖·‖ = (∂x̂₀/∂x)ᵀ g = (g + (1 − ᾱ) J_sᵀ g) / √ᾱ. A prior-only model has no data term: plain
        // ancestral sampling, no network VJP.
        let jt = if post.observations().is_empty() {
            prior
                .score(x.view(), t as f64)
                .and_then(|s| guidance(&s))
                .map(|_| Array2::zeros((chains, dim)))
        } else {
            prior
                .score_and_vjp(x.view(), t as f64, &mut guidance)
                .map(|(_, jt)| jt)
        };
        // A failed measurement is its own error, not the network's.
        let jt = jt.map_err(|e| failed.take().unwrap_or_else(|| EvalError::Fatal(e.to_string())))?;
        let grad_x = (&g + &(&jt * (1.0 - ab))) / ab.sqrt();
        // Ancestral DDPM step: posterior mean, plus noise of variance β or β̃ (no noise at the end).
        let c0 = ab_prev.sqrt() * beta / (1.0 - ab);
        let ct = (1.0 - beta).sqrt() * (1.0 - ab_prev) / (1.0 - ab);
        let var = if cfg.small_variance {
            beta * (1.0 - ab_prev) / (1.0 - ab)
        } else {
            beta
        };
        let mut next = &x0 * c0 + &x * ct;
        if k > 0 {
            for (c, mut row) in next.axis_iter_mut(Axis(0)).enumerate() {
                for v in row.iter_mut() {
                    *v += var.sqrt() * gauss(&mut rngs[c]);
                }
            }
        }
        x = next - &grad_x * step;
        residuals.push(mean_res);
        visited.push(t);
        progress(&DpsProgress {
            step: k_start - k + 1,
            total: k_start + 1,
            t,
            residual: mean_res,
        });
        if !x.iter().all(|v| v.is_finite()) {
            return Err(EvalError::NonFinite(format!(
                "DPS diverged at t = {t}; try a smaller zeta"
            )));
        }
    }
    Ok(DpsOutput {
        samples: x0.mapv(|v| v / scale),
        timesteps: visited,
        residuals,
        planned_steps: k_start + 1,
        partial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respaced_schedule_keeps_endpoints() {
        let full = Respaced::new(1e-4, 0.02, 1000, 1000);
        assert_eq!(full.timesteps.len(), 1000);
        let short = Respaced::new(1e-4, 0.02, 1000, 50);
        assert_eq!(short.timesteps.first(), Some(&0));
        assert_eq!(short.timesteps.last(), Some(&999));
        assert!((short.alpha_bar[49] - full.alpha_bar[999]).abs() < 1e-15);
        assert!(short.alpha_bar.windows(2).all(|w| w[1] < w[0]));
    }
}
