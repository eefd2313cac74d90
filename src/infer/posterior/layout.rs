//! Flat layout of the latents: every latent's elements (complex as interleaved re, im) in one row.

use crate::graph::{Ty, Value};
use ndarray::{ArrayD, ArrayView1, IxDyn};
use num_complex::Complex64;

/// Where each latent lives in the flat real vector the samplers move.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// (type, offset, flat length) per latent, in declaration order.
    pub slots: Vec<(Ty, usize, usize)>,
    pub dim: usize,
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
        Layout { slots, dim: offset }
    }

    /// Split a flat row into one value per latent.
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
}
