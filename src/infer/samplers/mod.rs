//! Score-based samplers beyond plain MALA/HMC: DPS (with CCDF) and annealed HMC.

mod dps;

pub use dps::{run_dps, DpsConfig, DpsOutput, DpsProgress, Respaced};
