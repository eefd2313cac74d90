//! Annealed HMC (Ramzi et al. 2020): one HMC transition per level of a geometric σ schedule with the
//! score-only Metropolis correction, then a sampling phase at σ_min and a denoising step.
//!
//! At level i the target is `p_σi(x | y)`: likelihood variance `σ_n² + σ_i²`, prior score
//! `s(x, σ_i)`; σ_{i+1} = γ σ_i; the leapfrog step is `α_i = ε (σ_i/σ_0)^1.5` (their appendix A.3).
//! The paper keeps one sample per chain at the end of the schedule and obtains many independent
//! samples by annealing many chains in parallel. Here every chain anneals `rounds` times from fresh
//! starting points (the rounds of all chains batched through the network together, `batch`
//! particles at a time), and each annealing run then goes on at σ_min (the last level's target) for
//! `warmup` transitions that adapt the step size by dual averaging and `draws` kept transitions. A
//! chain's draws are its rounds' draws in order. Every kept draw gets the expected-denoised-sample
//! step `x̂ = x + σ_min² s(x, σ_min)` (Jolicoeur-Martineau et al. 2020), as the paper does to its
//! final samples, or (`Denoise::Draw`) a draw of p(x | x_σmin, y) around it (`denoise.rs`).
//! `rounds = 1` is one long chain at σ_min; `draws = 1, warmup = 0` with many rounds is the paper's
//! independent-samples scheme. With `level_adapt = κ > 0` (not in the paper) each run
//! also scales its ε after every level by exp(κ (a_i − target_accept)), so that the step follows
//! likelihoods the fixed rule misjudges.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ndarray::{Array2, Array3};

use super::anneal_batch::anneal_batch;
use super::corrector::CorrectorOutput;
use super::denoise::{Denoise, DrawStats};
use super::rounds::{by_chain, finish, merge_last};
use crate::infer::kernels::MhMode;
use crate::infer::run::{particle_stream, Progress, RunError, RunOutput};
use crate::infer::target::Posterior;

/// Settings of annealed HMC; the defaults of a `uq` run are in the sampler registry
/// (`session/samplers/annealed.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealedConfig {
    /// First level σ_0 (where the chains start).
    pub sigma0: f64,
    /// Last level σ_min.
    pub sigma_min: f64,
    /// Geometric factor γ (0.995 in the paper).
    pub gamma: f64,
    /// Leapfrog steps per transition.
    pub steps: usize,
    /// Base step ε; `None`: Stan's step-size heuristic at σ_0, per annealing run from its own
    /// starting point.
    pub eps: Option<f64>,
    /// Metropolis correction (score-only by default; `Off` gives unadjusted annealed dynamics).
    pub mh: MhMode,
    /// Independent annealing runs per chain.
    pub rounds: usize,
    /// Most annealing runs (particles) evaluated together in one batch.
    pub batch: usize,
    /// Warm-up (step-size adaptation) and kept transitions at σ_min, per annealing run.
    pub warmup: usize,
    /// Acceptance the step size adapts to at σ_min, and across levels under `level_adapt` (`None`: 0.8).
    pub target_accept: Option<f64>,
    /// Gain κ of a per-run adaptation of ε across the levels, ln ε += κ (a_i − target_accept) after
    /// each level's transition (a_i its acceptance probability); 0 keeps the paper's fixed rule.
    pub level_adapt: f64,
    pub draws: usize,
    /// The step applied to every kept draw.
    pub denoise: Denoise,
    /// Corrector transitions (MALA at σ_min, step adapted to 0.574) after the last level, before
    /// the warm-up and draws at σ_min; 0 for none.
    pub correct: usize,
}

impl AnnealedConfig {
    /// The σ of every annealing level, σ_0 down to (the first value ≤) σ_min.
    pub fn sigmas(&self) -> Vec<f64> {
        let mut out = vec![self.sigma0];
        let mut s = self.sigma0;
        while s > self.sigma_min && out.len() < 1_000_000 {
            s = (s * self.gamma).max(self.sigma_min);
            out.push(s);
        }
        out
    }

    fn validate(&self, target: &dyn Posterior) -> Result<(), RunError> {
        let bad = |m: &str| Err(RunError::Config(m.to_string()));
        if !(self.sigma0.is_finite() && self.sigma_min.is_finite() && self.sigma_min > 0.0) {
            return bad("annealed HMC needs finite noise levels with σ_min > 0");
        }
        if self.sigma0 < self.sigma_min {
            return bad("σ_0 must be at least σ_min");
        }
        if !(self.gamma > 0.0 && self.gamma < 1.0) {
            return bad("γ must be in (0, 1)");
        }
        if self.rounds == 0 || self.draws == 0 || self.batch == 0 {
            return bad("annealed HMC needs at least one round, one draw and a batch of at least one");
        }
        if !(self.level_adapt.is_finite() && self.level_adapt >= 0.0) {
            return bad("the level adaptation gain must be a finite number ≥ 0");
        }
        if self.steps == 0 {
            return bad("annealed HMC needs at least one leapfrog step per level");
        }
        if self.eps.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
            return bad("the step size ε must be positive");
        }
        if self.denoise == Denoise::Draw {
            if let Err(why) = target.linear_gaussian() {
                return Err(RunError::Config(format!(
                    "`denoise = draw` needs one Normal observation linear in a single score-prior image with a constant σ: {why}; use `denoise = mean` (the EDS step)"
                )));
            }
        }
        if self.mh == MhMode::Exact && !target.has_prior_density() {
            return bad(
                "exact Metropolis–Hastings is not available on a score prior; use the score-only correction",
            );
        }
        Ok(())
    }
}

/// What the progress bar shows.
#[derive(Clone, Debug, PartialEq)]
pub enum AnnealedProgress<'a> {
    /// Level `level` of `levels` done at noise level σ, mean acceptance over chains so far.
    Level {
        level: usize,
        levels: usize,
        sigma: f64,
        accept_rate: f64,
    },
    /// The sampling phase at σ_min.
    Final(&'a Progress),
}

/// Draws and statistics of an annealed HMC run.
#[derive(Clone, Debug)]
pub struct AnnealedOutput {
    /// `[chains, draws, dim]`: the draws after the denoising step (the raw ones when it is off).
    pub draws: Array3<f64>,
    /// The raw draws at σ_min (the last level's target, before EDS).
    pub raw: Array3<f64>,
    pub sigmas: Vec<f64>,
    /// Mean acceptance probability at every level over all the annealing runs (chains × rounds)
    /// that reached it.
    pub level_accept: Vec<f64>,
    /// Per chain, the base step ε used: the geometric mean over its annealing runs (rounds) of each
    /// run's own ε.
    pub eps: Vec<f64>,
    /// The sampling phase at σ_min (`None` when stopped during annealing).
    pub last: Option<RunOutput>,
    pub grad_evals: u64,
    pub score_evals: u64,
    pub wall_seconds: f64,
    pub partial: bool,
    /// Annealing levels done and planned, summed over the rounds (every round anneals through them).
    pub levels_done: usize,
    pub levels_planned: usize,
    /// Rounds (per chain) whose annealing and σ_min phase both finished.
    pub rounds_done: usize,
    /// Per batch: the corrector's output and the points it started from (particle `r · chains + c`
    /// of a batch is round `r` of chain `c`).
    pub corrections: Vec<(CorrectorOutput, Array2<f64>)>,
    /// The cost and solves of `Denoise::Draw` (`None` for the other steps, and for a stopped run, whose
    /// draws get the EDS mean).
    pub denoise: Option<DrawStats>,
}

/// Run annealed HMC. `init` holds one starting point (already at noise level σ_0) per annealing
/// run: `chains × rounds` rows, row `r · chains + c` being round `r` of chain `c`.
pub fn annealed_hmc(
    target: &dyn Posterior,
    cfg: &AnnealedConfig,
    init: Array2<f64>,
    seed: u64,
    progress: &(dyn Fn(AnnealedProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<AnnealedOutput, RunError> {
    annealed_hmc_from(target, cfg, init, seed, 0, progress, stop)
}

/// [`annealed_hmc`] for the chains `first, first + 1, …` of a larger run: round `r` of chain `c`
/// draws on its own stream ([`particle_stream`]) whatever the batch it runs in, and adapts its steps
/// (the heuristic's ε, the corrector's h, the σ_min phase's dual averaging) from its own transitions
/// only, so a shard equals the same chains of one run bit for bit.
pub fn annealed_hmc_from(
    target: &dyn Posterior,
    cfg: &AnnealedConfig,
    init: Array2<f64>,
    seed: u64,
    first: usize,
    progress: &(dyn Fn(AnnealedProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<AnnealedOutput, RunError> {
    let started = Instant::now();
    cfg.validate(target)?;
    let runs = init.nrows();
    if init.ncols() != target.dim() || runs == 0 || !runs.is_multiple_of(cfg.rounds) {
        return Err(RunError::Config(format!(
            "initial points are {runs}×{}; annealed HMC needs chains × {} rounds rows of dimension {}",
            init.ncols(),
            cfg.rounds,
            target.dim()
        )));
    }
    let chains = runs / cfg.rounds;
    let per_batch = (cfg.batch / chains).clamp(1, cfg.rounds);
    let batches = cfg.rounds.div_ceil(per_batch);
    let sigmas = cfg.sigmas();
    let sigmas_len = sigmas.len();
    let (mut raw, mut lasts, mut corrections) = (Vec::new(), Vec::new(), Vec::new());
    // Per chain: Σ ln ε over its annealing runs, and their number.
    let mut log_eps = vec![(0.0, 0usize); chains];
    let mut evals = (0u64, 0u64);
    // Per level: acceptance summed over the annealing runs that reached it, and their number.
    let (mut accept_sum, mut reached) = (Vec::<f64>::new(), Vec::<f64>::new());
    let mut sigma = cfg.sigma_min;
    let mut partial = false;
    let (mut levels_done, mut rounds_done) = (0, 0);
    for b in 0..batches {
        let r0 = b * per_batch;
        let rows = init.slice(ndarray::s![
            r0 * chains..((r0 + per_batch).min(cfg.rounds)) * chains,
            ..
        ]);
        let offset = b * sigmas.len();
        let report = |p: AnnealedProgress<'_>| match p {
            AnnealedProgress::Level {
                level,
                sigma,
                accept_rate,
                ..
            } => progress(AnnealedProgress::Level {
                level: offset + level,
                levels: batches * sigmas.len(),
                sigma,
                accept_rate,
            }),
            other => progress(other),
        };
        let streams: Vec<u64> = (0..rows.nrows())
            .map(|p| particle_stream(first + p % chains, r0 + p / chains))
            .collect();
        let out = anneal_batch(
            target,
            cfg,
            &sigmas,
            rows.to_owned(),
            (seed, &streams),
            &report,
            stop,
        )?;
        evals = (evals.0 + out.evals.0, evals.1 + out.evals.1);
        // Every round of the batch went through these levels (a count that does not depend on how
        // the rounds are batched, so that shards add up to one run).
        levels_done += out.levels_done * (rows.nrows() / chains);
        for (p, e) in out.eps.iter().enumerate() {
            let c = &mut log_eps[p % chains];
            (c.0, c.1) = (c.0 + e.ln(), c.1 + 1);
        }
        let particles = rows.nrows() as f64;
        for (i, a) in out.level_accept.iter().enumerate() {
            if i == accept_sum.len() {
                accept_sum.push(0.0);
                reached.push(0.0);
            }
            accept_sum[i] += a * particles;
            reached[i] += particles;
        }
        let stopped = out.last.as_ref().is_none_or(|l| l.partial);
        // A stopped batch is kept only if it is the first (so that something is returned) and, after
        // the annealing, only with the draws every one of its runs completed.
        if stopped && b > 0 {
            partial = true;
            break;
        }
        if !stopped {
            rounds_done += rows.nrows() / chains;
        }
        sigma = out.sigma;
        corrections.extend(out.correction);
        raw.push(out.raw);
        lasts.extend(out.last);
        if stopped {
            partial = true;
            break;
        }
    }
    let level_accept = accept_sum.iter().zip(&reached).map(|(a, n)| a / n).collect();
    let eps = log_eps
        .iter()
        .map(|(l, n)| (l / *n.max(&1) as f64).exp())
        .collect();
    let raw = by_chain(&raw, chains);
    let last = merge_last(&lasts, chains, &raw);
    let mut out = finish(
        target,
        (cfg, seed, first),
        raw,
        sigma,
        sigmas,
        level_accept,
        eps,
        last,
        evals,
        started,
        partial,
    )?;
    (out.levels_done, out.levels_planned, out.rounds_done) =
        (levels_done, cfg.rounds * sigmas_len, rounds_done);
    out.corrections = corrections;
    Ok(out)
}
