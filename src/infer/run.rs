//! The chain runner: all chains in lockstep over one batched target, warm-up (adapted by
//! [`super::warmup`]) then kept draws with their per-draw statistics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::{s, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::heuristic::transition;
use super::kernels::{ChainState, KernelError, Metric, StepInfo};
pub use super::run_config::{KernelKind, Mass, RunConfig};
use super::sample_stats::SampleStats;
use super::target::{EvalError, Posterior};
use super::warmup::{Tuning, Warmup};

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

/// One ChaCha8 generator per entry of `streams`, seeded by `seed` on that stream: what a chain (or an
/// annealing run) draws depends only on the seed and its global index, never on which other chains
/// run beside it (so shards of a run, `--chain-offset`, reproduce its chains bit for bit).
pub(crate) fn stream_rngs(seed: u64, streams: &[u64]) -> Vec<ChaCha8Rng> {
    streams
        .iter()
        .map(|&c| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            r.set_stream(c);
            r
        })
        .collect()
}

/// The stream of round `round` of global chain `chain` (annealed HMC, DPS): rounds in the high half.
pub(crate) fn particle_stream(chain: usize, round: usize) -> u64 {
    ((round as u64) << 32) | chain as u64
}

/// Draws and statistics of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// `[chains, draws, dim]`, after warm-up (fewer draws when `partial`).
    pub draws: Array3<f64>,
    /// Per-draw statistics of the kept transitions, `[chains, draws]` each.
    pub stats: SampleStats,
    /// Fraction of accepted proposals per chain while sampling.
    pub acceptance_rate: Vec<f64>,
    /// Final step size per chain.
    pub step_size: Vec<f64>,
    /// Final inverse mass diagonal per chain, `[chains, dim]` (ones unless adapted).
    pub inv_mass: Array2<f64>,
    /// Rank of the low-rank part of each chain's final metric (0: diagonal only).
    pub metric_rank: Vec<usize>,
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

/// Kept draws and per-chain counts while sampling.
struct Kept {
    draws: Array3<f64>,
    stats: SampleStats,
    accepted: Vec<usize>,
    divergences: Vec<usize>,
    warmup_divergences: Vec<usize>,
    n: usize,
}

impl Kept {
    fn new(cfg: &RunConfig, target: &dyn Posterior, chains: usize, dim: usize) -> Self {
        let density = target.has_prior_density();
        let hamiltonian = !matches!(cfg.kernel, KernelKind::Mala);
        let nuts = matches!(cfg.kernel, KernelKind::Nuts { .. });
        Self {
            draws: Array3::zeros((chains, cfg.draws, dim)),
            stats: SampleStats::new(chains, cfg.draws, density, density && hamiltonian, nuts),
            accepted: vec![0; chains],
            divergences: vec![0; chains],
            warmup_divergences: vec![0; chains],
            n: 0,
        }
    }

    fn record(&mut self, k: usize, infos: &[StepInfo], states: &[ChainState], used: &[f64]) {
        for (c, info) in infos.iter().enumerate() {
            self.draws.slice_mut(s![c, k, ..]).assign(&states[c].position);
            self.accepted[c] += usize::from(info.accepted);
            self.divergences[c] += usize::from(info.divergent);
        }
        self.stats.record(k, infos, states, used);
        self.n = k + 1;
    }
}

/// The step sizes of one transition: `ε·(1 + j·U(−1, 1))` with Stan's jitter `j`, else `ε`.
fn jittered(eps: &[f64], jitter: f64, rngs: &mut [ChaCha8Rng]) -> Vec<f64> {
    if jitter > 0.0 {
        eps.iter()
            .zip(rngs.iter_mut())
            .map(|(&e, r)| e * (1.0 + jitter * (2.0 * r.random::<f64>() - 1.0)))
            .collect()
    } else {
        eps.to_vec()
    }
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
    run_chains_from(target, cfg, init, seed, 0, progress, stop)
}

/// [`run_chains`] for the chains `first, first + 1, …` of a larger run: chain `c` of `init` draws
/// on stream `first + c`, as it would in one run of all chains (no state is shared between chains).
pub fn run_chains_from(
    target: &dyn Posterior,
    cfg: &RunConfig,
    init: Array2<f64>,
    seed: u64,
    first: usize,
    progress: &dyn Fn(&Progress),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    let streams: Vec<u64> = (0..init.nrows()).map(|c| (first + c) as u64).collect();
    run_chains_streams(target, cfg, init, stream_rngs(seed, &streams), progress, stop)
}

/// [`run_chains`] with the chains' random generators given (one per row of `init`).
pub(crate) fn run_chains_streams(
    target: &dyn Posterior,
    cfg: &RunConfig,
    init: Array2<f64>,
    rngs: Vec<ChaCha8Rng>,
    progress: &dyn Fn(&Progress),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    let steps = vec![cfg.step_size; init.nrows()];
    run_chains_streams_from(target, cfg, init, &steps, rngs, progress, stop)
}

/// [`run_chains_streams`] with every chain's own initial step size (`cfg.step_size` unused).
pub(crate) fn run_chains_streams_from(
    target: &dyn Posterior,
    cfg: &RunConfig,
    init: Array2<f64>,
    steps: &[f64],
    mut rngs: Vec<ChaCha8Rng>,
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
    if rngs.len() != chains || steps.len() != chains {
        return Err(RunError::Config(format!(
            "{} random streams and {} step sizes for {chains} chains",
            rngs.len(),
            steps.len()
        )));
    }
    if let Some(e) = steps.iter().find(|e| !(e.is_finite() && **e > 0.0)) {
        return Err(RunError::Config(format!(
            "a chain's step size is {e}; it must be positive"
        )));
    }
    let mut states = initial_states(target, &init, cfg.sigma)?;
    let mut tuning = Tuning::new(chains, dim, 1.0);
    tuning.step_size = steps.to_vec();
    let (mut grad_evals, mut score_evals) = (chains as u64, 0u64);
    let mut warmup = None;
    if Warmup::applies(cfg) {
        let (w, spent) = Warmup::start(cfg, target, &states, &mut rngs, &mut tuning)?;
        (grad_evals, score_evals) = (grad_evals + spent.grad, score_evals + spent.score);
        warmup = Some(w);
    }
    let total = cfg.warmup + cfg.draws;
    let mut kept = Kept::new(cfg, target, chains, dim);
    let mut phase_accept_sum = 0.0;
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
        let used = jittered(&tuning.step_size, cfg.step_jitter, &mut rngs);
        let infos = transition(
            &cfg.kernel,
            &mut rngs,
            &mut states,
            target,
            &used,
            &tuning.inv_mass,
            cfg.mh,
            cfg.sigma,
        )?;
        grad_evals += infos.iter().map(|i| i.n_grad).sum::<u64>();
        score_evals += infos.iter().map(|i| i.n_score).sum::<u64>();
        phase_accept_sum += infos.iter().map(|i| i.accept_prob).sum::<f64>() / chains as f64;
        if warm {
            for (d, info) in kept.warmup_divergences.iter_mut().zip(&infos) {
                *d += usize::from(info.divergent);
            }
            if let Some(w) = warmup.as_mut() {
                let spent = w.observe(it, &infos, cfg, target, &states, &mut rngs, &mut tuning)?;
                (grad_evals, score_evals) = (grad_evals + spent.grad, score_evals + spent.score);
            }
        } else {
            kept.record(it - cfg.warmup, &infos, &states, &used);
        }
        let phase_len = if warm { it + 1 } else { it + 1 - cfg.warmup };
        progress(&Progress {
            phase: if warm { Phase::Warmup } else { Phase::Sampling },
            iteration: it + 1,
            total,
            accept_rate: phase_accept_sum / phase_len as f64,
            divergences: kept.divergences.iter().chain(&kept.warmup_divergences).sum(),
            step_size: tuning.step_size.iter().sum::<f64>() / chains as f64,
        });
    }
    let n = kept.n;
    let acceptance_rate = kept
        .accepted
        .iter()
        .map(|&a| if n == 0 { 0.0 } else { a as f64 / n as f64 })
        .collect();
    let mut inv_mass = Array2::zeros((chains, dim));
    for (mut row, m) in inv_mass.rows_mut().into_iter().zip(&tuning.inv_mass) {
        row.assign(&m.diag);
    }
    let metric_rank = tuning.inv_mass.iter().map(Metric::rank).collect();
    Ok(RunOutput {
        draws: kept.draws.slice(s![.., ..n, ..]).to_owned(),
        stats: kept.stats.truncated(n),
        acceptance_rate,
        step_size: tuning.step_size,
        inv_mass,
        metric_rank,
        divergences: kept.divergences,
        warmup_divergences: kept.warmup_divergences,
        grad_evals,
        score_evals,
        wall_seconds: started.elapsed().as_secs_f64(),
        partial,
    })
}
