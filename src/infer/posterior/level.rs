//! How much of an annealing level's noise reaches each observation: the per-part variance gain of the
//! likelihood's mean under white noise on the annealed latents, estimated once from random probes.
//!
//! At level σ the annealed latents carry N(0, σ²) noise per coordinate, and a Gaussian likelihood's
//! mean `A(x)` then carries `σ² J Jᵀ` (J its Jacobian in those latents). Ramzi et al. (2020) take
//! `σ² I`: right for a complex image through an orthonormal FFT, but a real image's noise reaches
//! each real and imaginary part of its k-space with σ²/2 (the FFT of real white noise splits its
//! variance between the two), so the level's likelihood was twice as wide as the noise it models.
//! Here `d = diag(J Jᵀ) = E[(J z)²]` per part is estimated from probes z ~ N(0, I) on the annealed
//! latents (`J z` by a forward difference, exact for a linear mean), and each observation takes the
//! mean of `d` over its observed parts that carry any of the noise (`d > 0`: the zero-filled part of
//! k-space that `mask * fft(x)` sets to 0 carries none): exactly ½ for a real image under a masked
//! orthonormal FFT, 1 for a complex one. Each part gets that mean, not its own `d` (k-space's DC and
//! Nyquist parts, coil sensitivities that vary over the image), and the correlation between k and −k
//! of a real image is left out, as before. A non-linear mean is linearised at the unconstrained origin.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::GraphPosterior;
use crate::graph::{NodeId, Value};

/// Probes: each part's `d` is a mean of 32 squares (relative sd 25%), the observation's mean gain
/// over r parts a mean of 32·r (1.2% for the 1,920 acquired parts of the MRI example).
const PROBES: usize = 32;
/// The forward difference's step along a probe, in latent units: small against any image scale, large
/// against f64 rounding of the mean.
const STEP: f64 = 1e-4;

/// `√c` per observation (1 where it cannot be estimated: Ramzi et al.'s σ² I).
pub(super) fn level_gains(post: &GraphPosterior) -> Vec<f64> {
    let fallback = vec![1.0; post.observations.len()];
    let annealed: Vec<(usize, usize)> = (0..post.layout.slots.len())
        .filter(|&j| !post.is_term(j))
        .filter_map(|j| post.layout.slots.get(j).map(|(_, off, len)| (*off, *len)))
        .collect();
    let origin = ndarray::Array1::<f64>::zeros(post.layout.dim);
    let Some(base) = means(post, &origin) else {
        return fallback;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0x01e7_e1a1);
    let mut d: Vec<Vec<f64>> = base.iter().map(|m| vec![0.0; m.parts.len()]).collect();
    for _ in 0..PROBES {
        let mut x = origin.clone();
        for &(off, len) in &annealed {
            for v in x.iter_mut().skip(off).take(len) {
                *v = STEP * rng.sample::<f64, _>(StandardNormal);
            }
        }
        let Some(moved) = means(post, &x) else {
            return fallback;
        };
        for ((acc, a), b) in d.iter_mut().zip(&moved).zip(&base) {
            for ((s, p), q) in acc.iter_mut().zip(&a.parts).zip(&b.parts) {
                let jz = (p - q) / STEP;
                *s += jz * jz / PROBES as f64;
            }
        }
    }
    post.observations
        .iter()
        .zip(base.iter().zip(&d))
        .map(|(obs, (b, d))| gain(post, obs, b, d).unwrap_or(1.0))
        .collect()
}

/// The mean of `d` over the observed parts that carry noise, as `√c`.
fn gain(post: &GraphPosterior, obs: &super::Observation, base: &Mean, d: &[f64]) -> Option<f64> {
    let per = if base.complex { 2 } else { 1 };
    let same_shape = post
        .data
        .get(obs.data)
        .is_some_and(|y| y.shape() == base.shape.as_slice());
    let parts: Vec<f64> = match &obs.observed {
        Some(idx) if same_shape => idx
            .iter()
            .flat_map(|&i| (0..per).map(move |k| per * i + k))
            .map(|j| d.get(j).copied())
            .collect::<Option<Vec<_>>>()?,
        _ => d.to_vec(),
    };
    let top = parts.iter().copied().fold(0.0, f64::max);
    let live: Vec<f64> = parts.into_iter().filter(|&v| v > 1e-9 * top).collect();
    if live.is_empty() || top <= 0.0 {
        return None;
    }
    let c = live.iter().sum::<f64>() / live.len() as f64;
    c.is_finite().then(|| c.sqrt())
}

/// An observation's mean at one point: its parts (a complex value's real and imaginary parts in
/// pairs), whether it is complex, its shape.
struct Mean {
    parts: Vec<f64>,
    complex: bool,
    shape: Vec<usize>,
}

/// Every observation's mean (its likelihood's first parameter) at the unconstrained point `x`.
fn means(post: &GraphPosterior, x: &ndarray::Array1<f64>) -> Option<Vec<Mean>> {
    let values = post.forward_values(x.view()).ok()?;
    post.observations
        .iter()
        .map(|obs| {
            let node: NodeId = *obs.likelihood.params.first()?;
            Some(match values.get(node.0)? {
                Value::Real(a) => Mean {
                    parts: a.iter().copied().collect(),
                    complex: false,
                    shape: a.shape().to_vec(),
                },
                Value::Complex(a) => Mean {
                    parts: a.iter().flat_map(|z| [z.re, z.im]).collect(),
                    complex: true,
                    shape: a.shape().to_vec(),
                },
            })
        })
        .collect()
}
