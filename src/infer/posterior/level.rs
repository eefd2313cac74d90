//! How much of an annealing level's noise reaches each observation: the per-part variance gain of the
//! likelihood's mean under white noise on the annealed latents, estimated once by Hutchinson probes.
//!
//! At level σ the annealed latents carry N(0, σ²) noise per coordinate, and a Gaussian likelihood's
//! mean `A(x)` then carries `σ² J Jᵀ` (J its Jacobian in those latents). Ramzi et al. (2020) take
//! `σ² I`: right for a complex image through an orthonormal FFT, but a real image's noise reaches
//! each real and imaginary part of its k-space with σ²/2 (the FFT of real white noise splits its
//! variance between the two), so the level's likelihood was twice as wide as the noise it models. The
//! gain used instead is `c = tr(J_o J_oᵀ) / m` over the m observed real components: the mean
//! per-part variance (exactly ½ for a real image under a masked orthonormal FFT, 1 for a complex one,
//! `Σ_c |S_c|²` averaged for SENSE), estimated as `E‖J_oᵀ u‖² / m` with Gaussian probes u. Each
//! part gets the mean gain, not its own (k-space's DC and Nyquist parts, coil sensitivities that vary
//! over the image), and the correlation between k and −k of a real image is left out, as before.
//! A non-linear mean is linearised at the unconstrained origin.

use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::GraphPosterior;
use crate::graph::{NodeId, Value};

/// Probes per observation: the gain's relative Monte-Carlo error is about √(2/(K·r)) for a Jacobian
/// of effective rank r (1% at K = 32 for the 960 acquired elements of the MRI example).
const PROBES: usize = 32;

/// `√c` per observation (1 where it cannot be estimated: Ramzi et al.'s σ² I).
pub(super) fn level_gains(post: &GraphPosterior) -> Vec<f64> {
    let annealed: Vec<(usize, usize)> = (0..post.layout.slots.len())
        .filter(|&j| !post.is_term(j))
        .filter_map(|j| post.layout.slots.get(j).map(|(_, off, len)| (*off, *len)))
        .collect();
    let origin = ndarray::Array1::zeros(post.layout.dim);
    let Ok(values) = post.forward_values(origin.view()) else {
        return vec![1.0; post.observations.len()];
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0x1e7e_1a1);
    post.observations
        .iter()
        .map(|obs| {
            let Some(&mean) = obs.likelihood.params.first() else {
                return 1.0;
            };
            let Some(m) = values.get(mean.0) else {
                return 1.0;
            };
            let y_shape = post.data.get(obs.data).map(|y| y.shape().to_vec());
            let observed = match (&obs.observed, y_shape) {
                (Some(idx), Some(s)) if s.as_slice() == m.shape() => Some(idx.as_slice()),
                _ => None,
            };
            gain(post, &values, mean, m, observed, &annealed, &mut rng).unwrap_or(1.0)
        })
        .collect()
}

/// `√(E‖J_oᵀ u‖² / m)` for the mean node `node` (value `m`), observed at `observed`.
fn gain(
    post: &GraphPosterior,
    values: &crate::graph::Values<'_>,
    node: NodeId,
    m: &Value,
    observed: Option<&[usize]>,
    annealed: &[(usize, usize)],
    rng: &mut ChaCha8Rng,
) -> Option<f64> {
    let numel: usize = m.shape().iter().product();
    let keep: Vec<bool> = match observed {
        Some(idx) => {
            let mut k = vec![false; numel];
            for &i in idx {
                if let Some(b) = k.get_mut(i) {
                    *b = true;
                }
            }
            k
        }
        None => vec![true; numel],
    };
    let complex = matches!(m, Value::Complex(_));
    let parts = keep.iter().filter(|&&k| k).count() * if complex { 2 } else { 1 };
    if parts == 0 || annealed.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for _ in 0..PROBES {
        let mut draw = |k: bool| {
            if k {
                rng.sample::<f64, _>(StandardNormal)
            } else {
                0.0
            }
        };
        let probe = if complex {
            let v: Vec<Complex64> = keep.iter().map(|&k| Complex64::new(draw(k), draw(k))).collect();
            Value::Complex(ArrayD::from_shape_vec(IxDyn(m.shape()), v).ok()?)
        } else {
            let v: Vec<f64> = keep.iter().map(|&k| draw(k)).collect();
            Value::Real(ArrayD::from_shape_vec(IxDyn(m.shape()), v).ok()?)
        };
        let grads = post
            .graph
            .backward_planned(&post.plan, values, &[(node, probe)], &post.fft)
            .ok()?;
        let flat = post.layout.flatten(&grads);
        total += annealed
            .iter()
            .flat_map(|&(off, len)| flat.get(off..off + len).unwrap_or(&[]))
            .map(|g| g * g)
            .sum::<f64>();
    }
    let c = total / (PROBES * parts) as f64;
    c.is_finite().then(|| c.sqrt())
}
