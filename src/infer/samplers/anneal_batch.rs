//! One batch of annealed HMC's runs: every level of the σ schedule (with `level_adapt` and the Gibbs
//! sweeps of exact latents), the MALA corrector, then the σ_min phase (`annealed.rs` has the math).

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, Array3, Axis};

use super::annealed::{AnnealedConfig, AnnealedProgress};
use super::corrector::{correct_streams, CorrectorConfig, CorrectorOutput};
use super::gibbs::Gibbs;
use crate::infer::heuristic::{init_step_size, transition};
use crate::infer::kernels::{ChainState, KernelError, Metric};
use crate::infer::run::{
    initial_states, run_chains_streams_from, stream_rngs, KernelKind, Mass, RunConfig, RunError, RunOutput,
};
use crate::infer::target::Posterior;
use crate::infer::HMC_TARGET_ACCEPT;

/// The chains' current positions as rows.
pub(super) fn positions(states: &[ChainState]) -> Array2<f64> {
    let dim = states.first().map_or(0, |s| s.position.len());
    Array2::from_shape_fn((states.len(), dim), |(c, j)| states[c].position[j])
}

/// One batch of annealing runs: the schedule, then the σ_min phase.
pub(super) struct Batch {
    /// The σ_min phase (`None` when stopped during annealing).
    pub(super) last: Option<RunOutput>,
    /// `[particles, draws, dim]` raw draws (the current points when stopped during annealing).
    pub(super) raw: Array3<f64>,
    /// The noise level of `raw`.
    pub(super) sigma: f64,
    pub(super) level_accept: Vec<f64>,
    /// Per particle, its base step ε.
    pub(super) eps: Vec<f64>,
    pub(super) evals: (u64, u64),
    /// Annealing levels done.
    pub(super) levels_done: usize,
    pub(super) correction: Option<(CorrectorOutput, Array2<f64>)>,
}

/// Metropolis-within-Gibbs updates of the exact latents (a noise level) per annealing level.
const GIBBS_STEPS: usize = 5;

/// Anneal the rows of `init` (one particle each) through every level, then run the σ_min phase.
pub(super) fn anneal_batch(
    target: &dyn Posterior,
    cfg: &AnnealedConfig,
    sigmas: &[f64],
    init: Array2<f64>,
    (seed, streams): (u64, &[u64]),
    progress: &(dyn Fn(AnnealedProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<Batch, RunError> {
    let chains = init.nrows();
    let levels = sigmas.len();
    let mut rngs = stream_rngs(seed, streams);
    let mut states = initial_states(target, &init, cfg.sigma0)?;
    let mut grad_evals = chains as u64;
    let mut score_evals = 0u64;
    let hmc = KernelKind::Hmc {
        steps: cfg.steps,
        mass: Mass::Identity,
    };
    // Latents next to the score prior with an exact, non-annealed prior (a latent noise level):
    // frozen in the HMC moves, updated by Metropolis-within-Gibbs at the start of every level.
    let mut gibbs = Gibbs::new(target, streams, seed);
    let frozen: Metric = gibbs
        .as_ref()
        .map_or_else(|| Array1::ones(target.dim()), |g| g.frozen_mass(target.dim()))
        .into();
    let ones = vec![frozen; chains];
    // Every annealing run's own ε (from its own heuristic trials when not given).
    let eps = match cfg.eps {
        Some(e) => vec![e; chains],
        None => {
            let mut e = vec![cfg.sigma0; chains];
            let all: Vec<usize> = (0..chains).collect();
            let spent = init_step_size(
                &hmc, &mut rngs, &states, target, &mut e, &ones, &all, cfg.mh, cfg.sigma0,
            )?;
            grad_evals += spent.grad;
            score_evals += spent.score;
            e
        }
    };
    let mut level_accept = Vec::with_capacity(levels);
    let mut accept_sum = 0.0;
    // Per run: ε as `level_adapt` has scaled it so far (the heuristic's ε under the paper's rule),
    // towards the acceptance the σ_min warm-up also adapts to.
    let delta = cfg.target_accept.unwrap_or(HMC_TARGET_ACCEPT);
    let mut eps_now = eps.clone();
    for (i, &sigma) in sigmas.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Ok(Batch {
                last: None,
                raw: positions(&states).insert_axis(Axis(1)),
                sigma: sigmas[i.saturating_sub(1)],
                level_accept,
                eps: eps.clone(),
                evals: (grad_evals, score_evals),
                levels_done: i,
                correction: None,
            });
        }
        if let Some(g) = gibbs.as_mut() {
            let mut xs = positions(&states);
            grad_evals += g.sweep(target, &mut xs, sigma, GIBBS_STEPS, true)?;
            states = initial_states(target, &xs, sigma)?;
            grad_evals += chains as u64;
        } else if i > 0 {
            // Re-evaluate the current points at the new level (likelihood variance and prior score change).
            states = initial_states(target, &positions(&states), sigma).map_err(|_| {
                RunError::Kernel(KernelError::Fatal(format!(
                    "a chain cannot be evaluated at σ = {sigma:.3e}; lower the step size ε"
                )))
            })?;
            grad_evals += chains as u64;
        }
        let scale = (sigma / cfg.sigma0).powf(1.5);
        let alpha: Vec<f64> = eps_now.iter().map(|e| e * scale).collect();
        let infos = transition(&hmc, &mut rngs, &mut states, target, &alpha, &ones, cfg.mh, sigma)?;
        if cfg.level_adapt > 0.0 {
            for (e, info) in eps_now.iter_mut().zip(&infos) {
                *e *= (cfg.level_adapt * (info.accept_prob - delta)).exp();
            }
        }
        for info in &infos {
            grad_evals += info.n_grad;
            score_evals += info.n_score;
        }
        let a = infos.iter().map(|i| i.accept_prob).sum::<f64>() / chains as f64;
        level_accept.push(a);
        accept_sum += a;
        progress(AnnealedProgress::Level {
            level: i + 1,
            levels,
            sigma,
            accept_rate: accept_sum / (i + 1) as f64,
        });
    }
    let mut correction = None;
    if cfg.correct > 0 {
        let ccfg = CorrectorConfig {
            steps: cfg.correct,
            sigma: cfg.sigma_min,
            mh: cfg.mh,
            eds: false,
        };
        let from = positions(&states);
        let c = correct_streams(target, &from, &ccfg, (seed.wrapping_add(0xc0), streams), stop)?;
        grad_evals += c.grad_evals;
        score_evals += c.score_evals;
        states = initial_states(target, &c.samples, cfg.sigma_min)?;
        grad_evals += chains as u64;
        correction = Some((c, from));
    }
    let run_cfg = RunConfig {
        kernel: hmc,
        mh: cfg.mh,
        warmup: cfg.warmup,
        draws: cfg.draws,
        // The per-run steps are given below; this one is only validated.
        step_size: 1.0,
        target_accept: cfg.target_accept,
        adapt: true,
        step_jitter: 0.0,
        sigma: cfg.sigma_min,
    };
    let scale = (cfg.sigma_min / cfg.sigma0).powf(1.5);
    let out = run_chains_streams_from(
        target,
        &run_cfg,
        positions(&states),
        &eps_now.iter().map(|e| e * scale).collect::<Vec<_>>(),
        stream_rngs(seed.wrapping_add(0x9e37_79b9), streams),
        &|p| progress(AnnealedProgress::Final(p)),
        stop,
    )?;
    grad_evals += out.grad_evals;
    score_evals += out.score_evals;
    Ok(Batch {
        raw: out.draws.clone(),
        last: Some(out),
        sigma: cfg.sigma_min,
        level_accept,
        eps,
        evals: (grad_evals, score_evals),
        levels_done: levels,
        correction,
    })
}
