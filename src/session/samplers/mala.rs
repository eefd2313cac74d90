//! MALA: Langevin proposals with the Metropolis correction (exact, or score-only for a score prior).

use super::{mcmc, SamplerDef, Uses};
use crate::infer::{KernelKind, MhMode, MALA_TARGET_ACCEPT, STAN_DRAWS, STAN_WARMUP};

pub const MALA: SamplerDef = SamplerDef {
    name: "mala",
    about: "Metropolis-adjusted Langevin: the automatic choice for a score at one noise level, with the score-only Metropolis correction",
    options: &[
        Uses::count("draws", STAN_DRAWS),
        Uses::count("warmup", STAN_WARMUP),
        Uses::auto("step_size", "Stan's step-size heuristic"),
        Uses::real("target_accept", MALA_TARGET_ACCEPT),
        Uses::auto("mh", "exact when every prior has a log density, else score"),
        Uses::count("simpson", MhMode::DEFAULT_POINTS as u64),
    ],
    auto: |m| {
        m.fixed().filter(|_| m.vp().is_none() && m.ve().is_none()).map(|n| {
            format!("the prior of `{n}` gives a score at one noise level only, so MALA with a score-only Metropolis correction is used")
        })
    },
    // A VP diffusion prior runs through its VE view, at its smallest σ.
    accepts: |_| Ok(()),
    levels: super::PriorLevels::Sigmas,
    terms_note: true,
    run: |built, plan, s, progress, stop, summary, checks| {
        let mh = mcmc::mh_mode(plan, s)?;
        mcmc::run(built, s, (KernelKind::Mala, mh), progress, stop, summary, checks)
    },
};
