//! The arithmetic operators `+ - * /` (elementwise, numpy broadcasting, real ⊗ complex → complex)
//! and unary `-`.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::{reduce_to, zip_with};
use super::types::{promote, same};
use super::OpError;
use crate::graph::value::{broadcast_shapes, Ty, Value};
use num_complex::Complex64 as C;
use rand::{Rng, RngCore};

pub static ADD: OpDef = OpDef {
    name: "add",
    syntax: Syntax::Infix("+"),
    params: &[],
    signatures: &[
        "real[...] + real[...] -> real[...]",
        "complex[...] + T[...] -> complex[...] (either side complex; shapes broadcast)",
    ],
    doc: "Elementwise sum; shapes broadcast by numpy's rules.",
    linear: true,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("add", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x + y, |x, y| x + y),
        vjp: |_, a, b, _, g, _, n| {
            Ok([
                n[0].then(|| reduce_to(g.clone(), a)),
                n[1].then(|| reduce_to(g.clone(), b)),
            ])
        },
    },
    inputs: |r| binary_inputs(r, Domain::Any),
};

pub static SUB: OpDef = OpDef {
    name: "sub",
    syntax: Syntax::Infix("-"),
    params: &[],
    signatures: &[
        "real[...] - real[...] -> real[...]",
        "complex[...] - T[...] -> complex[...] (either side complex; shapes broadcast)",
    ],
    doc: "Elementwise difference; shapes broadcast by numpy's rules.",
    linear: true,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("subtract", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x - y, |x, y| x - y),
        vjp: |_, a, b, _, g, _, n| {
            Ok([
                n[0].then(|| reduce_to(g.clone(), a)),
                n[1].then(|| reduce_to(negate(g), b)),
            ])
        },
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
        "complex[...] * T[...] -> complex[...] (either side complex; shapes broadcast)",
    ],
    doc: "Elementwise product; shapes broadcast by numpy's rules.",
    linear: false,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("multiply", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x * y, |x, y| x * y),
        vjp: |_, a, b, _, g, _, n| {
            let ga = n[0]
                .then(|| binary(g, b, |g, b| g * b, |g, b| g * b.conj()))
                .transpose()?;
            let gb = n[1]
                .then(|| binary(g, a, |g, a| g * a, |g, a| g * a.conj()))
                .transpose()?;
            Ok([ga.map(|v| reduce_to(v, a)), gb.map(|v| reduce_to(v, b))])
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
        "complex[...] / T[...] -> complex[...] (either side complex; shapes broadcast)",
    ],
    doc: "Elementwise quotient; shapes broadcast by numpy's rules.",
    linear: false,
    rule: Rule::Binary {
        ty: |_, a, b| broadcast("divide", a, b),
        forward: |_, a, b, _| binary(a, b, |x, y| x / y, |x, y| x / y),
        vjp: |_, a, b, out, g, _, n| {
            let ga = n[0]
                .then(|| binary(g, b, |g, b| g / b, |g, b| g / b.conj()))
                .transpose()?;
            let gb = if n[1] {
                let q = binary(out, b, |o, b| o / b, |o, b| o / b)?;
                Some(binary(g, &q, |g, q| -g * q, |g, q| -g * q.conj())?)
            } else {
                None
            };
            Ok([ga.map(|v| reduce_to(v, a)), gb.map(|v| reduce_to(v, b))])
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

/// Elementwise binary rule: numpy's broadcasting (trailing axes align, an axis of 1 stretches).
fn broadcast(verb: &str, a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = promote(a.elem, b.elem);
    match broadcast_shapes(&a.shape, &b.shape) {
        Some(shape) => Ok(Ty { elem, shape }),
        None => Err(format!(
            "cannot {verb} {a} and {b}: shapes {:?} and {:?} do not broadcast (aligned from the \
             right, each pair of dimensions must be equal or one of them 1)",
            a.shape, b.shape
        )),
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

/// Same shapes, a scalar on either or both sides, or shapes that broadcast by numpy's rules (a
/// side with fewer leading axes, or with some axes of length 1); each side real or complex.
fn binary_inputs(r: &mut dyn RngCore, right: Domain) -> Inputs {
    let shape = any_shape(r);
    let squeezed = |r: &mut dyn RngCore, s: &[usize]| -> Vec<usize> {
        let keep = r.random_range(0..=s.len());
        s[s.len() - keep..].iter().map(|&d| if r.random_range(0..2) == 0 { 1 } else { d }).collect()
    };
    let (sa, sb) = match r.random_range(0..6) {
        0 => (shape.clone(), shape),
        1 => (vec![], shape),
        2 => (shape, vec![]),
        3 => (squeezed(r, &shape), shape),
        4 => (shape.clone(), squeezed(r, &shape)),
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
    fn numpy_broadcasting_of_values_and_cotangents() {
        let cache = FftCache::new();
        let a = ArrayD::from_shape_fn(IxDyn(&[2, 1, 3]), |i| (i[0] * 10 + i[2]) as f64);
        let b = ArrayD::from_shape_fn(IxDyn(&[4, 1]), |i| 100.0 * i[0] as f64);
        let (a, b) = (Value::Real(a), Value::Real(b));
        let add = Op::new("add", &[]).unwrap();
        let out = add.forward(&[&a, &b], &cache).unwrap();
        let Value::Real(o) = &out else { panic!("real") };
        assert_eq!(o.shape(), &[2, 4, 3]);
        assert_eq!(o[[1, 3, 2]], 12.0 + 300.0);
        // Each side's cotangent is the sum over the axes it was stretched along.
        let g = Value::Real(ArrayD::ones(IxDyn(&[2, 4, 3])));
        let grads = add.vjp(&[&a, &b], &out, &g, &cache).unwrap();
        assert_eq!(grads[0], Value::Real(ArrayD::from_elem(IxDyn(&[2, 1, 3]), 4.0)));
        assert_eq!(grads[1], Value::Real(ArrayD::from_elem(IxDyn(&[4, 1]), 6.0)));
    }

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
