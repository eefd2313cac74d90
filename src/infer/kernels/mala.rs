//! Metropolis-adjusted Langevin: `x* = x + (h/2)∇log π(x) + √h ξ`, MH with the Gaussian proposal densities.

use ndarray::Array1;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::mh::{log_target_deltas, MhMode};
use super::{evaluate_points, ChainState, KernelError, StepInfo, DIVERGENCE_THRESHOLD};
use crate::infer::target::Posterior;

/// Per-chain MALA parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct MalaParams {
    /// The Langevin step `h` (proposal variance per coordinate).
    pub step_size: f64,
}

/// One MALA transition for every chain (one batched target evaluation, plus the score-only path
/// points when `mh` is [`MhMode::ScoreOnly`]). `rngs`, `states` and `params` are per chain.
pub fn mala_step(
    rngs: &mut [ChaCha8Rng],
    states: &mut [ChainState],
    target: &dyn Posterior,
    params: &[MalaParams],
    mh: MhMode,
    sigma: f64,
) -> Result<Vec<StepInfo>, KernelError> {
    let n = states.len();
    if rngs.len() != n || params.len() != n {
        return Err(KernelError::Fatal(
            "mala_step: rngs, states and params differ in length".into(),
        ));
    }
    // Proposals; ‖ξ‖²/2 is −log q(x*|x) up to the shared constant.
    let mut proposals = Vec::with_capacity(n);
    let mut fwd = Vec::with_capacity(n);
    let mut log_u = Vec::with_capacity(n);
    for ((rng, s), p) in rngs.iter_mut().zip(states.iter()).zip(params) {
        let h = p.step_size;
        let xi: Array1<f64> = (0..s.position.len())
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        let mut x = s.position.clone();
        x.scaled_add(0.5 * h, &s.eval.grad());
        x.scaled_add(h.sqrt(), &xi);
        fwd.push(0.5 * xi.dot(&xi));
        proposals.push(x);
        log_u.push(rng.random::<f64>().ln());
    }
    let evals = evaluate_points(target, &proposals, sigma)?;
    let mut infos: Vec<Option<StepInfo>> = vec![None; n];
    let mut new_states: Vec<Option<ChainState>> = vec![None; n];
    for (i, (x, e)) in proposals.into_iter().zip(evals).enumerate() {
        match e {
            Some(eval) => new_states[i] = Some(ChainState { position: x, eval }),
            None => infos[i] = Some(StepInfo::rejected(f64::NAN, f64::NAN, 1, 0)),
        }
    }
    let idx: Vec<usize> = (0..n).filter(|&i| new_states[i].is_some()).collect();
    let from: Vec<&ChainState> = idx.iter().map(|&i| &states[i]).collect();
    let to: Vec<&ChainState> = idx.iter().filter_map(|&i| new_states[i].as_ref()).collect();
    let (deltas, n_score) = log_target_deltas(target, mh, &from, &to, sigma)?;
    let per_chain_score = if idx.is_empty() {
        0
    } else {
        n_score / idx.len() as u64
    };
    for (&i, delta) in idx.iter().zip(deltas) {
        let Some(prop) = new_states[i].take() else {
            continue;
        };
        let h = params[i].step_size;
        let info = if mh == MhMode::Off {
            StepInfo {
                accept_prob: 1.0,
                accepted: true,
                divergent: false,
                energy_error: 0.0,
                energy: f64::NAN,
                tree_depth: 0,
                n_grad: 1,
                n_score: 0,
            }
        } else {
            // log q(x | x*) = −‖x − x* − (h/2)∇log π(x*)‖² / (2h).
            let mut back = &states[i].position - &prop.position;
            back.scaled_add(-0.5 * h, &prop.eval.grad());
            let bwd = back.dot(&back) / (2.0 * h);
            let log_ratio = delta - bwd + fwd[i];
            let energy_error = -log_ratio;
            if !energy_error.is_finite() || energy_error.abs() > DIVERGENCE_THRESHOLD {
                StepInfo::rejected(energy_error, f64::NAN, 1, per_chain_score)
            } else {
                let accept_prob = log_ratio.min(0.0).exp();
                let accepted = log_u[i] < log_ratio;
                StepInfo {
                    accept_prob,
                    accepted,
                    divergent: false,
                    energy_error,
                    energy: f64::NAN,
                    tree_depth: 0,
                    n_grad: 1,
                    n_score: per_chain_score,
                }
            }
        };
        if info.accepted {
            states[i] = prop;
        }
        infos[i] = Some(info);
    }
    Ok(infos
        .into_iter()
        .map(|i| i.unwrap_or_else(|| StepInfo::rejected(f64::NAN, f64::NAN, 1, 0)))
        .collect())
}
