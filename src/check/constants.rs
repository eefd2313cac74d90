//! The checker's constant functions: built-ins called by name that fold to a constant tensor at
//! check time (`gaussian_kernel`, `load`) instead of lowering to a graph op.

use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use super::npy;
use crate::graph::{NodeId, Value};
use crate::syntax::ast::{Expr, ExprKind};
use ndarray::{ArrayD, IxDyn};

/// A built-in function evaluated by the checker; listed beside the registry's ops wherever
/// built-ins are named (see [`super::calls`]).
pub struct ConstFn {
    pub name: &'static str,
    /// Number of arguments (all static).
    pub arity: usize,
    pub signatures: &'static [&'static str],
    pub doc: &'static str,
    /// Fold a call whose argument count is already checked.
    pub(super) fold: fn(&mut Ctx<'_>, &[Expr], &Locals) -> Option<NodeId>,
}

pub static GAUSSIAN_KERNEL: ConstFn = ConstFn {
    name: "gaussian_kernel",
    arity: 2,
    signatures: &["gaussian_kernel(n, s) -> real[n, n] (n a positive integer, s > 0, sums to 1)"],
    doc: "A normalised `n × n` Gaussian blur kernel of width `s` (a constant).",
    fold: |ctx, args, locals| ctx.gaussian_kernel(args, locals),
};

pub static LOAD: ConstFn = ConstFn {
    name: "load",
    arity: 1,
    signatures: &["load(\"file.npy\") -> the file's type (a constant)"],
    doc: "The tensor stored in a `.npy` file beside the model (a constant; NaN and infinities are refused).",
    fold: |ctx, args, _| ctx.load_const(args),
};

/// Every constant function, in documentation order.
pub static CONSTANTS: &[&ConstFn] = &[&GAUSSIAN_KERNEL, &LOAD];

impl Ctx<'_> {
    fn gaussian_kernel(&mut self, args: &[Expr], locals: &Locals) -> Option<NodeId> {
        let name = GAUSSIAN_KERNEL.name;
        let [n_arg, s_arg] = args else {
            return None;
        };
        let n = self.static_usize(name, n_arg, locals, "a positive integer (the kernel size)")?;
        let s_id = self.expr(s_arg, locals)?;
        let s = match self.static_num(s_id) {
            Some(s) if s > 0.0 && s.is_finite() => s,
            _ => {
                let span = s_arg.span;
                self.error(CheckError::StaticArg {
                    name: name.into(),
                    what: "a positive number (the width)".into(),
                    span,
                });
                return None;
            }
        };
        if n > 4096 {
            let span = n_arg.span;
            self.error(CheckError::StaticArg {
                name: name.into(),
                what: "at most 4096".into(),
                span,
            });
            return None;
        }
        let c = (n as f64 - 1.0) / 2.0;
        let mut k = ArrayD::from_shape_fn(IxDyn(&[n, n]), |ix| {
            let (i, j) = (ix[0] as f64 - c, ix[1] as f64 - c);
            (-(i * i + j * j) / (2.0 * s * s)).exp()
        });
        let total = k.sum();
        k.mapv_inplace(|v| v / total);
        let span = n_arg.span.join(s_arg.span);
        Some(self.constant(Value::Real(k), span))
    }

    fn load_const(&mut self, args: &[Expr]) -> Option<NodeId> {
        let [arg] = args else {
            return None;
        };
        let ExprKind::Str(file) = &arg.kind else {
            self.error(CheckError::StaticArg {
                name: "load".into(),
                what: "a file name string".into(),
                span: arg.span,
            });
            return None;
        };
        let path = self.resolve(arg.span.file, file);
        match npy::read_value(&path) {
            Ok(v) if v.all_finite() => Some(self.constant(v, arg.span)),
            Ok(_) => {
                let reason = "it contains NaN or infinite values".to_string();
                self.error(CheckError::LoadFailed {
                    path: path.display().to_string(),
                    reason,
                    span: arg.span,
                });
                None
            }
            Err(e) => {
                let reason = e.to_string();
                self.error(CheckError::LoadFailed {
                    path: path.display().to_string(),
                    reason,
                    span: arg.span,
                });
                None
            }
        }
    }
}
