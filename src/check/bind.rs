//! Data binding: `--data NAME=PATH` overrides and declared defaults (`.npy`, or BART `.cfl/.hdr`),
//! loaded and checked against types.

use super::errors::CheckError;
use super::model::Model;
use super::npy::{describe_elem, read_value, NpyError};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::graph::{Ty, Value};
use crate::source::{SourceMap, Span};
use std::path::{Path, PathBuf};

/// Load every declared data tensor, in declaration order.
///
/// `overrides` come from `--data NAME=PATH` (relative to the working directory); they are added to
/// `sources` as a `<command line>` file so that problems with them can point at the argument.
pub fn bind_data(
    model: &Model,
    overrides: &[(String, PathBuf)],
    sources: &mut SourceMap,
) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut spans = Vec::new();
    if !overrides.is_empty() {
        let mut text = String::new();
        let mut offsets = Vec::new();
        for (name, path) in overrides {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str("--data ");
            offsets.push((text.len(), text.len() + name.len()));
            text.push_str(&format!("{name}={}", path.display()));
        }
        let id = sources.add("<command line>", None, text);
        spans = offsets.into_iter().map(|(s, e)| Span::new(id, s, e)).collect();
    }
    let mut chosen: Vec<Option<&Path>> = vec![None; model.data.len()];
    let mut first_span: Vec<Option<Span>> = vec![None; model.data.len()];
    for ((name, path), span) in overrides.iter().zip(&spans) {
        match model.data_index(name) {
            Some(i) => {
                if let Some(first) = first_span.get(i).copied().flatten() {
                    errors.push(CheckError::DataOverrideTwice {
                        name: name.clone(),
                        span: *span,
                        first,
                    });
                } else {
                    chosen[i] = Some(path.as_path());
                    first_span[i] = Some(*span);
                }
            }
            None => {
                let mut names: Vec<&str> = model.data.iter().map(|d| d.name.as_str()).collect();
                names.sort_unstable();
                let suggestion = did_you_mean(name, names).map(String::from);
                errors.push(CheckError::UnknownDataOverride {
                    name: name.clone(),
                    span: *span,
                    suggestion,
                });
            }
        }
    }
    let mut values = Vec::with_capacity(model.data.len());
    for ((d, over), given) in model.data.iter().zip(chosen).zip(first_span) {
        let Some(path) = over.or(d.default.as_deref()) else {
            errors.push(CheckError::DataMissing {
                name: d.name.clone(),
                span: d.span,
            });
            continue;
        };
        match load_one(&d.name, &d.ty, path, d.span, given) {
            Ok(v) => values.push(v),
            Err(e) => errors.push(*e),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors.iter().map(CheckError::diagnostic).collect())
    }
}

/// Read `path` as data `name` of type `ty` (a real file may feed complex data). `given` is the span
/// of its `--data` argument (a path relative to the working directory), `None` for the declared
/// default (relative to the model file); a file that cannot be read is reported there.
fn load_one(
    name: &str,
    ty: &Ty,
    path: &Path,
    span: Span,
    given: Option<Span>,
) -> Result<Value, Box<CheckError>> {
    let (name, p) = (name.to_string(), path.display().to_string());
    let value = read_value(path).map_err(|e| {
        Box::new(match e {
            NpyError::Io(_) | NpyError::NotRegular(_) => CheckError::DataUnreadable {
                name: name.clone(),
                path: p.clone(),
                reason: e.to_string(),
                span: given.unwrap_or(span),
                on_command_line: given.is_some(),
            },
            NpyError::TooLarge { shape } => CheckError::DataShape {
                name: name.clone(),
                path: p.clone(),
                found: shape,
                declared: ty.to_string(),
                span,
            },
            NpyError::Corrupt(reason) => CheckError::DataCorrupt {
                name: name.clone(),
                path: p.clone(),
                reason,
                span,
            },
            NpyError::Dtype(d) => CheckError::DataDtype {
                name: name.clone(),
                path: p.clone(),
                found: format!("values of dtype {d}"),
                declared: ty.to_string(),
                span,
            },
        })
    })?;
    let value = if super::cfl::is_cfl(path) {
        super::cfl::fit_singletons(value, &ty.shape)
    } else {
        value
    };
    if value.shape() != ty.shape.as_slice() {
        let found = format!("{:?}", value.shape());
        let declared = ty.to_string();
        return Err(Box::new(CheckError::DataShape {
            name,
            path: p,
            found,
            declared,
            span,
        }));
    }
    if value.is_complex() && !ty.is_complex() {
        let found = describe_elem(&value).to_string();
        return Err(Box::new(CheckError::DataDtype {
            name,
            path: p,
            found,
            declared: ty.to_string(),
            span,
        }));
    }
    let bad = match &value {
        Value::Real(a) => a.iter().filter(|x| !x.is_finite()).count(),
        Value::Complex(a) => a
            .iter()
            .filter(|z| !(z.re.is_finite() && z.im.is_finite()))
            .count(),
    };
    if bad > 0 {
        return Err(Box::new(CheckError::DataNonFinite {
            name,
            path: p,
            count: bad,
            span,
        }));
    }
    Ok(if ty.is_complex() && !value.is_complex() {
        Value::Complex(value.to_complex())
    } else {
        value
    })
}
