//! Kernel dispatch for the chain runner and Stan's step-size initialisation heuristic.

use rand_chacha::ChaCha8Rng;

use super::kernels::{
    hmc_step, mala_step, nuts_step, ChainState, HmcParams, KernelError, MalaParams, Metric, MhMode,
    NutsParams, StepInfo,
};
use super::run::KernelKind;
use super::target::Posterior;

/// One transition of every chain with the given per-chain step sizes and inverse masses.
#[allow(clippy::too_many_arguments)]
pub(crate) fn transition(
    kernel: &KernelKind,
    rngs: &mut [ChaCha8Rng],
    states: &mut [ChainState],
    target: &dyn Posterior,
    eps: &[f64],
    inv_mass: &[Metric],
    mh: MhMode,
    sigma: f64,
) -> Result<Vec<StepInfo>, KernelError> {
    match kernel {
        KernelKind::Mala => {
            let params: Vec<MalaParams> = eps.iter().map(|&e| MalaParams { step_size: e }).collect();
            mala_step(rngs, states, target, &params, mh, sigma)
        }
        KernelKind::Hmc { steps, .. } => {
            let params: Vec<HmcParams> = eps
                .iter()
                .zip(inv_mass)
                .map(|(&e, m)| HmcParams {
                    step_size: e,
                    steps: *steps,
                    inv_mass: m.clone(),
                })
                .collect();
            hmc_step(rngs, states, target, &params, mh, sigma)
        }
        KernelKind::Nuts { max_depth, .. } => {
            if mh != MhMode::Exact {
                return Err(KernelError::Fatal(
                    "NUTS needs exact Metropolis–Hastings (a prior log density); use static HMC".into(),
                ));
            }
            let params: Vec<NutsParams> = eps
                .iter()
                .zip(inv_mass)
                .map(|(&e, m)| NutsParams {
                    step_size: e,
                    inv_mass: m.clone(),
                    max_depth: *max_depth,
                })
                .collect();
            nuts_step(rngs, states, target, &params, sigma)
        }
    }
}

/// Evaluations spent by a heuristic run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Spent {
    pub grad: u64,
    pub score: u64,
}

/// Stan's `init_stepsize` for the chains in `which`: take one trial transition (one leapfrog step, or
/// one MALA step) from the current state with fresh momentum; if its acceptance ratio exceeds 0.8,
/// double the step size until it does not, otherwise halve it until it does. States are not moved;
/// the RNG streams advance. All chains still searching are evaluated in one batch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn init_step_size(
    kernel: &KernelKind,
    rngs: &mut [ChaCha8Rng],
    states: &[ChainState],
    target: &dyn Posterior,
    eps: &mut [f64],
    inv_mass: &[Metric],
    which: &[usize],
    mh: MhMode,
    sigma: f64,
) -> Result<Spent, KernelError> {
    let trial = match kernel {
        KernelKind::Mala => KernelKind::Mala,
        KernelKind::Hmc { mass, .. } | KernelKind::Nuts { mass, .. } => KernelKind::Hmc {
            steps: 1,
            mass: *mass,
        },
    };
    let threshold = 0.8f64.ln();
    let mut direction: Vec<Option<bool>> = vec![None; eps.len()];
    let mut active: Vec<usize> = which.iter().copied().filter(|&c| c < eps.len()).collect();
    let mut spent = Spent::default();
    for _round in 0..200 {
        if active.is_empty() {
            break;
        }
        let mut sub_rngs: Vec<ChaCha8Rng> = active.iter().map(|&c| rngs[c].clone()).collect();
        let mut sub_states: Vec<ChainState> = active.iter().map(|&c| states[c].clone()).collect();
        let sub_eps: Vec<f64> = active.iter().map(|&c| eps[c]).collect();
        let sub_mass: Vec<Metric> = active.iter().map(|&c| inv_mass[c].clone()).collect();
        let infos = transition(
            &trial,
            &mut sub_rngs,
            &mut sub_states,
            target,
            &sub_eps,
            &sub_mass,
            mh,
            sigma,
        )?;
        let mut still = Vec::with_capacity(active.len());
        for ((&c, rng), info) in active.iter().zip(sub_rngs).zip(infos) {
            rngs[c] = rng;
            spent.grad += info.n_grad;
            spent.score += info.n_score;
            // ΔH = H0 − H(trial); NaN (unevaluable) counts as a very bad step.
            let log_ratio = if info.energy_error.is_nan() {
                f64::NEG_INFINITY
            } else {
                -info.energy_error
            };
            let good = log_ratio > threshold;
            let up = *direction[c].get_or_insert(good);
            if up != good {
                continue; // crossed 0.8: keep this step size
            }
            eps[c] = if up { 2.0 * eps[c] } else { 0.5 * eps[c] };
            if eps[c] > 1e7 || eps[c] < 1e-12 {
                eps[c] = eps[c].clamp(1e-12, 1e7);
                continue;
            }
            still.push(c);
        }
        active = still;
    }
    Ok(spent)
}
