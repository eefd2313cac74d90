//! Static Hamiltonian Monte Carlo: leapfrog with a (diagonal or low-rank) metric, MH on the Hamiltonian.
//!
//! `H(x, p) = −log π(x) + ½ pᵀM⁻¹p` with `M⁻¹` the inverse metric ([`Metric`], Stan's "inverse metric"). With the
//! score-only correction the potential difference is the straight-line path integral from x to x*
//! (see [`super::score_path_delta`]) and the kinetic difference is exact.

use ndarray::Array1;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::metric::Metric;
use super::mh::{log_target_deltas, MhMode};
use super::{evaluate_points, ChainState, KernelError, StepInfo, DIVERGENCE_THRESHOLD};
use crate::infer::target::Posterior;

/// Per-chain HMC parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct HmcParams {
    /// Leapfrog step ε.
    pub step_size: f64,
    /// Leapfrog steps L (at least 1).
    pub steps: usize,
    /// The inverse metric `M⁻¹` (the identity for a unit mass matrix).
    pub inv_mass: Metric,
}

fn kinetic(p: &Array1<f64>, inv_mass: &Metric) -> f64 {
    inv_mass.kinetic(p)
}

struct Trajectory {
    x: Array1<f64>,
    p: Array1<f64>,
    grad: Array1<f64>,
    last: Option<ChainState>,
    k0: f64,
    /// `H(x, p)` at the start (NaN without a log density).
    h0: f64,
    n_grad: u64,
    failed: bool,
}

/// One HMC transition for every chain; all chains take their leapfrog steps in lockstep, so each
/// step is one batched target evaluation (chains that diverged, or have fewer steps, drop out).
pub fn hmc_step(
    rngs: &mut [ChaCha8Rng],
    states: &mut [ChainState],
    target: &dyn Posterior,
    params: &[HmcParams],
    mh: MhMode,
    sigma: f64,
) -> Result<Vec<StepInfo>, KernelError> {
    let n = states.len();
    if rngs.len() != n || params.len() != n {
        return Err(KernelError::Fatal(
            "hmc_step: rngs, states and params differ in length".into(),
        ));
    }
    let mut trajs = Vec::with_capacity(n);
    let mut log_u = Vec::with_capacity(n);
    for ((rng, s), prm) in rngs.iter_mut().zip(states.iter()).zip(params) {
        if prm.inv_mass.len() != s.position.len() {
            return Err(KernelError::Fatal(
                "hmc_step: inverse mass of the wrong length".into(),
            ));
        }
        // p ~ N(0, M); an inverse mass of 0 freezes the coordinate (its momentum starts at 0 and its
        // velocity M⁻¹p stays 0: Metropolis-within-Gibbs blocks).
        let p = prm.inv_mass.sample_momentum(rng);
        log_u.push(rng.random::<f64>().ln());
        let k0 = kinetic(&p, &prm.inv_mass);
        let h0 = s.log_density().map_or(f64::NAN, |lp| k0 - lp);
        trajs.push(Trajectory {
            x: s.position.clone(),
            p,
            grad: s.eval.grad(),
            last: None,
            k0,
            h0,
            n_grad: 0,
            failed: false,
        });
    }
    let max_steps = params.iter().map(|p| p.steps.max(1)).max().unwrap_or(0);
    for l in 0..max_steps {
        let active: Vec<usize> = (0..n)
            .filter(|&i| !trajs[i].failed && l < params[i].steps.max(1))
            .collect();
        let mut points = Vec::with_capacity(active.len());
        for &i in &active {
            let (t, prm) = (&mut trajs[i], &params[i]);
            let eps = prm.step_size;
            t.p.scaled_add(0.5 * eps, &t.grad);
            let v = prm.inv_mass.velocity(&t.p);
            t.x.scaled_add(eps, &v);
            points.push(t.x.clone());
        }
        let evals = evaluate_points(target, &points, sigma)?;
        for ((&i, x), e) in active.iter().zip(points).zip(evals) {
            let t = &mut trajs[i];
            t.n_grad += 1;
            match e {
                Some(eval) => {
                    t.grad = eval.grad();
                    t.p.scaled_add(0.5 * params[i].step_size, &t.grad);
                    t.last = Some(ChainState { position: x, eval });
                }
                None => t.failed = true,
            }
        }
    }
    let idx: Vec<usize> = (0..n)
        .filter(|&i| !trajs[i].failed && trajs[i].last.is_some())
        .collect();
    let from: Vec<&ChainState> = idx.iter().map(|&i| &states[i]).collect();
    let to: Vec<&ChainState> = idx.iter().filter_map(|&i| trajs[i].last.as_ref()).collect();
    let (deltas, n_score) = log_target_deltas(target, mh, &from, &to, sigma)?;
    let per_chain_score = if idx.is_empty() {
        0
    } else {
        n_score / idx.len() as u64
    };
    let mut infos: Vec<StepInfo> = trajs
        .iter()
        .map(|t| StepInfo::rejected(f64::NAN, t.h0, t.n_grad, 0))
        .collect();
    for (&i, delta) in idx.iter().zip(deltas) {
        let t = &mut trajs[i];
        let Some(prop) = t.last.take() else { continue };
        let info = if mh == MhMode::Off {
            StepInfo {
                accept_prob: 1.0,
                accepted: true,
                divergent: false,
                energy_error: 0.0,
                energy: prop
                    .log_density()
                    .map_or(f64::NAN, |lp| kinetic(&t.p, &params[i].inv_mass) - lp),
                tree_depth: 0,
                n_grad: t.n_grad,
                n_score: 0,
            }
        } else {
            let energy_error = -delta + kinetic(&t.p, &params[i].inv_mass) - t.k0;
            if !energy_error.is_finite() || energy_error.abs() > DIVERGENCE_THRESHOLD {
                StepInfo::rejected(energy_error, t.h0, t.n_grad, per_chain_score)
            } else {
                let accepted = log_u[i] < -energy_error;
                StepInfo {
                    accept_prob: (-energy_error).min(0.0).exp(),
                    accepted,
                    divergent: false,
                    energy_error,
                    energy: if accepted {
                        prop.log_density()
                            .map_or(f64::NAN, |lp| kinetic(&t.p, &params[i].inv_mass) - lp)
                    } else {
                        t.h0
                    },
                    tree_depth: 0,
                    n_grad: t.n_grad,
                    n_score: per_chain_score,
                }
            }
        };
        if info.accepted {
            states[i] = prop;
        }
        infos[i] = info;
    }
    Ok(infos)
}
