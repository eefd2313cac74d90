//! Shape rules shared by distributions (scalar broadcasting) and parameter values as flat vectors.

use super::RuleError;
use crate::graph::{broadcast_shapes, Ty, Value};
use crate::syntax::ast::ElemType;
use ndarray::Array1;

/// Broadcasting of distribution parameters by numpy's rules; real ⊗ complex → complex.
pub fn broadcast(a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = if a.is_complex() || b.is_complex() {
        ElemType::Complex
    } else {
        ElemType::Real
    };
    match broadcast_shapes(&a.shape, &b.shape) {
        Some(shape) => Ok(Ty { elem, shape }),
        None => Err(format!(
            "{a} and {b} do not broadcast (trailing dimensions must be equal or 1)"
        )),
    }
}

/// An elementwise prior's latent type: the parameters broadcast together, and a scalar result
/// takes the declared shape (a complex declaration makes a real result complex).
pub fn elementwise(params: &[Ty], declared: Option<&Ty>) -> Result<Ty, RuleError> {
    let mut ty = params.first().cloned().unwrap_or(Ty::real(vec![]));
    for p in params.iter().skip(1) {
        ty = broadcast(&ty, p).map_err(|detail| RuleError::Shape { arg: None, detail })?;
    }
    Ok(match declared {
        // The parameters stretch to the declared shape (a scalar, or trailing dimensions).
        Some(d) if broadcast_shapes(&ty.shape, &d.shape).as_deref() == Some(&d.shape[..]) => Ty {
            elem: if ty.is_complex() {
                ElemType::Complex
            } else {
                d.elem
            },
            shape: d.shape.clone(),
        },
        _ => ty,
    })
}

/// `ty` unless it is complex: a real-valued distribution's latent cannot be complex.
pub fn real_only(dist: &str, ty: Ty) -> Result<Ty, RuleError> {
    if ty.is_complex() {
        let detail = format!("{dist} is real-valued: the latent cannot be {ty}");
        return Err(RuleError::Shape { arg: None, detail });
    }
    Ok(ty)
}

/// A value's elements as reals (complex: interleaved re, im).
pub fn flat_real(v: &Value) -> Vec<f64> {
    match v {
        Value::Real(a) => a.iter().copied().collect(),
        Value::Complex(a) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
    }
}

/// A parameter as a flat vector of length `dim` (a scalar broadcasts).
pub fn broadcast_flat(v: &Value, dim: usize, complex_latent: bool) -> Option<Array1<f64>> {
    let flat = flat_real(v);
    match flat.len() {
        1 if !v.is_complex() => Some(Array1::from_elem(dim, flat[0])),
        n if n == dim => Some(Array1::from(flat)),
        // A real parameter with one value per complex element: the same for re and im.
        n if complex_latent && !v.is_complex() && 2 * n == dim => {
            Some(Array1::from_iter(flat.iter().flat_map(|x| [*x, *x])))
        }
        _ => None,
    }
}
