//! The arithmetic operators `+ - * /` (elementwise, scalars broadcast, real ⊗ complex → complex)
//! and unary `-`.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::{reduce_to, zip_with};
use super::types::{promote, same};
use super::OpError;
use crate::graph::value::{Ty, Value};
use num_complex::Complex64 as C;
use rand::{Rng, RngCore};

pub static ADD: OpDef = OpDef {
    name: "add",
    syntax: Syntax::Infix("+"),
    params: &[],
    signatures: &[
        "real[...] + real[...] -> real[...]",
        "complex[...] + T[...] -> complex[...] (either side complex; a scalar broadcasts)",
    ],
    doc: "Elementwise sum; shapes match exactly or one side is a scalar.",
    linear: true,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("add", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x + y, |x, y| x + y),
        vjp: |_, a, b, _, g, _| Ok([reduce_to(g.clone(), a), reduce_to(g.clone(), b)]),
    },
    inputs: |r| binary_inputs(r, Domain::Any),
};

pub static SUB: OpDef = OpDef {
    name: "sub",
    syntax: Syntax::Infix("-"),
    params: &[],
    signatures: &[
        "real[...] - real[...] -> real[...]",
        "complex[...] - T[...] -> complex[...] (either side complex; a scalar broadcasts)",
    ],
    doc: "Elementwise difference; shapes match exactly or one side is a scalar.",
    linear: true,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("subtract", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x - y, |x, y| x - y),
        vjp: |_, a, b, _, g, _| Ok([reduce_to(g.clone(), a), reduce_to(negate(g), b)]),
    },
    inputs: |r| binary_inputs(r, Domain::Any),
};

/// `d(ab) → (g·conj(b), g·conj(a))`.
pub static MUL: OpDef = OpDef {
    name: "mul",
    syntax: Syntax::Infix("*"),
    params: &[],
    signatures: &[
        "real[...] * real[...] -> real[...]",
        "complex[...] * T[...] -> complex[...] (either side complex; a scalar broadcasts)",
    ],
    doc: "Elementwise product; shapes match exactly or one side is a scalar.",
    linear: false,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("multiply", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x * y, |x, y| x * y),
        vjp: |_, a, b, _, g, _| {
            let ga = binary(g, b, |g, b| g * b, |g, b| g * b.conj())?;
            let gb = binary(g, a, |g, a| g * a, |g, a| g * a.conj())?;
            Ok([reduce_to(ga, a), reduce_to(gb, b)])
        },
    },
    inputs: |r| binary_inputs(r, Domain::Any),
};

/// `d(a/b) → (g/conj(b), −g·conj(out/b))`.
pub static DIV: OpDef = OpDef {
    name: "div",
    syntax: Syntax::Infix("/"),
    params: &[],
    signatures: &[
        "real[...] / real[...] -> real[...]",
        "complex[...] / T[...] -> complex[...] (either side complex; a scalar broadcasts)",
    ],
    doc: "Elementwise quotient; shapes match exactly or one side is a scalar.",
    linear: false,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("divide", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x / y, |x, y| x / y),
        vjp: |_, a, b, out, g, _| {
            let ga = binary(g, b, |g, b| g / b, |g, b| g / b.conj())?;
            let q = binary(out, b, |o, b| o / b, |o, b| o / b)?;
            let gb = binary(g, &q, |g, q| -g * q, |g, q| -g * q.conj())?;
            Ok([reduce_to(ga, a), reduce_to(gb, b)])
        },
    },
    inputs: |r| binary_inputs(r, Domain::NonZero),
};

pub static NEG: OpDef = OpDef {
    name: "neg",
    syntax: Syntax::Prefix("-"),
    params: &[],
    signatures: &["-T[...] -> T[...]"],
    doc: "Elementwise negation.",
    linear: true,
    rule: Rule::Unary {
        ty: same,
        forward: |_, x, _| Ok(negate(x)),
        vjp: |_, _, _, g, _| Ok(negate(g)),
    },
    inputs: |r| {
        let shape = any_shape(r);
        Inputs::unary(shape, coin(r), Domain::Any)
    },
};

/// Elementwise binary rule: scalars broadcast, otherwise shapes match exactly.
fn broadcast(verb: &str, a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = promote(a.elem, b.elem);
    if a.is_scalar() {
        Ok(Ty {
            elem,
            shape: b.shape.clone(),
        })
    } else if b.is_scalar() || a.shape == b.shape {
        Ok(Ty {
            elem,
            shape: a.shape.clone(),
        })
    } else {
        Err(format!(
            "cannot {verb} {a} and {b}: shapes {:?} and {:?} differ (only scalars broadcast)",
            a.shape, b.shape
        ))
    }
}

/// Apply a real rule to real pairs and a complex rule to everything else (real sides promoted).
fn binary(a: &Value, b: &Value, fr: impl Fn(f64, f64) -> f64, fc: impl Fn(C, C) -> C) -> Result<Value, OpError> {
    Ok(match (a, b) {
        (Value::Real(x), Value::Real(y)) => Value::Real(zip_with(x, y, fr)?),
        (Value::Real(x), Value::Complex(y)) => Value::Complex(zip_with(x, y, |p, q| fc(C::from(p), q))?),
        (Value::Complex(x), Value::Real(y)) => Value::Complex(zip_with(x, y, |p, q| fc(p, C::from(q)))?),
        (Value::Complex(x), Value::Complex(y)) => Value::Complex(zip_with(x, y, fc)?),
    })
}

fn negate(v: &Value) -> Value {
    match v {
        Value::Real(a) => Value::Real(a.mapv(|x| -x)),
        Value::Complex(a) => Value::Complex(a.mapv(|z| -z)),
    }
}

/// Same shapes, or a scalar on either or both sides; each side real or complex.
fn binary_inputs(r: &mut dyn RngCore, right: Domain) -> Inputs {
    let shape = any_shape(r);
    let (sa, sb) = match r.random_range(0..4) {
        0 => (shape.clone(), shape),
        1 => (vec![], shape),
        2 => (shape, vec![]),
        _ => (vec![], vec![]),
    };
    Inputs::of([(sa, coin(r), Domain::Any), (sb, coin(r), right)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{FftCache, Op};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn shape_mismatches_are_errors_not_panics() {
        let cache = FftCache::new();
        let x = Value::Real(ArrayD::zeros(IxDyn(&[2, 2])));
        let y = Value::Real(ArrayD::zeros(IxDyn(&[4])));
        let add = Op::new("add", &[]).unwrap();
        assert!(matches!(add.forward(&[&x, &y], &cache), Err(OpError::Shape(_))));
        assert!(matches!(add.forward(&[&x], &cache), Err(OpError::Shape(_))));
        let neg = Op::new("neg", &[]).unwrap();
        let out = neg.forward(&[&x], &cache).unwrap();
        assert!(matches!(neg.vjp(&[&x], &out, &y, &cache), Err(OpError::Shape(_))));
    }
}
