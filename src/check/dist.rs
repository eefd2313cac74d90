//! Distributions right of `~`: priors (with the latent's type) and observation likelihoods.

use super::builtins::{dist_signatures, DISTRIBUTIONS};
use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use super::model::{Likelihood, PriorSpec};
use super::types::broadcast;
use crate::diagnostics::did_you_mean;
use crate::graph::{NodeId, Ty, Value};
use crate::score::ScoreHeader;
use crate::source::Span;
use crate::syntax::ast::{ElemType, Expr, ExprKind, TypeExpr};
use std::path::PathBuf;

/// Split `~`'s right side into a distribution name and its arguments.
fn as_dist(e: &Expr) -> Result<(&str, &[Expr], Span), Option<String>> {
    match &e.kind {
        ExprKind::Call { callee, args } if DISTRIBUTIONS.contains(&callee.name.as_str()) => {
            Ok((callee.name.as_str(), args.as_slice(), callee.span))
        }
        ExprKind::Call { callee, .. } => {
            Err(did_you_mean(&callee.name, DISTRIBUTIONS.iter().copied()).map(String::from))
        }
        ExprKind::Var(n) => Err(did_you_mean(n, DISTRIBUTIONS.iter().copied()).map(String::from)),
        _ => Err(None),
    }
}

impl Ctx<'_> {
    fn dist_head<'e>(
        &mut self,
        e: &'e Expr,
        arity: impl Fn(&str) -> Option<usize>,
    ) -> Option<(&'e str, &'e [Expr])> {
        match as_dist(e) {
            Ok((name, args, _)) => {
                if let Some(n) = arity(name) {
                    if args.len() != n {
                        let expected = format!("{n} argument{}", if n == 1 { "" } else { "s" });
                        let signatures = dist_signatures(name);
                        self.error(CheckError::Arity {
                            name: name.into(),
                            expected,
                            found: args.len(),
                            span: e.span,
                            signatures,
                        });
                        return None;
                    }
                }
                Some((name, args))
            }
            Err(suggestion) => {
                self.error(CheckError::NotADistribution {
                    span: e.span,
                    suggestion,
                });
                None
            }
        }
    }

    /// A distribution parameter: lowered, real, and (when constant) positive if asked.
    fn param(&mut self, e: &Expr, what: &str, real: bool, positive: bool) -> Option<NodeId> {
        let id = self.expr(e, &Locals::new())?;
        let ty = self.ty(id);
        if self.depends_on_latent(id) {
            self.error(CheckError::DependsOnLatent {
                what: what.into(),
                span: e.span,
            });
            return None;
        }
        if real && ty.is_complex() {
            self.error(CheckError::ExpectedReal {
                what: what.into(),
                found: ty.to_string(),
                span: e.span,
            });
            return None;
        }
        if positive {
            if let Some(v) = self.const_value(id) {
                if !v.to_complex().iter().all(|z| z.re > 0.0) {
                    self.error(CheckError::NotPositive {
                        what: what.into(),
                        span: e.span,
                    });
                    return None;
                }
            }
        }
        Some(id)
    }

    /// Check a prior; returns its spec and the latent's type.
    pub(super) fn prior(
        &mut self,
        name: &str,
        declared: Option<(Ty, &TypeExpr)>,
        e: &Expr,
    ) -> Option<(PriorSpec, Ty)> {
        let arity = |n: &str| match n {
            "Normal" => Some(2),
            "GaussianMixture" => Some(3),
            "Flat" => Some(0),
            _ => None,
        };
        let (dname, args) = self.dist_head(e, arity)?;
        let dspan = e.span;
        let (spec, ty) = match dname {
            "Normal" => {
                let mu = self.param(&args[0], "the prior mean", false, false);
                let sigma = self.param(&args[1], "the prior standard deviation", true, true);
                let (mu, sigma) = (mu?, sigma?);
                let (mt, st) = (self.ty(mu), self.ty(sigma));
                let ty = match broadcast(&mt, &st) {
                    Ok(t) => t,
                    Err(detail) => {
                        self.error(CheckError::ParamShape {
                            what: "Normal prior".into(),
                            detail,
                            span: dspan,
                        });
                        return None;
                    }
                };
                // Scalars broadcast to the declared type.
                let ty = match &declared {
                    Some((d, _)) if ty.is_scalar() => Ty {
                        elem: if ty.is_complex() {
                            ElemType::Complex
                        } else {
                            d.elem
                        },
                        shape: d.shape.clone(),
                    },
                    Some((d, _)) if ty.shape == d.shape && d.is_complex() => d.clone(),
                    _ => ty,
                };
                (PriorSpec::Normal { mu, sigma }, ty)
            }
            "GaussianMixture" => {
                let w = self.param(&args[0], "the mixture weights", true, false);
                let m = self.param(&args[1], "the mixture means", false, false);
                let s = self.param(&args[2], "the mixture standard deviations", true, true);
                let (w, m, s) = (w?, m?, s?);
                let ty = self.mixture(w, m, s, args)?;
                let ty = match &declared {
                    Some((d, _)) if d.shape == ty.shape && d.is_complex() => d.clone(),
                    _ => ty,
                };
                (
                    PriorSpec::GaussianMixture {
                        weights: w,
                        means: m,
                        sigmas: s,
                    },
                    ty,
                )
            }
            "Flat" => match &declared {
                Some((d, _)) => (PriorSpec::Flat, d.clone()),
                None => {
                    self.error(CheckError::FlatNeedsType {
                        name: name.into(),
                        span: dspan,
                    });
                    return None;
                }
            },
            "score" => return self.score(args, dspan, declared),
            other => {
                self.error(CheckError::LikelihoodAsPrior {
                    name: other.into(),
                    span: dspan,
                });
                return None;
            }
        };
        if let Some((d, te)) = declared {
            if d != ty {
                let (declared, found) = (d.to_string(), ty.to_string());
                self.error(CheckError::LatentType {
                    name: name.into(),
                    declared,
                    found,
                    span: dspan,
                    decl: te.span,
                });
                return None;
            }
        }
        Some((spec, ty))
    }

    fn mixture(&mut self, w: NodeId, m: NodeId, s: NodeId, args: &[Expr]) -> Option<Ty> {
        let (wt, mt, st) = (self.ty(w), self.ty(m), self.ty(s));
        let k = match wt.shape.as_slice() {
            [k] => *k,
            _ => {
                let detail = format!("the weights must be a vector real[K], found {wt}");
                self.error(CheckError::ParamShape {
                    what: "GaussianMixture".into(),
                    detail,
                    span: args[0].span,
                });
                return None;
            }
        };
        if mt.shape.first() != Some(&k) {
            let detail = format!("{k} weights but the means are {mt} (expected [{k}] or [{k}, ...])");
            self.error(CheckError::ParamShape {
                what: "GaussianMixture".into(),
                detail,
                span: args[1].span,
            });
            return None;
        }
        if st.shape != [k] {
            let detail = format!("{k} weights but the standard deviations are {st} (expected real[{k}])");
            self.error(CheckError::ParamShape {
                what: "GaussianMixture".into(),
                detail,
                span: args[2].span,
            });
            return None;
        }
        if let Some(Value::Real(a)) = self.const_value(w) {
            let total: f64 = a.iter().sum();
            let detail = if a.iter().any(|x| *x < 0.0) {
                Some("a weight is negative".to_string())
            } else if (total - 1.0).abs() > 1e-6 {
                Some(format!("they sum to {total}, not 1"))
            } else {
                None
            };
            if let Some(detail) = detail {
                self.error(CheckError::MixtureWeights {
                    detail,
                    span: args[0].span,
                });
                return None;
            }
        }
        Some(Ty {
            elem: mt.elem,
            shape: mt.shape[1..].to_vec(),
        })
    }

    fn score(
        &mut self,
        args: &[Expr],
        span: Span,
        declared: Option<(Ty, &TypeExpr)>,
    ) -> Option<(PriorSpec, Ty)> {
        let file = match args {
            [Expr {
                kind: ExprKind::Str(s),
                ..
            }] => s.clone(),
            _ => {
                self.error(CheckError::ScoreArgs { span });
                return None;
            }
        };
        let path = self.score_path(span, &file);
        match ScoreHeader::read(&path) {
            Ok(h) => {
                let shape = vec![h.image_shape[0], h.image_shape[1]];
                let hty = if h.image_channels == 2 {
                    Ty::complex(shape)
                } else {
                    Ty::real(shape)
                };
                if let Some((d, te)) = &declared {
                    if *d != hty {
                        let (declared, header) = (d.to_string(), hty.to_string());
                        let path = path.display().to_string();
                        self.error(CheckError::ScoreType {
                            declared,
                            header,
                            path,
                            span,
                            decl: te.span,
                        });
                        return None;
                    }
                }
                Some((
                    PriorSpec::Score {
                        path,
                        header: Some(h),
                        span,
                    },
                    hty,
                ))
            }
            Err(e) => {
                let reason = e.to_string();
                match declared {
                    Some((d, _)) => {
                        self.warnings.push(CheckError::ScoreUnreadable {
                            reason,
                            span,
                            declared: true,
                        });
                        Some((
                            PriorSpec::Score {
                                path,
                                header: None,
                                span,
                            },
                            d,
                        ))
                    }
                    None => {
                        self.error(CheckError::ScoreUnreadable {
                            reason,
                            span,
                            declared: false,
                        });
                        None
                    }
                }
            }
        }
    }

    /// `file` relative to the model's folder, else `models/` there or beside it.
    fn score_path(&self, span: Span, file: &str) -> PathBuf {
        let direct = self.resolve(span.file, file);
        let base = self.model_dir.clone().unwrap_or_default();
        let candidates = [
            direct.clone(),
            base.join("models").join(file),
            base.join("..").join("models").join(file),
        ];
        candidates.into_iter().find(|p| p.is_file()).unwrap_or(direct)
    }

    /// Check an observation's likelihood against the observed data's type.
    pub(super) fn likelihood(
        &mut self,
        data_ty: &Ty,
        name: &str,
        decl: Span,
        e: &Expr,
    ) -> Option<Likelihood> {
        let arity = |n: &str| match n {
            "Normal" => Some(2),
            "Poisson" => Some(1),
            _ => None,
        };
        let (dname, args) = self.dist_head(e, arity)?;
        let mean_ty_check = |ctx: &mut Self, id: NodeId, span: Span, param: &'static str| {
            let t = ctx.ty(id);
            if t != *data_ty {
                let (data_ty, mean_ty) = (data_ty.to_string(), t.to_string());
                ctx.error(CheckError::ObservationType {
                    name: name.into(),
                    param,
                    data_ty,
                    mean_ty,
                    span,
                    decl,
                });
                return false;
            }
            true
        };
        match dname {
            "Normal" => {
                let mean = self.expr(&args[0], &Locals::new());
                let sigma = self.param(&args[1], "the noise standard deviation", true, true);
                let (mean, sigma) = (mean?, sigma?);
                if !mean_ty_check(self, mean, args[0].span, "mean") {
                    return None;
                }
                let st = self.ty(sigma);
                if !st.is_scalar() && st.shape != data_ty.shape {
                    let detail = format!(
                        "sigma is {st}, expected a scalar or real[{}]",
                        dims(&data_ty.shape)
                    );
                    self.error(CheckError::ParamShape {
                        what: "Normal likelihood".into(),
                        detail,
                        span: args[1].span,
                    });
                    return None;
                }
                Some(Likelihood::Normal { mean, sigma })
            }
            "Poisson" => {
                if data_ty.is_complex() {
                    self.error(CheckError::PoissonComplex {
                        what: format!("data `{name}`"),
                        span: decl,
                    });
                    return None;
                }
                let rate = self.expr(&args[0], &Locals::new())?;
                if self.ty(rate).is_complex() {
                    self.error(CheckError::PoissonComplex {
                        what: "rate".into(),
                        span: args[0].span,
                    });
                    return None;
                }
                if !mean_ty_check(self, rate, args[0].span, "rate") {
                    return None;
                }
                Some(Likelihood::Poisson { rate })
            }
            other => {
                self.error(CheckError::PriorAsLikelihood {
                    name: other.into(),
                    span: e.span,
                });
                None
            }
        }
    }
}

fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}
