//! SUPN inference with a linear-Gaussian likelihood (`docs/supn.md`): the exact Gaussian conditional
//! x | z, y by conjugate gradients and perturb-and-optimise, Gibbs sampling of (x, z), and the MAP of z.

mod conditional;
mod gibbs;
mod latent;
mod map;

pub use conditional::{CgStats, Conditional, Decoded};
pub use gibbs::{supn_gibbs, SupnChain, SupnGibbsConfig};
pub use latent::{nc_target, z_target, ZPoint};
pub use map::{objective, supn_map, SupnMap};
