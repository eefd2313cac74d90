//! Inference: the posterior target, kernels, adaptation, the sampling algorithms and diagnostics.

mod adapt;
mod diagnostics;
mod heuristic;
mod kernels;
mod lowrank;
mod posterior;
mod run;
mod run_config;
mod sample_stats;
mod samplers;
mod supn;
mod target;
mod warmup;

pub use adapt::{DiagMassAdaptation, DualAveraging, WindowSchedule};
pub use diagnostics::{
    check as check_warnings, ebfmi, ess_limit, quantile_sorted, rhat_limit, rhat_quantile, DiagSummary,
    Diagnostics, LatentCheck, Levels, RunChecks, SolverCheck, Warning, WarningKind,
};
pub use kernels::{
    evaluate_points, hmc_step, mala_step, score_path_delta, simpson_weights, ChainState, HmcParams,
    KernelError, LowRank, MalaParams, Metric, MhMode, StepInfo, DIVERGENCE_THRESHOLD,
};
pub use posterior::{AffineObs, GraphPosterior, Layout, Observation, PriorTerm, SupnLatent, SupnLinear};
pub(crate) use run::particle_stream;
pub(crate) use run::stream_rngs;
pub use run::{
    run_chains, run_chains_from, KernelKind, Mass, Phase, Progress, RunConfig, RunError, RunOutput,
};
pub use run_config::{HMC_TARGET_ACCEPT, MALA_TARGET_ACCEPT, STAN_DRAWS, STAN_WARMUP};
pub use sample_stats::SampleStats;
pub use samplers::{
    annealed_hmc, annealed_hmc_from, annealed_langevin, correct, correct_streams, denoise_draw, run_dps,
    run_dps_streams, vp_prior, AnnealedConfig, AnnealedOutput, AnnealedProgress, CorrectorConfig,
    CorrectorOutput, Denoise, DpsConfig, DpsOutput, DpsProgress, DrawStats, Gibbs, LangevinConfig, Respaced,
    VpLevel, CORRECTOR_SIGMA, DENOISE_LANCZOS,
};
pub use supn::{
    nc_target as supn_nc_target, objective as supn_objective, supn_gibbs, supn_map, z_target, CgStats,
    Conditional, Decoded, SupnChain, SupnGibbsConfig, SupnMap, ZPoint,
};
pub use target::{Eval, EvalError, LinearGaussian, Posterior};
