//! Score-based samplers beyond plain MALA/HMC: DPS (with CCDF), annealed HMC and their corrector.

mod anneal_batch;
mod annealed;
mod corrector;
mod denoise;
mod dps;
mod gibbs;
mod langevin;
mod rounds;
mod vp_level;

pub use annealed::{annealed_hmc, annealed_hmc_from, AnnealedConfig, AnnealedOutput, AnnealedProgress};
pub use corrector::{correct, correct_streams, CorrectorConfig, CorrectorOutput};
pub use denoise::{denoise_draw, Denoise, DrawStats, LANCZOS as DENOISE_LANCZOS};
pub use dps::{run_dps, run_dps_streams, vp_prior, DpsConfig, DpsOutput, DpsProgress, Respaced};
pub use gibbs::Gibbs;
pub use langevin::{annealed_langevin, LangevinConfig};
pub use vp_level::{VpLevel, CORRECTOR_SIGMA};
