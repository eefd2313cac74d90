//! Elementwise math: `abs`, `abs2`, `exp`, `log`, `sqrt`, `softplus`.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{any_shape, coin, Domain, Inputs};
use super::tensor::{no_gradient, zip_with};
use super::types::{real_of, same};
use super::OpError;
use crate::graph::value::Value;
use ndarray::{ArrayD, Dimension, Zip};
use num_complex::Complex64 as C;
use rand::RngCore;
use Value::{Complex as Cx, Real as R};

/// `|x|`; its subgradient at 0 is taken as 0.
pub static ABS: OpDef = OpDef {
    name: "abs",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["abs(real[...]) -> real[...]", "abs(complex[...]) -> real[...]"],
    doc: "Elementwise absolute value (modulus of a complex number).",
    linear: false,
    rule: Rule::Unary {
        ty: real_of,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(a.mapv(f64::abs)),
                Cx(a) => R(a.mapv(|z| z.norm())),
            })
        },
        vjp: |op, x, out, g, _| match (x, out, g) {
            (R(x), _, R(g)) => Ok(R(zip_with(g, x, |g, x| g * sign(x))?)),
            (Cx(x), R(o), R(g)) => Ok(Cx(zip3(g, x, o, |g, x, o| safe_div(x * g, C::from(o)))?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| any_inputs(r, Domain::NonZero),
};

pub static ABS2: OpDef = OpDef {
    name: "abs2",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["abs2(real[...]) -> real[...]", "abs2(complex[...]) -> real[...]"],
    doc: "Elementwise squared modulus `re² + im²`.",
    linear: false,
    rule: Rule::Unary {
        ty: real_of,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(a.mapv(|v| v * v)),
                Cx(a) => R(a.mapv(|z| z.norm_sqr())),
            })
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(x), R(g)) => Ok(R(zip_with(g, x, |g, x| 2.0 * g * x)?)),
            (Cx(x), R(g)) => Ok(Cx(zip_with(g, x, |g, x| x * (2.0 * g))?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| any_inputs(r, Domain::Any),
};

pub static EXP: OpDef = OpDef {
    name: "exp",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["exp(real[...]) -> real[...]", "exp(complex[...]) -> complex[...]"],
    doc: "Elementwise exponential.",
    linear: false,
    rule: Rule::Unary {
        ty: same,
        forward: |_, x, _| {
            Ok(match x {
                R(a) => R(a.mapv(f64::exp)),
                Cx(a) => Cx(a.mapv(|z| z.exp())),
            })
        },
        vjp: |op, x, out, g, _| match (out, g) {
            (R(o), R(g)) => Ok(R(zip_with(g, o, |g, o| g * o)?)),
            (Cx(o), Cx(g)) => Ok(Cx(zip_with(g, o, |g, o| g * o.conj())?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| any_inputs(r, Domain::Any),
};

pub static LOG: OpDef = OpDef {
    name: "log",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["log(real[...]) -> real[...]", "log(complex[...]) -> complex[...]"],
    doc: "Elementwise natural logarithm (principal branch for complex; real needs positive values).",
    linear: false,
    rule: Rule::Unary {
        ty: same,
        forward: |_, x, _| match x {
            R(a) => {
                domain_check(a, "log", "a non-positive number", |v| v <= 0.0)?;
                Ok(R(a.mapv(f64::ln)))
            }
            Cx(a) => {
                domain_check(a, "log", "zero", |z| z == C::new(0.0, 0.0))?;
                Ok(Cx(a.mapv(|z| z.ln())))
            }
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(x), R(g)) => Ok(R(zip_with(g, x, |g, x| g / x)?)),
            (Cx(x), Cx(g)) => Ok(Cx(zip_with(g, x, |g, x| g / x.conj())?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| any_inputs(r, Domain::RightHalf),
};

pub static SQRT: OpDef = OpDef {
    name: "sqrt",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "sqrt(real[...]) -> real[...]",
        "sqrt(complex[...]) -> complex[...]",
    ],
    doc: "Elementwise square root (principal branch for complex; real needs non-negative values).",
    linear: false,
    rule: Rule::Unary {
        ty: same,
        forward: |_, x, _| match x {
            R(a) => {
                domain_check(a, "sqrt", "a negative number", |v| v < 0.0)?;
                Ok(R(a.mapv(f64::sqrt)))
            }
            Cx(a) => Ok(Cx(a.mapv(|z| z.sqrt()))),
        },
        vjp: |op, x, out, g, _| match (out, g) {
            (R(o), R(g)) => Ok(R(zip_with(g, o, |g, o| safe_div(g, 2.0 * o))?)),
            (Cx(o), Cx(g)) => Ok(Cx(zip_with(g, o, |g, o| safe_div(g, 2.0 * o.conj()))?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| any_inputs(r, Domain::RightHalf),
};

/// `log(1 + eˣ)`, computed without overflow; its derivative is the logistic sigmoid.
pub static SOFTPLUS: OpDef = OpDef {
    name: "softplus",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["softplus(real[...]) -> real[...]"],
    doc: "Elementwise `log(1 + exp(x))` of a real tensor (a smooth positive map).",
    linear: false,
    rule: Rule::Unary {
        ty: |_, x| {
            if x.is_complex() {
                return Err(format!("`softplus` needs a real argument, got {x}"));
            }
            Ok(x.clone())
        },
        forward: |op, x, _| match x {
            R(a) => Ok(R(a.mapv(softplus))),
            Cx(_) => Err(OpError::Shape(format!("`{}` is not defined for {}", op.name(), x.ty()))),
        },
        vjp: |op, x, _, g, _| match (x, g) {
            (R(x), R(g)) => Ok(R(zip_with(g, x, |g, x| g * sigmoid(x))?)),
            _ => Err(no_gradient(op, x, g)),
        },
    },
    inputs: |r| Inputs::unary(any_shape(r), false, Domain::Wide),
};

/// Any shape, real or complex, values in `domain`.
fn any_inputs(r: &mut dyn RngCore, domain: Domain) -> Inputs {
    let shape = any_shape(r);
    Inputs::unary(shape, coin(r), domain)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{FftCache, Op};
    use ndarray::IxDyn;

    #[test]
    fn domain_errors_name_op_and_value() {
        let x = Value::Real(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, -3.5, 0.0]).unwrap());
        let cache = FftCache::new();
        let log = Op::new("log", &[]).unwrap();
        let Err(OpError::Domain(m)) = log.forward(&[&x], &cache) else {
            panic!("log domain")
        };
        assert_eq!(m, "`log` of a non-positive number: -3.5 at index [1, 0]");
        let sqrt = Op::new("sqrt", &[]).unwrap();
        let Err(OpError::Domain(m)) = sqrt.forward(&[&x], &cache) else {
            panic!("sqrt domain")
        };
        assert!(m.contains("sqrt") && m.contains("-3.5"), "{m}");
    }
}
