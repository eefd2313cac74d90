//! The chain runner: warm-up with adaptation, then draws, all chains in lockstep over one batched target.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::{s, Array1, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::adapt::{DiagMassAdaptation, DualAveraging};
use super::heuristic::{init_step_size, transition};
use super::kernels::{ChainState, KernelError, MhMode, StepInfo};
pub use super::run_config::{KernelKind, Mass, RunConfig};
use super::target::{EvalError, Posterior};

/// Warm-up or sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Sampling,
}

/// Reported after every iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// Iterations done (warm-up included) and in total.
    pub iteration: usize,
    pub total: usize,
    /// Mean acceptance probability over chains in the current phase.
    pub accept_rate: f64,
    pub divergences: usize,
    /// Mean step size over chains.
    pub step_size: f64,
}

/// One independent ChaCha8 stream per chain, all derived from one seed (stream = chain index).
pub(crate) fn chain_rngs(seed: u64, chains: usize) -> Vec<ChaCha8Rng> {
    (0..chains)
        .map(|c| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            r.set_stream(c as u64);
            r
        })
        .collect()
}

/// Draws and statistics of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// `[chains, draws, dim]`, after warm-up (fewer draws when `partial`).
    pub draws: Array3<f64>,
    /// Acceptance probability of every kept transition, `[chains, draws]`.
    pub accept_prob: Array2<f64>,
    /// Fraction of accepted proposals per chain while sampling.
    pub acceptance_rate: Vec<f64>,
    /// Final step size per chain.
    pub step_size: Vec<f64>,
    /// Final inverse mass diagonal per chain, `[chains, dim]` (ones unless adapted).
    pub inv_mass: Array2<f64>,
    /// Divergent transitions per chain while sampling, and during warm-up.
    pub divergences: Vec<usize>,
    pub warmup_divergences: Vec<usize>,
    /// Points evaluated (log density + gradient), over all chains, heuristics included.
    pub grad_evals: u64,
    /// Interior prior-score evaluations of the score-only correction.
    pub score_evals: u64,
    pub wall_seconds: f64,
    /// Stopped early by the caller's flag.
    pub partial: bool,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("invalid sampler settings: {0}")]
    Config(String),
    #[error("chain {chain}: the initial point cannot be evaluated ({reason})")]
    BadInit { chain: usize, reason: String },
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// Evaluate every row of `init` at level `sigma` as a chain state; a row that cannot be evaluated is
/// [`RunError::BadInit`].
pub(crate) fn initial_states(
    target: &dyn Posterior,
    init: &Array2<f64>,
    sigma: f64,
) -> Result<Vec<ChainState>, RunError> {
    let results = target.evaluate(init.view(), sigma);
    if results.len() != init.nrows() {
        return Err(RunError::Kernel(KernelError::Fatal(
            "target returned the wrong number of evaluations".into(),
        )));
    }
    let mut states = Vec::with_capacity(init.nrows());
    for (chain, (row, r)) in init.rows().into_iter().zip(results).enumerate() {
        match r {
            Ok(eval) if eval.grad().iter().all(|g| g.is_finite()) && eval.log_lik.is_finite() => {
                states.push(ChainState {
                    position: row.to_owned(),
                    eval,
                })
            }
            Ok(_) => {
                return Err(RunError::BadInit {
                    chain,
                    reason: "non-finite log density or gradient".into(),
                })
            }
            Err(EvalError::Fatal(m)) => return Err(RunError::Kernel(KernelError::Fatal(m))),
            Err(e) => {
                return Err(RunError::BadInit {
                    chain,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(states)
}

/// Run `init.nrows()` chains from the rows of `init`. Chain `c` draws from
/// `ChaCha8Rng::seed_from_u64(seed)` on stream `c`, so the same seed gives bit-identical output.
/// When `stop` becomes true the run ends after the current iteration and returns the draws so far
/// with `partial = true`.
pub fn run_chains(
    target: &dyn Posterior,
    cfg: &RunConfig,
    init: Array2<f64>,
    seed: u64,
    progress: &dyn Fn(&Progress),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    let started = Instant::now();
    cfg.validate(target)?;
    let (chains, dim) = init.dim();
    if dim != target.dim() || chains == 0 {
        return Err(RunError::Config(format!(
            "initial points are {chains}×{dim}, the target has dimension {}",
            target.dim()
        )));
    }
    let mut states = initial_states(target, &init, cfg.sigma)?;
    let mut rngs = chain_rngs(seed, chains);
    let mut eps = vec![cfg.step_size; chains];
    let mut inv_mass = vec![Array1::ones(dim); chains];
    let mut grad_evals = chains as u64;
    let mut score_evals = 0u64;
    let adapting = cfg.adapt && cfg.warmup > 0 && cfg.mh != MhMode::Off;
    let all: Vec<usize> = (0..chains).collect();
    if adapting {
        let spent = init_step_size(
            &cfg.kernel,
            &mut rngs,
            &states,
            target,
            &mut eps,
            &inv_mass,
            &all,
            cfg.mh,
            cfg.sigma,
        )?;
        grad_evals += spent.grad;
        score_evals += spent.score;
    }
    let delta = cfg.target_accept();
    let mut dual: Vec<DualAveraging> = eps.iter().map(|&e| DualAveraging::new(delta, e)).collect();
    let mut mass_adapt: Option<Vec<DiagMassAdaptation>> = match cfg.kernel {
        KernelKind::Hmc {
            mass: Mass::Diagonal, ..
        }
        | KernelKind::Nuts {
            mass: Mass::Diagonal, ..
        } if adapting => Some(
            (0..chains)
                .map(|_| DiagMassAdaptation::new(dim, cfg.warmup))
                .collect(),
        ),
        _ => None,
    };

    let total = cfg.warmup + cfg.draws;
    let mut draws = Array3::zeros((chains, cfg.draws, dim));
    let mut accept_prob = Array2::zeros((chains, cfg.draws));
    let mut accepted = vec![0usize; chains];
    let mut divergences = vec![0usize; chains];
    let mut warmup_divergences = vec![0usize; chains];
    let (mut phase_accept_sum, mut kept) = (0.0, 0usize);
    let mut partial = false;
    for it in 0..total {
        if stop.load(Ordering::Relaxed) {
            partial = true;
            break;
        }
        let warm = it < cfg.warmup;
        if it == cfg.warmup {
            phase_accept_sum = 0.0;
        }
        let used: Vec<f64> = if cfg.step_jitter > 0.0 {
            eps.iter()
                .zip(rngs.iter_mut())
                .map(|(&e, r)| e * (1.0 + cfg.step_jitter * (2.0 * r.random::<f64>() - 1.0)))
                .collect()
        } else {
            eps.clone()
        };
        let infos: Vec<StepInfo> = transition(
            &cfg.kernel,
            &mut rngs,
            &mut states,
            target,
            &used,
            &inv_mass,
            cfg.mh,
            cfg.sigma,
        )?;
        for info in &infos {
            grad_evals += info.n_grad;
            score_evals += info.n_score;
        }
        phase_accept_sum += infos.iter().map(|i| i.accept_prob).sum::<f64>() / chains as f64;
        if warm {
            for (c, info) in infos.iter().enumerate() {
                warmup_divergences[c] += usize::from(info.divergent);
            }
            if adapting {
                for (c, info) in infos.iter().enumerate() {
                    eps[c] = dual[c].update(info.accept_prob);
                }
                if let Some(ma) = mass_adapt.as_mut() {
                    let mut updated = Vec::new();
                    for (c, m) in ma.iter_mut().enumerate() {
                        if let Some(var) = m.observe(states[c].position.view()) {
                            inv_mass[c] = var;
                            updated.push(c);
                        }
                    }
                    if !updated.is_empty() {
                        let spent = init_step_size(
                            &cfg.kernel,
                            &mut rngs,
                            &states,
                            target,
                            &mut eps,
                            &inv_mass,
                            &updated,
                            cfg.mh,
                            cfg.sigma,
                        )?;
                        grad_evals += spent.grad;
                        score_evals += spent.score;
                        for &c in &updated {
                            dual[c].restart(eps[c]);
                        }
                    }
                }
                if it + 1 == cfg.warmup {
                    for (e, d) in eps.iter_mut().zip(&dual) {
                        *e = d.final_step_size();
                    }
                }
            }
        } else {
            let k = it - cfg.warmup;
            for (c, info) in infos.iter().enumerate() {
                draws.slice_mut(s![c, k, ..]).assign(&states[c].position);
                accept_prob[[c, k]] = info.accept_prob;
                accepted[c] += usize::from(info.accepted);
                divergences[c] += usize::from(info.divergent);
            }
            kept = k + 1;
        }
        let phase_len = if warm { it + 1 } else { it + 1 - cfg.warmup };
        progress(&Progress {
            phase: if warm { Phase::Warmup } else { Phase::Sampling },
            iteration: it + 1,
            total,
            accept_rate: phase_accept_sum / phase_len as f64,
            divergences: divergences.iter().chain(&warmup_divergences).sum(),
            step_size: eps.iter().sum::<f64>() / chains as f64,
        });
    }
    let draws = draws.slice(s![.., ..kept, ..]).to_owned();
    let accept_prob = accept_prob.slice(s![.., ..kept]).to_owned();
    let acceptance_rate = accepted
        .iter()
        .map(|&a| if kept == 0 { 0.0 } else { a as f64 / kept as f64 })
        .collect();
    let mut mass = Array2::zeros((chains, dim));
    for (mut row, m) in mass.rows_mut().into_iter().zip(&inv_mass) {
        row.assign(m);
    }
    Ok(RunOutput {
        draws,
        accept_prob,
        acceptance_rate,
        step_size: eps,
        inv_mass: mass,
        divergences,
        warmup_divergences,
        grad_evals,
        score_evals,
        wall_seconds: started.elapsed().as_secs_f64(),
        partial,
    })
}
