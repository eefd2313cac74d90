//! Running the planned sampler on a built posterior: options, progress reports and the dispatch.

use super::score_runs::{run_annealed, run_dps_rounds, run_langevin};
use crate::infer::{
    run_chains, DpsProgress, KernelKind, Mass, MhMode, Plan, Progress, RunChecks, RunConfig, SamplerKind,
};
use crate::output::Summary;
use crate::session::Built;
use ndarray::{Array1, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::AtomicBool;

/// Where score-based samplers start (CCDF for DPS; a shorter schedule for annealed HMC).
#[derive(Clone, Debug, PartialEq)]
pub enum StartSpec {
    /// The scaled adjoint reconstruction `α Aᴴy` of the model's observations.
    Adjoint,
    /// A given estimate on the flat layout (e.g. another run's mean).
    Values(Array1<f64>),
    /// A `.npy` estimate with the latents' shape, read when the run starts.
    File(std::path::PathBuf),
}

/// Settings of one `uq sample` run (CLI flags and `infer(...)` keys end up here). `None` means the
/// sampler's own default.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    pub chains: usize,
    /// Kept draws per chain [HMC/MALA 1000; annealed HMC 1 per round at σ_min; DPS and Langevin 1 round].
    pub draws: Option<usize>,
    /// Warm-up iterations [HMC/MALA 1000; annealed HMC 0 per round at σ_min].
    pub warmup: Option<usize>,
    /// Annealed HMC: independent annealing runs per chain, each followed by `warmup` and `draws`
    /// transitions at σ_min [8].
    pub rounds: Option<usize>,
    pub seed: u64,
    /// Leapfrog steps per transition [HMC: NUTS when MH is exact, else 10; annealed HMC 4].
    pub steps: Option<usize>,
    /// Initial step size (HMC/MALA, adapted) or annealed HMC's ε [heuristic].
    pub step_size: Option<f64>,
    pub target_accept: Option<f64>,
    /// `None`: exact when every prior has a density, else score-only with `simpson` intervals.
    pub mh: Option<MhMode>,
    /// Simpson intervals of the score-only correction [4].
    pub simpson: usize,
    pub zeta: f64,
    pub dps_steps: usize,
    /// DPS reverse-step noise β̃ ("small") instead of β ("large", the default).
    pub dps_small_variance: bool,
    /// Annealed HMC: γ, σ_0 [min(σ_max, data range)], σ_min [the prior's].
    pub gamma: f64,
    pub sigma0: Option<f64>,
    pub sigma_min: Option<f64>,
    /// CCDF / warm start, and the fraction t0 of the schedule it starts from.
    pub init: Option<StartSpec>,
    pub t0: f64,
    /// Annealed Langevin (prior draws): levels, steps per level, ε (Song & Ermon's defaults).
    pub levels: usize,
    pub level_steps: usize,
    pub langevin_eps: f64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            chains: 4,
            draws: None,
            warmup: None,
            rounds: None,
            seed: 1,
            steps: None,
            step_size: None,
            target_accept: None,
            mh: None,
            simpson: 4,
            zeta: 1.0,
            dps_steps: 1000,
            dps_small_variance: false,
            gamma: 0.995,
            sigma0: None,
            sigma_min: None,
            init: None,
            t0: 0.2,
            levels: 10,
            level_steps: 100,
            langevin_eps: 2e-5,
        }
    }
}

/// One progress report of any sampler, for a progress bar.
#[derive(Clone, Debug)]
pub enum RunProgress<'a> {
    /// The sampler line (`sampler: … — reason`), sent once before a REPL run starts.
    Planned(&'a str),
    Chains(&'a Progress),
    Dps(&'a DpsProgress),
    /// Annealing level done, of how many, at noise level σ, with the mean acceptance so far.
    Annealing {
        level: usize,
        levels: usize,
        sigma: f64,
        accept_rate: f64,
    },
}

/// The result of a run, before it is written.
pub struct RunResult {
    /// [chains, draws, dim] on the flat layout.
    pub draws: Array3<f64>,
    pub summary: Summary,
    /// What the warnings need besides the draws (per-draw statistics, the sampler's settings).
    pub checks: RunChecks,
}

/// Run the planned sampler.
pub fn run(
    built: &Built,
    plan: &Plan,
    opts: &SampleOptions,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> anyhow::Result<RunResult> {
    let mut summary = Summary {
        sampler: plan.sampler.to_string(),
        reason: plan.reason.clone(),
        chains: opts.chains,
        seed: opts.seed,
        ..Summary::default()
    };
    let mut checks = RunChecks::default();
    let draws = match plan.sampler {
        SamplerKind::Hmc | SamplerKind::Mala => {
            run_mcmc(built, plan, opts, progress, stop, &mut summary, &mut checks)?
        }
        SamplerKind::Dps => run_dps_rounds(built, opts, progress, stop, &mut summary)?,
        SamplerKind::AnnealedLangevin => run_langevin(built, opts, progress, stop, &mut summary)?,
        SamplerKind::AnnealedHmc => {
            run_annealed(built, plan, opts, progress, stop, &mut summary, &mut checks)?
        }
    };
    summary.draws = draws.shape()[1];
    Ok(RunResult {
        draws,
        summary,
        checks,
    })
}

fn run_mcmc(
    built: &Built,
    plan: &Plan,
    opts: &SampleOptions,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
    summary: &mut Summary,
    checks: &mut RunChecks,
) -> anyhow::Result<Array3<f64>> {
    let post = &built.posterior;
    let dim = post.layout().dim;
    let mh = opts.mh.unwrap_or(if plan.score_only_mh {
        MhMode::ScoreOnly {
            points: opts.simpson.max(1),
        }
    } else {
        MhMode::Exact
    });
    let kernel = match (plan.sampler, opts.steps) {
        (SamplerKind::Mala, _) => KernelKind::Mala,
        (_, None) if mh == MhMode::Exact => KernelKind::NUTS,
        (_, steps) => KernelKind::Hmc {
            steps: steps.unwrap_or(10),
            mass: Mass::Diagonal,
        },
    };
    let warmup = opts.warmup.unwrap_or(1000);
    let cfg = RunConfig {
        kernel,
        mh,
        warmup,
        draws: opts.draws.unwrap_or(1000),
        step_size: opts.step_size.unwrap_or(0.1),
        target_accept: opts.target_accept,
        ..RunConfig::default()
    };
    // Stan's default initialisation: uniform on (−2, 2) in every coordinate.
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed_1417);
    let init = Array2::from_shape_fn((opts.chains, dim), |_| rng.random_range(-2.0..2.0));
    let out = run_chains(
        post,
        &cfg,
        init,
        opts.seed,
        &|p| progress(RunProgress::Chains(p)),
        stop,
    )?;
    summary.warmup = warmup;
    summary.acceptance_rate = out.acceptance_rate.clone();
    summary.step_size = out.step_size.clone();
    summary.divergences = out.divergences.iter().map(|d| *d as u64).collect();
    summary.grad_evals = out.grad_evals;
    summary.score_evals = out.score_evals;
    summary.wall_seconds = out.wall_seconds;
    summary.partial = out.partial;
    summary
        .extra
        .insert("mh".into(), serde_json::json!(format!("{mh:?}")));
    summary
        .extra
        .insert("kernel".into(), serde_json::json!(format!("{:?}", cfg.kernel)));
    *checks = RunChecks::of_chains(&cfg, out.stats);
    Ok(out.draws)
}
