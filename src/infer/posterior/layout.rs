//! Flat layout of the latents: every latent's elements (complex as interleaved re, im) in one row,
//! on the unconstrained scale the samplers move (each latent's transform maps it to its support).

use crate::dist::Transform;
use crate::graph::{Ty, Value};
use ndarray::{Array1, Array3, ArrayD, ArrayView1, IxDyn};
use num_complex::Complex64;
use std::borrow::Cow;

/// Where each latent lives in the flat real vector the samplers move.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// (type, offset, flat length) per latent, in declaration order.
    pub slots: Vec<(Ty, usize, usize)>,
    pub dim: usize,
    /// Per latent: the transform from the unconstrained row to the latent's support (Stan's).
    pub transforms: Vec<Transform>,
}

impl Layout {
    pub fn new(types: &[Ty]) -> Self {
        let mut slots = Vec::with_capacity(types.len());
        let mut offset = 0;
        for ty in types {
            let len = ty.numel() * if ty.is_complex() { 2 } else { 1 };
            slots.push((ty.clone(), offset, len));
            offset += len;
        }
        let transforms = vec![Transform::Identity; slots.len()];
        Layout {
            slots,
            dim: offset,
            transforms,
        }
    }

    /// The same layout with latent `i` mapped to its support by `transforms[i]`.
    pub fn with_transforms(mut self, transforms: Vec<Transform>) -> Self {
        if transforms.len() == self.slots.len() {
            self.transforms = transforms;
        }
        self
    }

    /// True when every latent is unconstrained (the row is the latents' values).
    pub fn is_identity(&self) -> bool {
        self.transforms.iter().all(|t| *t == Transform::Identity)
    }

    /// The latents' values (constrained scale) of an unconstrained row.
    pub fn constrain<'a>(&self, row: ArrayView1<'a, f64>) -> Cow<'a, [f64]> {
        if self.is_identity() {
            if let Some(s) = row.to_slice() {
                return Cow::Borrowed(s);
            }
        }
        let mut out = row.to_vec();
        self.for_each_constrained(|t, range| {
            for v in &mut out[range] {
                *v = t.constrain(*v);
            }
        });
        Cow::Owned(out)
    }

    /// Draws `[chains, draws, dim]` from the unconstrained to the constrained scale, in place.
    pub fn constrain_draws(&self, draws: &mut Array3<f64>) {
        self.for_each_constrained(|t, range| {
            draws
                .slice_mut(ndarray::s![.., .., range])
                .mapv_inplace(|u| t.constrain(u));
        });
    }

    /// An unconstrained row from the latents' values (inverse of [`Layout::constrain`]).
    pub fn unconstrain(&self, values: ArrayView1<f64>) -> Array1<f64> {
        let mut out = values.to_owned();
        self.for_each_constrained(|t, range| {
            out.slice_mut(ndarray::s![range])
                .mapv_inplace(|x| t.unconstrain(x));
        });
        out
    }

    /// From `∂L/∂x` (constrained) to `∂(L + log|J|)/∂u` at the unconstrained `row`, returning log|J|.
    pub fn chain_rule(&self, row: ArrayView1<f64>, grad: &mut [f64]) -> f64 {
        let mut log_j = 0.0;
        self.for_each_constrained(|t, range| {
            for i in range {
                let u = row[i];
                grad[i] = grad[i] * t.dx_du(u) + t.d_log_jacobian(u);
                log_j += t.log_jacobian(u);
            }
        });
        log_j
    }

    /// Call `f` with each non-identity transform and its latent's range in the row.
    fn for_each_constrained(&self, mut f: impl FnMut(Transform, std::ops::Range<usize>)) {
        for ((_, off, len), t) in self.slots.iter().zip(&self.transforms) {
            if *t != Transform::Identity {
                f(*t, *off..*off + *len);
            }
        }
    }

    /// Split a flat row of values (not transformed) into one value per latent.
    pub fn unflatten(&self, row: ArrayView1<f64>) -> Vec<Value> {
        self.slots
            .iter()
            .map(|(ty, off, len)| {
                let part = row.slice(ndarray::s![*off..*off + *len]);
                if ty.is_complex() {
                    let v: Vec<Complex64> = part
                        .as_slice()
                        .map(|s| s.to_vec())
                        .unwrap_or_else(|| part.to_vec())
                        .chunks_exact(2)
                        .map(|c| Complex64::new(c[0], c[1]))
                        .collect();
                    Value::Complex(
                        ArrayD::from_shape_vec(IxDyn(&ty.shape), v)
                            .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&ty.shape))),
                    )
                } else {
                    Value::Real(
                        ArrayD::from_shape_vec(IxDyn(&ty.shape), part.to_vec())
                            .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&ty.shape))),
                    )
                }
            })
            .collect()
    }

    /// Write per-latent values (or gradients) into a flat row.
    pub fn flatten_into(&self, values: &[Value], out: &mut [f64]) {
        for ((_, off, len), v) in self.slots.iter().zip(values) {
            let dst = &mut out[*off..*off + *len];
            match v {
                Value::Real(a) => {
                    for (d, x) in dst.iter_mut().zip(a.iter()) {
                        *d = *x;
                    }
                }
                Value::Complex(a) => {
                    for (d, z) in dst.chunks_exact_mut(2).zip(a.iter()) {
                        d[0] = z.re;
                        d[1] = z.im;
                    }
                }
            }
        }
    }

    pub fn flatten(&self, values: &[Value]) -> Vec<f64> {
        let mut out = vec![0.0; self.dim];
        self.flatten_into(values, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn round_trip_real_and_complex() {
        let layout = Layout::new(&[Ty::real(vec![2, 3]), Ty::complex(vec![2]), Ty::real(vec![])]);
        assert_eq!(layout.dim, 6 + 4 + 1);
        let row = Array1::from_iter((0..layout.dim).map(|i| i as f64));
        let vals = layout.unflatten(row.view());
        assert_eq!(
            vals[1],
            Value::Complex(
                ArrayD::from_shape_vec(
                    IxDyn(&[2]),
                    vec![Complex64::new(6.0, 7.0), Complex64::new(8.0, 9.0)]
                )
                .unwrap()
            )
        );
        assert_eq!(layout.flatten(&vals), row.to_vec());
    }

    #[test]
    fn transforms_constrain_and_chain_rule_matches_finite_differences() {
        let layout = Layout::new(&[Ty::real(vec![2]), Ty::real(vec![])])
            .with_transforms(vec![Transform::Identity, Transform::Log]);
        let row = Array1::from(vec![0.3, -1.0, 0.5]);
        let x = layout.constrain(row.view()).to_vec();
        assert_eq!(&x[..2], &[0.3, -1.0]);
        assert!((x[2] - 0.5f64.exp()).abs() < 1e-15);
        assert!((layout.unconstrain(Array1::from(x).view())[2] - 0.5).abs() < 1e-12);
        // L(x) = −x₂²: ∂(L + log J)/∂u = −2x₂·x₂ + 1 at u = 0.5.
        let mut g = vec![0.0, 0.0, -2.0 * 0.5f64.exp()];
        let lj = layout.chain_rule(row.view(), &mut g);
        assert!((lj - 0.5).abs() < 1e-15);
        let f = |u: f64| -(u.exp()).powi(2) + u;
        let fd = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6;
        assert!((g[2] - fd).abs() < 1e-6, "{} vs {fd}", g[2]);
    }
}
