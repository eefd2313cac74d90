//! DPS (Chung et al. 2023) on a VP diffusion prior, with CCDF when a warm start is given: `draws`
//! rounds of one independent sample per chain, the chains of several rounds batched together.

use super::{corrected::CorrectorRecord, start::start_spec, start_estimate, OptDefault, SamplerDef, Uses};
use crate::infer::{
    correct_streams, particle_stream, run_dps_streams, vp_prior, CorrectorConfig, DpsConfig, Gibbs, MhMode,
    VpLevel,
};
use crate::output::PhaseCount;
use crate::session::RunProgress;
use ndarray::{s, Array3};

/// Metropolis-within-Gibbs updates of the exact latents (a noise level) given each DPS image, with
/// the proposal adapting, then as many with it fixed.
const GIBBS_STEPS: usize = 100;

/// Most DPS samples evaluated together in one network batch.
const DPS_BATCH: usize = 64;

/// Corrector transitions per sample by default (docs/samplers.md: the error-vs-K curve).
pub const DPS_CORRECT: u64 = 50;

pub const DPS: SamplerDef = SamplerDef {
    name: "dps",
    about: "diffusion posterior sampling (Chung et al. 2023): ancestral DDPM steps plus ζ∇‖y − A(x̂₀)‖ through the network; CCDF from a warm start (`init`)",
    options: &[
        Uses { key: "draws", default: OptDefault::CountNoted(1, "(rounds of one independent sample per chain)") },
        Uses::real("zeta", 1.0),
        Uses::count("dps_steps", 1000),
        Uses::word("dps_variance", "large"),
        Uses::auto("init", "none: start from pure noise"),
        Uses::real("t0", 0.2),
        Uses::count("correct", DPS_CORRECT),
    ],
    auto: |m| {
        if let Some(n) = m.complex_ve() {
            return Some(format!("the prior of `{n}` is a VE score network over a complex image, so diffusion posterior sampling (DPS) is used (on complex MRI it beats annealed HMC by 1.4–2.4 dB: docs/samplers.md), then a MALA corrector with the score-only Metropolis correction finishes each sample"));
        }
        m.vp().filter(|_| m.score_latents() == 1).map(|n| {
            if m.has_init {
                format!("the prior of `{n}` is a VP diffusion model and an initial estimate was given, so DPS starts from it (CCDF), then a MALA corrector with the score-only Metropolis correction finishes each sample")
            } else {
                format!("the prior of `{n}` is a VP diffusion model, so diffusion posterior sampling (DPS) is used, then a MALA corrector with the score-only Metropolis correction finishes each sample")
            }
        })
    },
    // A VE network runs through its VP view (the planner says so).
    accepts: |m| match (m.vp().or(m.ve()), m.score_latents()) {
        (Some(_), 1) => Ok(()),
        // Analytic priors run through their exact VP view (a flat prior has none: the run says so).
        (None, 1) if m.all_exact() => Ok(()),
        (Some(n), k) => Err(format!(
            "DPS samples one score latent (with exact latents such as a noise level beside it), but the model has {} score-model latents besides `{n}`",
            k - 1
        )),
        (None, k) if m.all_exact() => Err(format!("DPS samples one latent, but the model has {k}")),
        (None, _) => match m.fixed() {
            Some(n) => Err(format!("DPS needs a prior with a range of noise levels, but the prior of `{n}` gives a score at one noise level only; use `mala`")),
            None => Err("DPS needs a VP (diffusion) or VE score prior, or one analytic Normal/GaussianMixture prior, and this model has none; use `hmc` for analytic priors".into()),
        },
    },
    levels: super::PriorLevels::Timesteps,
    terms_note: true,
    run: |built, _plan, s, progress, stop, summary, _checks| {
        let post = &built.posterior;
        let prior = built.first_prior()?;
        let dim = post.layout().dim;
        // The image's place in the row; the rest are exact latents (a noise level), drawn given
        // each DPS image by Metropolis-within-Gibbs before the corrector moves everything.
        let (offset, len) = post
            .score_slot()
            .ok_or_else(|| crate::session::SessionError::Prior("DPS needs a score-model latent".into()))?;
        let init = match start_spec(s) {
            Some(spec) => {
                let full = start_estimate(built, &spec)?;
                Some((full.slice(s![offset..offset + len]).to_owned(), s.real("t0")?))
            }
            None => None,
        };
        let cfg = DpsConfig {
            zeta: s.real("zeta")?,
            steps: s.count("dps_steps")?,
            small_variance: s.word("dps_variance") == Some("small"),
            init,
        };
        let started = std::time::Instant::now();
        let (chains, seed, rounds) = (s.count("chains")?, s.seed()?, s.count("draws")?);
        let first = s.count("chain_offset")?;
        // The corrector's target: the posterior at the VE-equivalent level of a small timestep.
        let corrector = s.count("correct")?;
        let view = vp_prior(prior)?;
        let level = VpLevel::new(post, view.as_ref())?;
        let ccfg = CorrectorConfig { steps: corrector, sigma: level.sigma, mh: MhMode::score_only(), eds: true };
        let mut record = CorrectorRecord::new(chains);
        // Rounds are batched through the network together, up to DPS_BATCH samples per batch.
        let per_batch = (DPS_BATCH / chains).clamp(1, rounds);
        let mut all = Array3::zeros((chains, rounds, dim));
        let mut kept = rounds;
        let (mut rounds_done, mut steps) = (0, PhaseCount::new(0, 0));
        for d in (0..rounds).step_by(per_batch) {
            let n = per_batch.min(rounds - d);
            // Sample p of the batch is round d + p / chains of global chain first + p % chains, on its
            // own stream (so a shard's samples are those of the same chains in one run).
            let streams: Vec<u64> = (0..chains * n)
                .map(|p| particle_stream(first + p % chains, d + p / chains))
                .collect();
            let out = run_dps_streams(
                post,
                prior,
                &cfg,
                (seed, &streams),
                &|p| progress(RunProgress::Dps(p)),
                stop,
            )?;
            let batch_seed = seed;
            let mut partial = out.partial;
            let mut rows = ndarray::Array2::zeros((out.samples.nrows(), dim));
            rows.slice_mut(s![.., offset..offset + len]).assign(&out.samples);
            let mut out_samples = rows;
            if let Some(mut g) = Gibbs::new(post, &streams, batch_seed) {
                let mut xs = out_samples.clone();
                g.sweep(post, &mut xs, 0.0, GIBBS_STEPS, true)?;
                g.sweep(post, &mut xs, 0.0, GIBBS_STEPS, false)?;
                out_samples.assign(&xs);
            }
            let samples = if corrector > 0 && !partial {
                let c = correct_streams(&level, &out_samples, &ccfg, (batch_seed, &streams), stop)?;
                record.add(&c, &out_samples);
                summary
                    .progress
                    .insert("corrector".into(), PhaseCount::new(c.steps_done, corrector));
                // Stopped during the corrector: its samples so far are kept, and the run is partial.
                partial = c.stopped;
                c.samples
            } else {
                out_samples.clone()
            };
            for (p, row) in samples.outer_iter().enumerate() {
                all.slice_mut(s![p % chains, d + p / chains, ..]).assign(&row);
            }
            steps = PhaseCount::new(out.timesteps.len(), out.planned_steps);
            if partial {
                summary.partial = true;
                kept = d + n;
                break;
            }
            summary.extra.insert("timesteps".into(), serde_json::json!(out.timesteps.len()));
            summary
                .extra
                .insert("final_residual".into(), serde_json::json!(out.residuals.last()));
            // The mean residual over the batch's chains at every step (the last batch of rounds).
            summary.extra.insert("residuals".into(), serde_json::json!(out.residuals));
            rounds_done = d + n;
        }
        // Steps of the last batch of rounds (the interrupted one, if any); rounds finished.
        summary.progress.insert("steps".into(), steps);
        summary.progress.insert("rounds".into(), PhaseCount::new(rounds_done, rounds));
        summary.kernel = "dps".into();
        if corrector > 0 {
            let t = serde_json::json!({ "timestep": level.timestep() });
            record.write(summary, (corrector, level.sigma), t, true);
        }
        summary.extra.insert("zeta".into(), serde_json::json!(cfg.zeta));
        if let Some((_, t0)) = &cfg.init {
            summary.extra.insert("ccdf_t0".into(), serde_json::json!(t0));
        }
        summary.grad_evals = post.grad_evals();
        summary.score_evals = post.score_evals();
        summary.wall_seconds = started.elapsed().as_secs_f64();
        Ok(all.slice(s![.., ..kept, ..]).to_owned())
    },
};
