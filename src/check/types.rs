//! The one place call and operator type rules come from: `op_type` delegates to the graph's rules.

use crate::graph::{Op, Ty};
use crate::syntax::ast::ElemType;

/// Largest number of elements a tensor type may have (about 1 GiB of f64).
pub const MAX_ELEMENTS: usize = 1 << 27;

/// Result type of `op` applied to arguments of types `args`, or why it does not apply.
pub fn op_type(op: &Op, args: &[Ty]) -> Result<Ty, String> {
    op.infer_type(args)
}

/// Number of elements of a shape, `None` on overflow.
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Scalar broadcasting of distribution parameters; real ⊗ complex → complex.
pub fn broadcast(a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = if a.is_complex() || b.is_complex() {
        ElemType::Complex
    } else {
        ElemType::Real
    };
    if a.shape == b.shape || b.is_scalar() {
        Ok(Ty {
            elem,
            shape: a.shape.clone(),
        })
    } else if a.is_scalar() {
        Ok(Ty {
            elem,
            shape: b.shape.clone(),
        })
    } else {
        Err(format!(
            "{a} and {b} have different shapes (only scalars broadcast)"
        ))
    }
}
