//! Inference: the posterior target, kernels, adaptation, sampler planning and diagnostics.

mod target;

pub use target::{Eval, EvalError, Posterior};
