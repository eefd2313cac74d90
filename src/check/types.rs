//! The one place call and operator type rules come from: `op_type` delegates to the graph's rules.

use crate::graph::{Op, Ty};

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
