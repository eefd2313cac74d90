//! `sum` and `mean`: over all elements (a scalar) or along one axis (that axis removed), of the
//! argument's kind; `sum(conj(smaps) * z, 0)` combines coils.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::no_gradient;
use super::{Op, OpError};
use crate::graph::value::{Ty, Value};
use ndarray::{ArrayD, Axis, IxDyn, LinalgScalar, ScalarOperand};
use rand::{Rng, RngCore};

pub static SUM: OpDef = OpDef {
    name: "sum",
    syntax: Syntax::Call,
    params: &["axis?"],
    signatures: &[
        "sum(T[...]) -> T",
        "sum(T[d0, …, dk, …], k) -> T[d0, …, …] (axis k removed)",
    ],
    doc: "Sum of all elements, or along axis `k` (0-based, from the left) removing it.",
    linear: true,
    rule: Rule::Unary {
        ty: reduced,
        forward: |op, x, _| reduce(op, x, false),
        vjp: |op, x, _, g, _| spread(op, x, g, false),
    },
    inputs,
};

pub static MEAN: OpDef = OpDef {
    name: "mean",
    syntax: Syntax::Call,
    params: &["axis?"],
    signatures: &[
        "mean(T[...]) -> T",
        "mean(T[d0, …, dk, …], k) -> T[d0, …, …] (axis k removed)",
    ],
    doc: "Mean of all elements, or along axis `k` (0-based, from the left) removing it.",
    linear: true,
    rule: Rule::Unary {
        ty: reduced,
        forward: |op, x, _| reduce(op, x, true),
        vjp: |op, x, _, g, _| spread(op, x, g, true),
    },
    inputs,
};

/// The result type: a scalar, or the argument without axis `k`.
fn reduced(op: &Op, x: &Ty) -> Result<Ty, String> {
    match op.optional_param(0) {
        None => Ok(Ty::scalar(x.elem)),
        Some(k) if k < x.shape.len() => {
            let mut shape = x.shape.clone();
            shape.remove(k);
            Ok(Ty { elem: x.elem, shape })
        }
        Some(k) => Err(format!(
            "`{}`: axis {k} is out of range for {x} (axes are 0 to {} from the left)",
            op.name(),
            x.shape.len() as isize - 1
        )),
    }
}

/// How many elements each output element reduces.
fn count(op: &Op, shape: &[usize]) -> usize {
    match op.optional_param(0) {
        None => shape.iter().product(),
        Some(k) => shape.get(k).copied().unwrap_or(1),
    }
    .max(1)
}

fn reduce(op: &Op, x: &Value, mean: bool) -> Result<Value, OpError> {
    let scale = if mean { 1.0 / count(op, x.shape()) as f64 } else { 1.0 };
    fn go<T: LinalgScalar + ScalarOperand>(a: &ArrayD<T>, axis: Option<usize>, s: T) -> Result<ArrayD<T>, OpError> {
        match axis {
            None => Ok(ArrayD::from_elem(IxDyn(&[]), a.sum() * s)),
            Some(k) if k < a.ndim() => Ok(a.sum_axis(Axis(k)) * s),
            Some(k) => Err(OpError::Shape(format!("axis {k} is out of range for shape {:?}", a.shape()))),
        }
    }
    let axis = op.optional_param(0);
    Ok(match x {
        Value::Real(a) => Value::Real(go(a, axis, scale)?),
        Value::Complex(a) => Value::Complex(go(a, axis, scale.into())?),
    })
}

/// The VJP: the cotangent copied back along the reduced axis (or everywhere), scaled for `mean`.
fn spread(op: &Op, x: &Value, g: &Value, mean: bool) -> Result<Value, OpError> {
    let scale = if mean { 1.0 / count(op, x.shape()) as f64 } else { 1.0 };
    fn go<T: LinalgScalar + ScalarOperand>(g: &ArrayD<T>, shape: &[usize], axis: Option<usize>, s: T) -> Option<ArrayD<T>> {
        let g = match axis {
            None => g.view(),
            Some(k) if k <= g.ndim() => g.view().insert_axis(Axis(k)),
            Some(_) => return None,
        };
        Some(g.broadcast(IxDyn(shape))?.to_owned() * s)
    }
    let axis = op.optional_param(0);
    let out = match (x, g) {
        (Value::Real(_), Value::Real(g)) => go(g, x.shape(), axis, scale).map(Value::Real),
        (Value::Complex(_), Value::Complex(g)) => go(g, x.shape(), axis, scale.into()).map(Value::Complex),
        _ => None,
    };
    out.ok_or_else(|| no_gradient(op, x, g))
}

/// Any shape, each axis (when the rank allows) or none.
fn inputs(r: &mut dyn RngCore) -> Inputs {
    let shape = any_shape(r);
    let axis = if shape.is_empty() || coin(r) {
        vec![]
    } else {
        vec![r.random_range(0..shape.len())]
    };
    Inputs::unary(shape, coin(r), Domain::Any).with_params(axis)
}
