//! `fft` and `ifft`: the orthonormal unshifted 2-D DFT over the last two axes (numpy
//! `fft2(norm="ortho")`) and its inverse; unitary, so each one's VJP is the other.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{coin, plane_shape, Domain, Inputs};
use super::tensor::{build, complex_vec_times, reduce_to, Planes};
use super::types::plane;
use super::{Op, OpError};
use crate::graph::fft::FftCache;
use crate::graph::value::{Ty, Value};
use rand::RngCore;

pub static FFT: OpDef = OpDef {
    name: "fft",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "fft(real[..., h, w]) -> complex[..., h, w]",
        "fft(complex[..., h, w]) -> complex[..., h, w]",
    ],
    doc: "Orthonormal 2-D DFT of the last two axes (numpy `fft2(x, norm=\"ortho\")`, unshifted).",
    linear: true,
    rule: Rule::Unary {
        ty: complex_planes,
        forward: |op, x, cache| dft(op, x, false, cache),
        vjp: |op, x, _, g, cache| Ok(reduce_to(dft(op, g, true, cache)?, x)),
    },
    inputs,
};

pub static IFFT: OpDef = OpDef {
    name: "ifft",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "ifft(real[..., h, w]) -> complex[..., h, w]",
        "ifft(complex[..., h, w]) -> complex[..., h, w]",
    ],
    doc: "Inverse of `fft` (numpy `ifft2(x, norm=\"ortho\")`).",
    linear: true,
    rule: Rule::Unary {
        ty: complex_planes,
        forward: |op, x, cache| dft(op, x, true, cache),
        vjp: |op, x, _, g, cache| Ok(reduce_to(dft(op, g, false, cache)?, x)),
    },
    inputs,
};

fn complex_planes(op: &Op, x: &Ty) -> Result<Ty, String> {
    plane(op, x)?;
    Ok(Ty::complex(x.shape.clone()))
}

/// Orthonormal 2-D DFT (or its inverse) over the last two axes; always complex.
fn dft(op: &Op, x: &Value, inverse: bool, cache: &FftCache) -> Result<Value, OpError> {
    let p = Planes::of(x.shape(), op.name())?;
    let mut data = complex_vec_times(x, 1.0 / ((p.h * p.w) as f64).sqrt());
    cache.fft2_unnormalised(&mut data, p.h, p.w, inverse);
    Ok(Value::Complex(build(x.shape(), data)?))
}

fn inputs(r: &mut dyn RngCore) -> Inputs {
    let shape = plane_shape(r, 5);
    Inputs::unary(shape, coin(r), Domain::Any)
}
