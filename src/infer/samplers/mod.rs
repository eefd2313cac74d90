//! Score-based samplers beyond plain MALA/HMC: DPS (with CCDF) and annealed HMC.

mod annealed;
mod dps;
mod langevin;
mod rounds;

pub use annealed::{annealed_hmc, AnnealedConfig, AnnealedOutput, AnnealedProgress};
pub use dps::{run_dps, DpsConfig, DpsOutput, DpsProgress, Respaced};
pub use langevin::{annealed_langevin, LangevinConfig};
