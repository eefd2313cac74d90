//! List literals: `[a, b, ...]` of equally shaped constants, stacked into one constant tensor.

use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use crate::graph::{NodeId, Value};
use crate::source::Span;
use crate::syntax::ast::Expr;
use ndarray::{ArrayD, IxDyn};

impl Ctx<'_> {
    /// `[a, b, ...]`: a constant tensor stacked from equally typed constant elements.
    pub(super) fn list(&mut self, items: &[Expr], span: Span, locals: &Locals) -> Option<NodeId> {
        if items.is_empty() {
            self.error(CheckError::BadList {
                detail: "a list cannot be empty".into(),
                span,
            });
            return None;
        }
        let mut vals = Vec::with_capacity(items.len());
        for it in items {
            let id = self.expr(it, locals)?;
            match self.const_value(id) {
                Some(v) => vals.push(v.clone()),
                None => {
                    let detail = "elements must be constants".to_string();
                    self.error(CheckError::BadList {
                        detail,
                        span: it.span,
                    });
                    return None;
                }
            }
        }
        let first = vals[0].shape().to_vec();
        if let Some((i, v)) = vals
            .iter()
            .enumerate()
            .find(|(_, v)| v.shape() != first.as_slice())
        {
            let detail = format!("elements have different shapes ({} and {})", vals[0].ty(), v.ty());
            self.error(CheckError::BadList {
                detail,
                span: items.get(i).map_or(span, |e| e.span),
            });
            return None;
        }
        let mut shape = vec![vals.len()];
        shape.extend(&first);
        let value = if vals.iter().any(Value::is_complex) {
            let flat: Vec<_> = vals.iter().flat_map(|v| v.to_complex().into_iter()).collect();
            ArrayD::from_shape_vec(IxDyn(&shape), flat)
                .ok()
                .map(Value::Complex)
        } else {
            let flat: Vec<f64> = vals
                .iter()
                .flat_map(|v| v.to_complex().into_iter().map(|z| z.re))
                .collect();
            ArrayD::from_shape_vec(IxDyn(&shape), flat).ok().map(Value::Real)
        };
        match value {
            Some(v) => Some(self.constant(v, span)),
            None => {
                self.error(CheckError::BadList {
                    detail: "inconsistent nesting".into(),
                    span,
                });
                None
            }
        }
    }
}
