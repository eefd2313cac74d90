//! The ℝ-linear complex parts: `conj`, `re`, `im` (identity, identity and zero on real tensors).

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::no_gradient;
use super::types::{real_of, same};
use crate::graph::value::Value;
use ndarray::ArrayD;
use num_complex::Complex64 as C;
use rand::RngCore;
use Value::{Complex as Cx, Real as R};

pub static CONJ: OpDef = OpDef {
    name: "conj",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "conj(complex[...]) -> complex[...]",
        "conj(real[...]) -> real[...]",
    ],
    doc: "Elementwise complex conjugate.",
    linear: true,
    rule: Rule::Unary {
        ty: same,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(a.clone()),
                Cx(a) => Cx(a.mapv(|z| z.conj())),
            })
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(_), R(g)) => Ok(R(g.clone())),
            (Cx(_), Cx(g)) => Ok(Cx(g.mapv(|z| z.conj()))),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: any_inputs,
};

pub static RE: OpDef = OpDef {
    name: "re",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["re(complex[...]) -> real[...]", "re(real[...]) -> real[...]"],
    doc: "Elementwise real part.",
    linear: true,
    rule: Rule::Unary {
        ty: real_of,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(a.clone()),
                Cx(a) => R(a.mapv(|z| z.re)),
            })
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(_), R(g)) => Ok(R(g.clone())),
            (Cx(_), R(g)) => Ok(Cx(g.mapv(C::from))),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: any_inputs,
};

pub static IM: OpDef = OpDef {
    name: "im",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["im(complex[...]) -> real[...]", "im(real[...]) -> real[...]"],
    doc: "Elementwise imaginary part (zeros for a real tensor).",
    linear: true,
    rule: Rule::Unary {
        ty: real_of,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(ArrayD::zeros(a.raw_dim())),
                Cx(a) => R(a.mapv(|z| z.im)),
            })
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(_), R(g)) => Ok(R(ArrayD::zeros(g.raw_dim()))),
            (Cx(_), R(g)) => Ok(Cx(g.mapv(|v| C::new(0.0, v)))),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: any_inputs,
};

/// Any shape, real or complex.
fn any_inputs(r: &mut dyn RngCore) -> Inputs {
    let shape = any_shape(r);
    Inputs::unary(shape, coin(r), Domain::Any)
}
