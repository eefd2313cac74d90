//! The `supn("file.safetensors", z)` prior's own check: the file is loaded and bound to the call, the
//! image's type comes from its header, and `z` must be `real[M]` with the file's M.

use super::errors::CheckError;
use super::lower::Ctx;
use super::model::PriorSpec;
use crate::dist::{self, Call, Distribution, Role};
use crate::graph::Ty;
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, TypeExpr};

/// `arg`, or the value of `name = arg` when its name is `key`; `None` for another name.
fn positional<'e>(arg: &'e Expr, key: &str) -> Option<&'e Expr> {
    match &arg.kind {
        ExprKind::Named { name, value } if name.name == key => Some(value),
        ExprKind::Named { .. } => None,
        _ => Some(arg),
    }
}

impl Ctx<'_> {
    /// Check `supn(file, z)` for the latent `name`.
    pub(super) fn supn(
        &mut self,
        name: &str,
        args: &[Expr],
        span: Span,
        declared: Option<(Ty, &TypeExpr)>,
    ) -> Option<(PriorSpec, Ty)> {
        let parts = match args {
            [f, z] => positional(f, "file").zip(positional(z, "z")),
            _ => None,
        };
        let (file, z) = match parts {
            Some((
                Expr {
                    kind: ExprKind::Str(file),
                    ..
                },
                z,
            )) => (file.clone(), z),
            _ => {
                self.error(CheckError::SupnArgs { span });
                return None;
            }
        };
        let path = self.score_path(span, &file);
        let bound = match dist::bind_supn(&path) {
            Ok(b) => b,
            Err(e) => {
                let reason = e.to_string();
                self.error(CheckError::SupnFile { reason, span });
                return None;
            }
        };
        let param = bound.signature(Role::Prior)?.params.first()?;
        let zid = self.param(z, param, Role::Prior)?;
        let cfg = bound.model().config();
        let want = Ty::real(vec![cfg.latent]);
        let zty = self.ty(zid);
        if zty != want {
            let reason = format!(
                "`{}` has a latent of {} values: z must be {want}, it is {zty}",
                path.display(),
                cfg.latent
            );
            self.error(CheckError::SupnFile { reason, span: z.span });
            return None;
        }
        let ty = Ty::real(vec![cfg.height, cfg.width]);
        if !self.matches_declared(name, declared.as_ref(), &ty, span) {
            return None;
        }
        let call = Call {
            dist: bound,
            role: Role::Prior,
            params: vec![zid],
        };
        Some((PriorSpec::Dist(call), ty))
    }
}
