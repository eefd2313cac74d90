//! Arguments of distribution calls: positional and keyword arguments bound to a signature's
//! parameters (E0413), and a likelihood's `observed = MASK`.

use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use crate::diagnostics::did_you_mean;
use crate::dist::{self, Distribution, Param};
use crate::graph::{NodeId, Ty};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind};

impl Ctx<'_> {
    /// Match positional and keyword arguments to the signature's parameters: one entry per
    /// parameter, `None` where an optional one was left out (it takes its default).
    pub(super) fn bind_args<'e>(
        &mut self,
        d: &'static dyn Distribution,
        params: &[Param],
        args: &'e [Expr],
        span: Span,
    ) -> Option<Vec<Option<&'e Expr>>> {
        let mut bound: Vec<Option<&Expr>> = vec![None; params.len()];
        let list: Vec<String> = params
            .iter()
            .map(|p| match p.default {
                Some(v) => format!("{} = {v}", p.name),
                None => p.name.to_string(),
            })
            .collect();
        let usage = format!("{}({})", d.name(), list.join(", "));
        let kw_err = |this: &mut Self, message: String, label: &str, span: Span| {
            this.error(CheckError::KeywordArgument {
                message,
                label: label.into(),
                help: format!("write `{usage}`"),
                span,
            });
        };
        let mut seen_keyword = false;
        let mut positional = 0;
        for a in args {
            match &a.kind {
                ExprKind::Named { name, value } => {
                    seen_keyword = true;
                    let Some(i) = params.iter().position(|p| p.name == name.name) else {
                        let names = params.iter().map(|p| p.name);
                        let hint = did_you_mean(&name.name, names)
                            .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                        let msg = format!("`{}` has no parameter `{}`{hint}", d.name(), name.name);
                        kw_err(self, msg, "unknown parameter", name.span);
                        return None;
                    };
                    if bound[i].is_some() {
                        let msg = format!("`{}` is given twice", name.name);
                        kw_err(self, msg, "given again here", a.span);
                        return None;
                    }
                    bound[i] = Some(value);
                }
                _ if seen_keyword => {
                    let msg = "a positional argument follows a keyword argument".to_string();
                    kw_err(self, msg, "positional after `name = …`", a.span);
                    return None;
                }
                _ => {
                    if positional >= params.len() {
                        let n = params.len();
                        self.error(CheckError::Arity {
                            name: d.name().into(),
                            expected: format!("at most {n} argument{}", if n == 1 { "" } else { "s" }),
                            found: args.len(),
                            span,
                            signatures: dist::signatures(d.name()),
                        });
                        return None;
                    }
                    bound[positional] = Some(a);
                    positional += 1;
                }
            }
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&bound)
            .filter(|(p, b)| b.is_none() && p.default.is_none())
            .map(|(p, _)| p.name)
            .collect();
        if !missing.is_empty() {
            let required = params.iter().filter(|p| p.default.is_none()).count();
            if !seen_keyword {
                self.error(CheckError::Arity {
                    name: d.name().into(),
                    expected: format!("{required} argument{}", if required == 1 { "" } else { "s" }),
                    found: args.len(),
                    span,
                    signatures: dist::signatures(d.name()),
                });
            } else {
                let msg = format!("`{}` needs `{}`", d.name(), missing.join("`, `"));
                kw_err(self, msg, "missing a required parameter", span);
            }
            return None;
        }
        Some(bound)
    }

    /// The `observed = MASK` argument of a likelihood: a real constant that broadcasts to the data.
    pub(super) fn observed_mask(&mut self, e: &Expr, data_ty: &Ty) -> Option<NodeId> {
        let id = self.expr(e, &Locals::new())?;
        let what = "the observation mask";
        if self.depends_on_latent(id) {
            self.error(CheckError::DependsOnLatent {
                what: what.into(),
                span: e.span,
            });
            return None;
        }
        let ty = self.ty(id);
        if ty.is_complex() {
            self.error(CheckError::ExpectedReal {
                what: what.into(),
                found: ty.to_string(),
                span: e.span,
            });
            return None;
        }
        if dist::broadcast_shapes(&ty.shape, &data_ty.shape).as_deref() != Some(&data_ty.shape[..]) {
            self.error(CheckError::ParamShape {
                what: "observation mask".into(),
                detail: format!(
                    "the mask is {ty}, expected a shape that broadcasts to {:?}",
                    data_ty.shape
                ),
                span: e.span,
            });
            return None;
        }
        Some(id)
    }
}
