//! Statements: declarations and duplicates (pass 1), then data, `let`, priors, observations, `infer`.

use super::calls::is_reserved;
use super::errors::{CheckError, NameKind};
use super::lower::{Ctx, Decl, FnDef, Locals};
use super::model::{DataDecl, InferSpec, InferValue, Latent, Observation};
use super::modules::Unit;
use crate::diagnostics::did_you_mean;
use crate::graph::{NodeKind, Ty};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, Ident, InferArg, StmtKind, TypeExpr, UnOp};
use std::collections::HashMap;

impl Ctx<'_> {
    fn declare(&mut self, name: &Ident, kind: NameKind) {
        if is_reserved(&name.name) {
            self.error(CheckError::ShadowsBuiltin {
                name: name.name.clone(),
                span: name.span,
            });
            self.poisoned.insert(name.name.clone());
        } else if let Some(first) = self.decls.get(&name.name) {
            let first = first.span;
            self.error(CheckError::Duplicate {
                name: name.name.clone(),
                span: name.span,
                first,
            });
        } else {
            self.decls.insert(
                name.name.clone(),
                Decl {
                    kind,
                    span: name.span,
                },
            );
        }
    }

    /// Pass 1: every top-level name (functions are visible everywhere, so they may be mutually recursive).
    pub(super) fn declare_all(&mut self, units: &[Unit]) {
        for u in units {
            match &u.stmt.kind {
                StmtKind::Data { name, .. } => self.declare(name, NameKind::Data),
                StmtKind::Let { name, .. } => self.declare(name, NameKind::Let),
                StmtKind::Prior { name, .. } => self.declare(name, NameKind::Latent),
                StmtKind::Fn { name, params, body } => {
                    let first_def = !self.decls.contains_key(&name.name);
                    self.declare(name, NameKind::Fn);
                    let mut seen: HashMap<&str, Span> = HashMap::new();
                    for p in params {
                        if is_reserved(&p.name) {
                            self.error(CheckError::ShadowsBuiltin {
                                name: p.name.clone(),
                                span: p.span,
                            });
                        } else if let Some(first) = seen.insert(&p.name, p.span) {
                            self.error(CheckError::Duplicate {
                                name: p.name.clone(),
                                span: p.span,
                                first,
                            });
                        }
                    }
                    if first_def && !is_reserved(&name.name) {
                        let def = FnDef {
                            name: name.clone(),
                            params: params.clone(),
                            body: body.clone(),
                        };
                        self.fns.insert(name.name.clone(), def);
                    }
                }
                _ => {}
            }
        }
    }

    fn ty_expr(&mut self, t: &TypeExpr) -> Option<Ty> {
        let ty = Ty {
            elem: t.elem,
            shape: t.dims.iter().map(|(d, _)| *d).collect(),
        };
        self.size_ok(&ty, t.span).then_some(ty)
    }

    /// Pass 2: lower statements in order.
    pub(super) fn statements(&mut self, units: &[Unit]) {
        for u in units {
            let span = u.stmt.span;
            match &u.stmt.kind {
                StmtKind::Data { name, ty, default } => {
                    let Some(ty) = self.ty_expr(ty) else {
                        self.poisoned.insert(name.name.clone());
                        continue;
                    };
                    let default = default.as_ref().map(|s| self.resolve(s.span.file, &s.value));
                    let i = self.data.len();
                    self.data.push(DataDecl {
                        name: name.name.clone(),
                        ty: ty.clone(),
                        default,
                        span,
                    });
                    let id = self.push(NodeKind::Data(i), ty, name.span);
                    self.values.entry(name.name.clone()).or_insert(id);
                }
                StmtKind::Let { name, value } => match self.expr(value, &Locals::new()) {
                    Some(id) => {
                        self.values.entry(name.name.clone()).or_insert(id);
                    }
                    None => {
                        self.poisoned.insert(name.name.clone());
                    }
                },
                StmtKind::Prior { name, ty, dist } => self.prior_stmt(name, ty.as_ref(), dist, span),
                StmtKind::Observe { name, dist } => self.observe(name, dist, span),
                StmtKind::Infer { sampler, args } => self.infer_stmt(sampler, args, span),
                StmtKind::Output { names } => self.output_stmt(names),
                StmtKind::Fn { .. } | StmtKind::Import { .. } | StmtKind::Error => {}
            }
        }
    }

    fn prior_stmt(&mut self, name: &Ident, ty: Option<&TypeExpr>, dist: &Expr, span: Span) {
        let declared = match ty {
            Some(t) => match self.ty_expr(t) {
                Some(d) => Some((d, t)),
                None => {
                    self.poisoned.insert(name.name.clone());
                    return;
                }
            },
            None => None,
        };
        let Some((prior, ty)) = self.prior(&name.name, declared, dist) else {
            self.poisoned.insert(name.name.clone());
            return;
        };
        let i = self.latents.len();
        let node = self.push(NodeKind::Latent(i), ty.clone(), name.span);
        self.latents.push(Latent {
            name: name.name.clone(),
            ty,
            prior,
            span,
            node,
        });
        self.values.entry(name.name.clone()).or_insert(node);
    }

    fn observe(&mut self, name: &Ident, dist: &Expr, span: Span) {
        let Some(i) = self.data.iter().position(|d| d.name == name.name) else {
            if self.poisoned.contains(&name.name) {
                return;
            }
            let err = match self.decls.get(&name.name) {
                Some(d) if d.kind == NameKind::Data => CheckError::UsedBeforeDefinition {
                    name: name.name.clone(),
                    span: name.span,
                    def: d.span,
                },
                Some(d) => CheckError::ObserveNonData {
                    name: name.name.clone(),
                    kind: d.kind,
                    span: name.span,
                    def: d.span,
                },
                None => {
                    let mut cands: Vec<&str> = self.data.iter().map(|d| d.name.as_str()).collect();
                    cands.sort_unstable();
                    let suggestion = did_you_mean(&name.name, cands).map(String::from);
                    CheckError::UnknownName {
                        name: name.name.clone(),
                        span: name.span,
                        suggestion,
                    }
                }
            };
            self.error(err);
            return;
        };
        let (ty, decl) = match self.data.get(i) {
            Some(d) => (d.ty.clone(), d.span),
            None => return,
        };
        let Some((likelihood, observed)) = self.likelihood(&ty, &name.name, decl, dist) else {
            return;
        };
        if let Some(first) = self.observations.iter().find(|o| o.data == i) {
            let first = first.span;
            self.error(CheckError::ObservedTwice {
                name: name.name.clone(),
                span,
                first,
            });
            return;
        }
        self.observations.push(Observation {
            data: i,
            likelihood,
            observed,
            span,
        });
    }

    /// `output a, b`: each a `let` that depends on a latent, written once.
    fn output_stmt(&mut self, names: &[Ident]) {
        for n in names {
            if self.poisoned.contains(&n.name) {
                continue;
            }
            let Some(node) = self.lookup_value(&n.name, n.span) else {
                continue;
            };
            let reason = if self.latents.iter().any(|l| l.node == node) {
                Some("it is a latent, written already".to_string())
            } else if !self.depends_on_latent(node) {
                Some("it does not depend on a latent: it is the same in every draw".to_string())
            } else if let Some(d) = self.outputs.iter().find(|d| d.name == n.name) {
                let _ = d;
                Some("it is listed twice".to_string())
            } else {
                None
            };
            if let Some(reason) = reason {
                self.error(CheckError::OutputName {
                    name: n.name.clone(),
                    reason,
                    span: n.span,
                });
                continue;
            }
            let ty = self.ty(node);
            self.outputs.push(super::model::Derived {
                name: n.name.clone(),
                ty,
                node,
                span: n.span,
            });
        }
    }

    fn infer_stmt(&mut self, sampler: &Ident, args: &[InferArg], span: Span) {
        if let Some((_, first)) = &self.infer {
            let first = *first;
            self.error(CheckError::MultipleInfer { span, first });
            return;
        }
        let mut out: Vec<(Ident, InferValue)> = Vec::new();
        for a in args {
            if let Some((first, _)) = out.iter().find(|(k, _)| k.name == a.key.name) {
                let first = first.span;
                self.error(CheckError::DuplicateInferKey {
                    key: a.key.name.clone(),
                    span: a.key.span,
                    first,
                });
                continue;
            }
            match infer_value(&a.value) {
                Some(v) => out.push((a.key.clone(), v)),
                None => self.error(CheckError::InferValue {
                    key: a.key.name.clone(),
                    span: a.value.span,
                }),
            }
        }
        self.infer = Some((
            InferSpec {
                sampler: sampler.clone(),
                args: out,
            },
            span,
        ));
    }
}

/// A number (possibly negated) or a string literal.
fn infer_value(e: &Expr) -> Option<InferValue> {
    match &e.kind {
        ExprKind::Num(x) => Some(InferValue::Num(*x)),
        ExprKind::Str(s) => Some(InferValue::Str(s.clone())),
        ExprKind::Unary {
            op: UnOp::Neg,
            operand,
        } => match infer_value(operand)? {
            InferValue::Num(x) => Some(InferValue::Num(-x)),
            InferValue::Str(_) => None,
        },
        _ => None,
    }
}
