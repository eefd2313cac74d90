//! The SUPN latent given the image (centred: `log p(z) + log N(x; μ(z), Λ(z)⁻¹)`) or given the
//! image's whitened residual ε = Lᵀ(x − μ) (non-centred: `log p(z) + log p(y | μ(z) + L(z)⁻ᵀ ε)`),
//! each with its gradient in z (the decoder's VJP), and one MALA step with exact Metropolis–Hastings.

use super::conditional::{Conditional, Decoded};
use crate::infer::posterior::SupnLatent;
use crate::infer::target::EvalError;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

/// The z-target at one point, with the decoder's μ(z), L(z) of the same pass.
#[derive(Clone, Debug)]
pub struct ZPoint {
    pub log_p: f64,
    pub grad: Vec<f64>,
    pub decoded: Decoded,
}

/// `log p(z)` and its gradient, for z a latent.
fn z_prior(cond: &Conditional<'_>, z: &[f64]) -> Result<(f64, Vec<f64>), EvalError> {
    let SupnLatent::Latent { prior, .. } = &cond.lin.z else {
        return Err(EvalError::Fatal("supn: z is fixed, there is no z-target".into()));
    };
    let p = cond
        .post
        .priors()
        .get(*prior)
        .ok_or_else(|| EvalError::Fatal("supn: no prior for z".into()))?;
    let zs = ArrayView2::from_shape((1, z.len()), z).map_err(|e| EvalError::Fatal(e.to_string()))?;
    let lp_z = p
        .log_density(zs, 0.0)
        .and_then(|l| l.first().copied())
        .ok_or_else(|| EvalError::Fatal("supn: z's prior has no log density".into()))?;
    let score: Array2<f64> = p.score(zs, 0.0).map_err(|e| EvalError::Fatal(e.to_string()))?;
    Ok((lp_z, score.iter().copied().collect()))
}

/// `log p(z) + log N(x; μ(z), Λ(z)⁻¹)` and its gradient in z, for z a latent.
pub fn z_target(cond: &Conditional<'_>, x: &[f64], z: &[f64]) -> Result<ZPoint, EvalError> {
    let (lp_z, score) = z_prior(cond, z)?;
    let (d, mean, factor) = cond
        .lin
        .model
        .log_density_decoded(x, z)
        .map_err(|e| EvalError::Fatal(format!("supn: {e}")))?;
    point(z, lp_z + d.log_p, &d.d_z, &score, mean, factor)
}

/// The non-centred z-target at whitened residual `e`: `log p(z) + log p(y | x(z))` with
/// `x(z) = μ(z) + L(z)⁻ᵀ e` (the prior of e is N(0, I) whatever z, so no Jacobian), and its gradient:
/// with `g = ∂ log p(y | x)/∂x`, `r = x − μ` and `w = L⁻¹ g`, `∂/∂μ = g`, `∂/∂ log L_ii = −r_i L_ii w_i`
/// and `∂/∂L[i, i + o] = −r_i w_{i+o}` (from `d(L⁻ᵀ) e = −L⁻ᵀ dLᵀ r`), pulled back through the decoder.
/// Returns the point and x(z).
pub fn nc_target(cond: &Conditional<'_>, e: &[f64], z: &[f64]) -> Result<(ZPoint, Vec<f64>), EvalError> {
    let (lp_z, score) = z_prior(cond, z)?;
    let mut x = Vec::new();
    let mut ll = Ok(0.0);
    let (d_z, mean, factor) = cond
        .lin
        .model
        .decoder_vjp(z, |mean, f| {
            let r = f.solve_lt(e);
            x = mean.iter().zip(&r).map(|(m, r)| m + r).collect();
            let g = match cond.log_likelihood_grad(&x) {
                Ok((l, g)) => {
                    ll = Ok(l);
                    g
                }
                Err(err) => {
                    ll = Err(err);
                    vec![0.0; mean.len()]
                }
            };
            let w = f.solve_l(&g);
            let d_s = (0..r.len()).map(|i| -r[i] * f.log_diag[i].exp() * w[i]).collect();
            let d_off = f
                .offsets
                .iter()
                .map(|&o| {
                    (0..r.len())
                        .map(|i| f.neighbour(i, o).map_or(0.0, |j| -r[i] * w[j]))
                        .collect()
                })
                .collect();
            (g, d_s, d_off)
        })
        .map_err(|err| EvalError::Fatal(format!("supn: {err}")))?;
    let p = point(z, lp_z + ll?, &d_z, &score, mean, factor)?;
    Ok((p, x))
}

fn point(
    z: &[f64],
    log_p: f64,
    d_z: &[f64],
    score: &[f64],
    mean: Vec<f64>,
    factor: crate::supn::Factor,
) -> Result<ZPoint, EvalError> {
    let grad: Vec<f64> = d_z.iter().zip(score).map(|(a, b)| a + b).collect();
    if !log_p.is_finite() || !grad.iter().all(|g| g.is_finite()) {
        return Err(EvalError::NonFinite("supn: the z-target".into()));
    }
    Ok(ZPoint {
        log_p,
        grad,
        decoded: Decoded {
            z: z.to_vec(),
            mean,
            factor,
        },
    })
}

/// `log q(to | from)` of the MALA proposal `from + ε²/2 ∇ + ε ξ` (up to a constant).
fn log_q(to: &[f64], from: &ZPoint, eps: f64) -> f64 {
    let h = 0.5 * eps * eps;
    let q: f64 = to
        .iter()
        .zip(&from.decoded.z)
        .zip(&from.grad)
        .map(|((t, f), g)| {
            let d = t - f - h * g;
            d * d
        })
        .sum();
    -q / (2.0 * eps * eps)
}

/// One MALA step on z with x fixed; returns the new point and the acceptance probability. A
/// proposal that cannot be evaluated is rejected (probability 0).
pub fn mala_z(
    cond: &Conditional<'_>,
    x: &[f64],
    cur: ZPoint,
    eps: f64,
    rng: &mut dyn RngCore,
) -> Result<(ZPoint, f64), EvalError> {
    mala(&mut |z: &[f64]| z_target(cond, x, z), cur, eps, rng)
}

/// One MALA step on a z-target given as a function; returns the new point and the acceptance
/// probability (0 for a proposal that cannot be evaluated).
pub fn mala(
    target: &mut dyn FnMut(&[f64]) -> Result<ZPoint, EvalError>,
    cur: ZPoint,
    eps: f64,
    rng: &mut dyn RngCore,
) -> Result<(ZPoint, f64), EvalError> {
    let h = 0.5 * eps * eps;
    let prop: Vec<f64> = cur
        .decoded
        .z
        .iter()
        .zip(&cur.grad)
        .map(|(z, g)| {
            let xi: f64 = rng.sample(StandardNormal);
            z + h * g + eps * xi
        })
        .collect();
    let new = match target(&prop) {
        Ok(p) => p,
        Err(EvalError::Fatal(m)) => return Err(EvalError::Fatal(m)),
        Err(_) => return Ok((cur, 0.0)),
    };
    let log_a = new.log_p - cur.log_p + log_q(&cur.decoded.z, &new, eps) - log_q(&prop, &cur, eps);
    let a = if log_a.is_nan() { 0.0 } else { log_a.min(0.0).exp() };
    if rng.random::<f64>() < a {
        Ok((new, a))
    } else {
        Ok((cur, a))
    }
}
