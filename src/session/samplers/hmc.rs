//! HMC: Stan's multinomial NUTS with a windowed diagonal + low-rank metric, or static HMC with `steps` leapfrog steps.

use super::{mcmc, SamplerDef, Uses};
use crate::infer::{KernelKind, Mass, MhMode, HMC_TARGET_ACCEPT, STAN_DRAWS, STAN_WARMUP};

/// Leapfrog steps of static HMC when `steps` is not given (NUTS needs exact densities).
const STATIC_STEPS: usize = 10;

pub const HMC: SamplerDef = SamplerDef {
    name: "hmc",
    about: "Hamiltonian Monte Carlo: Stan's multinomial NUTS (tree depth ≤ 10, windowed diagonal metric plus a low-rank Hessian correction) with exact Metropolis–Hastings; static HMC with `steps` leapfrog steps when `steps` is given or the correction is score-only",
    options: &[
        Uses::count("draws", STAN_DRAWS),
        Uses::count("warmup", STAN_WARMUP),
        Uses::auto("steps", "NUTS (adaptive path length) with exact MH, else 10 static steps"),
        Uses::auto("step_size", "Stan's step-size heuristic"),
        Uses::real("target_accept", HMC_TARGET_ACCEPT),
        Uses::auto("mh", "exact when every prior has a log density, else score"),
        Uses::count("simpson", MhMode::DEFAULT_POINTS as u64),
        Uses::auto("metric", "lowrank for NUTS, diag for static HMC"),
    ],
    auto: |m| {
        m.all_exact().then(|| {
            if m.has_observations {
                "every prior has an exact log density and the likelihood is differentiable, so HMC (NUTS, adaptive path length) with exact Metropolis–Hastings is used".to_string()
            } else {
                "every prior has an exact log density and there is no observation, so HMC (NUTS) samples the prior with exact Metropolis–Hastings".to_string()
            }
        })
    },
    // A VP diffusion prior runs through its VE view, at its smallest σ.
    accepts: |_| Ok(()),
    levels: super::PriorLevels::Sigmas,
    terms_note: true,
    run: |built, plan, s, progress, stop, summary, checks| {
        let mh = mcmc::mh_mode(plan, s)?;
        let nuts = s.opt_count("steps").is_none() && mh == MhMode::Exact;
        // NUTS takes the low-rank metric unless told otherwise: Stan's diagonal alone leaves a
        // posterior correlated off the axes (deblurring: condition number 5,656 in pixels) at trees
        // of depth 9–10, 7× the wall time to the same accuracy (docs/samplers.md). Static HMC (a
        // score prior's score-only correction) keeps the diagonal: its Hessian would cost a network
        // evaluation per Lanczos step.
        let mass = match s.word("metric") {
            Some("lowrank") => Mass::LowRank,
            Some(_) => Mass::Diagonal,
            None if nuts => Mass::LowRank,
            None => Mass::Diagonal,
        };
        let kernel = if nuts {
            KernelKind::Nuts { max_depth: 10, mass }
        } else {
            KernelKind::Hmc {
                steps: s.opt_count("steps").unwrap_or(STATIC_STEPS),
                mass,
            }
        };
        mcmc::run(built, s, (kernel, mh), progress, stop, summary, checks)
    },
};
