//! Checking: names, imports, types and shapes → a typed model lowered to the operator graph.
//!
//! Entry points: [`check_file`] and [`check_source`] produce a [`Model`]; [`bind_data`] loads the
//! model's `data` tensors. Every failure is a [`Diagnostic`] with a stable code (`docs/errors.md`).

mod args;
mod bind;
mod calls;
mod cfl;
mod constants;
mod dist;
mod errors;
mod limits;
mod lists;
mod lower;
mod model;
mod modules;
mod npy;
mod ops_doc;
mod prune;
mod score_prior;
mod stmts;
mod summary;
mod supn_prior;
mod types;

pub use bind::bind_data;
pub use calls::{builtin, builtins, Builtin};
pub use cfl::{bart_order as cfl_bart_order, header_text as cfl_header, is_cfl, read_value as read_cfl};
pub use errors::{CheckError, NameKind, ALL_CODES};
pub use model::{DataDecl, Derived, InferSpec, InferValue, Latent, Model, Observation, PriorSpec};
pub use modules::STDLIB;
pub use npy::{read_bytes as read_npy_bytes, read_value as read_npy, NpyError};
pub use ops_doc::ops_markdown;
pub use summary::summary;

use crate::diagnostics::Diagnostic;
use crate::graph::NodeId;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::Expr;
use lower::Ctx;
use std::path::Path;

/// Check the model file at `path` (its imports, data defaults and score files resolve beside it).
pub fn check_file(path: &Path, sources: &mut SourceMap) -> Result<Model, Vec<Diagnostic>> {
    let name = path.display().to_string();
    match read_source(path) {
        Ok(text) => {
            let id = sources.add(name, Some(path.to_path_buf()), text);
            let dir = path.parent().map(Path::to_path_buf);
            check_id(id, &stem(path), dir.as_deref(), sources, None).map(|(m, _)| m)
        }
        Err(e) => {
            let id = sources.add(name.clone(), Some(path.to_path_buf()), "");
            let span = Span::new(id, 0, 0);
            Err(vec![CheckError::ModelUnreadable {
                path: name,
                reason: e,
                span,
            }
            .diagnostic()])
        }
    }
}

/// Check model text not read from a file (the REPL); `dir` is where relative paths resolve.
pub fn check_source(
    name: &str,
    text: &str,
    dir: Option<&Path>,
    sources: &mut SourceMap,
) -> Result<Model, Vec<Diagnostic>> {
    let id = sources.add(name, None, text);
    check_id(id, &stem(Path::new(name)), dir, sources, None).map(|(m, _)| m)
}

/// Check model text and lower one more expression in its scope (the REPL's bare expressions and
/// `:type`). `expr` was parsed from a source already in `sources`; the returned node is its value
/// in the model's graph.
pub fn check_source_with_expr(
    name: &str,
    text: &str,
    dir: Option<&Path>,
    expr: &Expr,
    sources: &mut SourceMap,
) -> Result<(Model, NodeId), Vec<Diagnostic>> {
    let id = sources.add(name, None, text);
    let (model, node) = check_id(id, &stem(Path::new(name)), dir, sources, Some(expr))?;
    // A failed expression always reports an error, so `node` is present here.
    node.map(|n| (model, n)).ok_or_else(Vec::new)
}

/// Largest model or module file read (a larger one, or an endless one such as `/dev/zero`, is an
/// error rather than a machine out of memory).
pub const MAX_SOURCE_BYTES: u64 = 8 << 20;

/// Read a model or module file: UTF-8 text of at most [`MAX_SOURCE_BYTES`], without a leading
/// byte-order mark (so that columns on its first line are right).
pub(crate) fn read_source(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(format!("it is larger than {} MiB", MAX_SOURCE_BYTES >> 20));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string()
}

/// The check proper, on the checker's own thread (see [`limits`]), or here when none can start.
fn check_id(
    id: crate::source::FileId,
    name: &str,
    dir: Option<&Path>,
    sources: &mut SourceMap,
    expr: Option<&Expr>,
) -> Result<(Model, Option<NodeId>), Vec<Diagnostic>> {
    let on_thread = limits::on_check_stack(|| check_here(id, name, dir, &mut *sources, expr));
    on_thread.unwrap_or_else(|| check_here(id, name, dir, sources, expr))
}

fn check_here(
    id: crate::source::FileId,
    name: &str,
    dir: Option<&Path>,
    sources: &mut SourceMap,
    expr: Option<&Expr>,
) -> Result<(Model, Option<NodeId>), Vec<Diagnostic>> {
    let loaded = modules::load(sources, id, name, dir);
    if !loaded.syntax.is_empty() {
        return Err(loaded.syntax);
    }
    let mut ctx = Ctx::new(sources, dir.map(Path::to_path_buf));
    ctx.errors.extend(loaded.errors);
    ctx.declare_all(&loaded.units);
    ctx.check_fn_names();
    ctx.statements(&loaded.units);
    let probe = expr.and_then(|e| ctx.expr(e, &lower::Locals::new()));
    if ctx.latents.is_empty() && !ctx.poisoned_latent() {
        let len = sources.text(id).len();
        ctx.error(CheckError::NoPrior {
            span: Span::new(id, 0, len.min(1)),
        });
    }
    let warnings: Vec<Diagnostic> = ctx.warnings.iter().map(CheckError::diagnostic).collect();
    if !ctx.errors.is_empty() {
        return Err(sorted(ctx.errors.iter().map(CheckError::diagnostic).collect()));
    }
    let (mut model, probe) = prune::finish(ctx, name, probe);
    model.warnings = warnings;
    Ok((model, probe))
}

/// In source order, each (code, place) once.
fn sorted(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    diags.dedup_by(|a, b| a.code == b.code && a.span == b.span);
    diags
}
