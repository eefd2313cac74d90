//! `a @ x`: a dense matrix `[m, n]` times a vector `[n]` or a matrix `[n, k]`.

use super::def::{keep, OpDef, Rule, Syntax};
use super::inputs::{coin, Domain, Inputs};
use super::tensor::reduce_to;
use super::types::promote;
use super::OpError;
use crate::graph::value::{Ty, Value};
use ndarray::{ArrayD, ArrayView1, ArrayView2, Ix1, Ix2, LinalgScalar};
use rand::Rng;

/// `y = A x`: `ḡA = g xᴴ`, `ḡx = Aᴴ g`.
pub static MATMUL: OpDef = OpDef {
    name: "matmul",
    syntax: Syntax::Infix("@"),
    params: &[],
    signatures: &[
        "real[m, n] @ real[n] -> real[m]",
        "real[m, n] @ real[n, k] -> real[m, k] (complex if either side is)",
    ],
    doc: "Dense matrix times a vector or a matrix.",
    linear: false,
    rule: Rule::Binary {
        ty: |_, a, x| matmul_type(a, x),
        forward: |_, a, x, _| matmul_forward(a, x),
        vjp: |_, a, x, _, g, _, n| Ok(keep(n, matmul_vjp(a, x, g)?)),
    },
    inputs: |r| {
        let (m, n, k) = (r.random_range(1..5), r.random_range(1..5), r.random_range(0..4));
        let x_shape = if k == 0 { vec![n] } else { vec![n, k] };
        Inputs::of([(vec![m, n], coin(r), Domain::Any), (x_shape, coin(r), Domain::Any)])
    },
};

fn matmul_type(a: &Ty, x: &Ty) -> Result<Ty, String> {
    let elem = promote(a.elem, x.elem);
    let [m, n] = a.shape[..] else {
        return Err(format!("`@` needs a matrix [m, n] on the left, got {a}"));
    };
    match x.shape[..] {
        [n2] if n2 == n => Ok(Ty { elem, shape: vec![m] }),
        [n2, k] if n2 == n => Ok(Ty {
            elem,
            shape: vec![m, k],
        }),
        [_] | [_, _] => Err(format!(
            "`@`: inner dimensions differ: {a} @ {x} (the left has {n} columns)"
        )),
        _ => Err(format!(
            "`@` needs a vector [n] or a matrix [n, k] on the right, got {x}"
        )),
    }
}

fn shape_err(e: ndarray::ShapeError) -> OpError {
    OpError::Shape(format!("internal error in `@`: {e}"))
}

/// `a @ x` for a matrix `a` and a vector or matrix `x`.
fn mm<T: LinalgScalar>(a: ArrayView2<T>, x: &ArrayD<T>) -> Result<ArrayD<T>, OpError> {
    if x.ndim() == 1 {
        let v: ArrayView1<T> = x.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        Ok(a.dot(&v).into_dyn())
    } else {
        let m: ArrayView2<T> = x.view().into_dimensionality::<Ix2>().map_err(shape_err)?;
        Ok(a.dot(&m).into_dyn())
    }
}

fn view2<T>(a: &ArrayD<T>) -> Result<ArrayView2<'_, T>, OpError> {
    a.view().into_dimensionality::<Ix2>().map_err(shape_err)
}

fn matmul_forward(a: &Value, x: &Value) -> Result<Value, OpError> {
    match (a, x) {
        (Value::Real(a), Value::Real(x)) => Ok(Value::Real(mm(view2(a)?, x)?)),
        _ => Ok(Value::Complex(mm(view2(&a.to_complex())?, &x.to_complex())?)),
    }
}

fn matmul_vjp(a: &Value, x: &Value, g: &Value) -> Result<[Value; 2], OpError> {
    match (a, x, g) {
        (Value::Real(am), Value::Real(xm), Value::Real(gm)) => {
            let (ga, gx) = matmul_adjoint(view2(am)?, xm, gm)?;
            Ok([Value::Real(ga), Value::Real(gx)])
        }
        _ => {
            let ac = a.to_complex().mapv(|z| z.conj());
            let xc = x.to_complex().mapv(|z| z.conj());
            let (ga, gx) = matmul_adjoint(view2(&ac)?, &xc, &g.to_complex())?;
            Ok([
                reduce_to(Value::Complex(ga), a),
                reduce_to(Value::Complex(gx), x),
            ])
        }
    }
}

/// With `a`, `x` already conjugated: `(g ⊗ x, aᵀ g)` for vectors, `(g xᵀ, aᵀ g)` for matrices.
fn matmul_adjoint<T: LinalgScalar>(
    a: ArrayView2<T>,
    x: &ArrayD<T>,
    g: &ArrayD<T>,
) -> Result<(ArrayD<T>, ArrayD<T>), OpError> {
    let gx = mm(a.t(), g)?;
    let ga = if x.ndim() == 1 {
        let gv = g.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        let xv = x.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        let col = gv.insert_axis(ndarray::Axis(1));
        let row = xv.insert_axis(ndarray::Axis(0));
        col.dot(&row).into_dyn()
    } else {
        view2(g)?.dot(&view2(x)?.t()).into_dyn()
    };
    Ok((ga, gx))
}
