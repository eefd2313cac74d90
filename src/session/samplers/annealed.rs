//! Annealed HMC (Ramzi et al. 2020) on a VE score prior: by default the paper's independent-samples
//! scheme, 8 annealing runs per chain with one draw each, from the scaled adjoint plus N(0, σ_0²).

use super::{
    corrected::CorrectorRecord,
    mcmc::{mh_mode, record_chains},
    start::start_spec,
    start_estimate, SamplerDef, Uses,
};
use crate::infer::{
    annealed_hmc_from, particle_stream, stream_rngs, AnnealedConfig, AnnealedProgress, Denoise, Levels,
    MhMode, Posterior, RunChecks, HMC_TARGET_ACCEPT,
};
use crate::output::PhaseCount;
use crate::score::NoiseKind;
use crate::session::{RunProgress, SessionError, StartSpec};
use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Annealing runs evaluated together in one network batch.
const BATCH: usize = 64;

/// Corrector transitions per annealing run by default (docs/samplers.md).
pub const ANNEALED_CORRECT: u64 = 50;

pub const ANNEALED_HMC: SamplerDef = SamplerDef {
    name: "annealed_hmc",
    about: "annealed HMC (Ramzi et al. 2020): a geometric noise schedule σ_0 → σ_min, step ε(σ_i/σ_0)^1.5, score-only Metropolis correction, independent annealing runs per chain, then draws at σ_min and a draw of the clean image given that draw and the data (`denoise = draw`, the default on a linear-Gaussian model) or the EDS step (`denoise = mean`)",
    options: &[
        Uses { key: "draws", default: super::OptDefault::CountNoted(1, "per round, at σ_min") },
        Uses { key: "warmup", default: super::OptDefault::CountNoted(0, "per round, at σ_min") },
        Uses::count("rounds", 8),
        Uses::count("steps", 3),
        Uses::auto("step_size", "Stan's step-size heuristic at σ_0, per annealing run"),
        Uses::real("target_accept", HMC_TARGET_ACCEPT),
        Uses::auto("mh", "exact when every prior has a log density, else score"),
        Uses::count("simpson", MhMode::DEFAULT_POINTS as u64),
        Uses::real("gamma", 0.98),
        Uses::auto("level_adapt", "off: the paper's fixed rule ε (σ_i/σ_0)^1.5"),
        Uses::auto("sigma0", "min(σ_max of the prior, data range)"),
        Uses::auto("sigma_min", "the prior's σ_min"),
        Uses::auto("init", "none: start from the scaled adjoint + N(0, σ_0²)"),
        Uses::real("t0", 0.2),
        Uses::count("correct", ANNEALED_CORRECT),
        Uses::auto(
            "denoise",
            "draw where the model is one Normal observation linear in a single score-prior image with a constant σ, else mean",
        ),
    ],
    auto: |m| {
        m.ve().filter(|_| m.vp().is_none() && m.complex_ve().is_none()).map(|n| {
            format!("the prior of `{n}` is a noise-conditional (VE) score network, so annealed HMC with a score-only Metropolis correction is used, with a MALA corrector at σ_min after the last level")
        })
    },
    // A VP diffusion prior runs through its VE view (the planner says so).
    accepts: |_| Ok(()),
    levels: super::PriorLevels::Sigmas,
    terms_note: true,
    run: |built, plan, s, progress, stop, summary, checks| {
        let post = &built.posterior;
        let prior = built.first_prior()?;
        let (s_min, s_max) = match prior.noise_kind() {
            NoiseKind::Ve { sigma_min, sigma_max } => (sigma_min, sigma_max),
            NoiseKind::Analytic => (0.01, 1.0),
            other => {
                return Err(SessionError::Prior(format!(
                    "annealed HMC needs a noise-conditional prior, not {other:?}"
                )))
            }
        };
        let sigma_min = s.opt_real("sigma_min").unwrap_or(s_min);
        // The schedule starts where noise hides the image's content: σ_0 = the data range (1/data
        // scale), unless the network was trained on less.
        let sigma0 = s.opt_real("sigma0").unwrap_or_else(|| s_max.min(1.0 / prior.data_scale()));
        let (start, sigma_start, from) = match start_spec(s) {
            Some(spec) => (
                start_estimate(built, &spec)?,
                sigma_min * (sigma0.max(sigma_min) / sigma_min).powf(s.real("t0")?),
                "init",
            ),
            None => (start_estimate(built, &StartSpec::Adjoint)?, sigma0, "adjoint"),
        };
        let (chains, seed, rounds) = (s.count("chains")?, s.seed()?, s.count("rounds")?);
        // Round r of global chain c starts from its own stream, whatever the chains beside it.
        let first = s.count("chain_offset")?;
        let mut init = Array2::zeros((chains * rounds, start.len()));
        for (p, mut row) in init.outer_iter_mut().enumerate() {
            let stream = particle_stream(first + p % chains, p / chains);
            let mut rng = stream_rngs(seed ^ 0xa11e_a1ed, &[stream]).remove(0);
            for (v, s0) in row.iter_mut().zip(start.iter()) {
                let z: f64 = StandardNormal.sample(&mut rng);
                *v = s0 + sigma_start * z;
            }
        }
        let cfg = AnnealedConfig {
            sigma0: sigma_start.max(sigma_min),
            sigma_min,
            gamma: s.real("gamma")?,
            steps: s.count("steps")?,
            eps: s.opt_real("step_size"),
            mh: mh_mode(plan, s)?,
            rounds,
            batch: BATCH,
            warmup: s.count("warmup")?,
            target_accept: Some(s.real("target_accept")?),
            level_adapt: s.opt_real("level_adapt").unwrap_or(0.0),
            draws: s.count("draws")?,
            denoise: match s.word("denoise") {
                Some("draw") => Denoise::Draw,
                Some(_) => Denoise::Mean,
                // The draw widens the intervals to the data's own uncertainty at σ_min for ~4% more
                // score evaluations (docs/samplers.md); it needs a linear-Gaussian model.
                None if post.linear_gaussian().is_ok() => Denoise::Draw,
                None => Denoise::Mean,
            },
            correct: s.count("correct")?,
        };
        // σ_min-phase iterations of the current batch, for how far an interrupted run got.
        let final_iterations = AtomicUsize::new(0);
        let report = |p: AnnealedProgress<'_>| match p {
            AnnealedProgress::Level { level, levels, sigma, accept_rate } => {
                progress(RunProgress::Annealing { level, levels, sigma, accept_rate })
            }
            AnnealedProgress::Final(p) => {
                final_iterations.store(p.iteration, Ordering::Relaxed);
                progress(RunProgress::Chains(p))
            }
        };
        let out = annealed_hmc_from(post, &cfg, init, seed, first, &report, stop)?;
        *checks = RunChecks {
            stats: out.last.as_ref().map(|l| l.stats.clone()),
            corrected: cfg.mh != MhMode::Off,
            levels: Some(Levels {
                sigmas: out.sigmas.clone(),
                accept: out.level_accept.clone(),
            }),
            ..RunChecks::default()
        };
        summary.kernel = "annealed_hmc".into();
        summary.warmup = if out.rounds_done > 0 {
            cfg.warmup
        } else {
            final_iterations.load(Ordering::Relaxed).min(cfg.warmup)
        };
        summary.progress.extend([
            ("levels".to_string(), PhaseCount::new(out.levels_done, out.levels_planned)),
            ("rounds".to_string(), PhaseCount::new(out.rounds_done, rounds)),
            ("warmup".to_string(), PhaseCount::new(summary.warmup, cfg.warmup)),
            // Draws made at σ_min (when stopped while annealing, the points kept are the chains'
            // current ones, at the last level reached, and none of them counts here).
            (
                "draws".to_string(),
                PhaseCount::new(out.last.as_ref().map_or(0, |l| l.draws.shape()[1]), rounds * cfg.draws),
            ),
        ]);
        if let Some(last) = &out.last {
            record_chains(summary, last);
        }
        if cfg.correct > 0 && !out.corrections.is_empty() {
            let mut record = CorrectorRecord::new(chains);
            for (c, from) in &out.corrections {
                record.add(c, from);
            }
            record.write(summary, (cfg.correct, cfg.sigma_min), serde_json::json!("sigma_min"), false);
        }
        summary.grad_evals = out.grad_evals;
        summary.score_evals = out.score_evals;
        summary.wall_seconds = out.wall_seconds;
        summary.partial = out.partial;
        summary.extra.insert(
            "schedule".into(),
            serde_json::json!({
                "sigma0": cfg.sigma0, "sigma_min": cfg.sigma_min, "gamma": cfg.gamma,
                "levels": out.sigmas.len(), "leapfrog_steps": cfg.steps, "eps_per_chain": out.eps,
                "step_rule": "eps * (sigma_i / sigma0)^1.5", "level_adapt": cfg.level_adapt, "start": from, "denoise": format!("{:?}", cfg.denoise).to_lowercase(),
                "rounds": cfg.rounds, "batch": cfg.batch,
                "mh": format!("{:?}", cfg.mh),
            }),
        );
        if cfg.denoise == Denoise::Draw && out.denoise.is_none() {
            summary.extra.insert(
                "denoise_draw".into(),
                serde_json::json!("not done: the run was stopped, and its draws got the EDS mean instead"),
            );
        }
        if let Some(d) = &out.denoise {
            summary.extra.insert(
                "denoise_draw".into(),
                serde_json::json!({"lanczos_steps": crate::infer::DENOISE_LANCZOS, "cg_iterations": d.cg_iterations, "cg_residual": d.cg_residual, "score_evals": d.score_evals}),
            );
        }
        summary.extra.insert("level_accept".into(), serde_json::json!(out.level_accept));
        summary.extra.insert(
            "level_accept_mean".into(),
            serde_json::json!(out.level_accept.iter().sum::<f64>() / out.level_accept.len().max(1) as f64),
        );
        Ok(out.draws)
    },
};
