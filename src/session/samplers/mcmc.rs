//! The chain runner shared by HMC/NUTS and MALA: Stan's initialisation, warm-up and draws.

use super::{Progress, RunProgress};
use crate::infer::{run_chains_from, KernelKind, MhMode, RunChecks, RunConfig, RunOutput};
use crate::output::{PhaseCount, Summary};
use crate::score::NoiseKind;
use crate::session::{Built, Plan, SessionError, Settings};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The Metropolis correction: `mh` if given, else exact when every prior has a density, else score-only.
pub(super) fn mh_mode(plan: &Plan, s: &Settings) -> Result<MhMode, SessionError> {
    let points = s.count("simpson")?;
    Ok(match s.word("mh") {
        Some("exact") => MhMode::Exact,
        Some("score") => MhMode::ScoreOnly { points },
        Some("off") => MhMode::Off,
        _ if plan.score_only_mh => MhMode::ScoreOnly { points },
        _ => MhMode::Exact,
    })
}

/// Per-chain acceptance, final step size and divergences of a chain run, for `summary.json`.
pub(super) fn record_chains(summary: &mut Summary, out: &RunOutput) {
    summary.acceptance_rate = out.acceptance_rate.clone();
    summary.step_size = out.step_size.clone();
    summary.divergences = out.divergences.iter().map(|d| *d as u64).collect();
}

/// The level of the first prior that has only one ([`crate::session::plan::one_level`]), else the
/// smallest σ of the first VE prior (a network, or a VP prior's VE view: they are not trained below
/// it), else 0 (analytic priors, exact at σ = 0).
fn fixed_sigma(built: &Built) -> f64 {
    let kinds: Vec<NoiseKind> = built.posterior.priors().iter().map(|p| p.noise_kind()).collect();
    kinds
        .iter()
        .find_map(crate::session::plan::one_level)
        .or_else(|| {
            kinds.iter().find_map(|k| match k {
                NoiseKind::Ve { sigma_min, .. } => Some(*sigma_min),
                _ => None,
            })
        })
        .unwrap_or(0.0)
}

/// Run `kernel` on every chain from Stan's initialisation, uniform on (−2, 2) in every coordinate.
pub(super) fn run(
    built: &Built,
    s: &Settings,
    (kernel, mh): (KernelKind, MhMode),
    progress: Progress<'_>,
    stop: &AtomicBool,
    summary: &mut Summary,
    checks: &mut RunChecks,
) -> Result<Array3<f64>, SessionError> {
    let post = &built.posterior;
    let (chains, seed) = (s.count("chains")?, s.seed()?);
    let cfg = RunConfig {
        kernel,
        mh,
        warmup: s.count("warmup")?,
        draws: s.count("draws")?,
        // Refined by Stan's heuristic before warm-up; used as given when there is no warm-up.
        step_size: s.opt_real("step_size").unwrap_or(0.1),
        target_accept: Some(s.real("target_accept")?),
        // A score prior is sampled at its one level, or its smallest (0 for analytic priors).
        sigma: fixed_sigma(built),
        ..RunConfig::default()
    };
    // Chain `first + c` of a shard starts where it would in one run of all chains: the starting
    // points of the chains before it are drawn and dropped.
    let first = s.count("chain_offset")?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_1417);
    let dim = post.layout().dim;
    for _ in 0..first * dim {
        let _: f64 = rng.random_range(-2.0..2.0);
    }
    let init = Array2::from_shape_fn((chains, dim), |_| rng.random_range(-2.0..2.0));
    // Iterations done (warm-up included), for how far an interrupted run got.
    let iterations = AtomicUsize::new(0);
    let report = |p: &crate::infer::Progress| {
        iterations.store(p.iteration, Ordering::Relaxed);
        progress(RunProgress::Chains(p))
    };
    let out = run_chains_from(post, &cfg, init, seed, first, &report, stop)?;
    summary.kernel = cfg.kernel.name().to_string();
    summary.warmup = iterations.load(Ordering::Relaxed).min(cfg.warmup);
    summary
        .progress
        .insert("warmup".into(), PhaseCount::new(summary.warmup, cfg.warmup));
    summary
        .progress
        .insert("draws".into(), PhaseCount::new(out.draws.shape()[1], cfg.draws));
    record_chains(summary, &out);
    summary.grad_evals = out.grad_evals;
    summary.score_evals = out.score_evals;
    summary.wall_seconds = out.wall_seconds;
    summary.partial = out.partial;
    summary
        .extra
        .insert("mh".into(), serde_json::json!(format!("{mh:?}")));
    if cfg.sigma > 0.0 {
        summary.extra.insert("sigma".into(), serde_json::json!(cfg.sigma));
    }
    summary.extra.insert(
        "kernel_config".into(),
        serde_json::json!(format!("{:?}", cfg.kernel)),
    );
    if out.metric_rank.iter().any(|&r| r > 0) {
        summary
            .extra
            .insert("metric_rank".into(), serde_json::json!(out.metric_rank));
    }
    *checks = RunChecks::of_chains(&cfg, out.stats);
    Ok(out.draws)
}
