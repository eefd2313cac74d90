//! `sum`: the sum of all elements, a scalar of the argument's kind.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::{no_gradient, scalar_of, sum_value};
use crate::graph::value::{Ty, Value};
use ndarray::{ArrayD, IxDyn};

pub static SUM: OpDef = OpDef {
    name: "sum",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["sum(real[...]) -> real", "sum(complex[...]) -> complex"],
    doc: "Sum of all elements.",
    linear: true,
    rule: Rule::Unary {
        ty: |_, x| Ok(Ty::scalar(x.elem)),
        forward: |_, x, _| Ok(sum_value(x)),
        vjp: |op, x, _, g, _| match (x, g) {
            (Value::Real(x), Value::Real(g)) => Ok(Value::Real(ArrayD::from_elem(IxDyn(x.shape()), scalar_of(g)?))),
            (Value::Complex(x), Value::Complex(g)) => {
                Ok(Value::Complex(ArrayD::from_elem(IxDyn(x.shape()), scalar_of(g)?)))
            }
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| {
        let shape = any_shape(r);
        Inputs::unary(shape, coin(r), Domain::Any)
    },
};
