//! Prior draws from a VE score network by annealed Langevin dynamics (a model without observations):
//! `draws` rounds of one draw per chain, with Song & Ermon's schedule.

use super::{OptDefault, SamplerDef, Uses};
use crate::infer::{annealed_langevin, DpsProgress, LangevinConfig};
use crate::output::PhaseCount;
use crate::score::NoiseKind;
use crate::session::{RunProgress, SessionError};
use ndarray::{s, Array3};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Song & Ermon (2019): 10 noise levels, 100 steps per level, ε = 2·10⁻⁵.
const LEVELS: usize = 10;
const LEVEL_STEPS: usize = 100;
const EPS: f64 = 2e-5;

pub const ANNEALED_LANGEVIN: SamplerDef = SamplerDef {
    name: "annealed_langevin",
    about: "prior draws from a VE score network by annealed Langevin dynamics (Song & Ermon 2019), the automatic choice for a model without observations",
    options: &[Uses { key: "draws", default: OptDefault::CountNoted(1, "(rounds of one draw per chain)") }],
    auto: |m| {
        m.ve().filter(|_| !m.has_observations && m.priors.len() == 1).map(|n| {
            format!("the model has no observation and the prior of `{n}` is a VE score network, so it draws from the prior by annealed Langevin dynamics")
        })
    },
    // A VP diffusion prior runs through its VE view.
    accepts: |m| match m.ve().or(m.vp()) {
        Some(_) if m.priors.len() == 1 && !m.has_observations => Ok(()),
        _ => Err("annealed Langevin draws from one VE (or VP, through its VE view) score prior in a model without observations; this model is not one".into()),
    },
    levels: super::PriorLevels::Sigmas,
    terms_note: true,
    run: |built, _plan, s, progress, stop, summary, _checks| {
        let post = &built.posterior;
        let prior = built.first_prior()?;
        let dim = post.layout().dim;
        let NoiseKind::Ve { sigma_min, sigma_max } = prior.noise_kind() else {
            return Err(SessionError::Prior("annealed Langevin needs a VE prior".into()))
        };
        let cfg = LangevinConfig { sigma_max, sigma_min, levels: LEVELS, steps: LEVEL_STEPS, eps: EPS, eds: true };
        let started = std::time::Instant::now();
        let (chains, seed, rounds) = (s.count("chains")?, s.seed()?, s.count("draws")?);
        let first = s.count("chain_offset")?;
        let streams: Vec<u64> = (first..first + chains).map(|c| c as u64).collect();
        let mut all = Array3::zeros((chains, rounds, dim));
        let mut kept = rounds;
        let levels_done = AtomicUsize::new(0);
        for d in 0..rounds {
            let report = |level: usize, levels: usize, sigma: f64| {
                levels_done.store(level, Ordering::Relaxed);
                progress(RunProgress::Dps(&DpsProgress { step: level, total: levels, t: d, residual: sigma }))
            };
            let seed = seed.wrapping_add(d as u64 * 7919);
            let (x, stopped) = annealed_langevin(prior, &cfg, &streams, seed, &report, stop)?;
            if stopped {
                kept = d;
                summary.partial = true;
                break;
            }
            all.slice_mut(s![.., d, ..]).assign(&x);
        }
        summary.kernel = "annealed_langevin".into();
        // Levels of the last round (the interrupted one, if any); rounds finished.
        summary.progress.extend([
            ("levels".to_string(), PhaseCount::new(levels_done.load(Ordering::Relaxed), cfg.levels)),
            ("rounds".to_string(), PhaseCount::new(kept, rounds)),
        ]);
        summary.extra.insert(
            "schedule".into(),
            serde_json::json!({"sigma_max": sigma_max, "sigma_min": sigma_min, "levels": cfg.levels,
                "steps_per_level": cfg.steps, "eps": cfg.eps, "eds": true}),
        );
        summary.score_evals = post.score_evals();
        summary.wall_seconds = started.elapsed().as_secs_f64();
        Ok(all.slice(s![.., ..kept, ..]).to_owned())
    },
};
