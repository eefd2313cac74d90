//! The score-based samplers of a session: annealed HMC, DPS (with CCDF) and prior draws by annealed Langevin.

use super::sample::{RunProgress, SampleOptions, StartSpec};
use crate::infer::{
    annealed_hmc, annealed_langevin, run_dps, AnnealedConfig, AnnealedProgress, DpsConfig, DpsProgress,
    LangevinConfig, Levels, MhMode, Plan, RunChecks,
};
use crate::output::Summary;
use crate::score::{NoiseKind, ScoreModel};
use crate::session::Built;
use ndarray::{s, Array1, Array2, Array3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::atomic::AtomicBool;

type Progress<'a> = &'a (dyn Fn(RunProgress<'_>) + Sync);

fn first_prior(built: &Built) -> anyhow::Result<&dyn ScoreModel> {
    built
        .posterior
        .priors()
        .first()
        .map(|p| p.as_ref())
        .ok_or_else(|| anyhow::anyhow!("the model has no latent"))
}

/// The starting estimate asked for, on the flat layout.
fn start_estimate(built: &Built, spec: &StartSpec) -> anyhow::Result<Array1<f64>> {
    let dim = built.posterior.layout().dim;
    match spec {
        StartSpec::Adjoint => built
            .posterior
            .adjoint_estimate()
            .map_err(|e| anyhow::anyhow!("cannot form the adjoint reconstruction: {e}")),
        StartSpec::Values(v) if v.len() == dim => Ok(v.clone()),
        StartSpec::Values(v) => {
            anyhow::bail!("the initial estimate has {} values, the latents {dim}", v.len())
        }
        StartSpec::File(path) => {
            let shown = path.display();
            let v = crate::check::read_npy(path).map_err(|e| anyhow::anyhow!("--init {shown}: {e}"))?;
            let flat: Vec<f64> = match &v {
                crate::graph::Value::Real(a) => a.iter().copied().collect(),
                crate::graph::Value::Complex(a) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
            };
            if flat.len() != dim {
                anyhow::bail!(
                    "--init {shown}: {} values, but the latents have {dim}",
                    flat.len()
                );
            }
            if !flat.iter().all(|x| x.is_finite()) {
                anyhow::bail!("--init {shown}: contains NaN or infinite values");
            }
            Ok(flat.into())
        }
    }
}

/// Annealed HMC, by default in the paper's scheme of independent runs (8 rounds per chain, one draw
/// each), from the scaled adjoint plus N(0, σ_0²), or (with `--init`) from the estimate plus
/// noise at σ_start = σ_min (σ_0/σ_min)^t0, i.e. the last fraction t0 of the geometric schedule.
pub(super) fn run_annealed(
    built: &Built,
    plan: &Plan,
    opts: &SampleOptions,
    progress: Progress<'_>,
    stop: &AtomicBool,
    summary: &mut Summary,
    checks: &mut RunChecks,
) -> anyhow::Result<Array3<f64>> {
    let post = &built.posterior;
    let prior = first_prior(built)?;
    let (s_min, s_max) = match prior.noise_kind() {
        NoiseKind::Ve { sigma_min, sigma_max } => (sigma_min, sigma_max),
        NoiseKind::Analytic => (0.01, 1.0),
        other => anyhow::bail!("annealed HMC needs a noise-conditional prior, not {other:?}"),
    };
    let sigma_min = opts.sigma_min.unwrap_or(s_min);
    // The schedule starts where noise hides the image's content: σ_0 = the data range (1/data
    // scale), unless the network was trained on less.
    let sigma0 = opts.sigma0.unwrap_or_else(|| s_max.min(1.0 / prior.data_scale()));
    let (start, sigma_start, from) = match &opts.init {
        Some(spec) => (
            start_estimate(built, spec)?,
            sigma_min * (sigma0.max(sigma_min) / sigma_min).powf(opts.t0.clamp(0.0, 1.0)),
            "init",
        ),
        None => (start_estimate(built, &StartSpec::Adjoint)?, sigma0, "adjoint"),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0xa11e_a1ed);
    let rounds = opts.rounds.unwrap_or(8);
    let init = Array2::from_shape_fn((opts.chains * rounds, start.len()), |(_, j)| {
        let z: f64 = StandardNormal.sample(&mut rng);
        start[j] + sigma_start * z
    });
    let cfg = AnnealedConfig {
        sigma0: sigma_start.max(sigma_min),
        sigma_min,
        gamma: opts.gamma,
        steps: opts.steps.unwrap_or(4),
        eps: opts.step_size,
        mh: opts.mh.unwrap_or(if plan.score_only_mh {
            MhMode::ScoreOnly {
                points: opts.simpson.max(1),
            }
        } else {
            MhMode::Exact
        }),
        rounds,
        batch: 64,
        warmup: opts.warmup.unwrap_or(0),
        target_accept: opts.target_accept,
        draws: opts.draws.unwrap_or(1),
        eds: true,
    };
    let report = |p: AnnealedProgress<'_>| match p {
        AnnealedProgress::Level {
            level,
            levels,
            sigma,
            accept_rate,
        } => progress(RunProgress::Annealing {
            level,
            levels,
            sigma,
            accept_rate,
        }),
        AnnealedProgress::Final(p) => progress(RunProgress::Chains(p)),
    };
    let out = annealed_hmc(post, &cfg, init, opts.seed, &report, stop)?;
    *checks = RunChecks {
        stats: out.last.as_ref().map(|l| l.stats.clone()),
        corrected: cfg.mh != MhMode::Off,
        levels: Some(Levels {
            sigmas: out.sigmas.clone(),
            accept: out.level_accept.clone(),
        }),
        ..RunChecks::default()
    };
    summary.warmup = cfg.warmup;
    if let Some(last) = &out.last {
        summary.acceptance_rate = last.acceptance_rate.clone();
        summary.step_size = last.step_size.clone();
        summary.divergences = last.divergences.iter().map(|d| *d as u64).collect();
    }
    summary.grad_evals = out.grad_evals;
    summary.score_evals = out.score_evals;
    summary.wall_seconds = out.wall_seconds;
    summary.partial = out.partial;
    summary.extra.insert(
        "schedule".into(),
        serde_json::json!({
            "sigma0": cfg.sigma0, "sigma_min": cfg.sigma_min, "gamma": cfg.gamma,
            "levels": out.sigmas.len(), "leapfrog_steps": cfg.steps, "eps": out.eps,
            "step_rule": "eps * (sigma_i / sigma0)^1.5", "start": from, "eds": cfg.eds,
            "rounds": cfg.rounds, "batch": cfg.batch,
            "mh": format!("{:?}", cfg.mh),
        }),
    );
    summary
        .extra
        .insert("level_accept".into(), serde_json::json!(out.level_accept));
    summary.extra.insert(
        "level_accept_mean".into(),
        serde_json::json!(out.level_accept.iter().sum::<f64>() / out.level_accept.len().max(1) as f64),
    );
    Ok(out.draws)
}

/// Most DPS samples evaluated together in one network batch.
const DPS_BATCH: usize = 64;

/// DPS: `draws` rounds, each giving one independent sample per chain; the chains of several rounds
/// go through the network as one batch.
pub(super) fn run_dps_rounds(
    built: &Built,
    opts: &SampleOptions,
    progress: Progress<'_>,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> anyhow::Result<Array3<f64>> {
    let post = &built.posterior;
    let prior = first_prior(built)?;
    let dim = post.layout().dim;
    let init = match &opts.init {
        Some(spec) => Some((start_estimate(built, spec)?, opts.t0)),
        None => None,
    };
    let cfg = DpsConfig {
        zeta: opts.zeta,
        steps: opts.dps_steps,
        small_variance: opts.dps_small_variance,
        init,
    };
    let t0 = std::time::Instant::now();
    let rounds = opts.draws.unwrap_or(1).max(1);
    // Rounds are batched through the network together, up to DPS_BATCH samples per batch.
    let per_batch = (DPS_BATCH / opts.chains).clamp(1, rounds);
    let mut all = Array3::zeros((opts.chains, rounds, dim));
    let mut kept = rounds;
    for d in (0..rounds).step_by(per_batch) {
        let n = per_batch.min(rounds - d);
        let out = run_dps(
            post,
            prior,
            &cfg,
            opts.chains * n,
            opts.seed.wrapping_add(d as u64 * 7919),
            &|p| progress(RunProgress::Dps(p)),
            stop,
        )?;
        for (p, row) in out.samples.outer_iter().enumerate() {
            all.slice_mut(s![p % opts.chains, d + p / opts.chains, ..])
                .assign(&row);
        }
        if out.partial {
            summary.partial = true;
            kept = d + n;
            break;
        }
        summary
            .extra
            .insert("timesteps".into(), serde_json::json!(out.timesteps.len()));
        summary
            .extra
            .insert("final_residual".into(), serde_json::json!(out.residuals.last()));
    }
    summary.extra.insert("zeta".into(), serde_json::json!(opts.zeta));
    if let Some((_, t0)) = &cfg.init {
        summary.extra.insert("ccdf_t0".into(), serde_json::json!(t0));
    }
    summary.grad_evals = post.grad_evals();
    summary.score_evals = post.score_evals();
    summary.wall_seconds = t0.elapsed().as_secs_f64();
    Ok(all.slice(s![.., ..kept, ..]).to_owned())
}

/// Prior draws from a VE network by annealed Langevin dynamics (`draws` rounds of `chains` draws).
pub(super) fn run_langevin(
    built: &Built,
    opts: &SampleOptions,
    progress: Progress<'_>,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> anyhow::Result<Array3<f64>> {
    let post = &built.posterior;
    let prior = first_prior(built)?;
    let dim = post.layout().dim;
    let NoiseKind::Ve { sigma_min, sigma_max } = prior.noise_kind() else {
        anyhow::bail!("annealed Langevin needs a VE prior")
    };
    let cfg = LangevinConfig {
        sigma_max,
        sigma_min,
        levels: opts.levels,
        steps: opts.level_steps,
        eps: opts.langevin_eps,
        eds: true,
    };
    let t0 = std::time::Instant::now();
    let rounds = opts.draws.unwrap_or(1).max(1);
    let mut all = Array3::zeros((opts.chains, rounds, dim));
    let mut kept = rounds;
    for d in 0..rounds {
        let report = |level: usize, levels: usize, sigma: f64| {
            progress(RunProgress::Dps(&DpsProgress {
                step: level,
                total: levels,
                t: d,
                residual: sigma,
            }))
        };
        let seed = opts.seed.wrapping_add(d as u64 * 7919);
        let (x, stopped) = annealed_langevin(prior, &cfg, opts.chains, seed, &report, stop)?;
        if stopped {
            kept = d;
            summary.partial = true;
            break;
        }
        all.slice_mut(s![.., d, ..]).assign(&x);
    }
    summary.extra.insert(
        "schedule".into(),
        serde_json::json!({"sigma_max": sigma_max, "sigma_min": sigma_min, "levels": cfg.levels,
            "steps_per_level": cfg.steps, "eps": cfg.eps, "eds": true}),
    );
    summary.score_evals = post.score_evals();
    summary.wall_seconds = t0.elapsed().as_secs_f64();
    Ok(all.slice(s![.., ..kept, ..]).to_owned())
}
