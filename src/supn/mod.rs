//! Structured Uncertainty Prediction Networks (Dorta et al. 2018; Duff et al.): a decoder giving a mean
//! and a sparse Cholesky factor of the precision, x | z ~ N(μ(z), (L Lᵀ)⁻¹), with O(N) densities,
//! gradients and exact draws; its files and its training. `docs/supn.md` states the conventions.

mod cg;
mod factor;
mod file;
mod loss;
mod model;
mod net;
#[cfg(test)]
mod tests;
mod train;

pub use cg::{conjugate_gradients, CgSolve, CG_MAX_ITER, CG_TOL};
pub use factor::{causal_offsets, Factor, FactorGrads};
pub use file::{config_from_metadata, supn_metadata, SupnError, SUPN_ARCHITECTURE};
pub use loss::{diagonal_log_likelihood, kl_standard, supn_log_likelihood};
pub use model::{SupnDensity, SupnModel};
pub use net::{Decoder, Encoder, SupnConfig, SupnNets, LOG_DIAG_BOUND};
pub use train::{SupnHistory, SupnTrainConfig, SupnTrainer};

/// Load, save and architecture checks, for training and tests.
pub mod files {
    pub use super::file::{expected, load, save};
}
