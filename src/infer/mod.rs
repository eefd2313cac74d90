//! Inference: the posterior target, kernels, adaptation, sampler planning and diagnostics.

mod plan;
mod target;

pub use plan::{plan, Plan, PlanInput, SamplerKind};
pub use target::{Eval, EvalError, Posterior};
