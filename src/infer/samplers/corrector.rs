//! The corrector: K MALA transitions at a small noise level σ_c with the (score-only) Metropolis
//! correction after DPS or annealing, the step adapted to MALA's 0.574, then the EDS/Tweedie step.
//!
//! Every particle (one DPS sample or one annealing run) is a chain of the target `π_σc(x | y)` with
//! its own Langevin step h, adapted from its own transitions only (so a particle's result depends on
//! its random stream alone, not on the particles beside it in the batch: shards of a run reproduce
//! it bit for bit): Stan's heuristic from its starting point, then over the first half of the K
//! transitions `log h += 0.5 (e^(−|r|) − t)` with `r` the log Metropolis ratio (the symmetric
//! acceptance, below), and at the end of that half h = the exponential of the mean of `log h` over
//! the half's second half (Polyak averaging, which removes most of one particle's noise). The second
//! half keeps h fixed, so those transitions leave the target invariant. The result is
//! `x + σ_c² s(x, σ_c)` (Jolicoeur-Martineau et al. 2020), as for annealed HMC.
//!
//! Why the symmetric acceptance: a particle arrives out of equilibrium (annealing lags its schedule,
//! DPS is unadjusted), and while it settles its proposals climb in density, so `r` is large and
//! positive whatever h is and the plain acceptance min(1, e^r) reads 1: adapted on it, h grew to 4–5×
//! the step that gives 0.574 once the particle had settled, and the fixed half then accepted 0.1 (MRI,
//! `docs/samplers.md`). e^(−|r|) reads a large |r| of either sign as a step too large. Its target t is
//! what it averages at MALA's 0.574 when r ~ N(−v/2, v), the law of the log ratio of MALA in high
//! dimension at equilibrium (Roberts & Rosenthal 1998): t = Φ(−√v/2) + e^v Φ(−3√v/2) with
//! 2Φ(−√v/2) = 0.574, so t = 0.449. The gain is constant (no 1/√k decay): the right h drifts while
//! the particle settles, and a decaying gain cannot follow it.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, Axis};

use crate::infer::heuristic::init_step_size;
use crate::infer::kernels::{
    evaluate_points, mala_step, ChainState, KernelError, MalaParams, Metric, MhMode,
};
use crate::infer::run::{stream_rngs, KernelKind, RunError};
use crate::infer::target::{EvalError, Posterior};
use crate::infer::MALA_TARGET_ACCEPT;

/// Gain of the step adaptation, per transition, on log h. Measured on `models/mri.uq` (8 particles,
/// K = 50, the heuristic's start 20× too large): 0.25 left the fixed half at acceptance 0.19 (h still
/// falling), 0.5 at 0.57, and a gain of 3 decaying as 1/√k at 0.84 (h overshot downwards).
const ADAPT_GAIN: f64 = 0.5;

/// The symmetric acceptance e^(−|r|) of a transition with log Metropolis ratio `r` (0 when NaN).
fn symmetric_accept(log_ratio: f64) -> f64 {
    if log_ratio.is_nan() {
        0.0
    } else {
        (-log_ratio.abs()).exp()
    }
}

/// The mean of [`symmetric_accept`] at equilibrium when MALA accepts `accept` on average, under the
/// high-dimensional law r ~ N(−v/2, v) of its log ratio: with 2Φ(−√v/2) = accept,
/// E e^(−|r|) = Φ(−√v/2) + e^v Φ(−3√v/2).
pub(crate) fn symmetric_target(accept: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = Normal::standard();
    let sd = -2.0 * n.inverse_cdf(accept / 2.0);
    accept / 2.0 + (sd * sd).exp() * n.cdf(-1.5 * sd)
}

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
    /// Mean acceptance probability of every particle over its fixed-step transitions (the second
    /// half; over all of them when none were done).
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
    let sym_target = symmetric_target(MALA_TARGET_ACCEPT);
    // Per particle, acceptance summed over all transitions and over the fixed-step ones.
    let (mut accept, mut accept_fixed) = (vec![0.0; n], vec![0.0; n]);
    let (mut steps_done, mut stopped) = (0usize, false);
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
        for (p, (l, info)) in log_h.iter_mut().zip(&infos).enumerate() {
            accept[p] += info.accept_prob;
            if k >= adapt {
                accept_fixed[p] += info.accept_prob;
            }
            grad_evals += info.n_grad;
            score_evals += info.n_score;
            if k < adapt {
                *l += ADAPT_GAIN * (symmetric_accept(-info.energy_error) - sym_target);
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
    // The fixed-step transitions' acceptance is the one the adaptation aims at 0.574; all of them when
    // the run stopped before that phase (or the correction is off).
    let fixed = steps_done.saturating_sub(adapt);
    for (i, (&p, l)) in live.iter().zip(&log_h).enumerate() {
        per_particle[p] = if fixed > 0 {
            accept_fixed[i] / fixed as f64
        } else {
            accept[i] / steps_done.max(1) as f64
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// The symmetric target agrees with its defining law: draws r ~ N(−v/2, v) with v set so that
    /// MALA accepts 0.574 give that acceptance and a mean e^(−|r|) equal to the target, within 4 se.
    #[test]
    fn symmetric_target_matches_the_log_ratio_law() {
        let t = symmetric_target(MALA_TARGET_ACCEPT);
        assert!((t - 0.4495).abs() < 5e-4, "{t}");
        let n = statrs::distribution::Normal::standard();
        let sd = -2.0 * statrs::distribution::ContinuousCDF::inverse_cdf(&n, MALA_TARGET_ACCEPT / 2.0);
        let law = Normal::new(-sd * sd / 2.0, sd).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let m = 200_000;
        let (mut acc, mut sym, mut sym2) = (0.0, 0.0, 0.0);
        for _ in 0..m {
            let r: f64 = law.sample(&mut rng);
            acc += r.min(0.0).exp();
            let s = symmetric_accept(r);
            sym += s;
            sym2 += s * s;
        }
        let (acc, sym) = (acc / m as f64, sym / m as f64);
        let se = ((sym2 / m as f64 - sym * sym) / m as f64).sqrt();
        assert!(
            (acc - MALA_TARGET_ACCEPT).abs() < 4.0 * 0.5 / (m as f64).sqrt(),
            "{acc}"
        );
        assert!((sym - t).abs() < 4.0 * se, "{sym} vs {t} (se {se})");
        assert_eq!(symmetric_accept(f64::NAN), 0.0);
        assert_eq!(symmetric_accept(0.0), 1.0);
    }
}
