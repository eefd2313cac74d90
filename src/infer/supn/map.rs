//! MAP over the SUPN latent, the talk's method (Campbell et al.): alternate x̂ = the conditional mean of
//! x | z, y (exact, by CG) and a gradient step on z with backtracking (Armijo) line search, which is
//! block-coordinate ascent of the joint log density
//! `J(x, z) = log p(z) + log N(x; μ(z), Λ(z)⁻¹) + log N(y; A x + b, σ²)`; J never decreases. Started
//! from the encoder's mean of the adjoint reconstruction.

use super::conditional::{CgStats, Conditional};
use super::latent::{z_target, ZPoint};
use crate::infer::target::EvalError;
use std::sync::atomic::{AtomicBool, Ordering};

/// Armijo's sufficient-increase constant.
const ARMIJO: f64 = 1e-4;
/// Halvings of the step at most per line search.
const HALVINGS: usize = 40;
/// Stop when J gains less than this, relative to 1 + |J|, in one iteration.
const REL_GAIN: f64 = 1e-10;

/// The MAP estimate and how it was reached.
#[derive(Clone, Debug)]
pub struct SupnMap {
    pub z: Vec<f64>,
    /// The conditional mean of x | ẑ, y.
    pub x: Vec<f64>,
    /// J after the start and after every iteration (non-decreasing).
    pub objective: Vec<f64>,
    /// ‖∂J/∂z‖ at the end.
    pub grad_norm: f64,
    /// Stopped by a small gain or a failed line search (not by the iteration cap or Ctrl-C).
    pub converged: bool,
    pub cg: CgStats,
}

/// `J(x, z)` and `∂J/∂z` (with the decoder's output at z).
pub fn objective(cond: &Conditional<'_>, x: &[f64], z: &[f64]) -> Result<(f64, ZPoint), EvalError> {
    let zp = z_target(cond, x, z)?;
    Ok((zp.log_p + cond.log_likelihood(x)?, zp))
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Alternate the conditional mean of x and a line-searched gradient step on z from `z0`, for at most
/// `max_steps` iterations. With a fixed z only the conditional mean is computed.
pub fn supn_map(
    cond: &Conditional<'_>,
    z0: &[f64],
    max_steps: usize,
    stop: &AtomicBool,
) -> Result<SupnMap, EvalError> {
    let mut cg = CgStats::default();
    let n = cond.lin.obs.x.1;
    if let Some(z) = cond.fixed_z() {
        let d = cond.decode(z)?;
        let s = cond.mean(&d, vec![0.0; n])?;
        cg.add(&s);
        let (log_p, _) = d.factor.log_density(&s.x, &d.mean);
        let j = log_p + cond.log_likelihood(&s.x)?;
        return Ok(SupnMap {
            z: z.to_vec(),
            x: s.x,
            objective: vec![j],
            grad_norm: 0.0,
            converged: true,
            cg,
        });
    }
    let s = cond.mean(&cond.decode(z0)?, vec![0.0; n])?;
    cg.add(&s);
    let mut x = s.x;
    let mut ll = cond.log_likelihood(&x)?;
    let mut zp = z_target(cond, &x, z0)?;
    let mut history = vec![zp.log_p + ll];
    let mut t = 1e-3 / norm(&zp.grad).max(1e-12);
    let mut converged = false;
    for _ in 0..max_steps {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let g = zp.grad.clone();
        let g2: f64 = g.iter().map(|a| a * a).sum();
        if g2 == 0.0 {
            converged = true;
            break;
        }
        // Backtracking from twice the last accepted step.
        t *= 2.0;
        let mut next = None;
        for _ in 0..HALVINGS {
            let z: Vec<f64> = zp.decoded.z.iter().zip(&g).map(|(z, g)| z + t * g).collect();
            match z_target(cond, &x, &z) {
                Ok(p) if p.log_p >= zp.log_p + ARMIJO * t * g2 => {
                    next = Some(p);
                    break;
                }
                Ok(_) | Err(EvalError::NonFinite(_) | EvalError::OutOfSupport(_)) => t *= 0.5,
                Err(e) => return Err(e),
            }
        }
        let Some(p) = next else {
            converged = true;
            break;
        };
        let s = cond.mean(&p.decoded, x)?;
        cg.add(&s);
        x = s.x;
        ll = cond.log_likelihood(&x)?;
        zp = z_target(cond, &x, &p.decoded.z)?;
        let j = zp.log_p + ll;
        let gain = j - history.last().copied().unwrap_or(f64::NEG_INFINITY);
        history.push(j);
        if gain < REL_GAIN * (1.0 + j.abs()) {
            converged = true;
            break;
        }
    }
    Ok(SupnMap {
        grad_norm: norm(&zp.grad),
        z: zp.decoded.z,
        x,
        objective: history,
        converged,
        cg,
    })
}
