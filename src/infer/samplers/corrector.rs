//! The corrector: K MALA transitions at a small noise level σ_c with the (score-only) Metropolis
//! correction after DPS or annealing, the step adapted to MALA's 0.574, then the EDS/Tweedie step.
//!
//! Every particle (one DPS sample or one annealing run) is a chain of the target `π_σc(x | y)` with
//! its own Langevin step h, adapted from its own transitions only (so a particle's result depends on
//! its random stream alone, not on the particles beside it in the batch: shards of a run reproduce
//! it bit for bit): Stan's heuristic from its starting point, then over the first half of the K
//! transitions `log h += 3 (a − 0.574)/√(k + 1)` with `a` its acceptance probability, and at the end
//! of that half h = the exponential of the mean of `log h` over the half's second half (Polyak
//! averaging, which removes most of one particle's acceptance noise). The second half keeps h fixed,
//! so those transitions leave the target invariant. The result is `x + σ_c² s(x, σ_c)`
//! (Jolicoeur-Martineau et al. 2020), as for annealed HMC.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, Axis};

use crate::infer::heuristic::init_step_size;
use crate::infer::kernels::{
    evaluate_points, mala_step, ChainState, KernelError, MalaParams, Metric, MhMode,
};
use crate::infer::run::{stream_rngs, KernelKind, RunError};
use crate::infer::target::{EvalError, Posterior};
use crate::infer::MALA_TARGET_ACCEPT;

/// Gain of the step adaptation: Stan's heuristic aims at 0.8 for one step, and on the closed-form
/// blur model the step for 0.574 is about twice its value, reached in a few transitions with this gain.
const ADAPT_GAIN: f64 = 3.0;

/// Settings of the corrector.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrectorConfig {
    /// MALA transitions per particle (0: no corrector).
    pub steps: usize,
    /// The level σ_c (data units) the target is evaluated at and EDS uses.
    pub sigma: f64,
    /// Metropolis correction (score-only for score priors); `Off` keeps h fixed at the heuristic's.
    pub mh: MhMode,
    /// Apply the EDS step to the result.
    pub eds: bool,
}

/// What the corrector did.
#[derive(Clone, Debug)]
pub struct CorrectorOutput {
    /// The corrected particles (after EDS when asked for), `[particles, dim]`.
    pub samples: Array2<f64>,
    /// Mean acceptance probability of every particle over its transitions.
    pub accept: Vec<f64>,
    /// Per particle, the Langevin step h of the fixed second half (NaN for a skipped particle).
    pub step_size: Vec<f64>,
    /// Target evaluations (one per particle per transition, plus the heuristic's) and extra prior
    /// scores (Simpson nodes, EDS).
    pub grad_evals: u64,
    pub score_evals: u64,
    /// Transitions done (fewer than asked when stopped).
    pub steps_done: usize,
    /// Particles whose starting point cannot be evaluated (e.g. a DPS sample where a Poisson rate is
    /// negative): returned as they came, with acceptance 0.
    pub skipped: usize,
    /// Stopped (the stop flag) before all K transitions.
    pub stopped: bool,
}

impl CorrectorOutput {
    /// `Σ_p,j (out − start)_pj² / (n Σ_j sd_j²)` with `sd_j` the particles' spread after correction:
    /// how far the corrector moved its inputs relative to the posterior spread, 2 being as far apart
    /// as independent draws. Summed before dividing, so that pixels where the samples hardly vary
    /// (an image's background) do not dominate.
    pub fn jump(&self, start: &Array2<f64>) -> f64 {
        if self.samples.nrows() < 2 || start.dim() != self.samples.dim() {
            return f64::NAN;
        }
        let var: f64 = self.samples.var_axis(Axis(0), 1.0).sum();
        let sq: f64 = (&self.samples - start).mapv(|d| d * d).sum();
        let n = self.samples.nrows().max(1) as f64;
        if var > 0.0 {
            sq / (n * var)
        } else {
            f64::NAN
        }
    }
}

fn fatal(e: EvalError) -> RunError {
    RunError::Kernel(KernelError::Fatal(e.to_string()))
}

/// Run the corrector from `start` (one row per particle), on `target` at level `cfg.sigma`.
pub fn correct(
    target: &dyn Posterior,
    start: &Array2<f64>,
    cfg: &CorrectorConfig,
    seed: u64,
    stop: &AtomicBool,
) -> Result<CorrectorOutput, RunError> {
    let streams: Vec<u64> = (0..start.nrows() as u64).collect();
    correct_streams(target, start, cfg, (seed, &streams), stop)
}

/// [`correct`] with particle `p` drawing on stream `streams[p]`; every particle adapts its own step,
/// so its result does not depend on the others in its batch.
pub fn correct_streams(
    target: &dyn Posterior,
    start: &Array2<f64>,
    cfg: &CorrectorConfig,
    (seed, streams): (u64, &[u64]),
    stop: &AtomicBool,
) -> Result<CorrectorOutput, RunError> {
    if streams.len() != start.nrows() {
        return Err(RunError::Config(format!(
            "{} random streams for {} particles",
            streams.len(),
            start.nrows()
        )));
    }
    if cfg.mh == MhMode::Exact && !target.has_prior_density() {
        return Err(RunError::Config(
            "the corrector's exact Metropolis–Hastings needs a prior log density; use `mh = score`".into(),
        ));
    }
    // Only the particles whose starting point can be evaluated are corrected (`live`).
    let rows: Vec<Array1<f64>> = start.rows().into_iter().map(|r| r.to_owned()).collect();
    let evals = evaluate_points(target, &rows, cfg.sigma)?;
    let mut grad_evals = rows.len() as u64;
    let (live, mut states): (Vec<usize>, Vec<ChainState>) = rows
        .into_iter()
        .zip(evals)
        .enumerate()
        .filter_map(|(p, (position, e))| e.map(|eval| (p, ChainState { position, eval })))
        .unzip();
    let n = live.len();
    let live_streams: Vec<u64> = live.iter().map(|&p| streams[p]).collect();
    let mut rngs = stream_rngs(seed ^ 0xc0aa_ec70, &live_streams);
    let mut score_evals = 0u64;
    let mut h = vec![cfg.sigma * cfg.sigma; n];
    // No transitions (K = 0): no step to find, only the EDS step.
    let all: Vec<usize> = if cfg.steps == 0 {
        Vec::new()
    } else {
        (0..n).collect()
    };
    let ones = vec![Metric::identity(target.dim()); n];
    let spent = init_step_size(
        &KernelKind::Mala,
        &mut rngs,
        &states,
        target,
        &mut h,
        &ones,
        &all,
        cfg.mh,
        cfg.sigma,
    )?;
    grad_evals += spent.grad;
    score_evals += spent.score;
    let mut log_h: Vec<f64> = h.iter().map(|v| v.ln()).collect();
    let adapt = if cfg.mh == MhMode::Off {
        0
    } else {
        cfg.steps.div_ceil(2)
    };
    // Polyak averaging of log h over the adaptation's second half.
    let (mut log_sum, mut averaged) = (vec![0.0; n], 0usize);
    let mut accept = vec![0.0; n];
    let (mut steps_done, mut stopped) = (0, false);
    for k in 0..cfg.steps {
        if n == 0 {
            break;
        }
        if stop.load(Ordering::Relaxed) {
            stopped = true;
            break;
        }
        let params: Vec<MalaParams> = log_h.iter().map(|l| MalaParams { step_size: l.exp() }).collect();
        let infos = mala_step(&mut rngs, &mut states, target, &params, cfg.mh, cfg.sigma)?;
        for ((a, l), info) in accept.iter_mut().zip(log_h.iter_mut()).zip(&infos) {
            *a += info.accept_prob;
            grad_evals += info.n_grad;
            score_evals += info.n_score;
            if k < adapt {
                *l += ADAPT_GAIN * (info.accept_prob - MALA_TARGET_ACCEPT) / ((k + 1) as f64).sqrt();
            }
        }
        if k < adapt && k >= adapt / 2 {
            for (s, l) in log_sum.iter_mut().zip(&log_h) {
                *s += l;
            }
            averaged += 1;
        }
        if k + 1 == adapt && averaged > 0 {
            for (l, s) in log_h.iter_mut().zip(&log_sum) {
                *l = s / averaged as f64;
            }
        }
        steps_done += 1;
    }
    let mut samples = start.clone();
    for (&p, s) in live.iter().zip(&states) {
        let mut row = samples.row_mut(p);
        row.assign(&s.position);
        if cfg.eds {
            // The states' cached prior scores are those at the final positions.
            row.scaled_add(cfg.sigma * cfg.sigma, &s.eval.score_prior);
        }
    }
    if !samples.iter().all(|v| v.is_finite()) {
        return Err(fatal(EvalError::NonFinite("corrected samples".into())));
    }
    let mut per_particle = vec![0.0; start.nrows()];
    let mut step_size = vec![f64::NAN; start.nrows()];
    for ((&p, a), l) in live.iter().zip(&accept).zip(&log_h) {
        per_particle[p] = a / steps_done.max(1) as f64;
        step_size[p] = l.exp();
    }
    Ok(CorrectorOutput {
        skipped: start.nrows() - n,
        stopped,
        samples,
        accept: per_particle,
        step_size,
        grad_evals,
        score_evals,
        steps_done,
    })
}
