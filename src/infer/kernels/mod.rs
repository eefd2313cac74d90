//! Transition kernels as pure batched steps over chains: shared state, info and evaluation helpers.
//!
//! A kernel step takes every chain's RNG, state and parameters, proposes for all chains at once (so
//! each target evaluation is one batched call), applies Metropolis–Hastings per chain and returns one
//! [`StepInfo`] per chain. A point that cannot be evaluated (NaN, outside the support) or an energy
//! error beyond [`DIVERGENCE_THRESHOLD`] is a divergence: the proposal is rejected and the chain goes
//! on. Only [`EvalError::Fatal`] aborts.

mod hmc;
mod mala;
mod metric;
mod mh;
mod nuts;

pub use hmc::{hmc_step, HmcParams};
pub use mala::{mala_step, MalaParams};
pub use metric::{LowRank, Metric};
pub use mh::{score_path_delta, simpson_weights, MhMode};
pub use nuts::{nuts_step, NutsParams};

use ndarray::{Array1, Array2};

use super::target::{Eval, EvalError, Posterior};

/// |energy error| (−log of the MH ratio) above which a transition counts as divergent.
pub const DIVERGENCE_THRESHOLD: f64 = 1000.0;

/// One chain's position with its cached evaluation (a point is never evaluated twice).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainState {
    pub position: Array1<f64>,
    pub eval: Eval,
}

impl ChainState {
    /// Exact `log π` when the prior has a density.
    pub fn log_density(&self) -> Option<f64> {
        self.eval.log_prior.map(|lp| lp + self.eval.log_lik)
    }
}

/// What one transition of one chain did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo {
    /// min(1, MH ratio); 0 for a divergent transition (the statistic step-size adaptation uses).
    pub accept_prob: f64,
    pub accepted: bool,
    pub divergent: bool,
    /// −log of the MH ratio (for HMC the Hamiltonian change `H(x*, p*) − H(x, p)`); NaN when the
    /// proposal could not be evaluated, 0 with MH off.
    pub energy_error: f64,
    /// The Hamiltonian `−log π(x) + ½ pᵀM⁻¹p` at the point the chain ends on (Stan's `energy__`: the
    /// initial one after a rejection); NaN without a log density and for MALA.
    pub energy: f64,
    /// NUTS: doublings of the trajectory that passed (Stan's `treedepth__`); 0 for other kernels.
    pub tree_depth: usize,
    /// Posterior gradient evaluations (points evaluated) this step: the leapfrog steps for HMC and
    /// NUTS, 1 for MALA.
    pub n_grad: u64,
    /// Extra prior-score evaluations for the score-only path integral.
    pub n_score: u64,
}

impl StepInfo {
    fn rejected(energy_error: f64, energy: f64, n_grad: u64, n_score: u64) -> Self {
        Self {
            accept_prob: 0.0,
            accepted: false,
            divergent: true,
            energy_error,
            energy,
            tree_depth: 0,
            n_grad,
            n_score,
        }
    }
}

/// Errors that abort sampling.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// The target failed unrecoverably (e.g. the prior network).
    #[error("{0}")]
    Fatal(String),
    /// Exact Metropolis–Hastings was asked for but the prior has no log density.
    #[error("exact Metropolis–Hastings needs a prior log density; use the score-only correction")]
    NoPriorDensity,
}

fn is_finite_eval(e: &Eval) -> bool {
    e.log_lik.is_finite()
        && e.log_prior.is_none_or(f64::is_finite)
        && e.grad_lik.iter().all(|v| v.is_finite())
        && e.score_prior.iter().all(|v| v.is_finite())
}

/// Evaluate `points` in one batched call. `None` marks a point that cannot be used (recoverable error
/// or non-finite value); a fatal error or a malformed answer aborts.
pub fn evaluate_points(
    target: &dyn Posterior,
    points: &[Array1<f64>],
    sigma: f64,
) -> Result<Vec<Option<Eval>>, KernelError> {
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let dim = target.dim();
    let mut xs = Array2::zeros((points.len(), dim));
    for (mut row, p) in xs.rows_mut().into_iter().zip(points) {
        if p.len() != dim {
            return Err(KernelError::Fatal(format!(
                "point of length {} for a target of dim {dim}",
                p.len()
            )));
        }
        row.assign(p);
    }
    let results = target.evaluate(xs.view(), sigma);
    if results.len() != points.len() {
        return Err(KernelError::Fatal(format!(
            "target returned {} evaluations for {} points",
            results.len(),
            points.len()
        )));
    }
    results
        .into_iter()
        .map(|r| match r {
            Ok(e) if e.grad_lik.len() == dim && e.score_prior.len() == dim => {
                Ok(is_finite_eval(&e).then_some(e))
            }
            Ok(_) => Err(KernelError::Fatal(
                "target returned a gradient of the wrong length".into(),
            )),
            Err(EvalError::Fatal(m)) => Err(KernelError::Fatal(m)),
            Err(_) => Ok(None),
        })
        .collect()
}
