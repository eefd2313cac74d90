//! Elementwise ops (arithmetic with scalar broadcasting, unary math) and `sum`: forward and VJP.

use super::tensor::{reduce_to, scalar_of, sum_value};
use super::{Op, OpError};
use crate::graph::value::Value;
use ndarray::{ArrayD, Dimension, IxDyn, Zip};
use num_complex::Complex64 as C;

/// `f(a, b)` elementwise where either side may be a scalar (shapes were checked by the caller).
fn zip_with<A: Copy, B: Copy, O>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> O,
) -> Result<ArrayD<O>, OpError> {
    if a.ndim() == 0 {
        let x = scalar_of(a)?;
        Ok(b.mapv(|y| f(x, y)))
    } else if b.ndim() == 0 {
        let y = scalar_of(b)?;
        Ok(a.mapv(|x| f(x, y)))
    } else if a.shape() == b.shape() {
        Ok(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)))
    } else {
        Err(OpError::Shape(format!(
            "shapes {:?} and {:?} differ (only scalars broadcast)",
            a.shape(),
            b.shape()
        )))
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

pub(super) fn binary_forward(op: &Op, a: &Value, b: &Value) -> Result<Value, OpError> {
    match op {
        Op::Add => binary(a, b, |x, y| x + y, |x, y| x + y),
        Op::Sub => binary(a, b, |x, y| x - y, |x, y| x - y),
        Op::Mul => binary(a, b, |x, y| x * y, |x, y| x * y),
        _ => binary(a, b, |x, y| x / y, |x, y| x / y),
    }
}

/// VJPs of `a ∘ b`: `d(ab) → (g·conj(b), g·conj(a))`, `d(a/b) → (g/conj(b), −g·conj(out/b))`.
pub(super) fn binary_vjp(op: &Op, a: &Value, b: &Value, out: &Value, g: &Value) -> Result<Vec<Value>, OpError> {
    let (ga, gb) = match op {
        Op::Add => (g.clone(), g.clone()),
        Op::Sub => (g.clone(), negate(g)),
        Op::Mul => (
            binary(g, b, |g, b| g * b, |g, b| g * b.conj())?,
            binary(g, a, |g, a| g * a, |g, a| g * a.conj())?,
        ),
        _ => {
            let ga = binary(g, b, |g, b| g / b, |g, b| g / b.conj())?;
            let q = binary(out, b, |o, b| o / b, |o, b| o / b)?;
            (ga, binary(g, &q, |g, q| -g * q, |g, q| -g * q.conj())?)
        }
    };
    Ok(vec![reduce_to(ga, a), reduce_to(gb, b)])
}

fn negate(v: &Value) -> Value {
    match v {
        Value::Real(a) => Value::Real(a.mapv(|x| -x)),
        Value::Complex(a) => Value::Complex(a.mapv(|z| -z)),
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A domain error naming the op and the first offending element (row-major order).
fn domain_check<T: Copy + std::fmt::Display>(
    a: &ArrayD<T>,
    op: &str,
    what: &str,
    bad: impl Fn(T) -> bool,
) -> Result<(), OpError> {
    match a.indexed_iter().find(|(_, &v)| bad(v)) {
        None => Ok(()),
        Some((idx, &v)) => {
            let at = if a.ndim() == 0 {
                String::new()
            } else {
                format!(" at index {:?}", idx.slice())
            };
            Err(OpError::Domain(format!("`{op}` of {what}: {v}{at}")))
        }
    }
}

pub(super) fn unary_forward(op: &Op, x: &Value) -> Result<Value, OpError> {
    use Value::{Complex as Cx, Real as R};
    Ok(match (op, x) {
        (Op::Neg, _) => negate(x),
        (Op::Conj | Op::Re, R(a)) => R(a.clone()),
        (Op::Conj, Cx(a)) => Cx(a.mapv(|z| z.conj())),
        (Op::Re, Cx(a)) => R(a.mapv(|z| z.re)),
        (Op::Im, R(a)) => R(ArrayD::zeros(a.raw_dim())),
        (Op::Im, Cx(a)) => R(a.mapv(|z| z.im)),
        (Op::Abs, R(a)) => R(a.mapv(f64::abs)),
        (Op::Abs, Cx(a)) => R(a.mapv(|z| z.norm())),
        (Op::Abs2, R(a)) => R(a.mapv(|v| v * v)),
        (Op::Abs2, Cx(a)) => R(a.mapv(|z| z.norm_sqr())),
        (Op::Exp, R(a)) => R(a.mapv(f64::exp)),
        (Op::Exp, Cx(a)) => Cx(a.mapv(|z| z.exp())),
        (Op::Log, R(a)) => {
            domain_check(a, "log", "a non-positive number", |v| v <= 0.0)?;
            R(a.mapv(f64::ln))
        }
        (Op::Log, Cx(a)) => {
            domain_check(a, "log", "zero", |z| z == C::new(0.0, 0.0))?;
            Cx(a.mapv(|z| z.ln()))
        }
        (Op::Sqrt, R(a)) => {
            domain_check(a, "sqrt", "a negative number", |v| v < 0.0)?;
            R(a.mapv(f64::sqrt))
        }
        (Op::Sqrt, Cx(a)) => Cx(a.mapv(|z| z.sqrt())),
        (Op::Softplus, R(a)) => R(a.mapv(softplus)),
        (Op::Sum, _) => sum_value(x),
        _ => {
            return Err(OpError::Shape(format!(
                "`{}` is not defined for {}",
                op.name(),
                x.ty()
            )))
        }
    })
}

/// Same-shape elementwise map of three arrays (cotangent, input, output).
fn zip3<A: Copy, B: Copy, D: Copy, O>(
    g: &ArrayD<A>,
    x: &ArrayD<B>,
    o: &ArrayD<D>,
    f: impl Fn(A, B, D) -> O,
) -> Result<ArrayD<O>, OpError> {
    if g.shape() != x.shape() || o.shape() != x.shape() {
        return Err(OpError::Shape("internal error: cotangent shape differs".into()));
    }
    Ok(Zip::from(g).and(x).and(o).map_collect(|&g, &x, &o| f(g, x, o)))
}

/// `g / d` with the convention that a zero cotangent stays zero (no `0 · ∞` NaN at a kink).
fn safe_div<T: PartialEq + Default + std::ops::Div<Output = T>>(g: T, d: T) -> T {
    if g == T::default() {
        T::default()
    } else {
        g / d
    }
}

pub(super) fn unary_vjp(op: &Op, x: &Value, out: &Value, g: &Value) -> Result<Value, OpError> {
    use Value::{Complex as Cx, Real as R};
    Ok(match (op, x, out, g) {
        (Op::Neg, ..) => negate(g),
        (Op::Conj, R(_), _, R(g)) => R(g.clone()),
        (Op::Conj, Cx(_), _, Cx(g)) => Cx(g.mapv(|z| z.conj())),
        (Op::Re, R(_), _, R(g)) => R(g.clone()),
        (Op::Re, Cx(_), _, R(g)) => Cx(g.mapv(C::from)),
        (Op::Im, R(_), _, R(g)) => R(ArrayD::zeros(g.raw_dim())),
        (Op::Im, Cx(_), _, R(g)) => Cx(g.mapv(|v| C::new(0.0, v))),
        (Op::Abs, R(x), R(_), R(g)) => R(zip_with(g, x, |g, x| g * sign(x))?),
        (Op::Abs, Cx(x), R(o), R(g)) => Cx(zip3(g, x, o, |g, x, o| safe_div(x * g, C::from(o)))?),
        (Op::Abs2, R(x), _, R(g)) => R(zip_with(g, x, |g, x| 2.0 * g * x)?),
        (Op::Abs2, Cx(x), _, R(g)) => Cx(zip_with(g, x, |g, x| x * (2.0 * g))?),
        (Op::Exp, R(_), R(o), R(g)) => R(zip_with(g, o, |g, o| g * o)?),
        (Op::Exp, Cx(_), Cx(o), Cx(g)) => Cx(zip_with(g, o, |g, o| g * o.conj())?),
        (Op::Log, R(x), _, R(g)) => R(zip_with(g, x, |g, x| g / x)?),
        (Op::Log, Cx(x), _, Cx(g)) => Cx(zip_with(g, x, |g, x| g / x.conj())?),
        (Op::Sqrt, R(_), R(o), R(g)) => R(zip_with(g, o, |g, o| safe_div(g, 2.0 * o))?),
        (Op::Sqrt, Cx(_), Cx(o), Cx(g)) => Cx(zip_with(g, o, |g, o| safe_div(g, 2.0 * o.conj()))?),
        (Op::Softplus, R(x), _, R(g)) => R(zip_with(g, x, |g, x| g * sigmoid(x))?),
        (Op::Sum, R(x), _, R(g)) => R(ArrayD::from_elem(IxDyn(x.shape()), scalar_of(g)?)),
        (Op::Sum, Cx(x), _, Cx(g)) => Cx(ArrayD::from_elem(IxDyn(x.shape()), scalar_of(g)?)),
        _ => {
            return Err(OpError::Shape(format!(
                "`{}`: no gradient for argument {} with cotangent {}",
                op.name(),
                x.ty(),
                g.ty()
            )))
        }
    })
}

/// Subgradient of `|x|` chosen as 0 at the kink.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}
