//! The `score("file.safetensors")` prior's own check (or `score("folder")`, a diffusers model): the
//! path, and the latent's type from the file's header or the model's config.

use super::errors::CheckError;
use super::lower::Ctx;
use super::model::PriorSpec;
use crate::graph::Ty;
use crate::score::read_prior_header;
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, TypeExpr};
use std::path::PathBuf;

impl Ctx<'_> {
    /// Check `score(args)`; the latent's type comes from the file's header (or the declaration when
    /// the file cannot be read yet, with a warning).
    pub(super) fn score(
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
        match read_prior_header(&path) {
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
    pub(super) fn score_path(&self, span: Span, file: &str) -> PathBuf {
        let direct = self.resolve(span.file, file);
        let base = self.model_dir.clone().unwrap_or_default();
        let candidates = [
            direct.clone(),
            base.join("models").join(file),
            base.join("..").join("models").join(file),
        ];
        // A file, or a folder (a diffusers model).
        candidates
            .into_iter()
            .find(|p| p.is_file() || p.is_dir())
            .unwrap_or(direct)
    }
}
