//! Inference: the posterior target, kernels, adaptation, sampler planning and diagnostics.

mod diagnostics;
mod target;

pub use diagnostics::{DiagSummary, Diagnostics};
pub use target::{Eval, EvalError, Posterior};
