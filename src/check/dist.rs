//! Distributions right of `~`, checked from their registry entries: arity, parameter kinds, shapes,
//! constraints. `score(...)` and `supn(...)` have hooks of their own (`score_prior.rs`, `supn_prior.rs`).

use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use super::model::PriorSpec;
use crate::diagnostics::did_you_mean;
use crate::dist::{self, Call, Constraint, Distribution, Param, ParamKind, Role, RuleError, DISTRIBUTIONS};
use crate::graph::{NodeId, Ty, Value};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, TypeExpr};

/// The keyword every likelihood takes besides its parameters: `observed = MASK`.
pub(crate) const OBSERVED: &str = "observed";

/// Split `~`'s right side into a registered distribution and its arguments.
fn as_dist(e: &Expr) -> Result<(&'static dyn Distribution, &[Expr]), Option<String>> {
    match &e.kind {
        ExprKind::Call { callee, args } => match dist::find(&callee.name) {
            Some(d) => Ok((d, args.as_slice())),
            None => Err(did_you_mean(&callee.name, DISTRIBUTIONS.iter().copied()).map(String::from)),
        },
        ExprKind::Var(n) => Err(did_you_mean(n, DISTRIBUTIONS.iter().copied()).map(String::from)),
        _ => Err(None),
    }
}

impl Ctx<'_> {
    /// The distribution and its arguments (the score file's argument is checked by the score hook).
    fn dist_head<'e>(&mut self, e: &'e Expr) -> Option<(&'static dyn Distribution, &'e [Expr])> {
        match as_dist(e) {
            Ok(found) => Some(found),
            Err(suggestion) => {
                self.error(CheckError::NotADistribution {
                    span: e.span,
                    suggestion,
                });
                None
            }
        }
    }

    /// Lower one parameter. Fixed ones must not depend on a latent; real ones must not be complex;
    /// constant positive ones must be positive; a likelihood's location may be anything.
    pub(super) fn param(&mut self, e: &Expr, p: &Param, role: Role) -> Option<NodeId> {
        let id = self.expr(e, &Locals::new())?;
        let (real, positive, fixed) = match p.kind {
            ParamKind::Location if role == Role::Likelihood => return Some(id),
            ParamKind::Fixed { real, constraint } => (real, constraint == Constraint::Positive, true),
            ParamKind::Free { real, constraint } => (real, constraint == Constraint::Positive, false),
            ParamKind::Location | ParamKind::ScoreFile => (false, false, true),
        };
        let ty = self.ty(id);
        if fixed && self.depends_on_latent(id) {
            self.error(CheckError::DependsOnLatent {
                what: p.what.into(),
                span: e.span,
            });
            return None;
        }
        if real && ty.is_complex() {
            self.error(CheckError::ExpectedReal {
                what: p.what.into(),
                found: ty.to_string(),
                span: e.span,
            });
            return None;
        }
        if positive {
            if let Some(v) = self.const_value(id) {
                if !v.to_complex().iter().all(|z| z.re > 0.0) {
                    self.error(CheckError::NotPositive {
                        what: p.what.into(),
                        span: e.span,
                    });
                    return None;
                }
            }
        }
        Some(id)
    }

    /// Bind and lower every parameter (reporting each failure), then give all nodes or none, with
    /// which were given (an omitted optional parameter is its default, a constant).
    fn params(
        &mut self,
        d: &'static dyn Distribution,
        params: &[Param],
        args: &[Expr],
        role: Role,
        span: Span,
    ) -> Option<(Vec<NodeId>, Vec<bool>, Vec<Span>)> {
        let bound = self.bind_args(d, params, args, span)?;
        let mut ids = Vec::with_capacity(params.len());
        let mut ok = true;
        for (p, a) in params.iter().zip(&bound) {
            match (a, p.default) {
                (Some(a), _) => match self.param(a, p, role) {
                    Some(id) => ids.push(id),
                    None => ok = false,
                },
                (None, Some(v)) => ids.push(self.constant(Value::scalar(v), span)),
                (None, None) => ok = false,
            }
        }
        let given = bound.iter().map(Option::is_some).collect();
        let spans = bound.iter().map(|a| a.map_or(span, |a| a.span)).collect();
        ok.then_some((ids, given, spans))
    }

    /// Check a prior; returns its spec and the latent's type.
    pub(super) fn prior(
        &mut self,
        name: &str,
        declared: Option<(Ty, &TypeExpr)>,
        e: &Expr,
    ) -> Option<(PriorSpec, Ty)> {
        let (d, args) = self.dist_head(e)?;
        let dspan = e.span;
        let Some(sig) = d.signature(Role::Prior) else {
            self.error(CheckError::LikelihoodAsPrior {
                name: d.name().into(),
                span: dspan,
            });
            return None;
        };
        if d.name() == dist::SUPN {
            return self.supn(name, args, dspan, declared);
        }
        if sig.params.iter().any(|p| p.kind == ParamKind::ScoreFile) {
            return self.score(args, dspan, declared);
        }
        let (ids, given, spans) = self.params(d, sig.params, args, Role::Prior, dspan)?;
        let tys: Vec<Ty> = ids.iter().map(|&id| self.ty(id)).collect();
        let ty = match d.prior_type(&tys, &given, declared.as_ref().map(|(t, _)| t)) {
            Ok(t) => t,
            Err(RuleError::Shape { arg, detail }) => {
                self.error(CheckError::ParamShape {
                    what: format!("{} prior", d.name()),
                    detail,
                    span: arg.and_then(|i| spans.get(i).copied()).unwrap_or(dspan),
                });
                return None;
            }
            Err(RuleError::NeedsDeclaredType) => {
                let usage = format!("{}()", d.name());
                self.error(CheckError::NeedsDeclaredType {
                    usage,
                    name: name.into(),
                    span: dspan,
                });
                return None;
            }
        };
        for ((p, &id), &aspan) in sig.params.iter().zip(&ids).zip(&spans) {
            if let ParamKind::Fixed {
                constraint: Constraint::Simplex,
                ..
            } = p.kind
            {
                if let Some(detail) = self.const_value(id).and_then(simplex_violation) {
                    self.error(CheckError::NotSimplex {
                        what: p.what.into(),
                        detail,
                        span: aspan,
                    });
                    return None;
                }
            }
        }
        // A support that depends on constant parameters (bounds) must be a valid one.
        let consts: Option<Vec<Value>> = ids.iter().map(|&id| self.const_value(id).cloned()).collect();
        if let Some(values) = consts {
            if let Err(e) = d.support_for(&values.iter().collect::<Vec<_>>()) {
                self.error(CheckError::NotSimplex {
                    what: "bounds".into(),
                    detail: e.to_string(),
                    span: dspan,
                });
                return None;
            }
        }
        if !self.matches_declared(name, declared.as_ref(), &ty, dspan) {
            return None;
        }
        let call = Call {
            dist: d,
            role: Role::Prior,
            params: ids,
        };
        Some((PriorSpec::Dist(call), ty))
    }

    /// Check an observation's likelihood against the observed data's type; with it, the
    /// `observed = MASK` node if given (any likelihood takes it).
    pub(super) fn likelihood(
        &mut self,
        data_ty: &Ty,
        name: &str,
        decl: Span,
        e: &Expr,
    ) -> Option<(Call, Option<NodeId>)> {
        let (d, all_args) = self.dist_head(e)?;
        let mut observed = None;
        let mut args = Vec::with_capacity(all_args.len());
        for a in all_args {
            match &a.kind {
                ExprKind::Named { name, value } if name.name == OBSERVED => {
                    observed = Some(self.observed_mask(value, data_ty)?);
                }
                _ => args.push(a.clone()),
            }
        }
        let args = args.as_slice();
        let Some(sig) = d.signature(Role::Likelihood) else {
            self.error(CheckError::PriorAsLikelihood {
                name: d.name().into(),
                span: e.span,
            });
            return None;
        };
        let real_only = !d.support().allows_complex();
        if real_only && data_ty.is_complex() {
            self.error(CheckError::RealOnly {
                dist: d.name().into(),
                what: format!("data `{name}`"),
                span: decl,
            });
            return None;
        }
        let (ids, _, spans) = self.params(d, sig.params, args, Role::Likelihood, e.span)?;
        for ((p, &id), &aspan) in sig.params.iter().zip(&ids).zip(&spans) {
            let t = self.ty(id);
            match p.kind {
                ParamKind::Location => {
                    if real_only && t.is_complex() {
                        self.error(CheckError::RealOnly {
                            dist: d.name().into(),
                            what: p.name.into(),
                            span: aspan,
                        });
                        return None;
                    }
                    if t != *data_ty {
                        let (data_ty, mean_ty) = (data_ty.to_string(), t.to_string());
                        self.error(CheckError::ObservationType {
                            name: name.into(),
                            param: p.name,
                            data_ty,
                            mean_ty,
                            span: aspan,
                            decl,
                        });
                        return None;
                    }
                }
                ParamKind::Fixed { real, .. } | ParamKind::Free { real, .. } => {
                    let fits = dist::broadcast_shapes(&t.shape, &data_ty.shape).as_deref()
                        == Some(&data_ty.shape[..]);
                    if !fits {
                        let full = if real {
                            Ty::real(data_ty.shape.clone())
                        } else {
                            data_ty.clone()
                        };
                        let detail = format!(
                            "{} is {t}, expected a scalar or a shape that broadcasts to {full}",
                            p.name
                        );
                        self.error(CheckError::ParamShape {
                            what: format!("{} likelihood", d.name()),
                            detail,
                            span: aspan,
                        });
                        return None;
                    }
                }
                ParamKind::ScoreFile => {}
            }
        }
        let call = Call {
            dist: d,
            role: Role::Likelihood,
            params: ids,
        };
        Some((call, observed))
    }
}

/// Why constant weights are not a probability vector, if they are not.
fn simplex_violation(v: &Value) -> Option<String> {
    let Value::Real(a) = v else { return None };
    let total: f64 = a.iter().sum();
    if a.iter().any(|x| *x < 0.0) {
        Some("a weight is negative".to_string())
    } else if (total - 1.0).abs() > 1e-6 {
        Some(format!("they sum to {total}, not 1"))
    } else {
        None
    }
}

impl Ctx<'_> {
    /// Whether a prior's type `ty` is the latent's declared one (`prior x : T ~ …`); if not, the
    /// error is reported.
    pub(super) fn matches_declared(
        &mut self,
        name: &str,
        declared: Option<&(Ty, &TypeExpr)>,
        ty: &Ty,
        span: Span,
    ) -> bool {
        match declared {
            Some((d, te)) if d != ty => {
                let (declared, found) = (d.to_string(), ty.to_string());
                self.error(CheckError::LatentType {
                    name: name.into(),
                    declared,
                    found,
                    span,
                    decl: te.span,
                });
                false
            }
            _ => true,
        }
    }
}
