//! Measurement-space helpers on the posterior: the DPS data-consistency norm and the scaled adjoint start.

use super::GraphPosterior;
use crate::graph::{NodeId, Value, Values};
use crate::infer::target::EvalError;
use ndarray::Array1;
use num_complex::Complex64;
use std::sync::atomic::Ordering;

/// The node of an observation's location parameter (its mean or rate).
fn location(obs: &super::Observation) -> Result<NodeId, EvalError> {
    obs.likelihood
        .location()
        .ok_or_else(|| EvalError::Fatal(format!("{}: the likelihood has no location parameter", obs.label)))
}

/// Zero the residual where `observed = MASK` says the data are not observed.
fn mask_unobserved(obs: &super::Observation, r: &mut ndarray::ArrayD<Complex64>) {
    let Some(idx) = &obs.observed else { return };
    let mut keep = vec![false; r.len()];
    for &i in idx {
        if let Some(k) = keep.get_mut(i) {
            *k = true;
        }
    }
    for (v, k) in r.iter_mut().zip(keep) {
        if !k {
            *v = Complex64::new(0.0, 0.0);
        }
    }
}

impl GraphPosterior {
    /// DPS data consistency at one point: `‖y − A(x)‖` summed in quadrature over observations
    /// (each likelihood's weights Λ, [`crate::dist::Distribution::dps_weights`]: plain ℓ2 for
    /// Gaussian, Λ_jj = 1/(2 max(y_j, 1)) for Poisson) and its gradient with respect to the flat latent vector.
    pub fn measurement_norm(&self, row: ndarray::ArrayView1<f64>) -> Result<(f64, Array1<f64>), EvalError> {
        self.grad_evals.fetch_add(1, Ordering::Relaxed);
        let values = self.forward_values(row)?;
        let mut parts: Vec<(NodeId, ndarray::ArrayD<num_complex::Complex64>, bool)> = Vec::new();
        let mut total = 0.0;
        for obs in &self.observations {
            let y = self
                .data
                .get(obs.data)
                .ok_or_else(|| EvalError::Fatal("data index out of range".into()))?;
            let node = location(obs)?;
            let m = values
                .get(node.0)
                .ok_or_else(|| EvalError::Fatal("node out of range".into()))?;
            let mut r = &y.to_complex() - &m.to_complex();
            mask_unobserved(obs, &mut r);
            if let Some(w) = obs.likelihood.dist.dps_weights(y) {
                let w_c = w.mapv(|v| num_complex::Complex64::new(v, 0.0));
                total += r.iter().zip(w.iter()).map(|(a, b)| a.norm_sqr() * b).sum::<f64>();
                r = &r * &w_c;
            } else {
                total += r.iter().map(|a| a.norm_sqr()).sum::<f64>();
            }
            parts.push((node, r, m.is_complex()));
        }
        let norm = total.sqrt();
        if !norm.is_finite() {
            return Err(EvalError::NonFinite("measurement residual".into()));
        }
        let scale = if norm > 0.0 { -1.0 / norm } else { 0.0 };
        let seeds: Vec<(NodeId, Value)> = parts
            .into_iter()
            .map(|(node, r, complex)| {
                let g = r.mapv(|z| z * scale);
                (
                    node,
                    if complex {
                        Value::Complex(g)
                    } else {
                        Value::Real(g.mapv(|z| z.re))
                    },
                )
            })
            .collect();
        let grads = self
            .graph
            .backward_planned(&self.plan, &values, &seeds, &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        Ok((norm, Array1::from(self.layout.flatten(&grads))))
    }

    /// The observations' location (mean, rate) nodes with their data.
    fn measured(&self) -> Result<Vec<(NodeId, &Value)>, EvalError> {
        self.observations
            .iter()
            .map(|obs| {
                let y = self
                    .data
                    .get(obs.data)
                    .ok_or_else(|| EvalError::Fatal("data index out of range".into()))?;
                Ok((location(obs)?, y))
            })
            .collect()
    }

    /// The scaled adjoint reconstruction `α Aᴴ(y − b)`, where `A x + b` is the observations' mean (or
    /// rate) linearised at 0 and `α = Re⟨y − b, A g⟩ / ‖A g‖²` is the best multiple of `g = Aᴴ(y − b)`
    /// (α = 1 for a masked unitary operator such as undersampled MRI: the zero-filled image). The
    /// starting point of annealed HMC and the default CCDF estimate. Zero without observations.
    pub fn adjoint_estimate(&self) -> Result<Array1<f64>, EvalError> {
        let dim = self.layout.dim;
        let measured = self.measured()?;
        if measured.is_empty() {
            return Ok(Array1::zeros(dim));
        }
        let zero = Array1::<f64>::zeros(dim);
        let v0 = self.forward_values(zero.view())?;
        let node = |vals: &Values<'_>, id: NodeId| -> Result<ndarray::ArrayD<Complex64>, EvalError> {
            vals.get(id.0)
                .map(Value::to_complex)
                .ok_or_else(|| EvalError::Fatal("node out of range".into()))
        };
        let mut seeds = Vec::new();
        let mut resid = Vec::new();
        for (id, y) in &measured {
            let b = node(&v0, *id)?;
            let r = &y.to_complex() - &b;
            let seed = if v0.get(id.0).is_some_and(Value::is_complex) {
                Value::Complex(r.clone())
            } else {
                Value::Real(r.mapv(|z| z.re))
            };
            seeds.push((*id, seed));
            resid.push((r, b));
        }
        let grads = self
            .graph
            .backward_planned(&self.plan, &v0, &seeds, &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        let g = Array1::from(self.layout.flatten(&grads));
        let vg = self.forward_values(g.view())?;
        let (mut num, mut den) = (0.0, 0.0);
        for ((id, _), (r, b)) in measured.iter().zip(&resid) {
            let ag = &node(&vg, *id)? - b;
            num += ag
                .iter()
                .zip(r.iter())
                .map(|(a, r)| (a.conj() * r).re)
                .sum::<f64>();
            den += ag.iter().map(|a| a.norm_sqr()).sum::<f64>();
        }
        let alpha = if den > 0.0 && num.is_finite() {
            num / den
        } else {
            0.0
        };
        let x = g * alpha;
        if x.iter().all(|v| v.is_finite()) {
            Ok(x)
        } else {
            Err(EvalError::NonFinite("adjoint reconstruction".into()))
        }
    }

    /// The operator norm of the (linearised) measurement, `‖W^{1/2} A‖₂`, by 30 power iterations
    /// on `Aᴴ W A` from a fixed start (W = I for Gaussian terms, Λ = 1/(2 max(y, 1)) for Poisson, as
    /// in [`Self::measurement_norm`]). DPS divides its step ζ by it, so ζ means the same for `A`
    /// and `50·A`; it is 1 for masked unitary operators (MRI, inpainting). 1 without observations.
    pub fn operator_norm(&self) -> Result<f64, EvalError> {
        let dim = self.layout.dim;
        let measured = self.measured()?;
        if measured.is_empty() || dim == 0 {
            return Ok(1.0);
        }
        let weights: Vec<Option<ndarray::ArrayD<f64>>> = self
            .observations
            .iter()
            .zip(&measured)
            .map(|(o, (_, y))| o.likelihood.dist.dps_weights(y))
            .collect();
        let node = |vals: &Values<'_>, id: NodeId| -> Result<ndarray::ArrayD<Complex64>, EvalError> {
            vals.get(id.0)
                .map(Value::to_complex)
                .ok_or_else(|| EvalError::Fatal("node out of range".into()))
        };
        let v0 = self.forward_values(Array1::<f64>::zeros(dim).view())?;
        let base: Vec<_> = measured
            .iter()
            .map(|(id, _)| node(&v0, *id))
            .collect::<Result<_, _>>()?;
        // A fixed, non-symmetric start so that no eigenvector is missed by symmetry.
        let mut u = Array1::from_iter((0..dim).map(|i| 1.0 + ((i * 7919) % 97) as f64 / 97.0));
        u /= u.dot(&u).sqrt();
        let mut lambda = 0.0;
        for _ in 0..30 {
            let vu = self.forward_values(u.view())?;
            let mut seeds = Vec::with_capacity(measured.len());
            for (((id, _), b), w) in measured.iter().zip(&base).zip(&weights) {
                let mut au = &node(&vu, *id)? - b;
                if let Some(w) = w {
                    au.zip_mut_with(w, |a, w| *a *= *w);
                }
                seeds.push((
                    *id,
                    if vu.get(id.0).is_some_and(Value::is_complex) {
                        Value::Complex(au)
                    } else {
                        Value::Real(au.mapv(|z| z.re))
                    },
                ));
            }
            let g = self
                .graph
                .backward_planned(&self.plan, &vu, &seeds, &self.fft)
                .map_err(|e| EvalError::NonFinite(e.to_string()))?;
            let g = Array1::from(self.layout.flatten(&g));
            lambda = u.dot(&g);
            let n = g.dot(&g).sqrt();
            if !(n.is_finite() && n > 0.0) {
                break;
            }
            u = g / n;
        }
        let norm = lambda.max(0.0).sqrt();
        Ok(if norm.is_finite() && norm > 0.0 { norm } else { 1.0 })
    }
}
