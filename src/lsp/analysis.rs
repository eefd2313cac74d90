//! Document analysis for the server: the checker's diagnostics as LSP diagnostics, text edits.

use super::position::{offset, range};
use super::uri::to_path;
use crate::check::{bind_data, check_source};
use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};
use crate::syntax::ast::StmtKind;
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range,
    TextDocumentContentChangeEvent, TextEdit, Uri,
};
use std::path::PathBuf;

/// "the model has no latent variable": not an error in a module (a file of `fn`s and `let`s).
const NO_PRIOR: &str = "E0406";

/// Everything `uq check` reports before planning: syntax, names, imports, types and shapes, the
/// `infer` line, and the `data` defaults bound (missing files, shapes that differ from the
/// declarations). Imports and data defaults resolve beside the document's file.
pub fn diagnostics(uri: &Uri, text: &str) -> Vec<lsp_types::Diagnostic> {
    let path = to_path(uri);
    let dir = path.as_deref().and_then(std::path::Path::parent);
    let name = path
        .as_ref()
        .map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
    let mut sources = SourceMap::new();
    let id = FileId(0);
    let diags = match check_source(&name, text, dir, &mut sources) {
        Err(diags) => diags,
        Ok(model) => {
            let mut all = model.warnings.clone();
            all.extend(crate::session::infer_diagnostics(&model));
            if let Err(d) = bind_data(&model, &[], &mut sources) {
                all.extend(d);
            }
            all
        }
    };
    let module = is_module(text);
    let first_import = first_import_range(text);
    diags
        .iter()
        .filter(|d| !(module && d.code == NO_PRIOR))
        .map(|d| to_lsp(d, id, text, uri, &sources, first_import))
        .collect()
}

/// Only `fn`, `let` and `import` statements: a module, not a model.
pub(super) fn is_module(text: &str) -> bool {
    let (program, _) = crate::syntax::parse(FileId(0), text);
    program.stmts.iter().all(|s| {
        matches!(
            s.kind,
            StmtKind::Fn { .. } | StmtKind::Let { .. } | StmtKind::Import { .. } | StmtKind::Error
        )
    })
}

fn first_import_range(text: &str) -> Range {
    let (program, _) = crate::syntax::parse(FileId(0), text);
    program
        .stmts
        .iter()
        .find(|s| matches!(s.kind, StmtKind::Import { .. }))
        .map_or_else(Range::default, |s| range(text, s.span.start, s.span.end))
}

/// One diagnostic: its place in the document, or, for a problem inside an imported module, the
/// first `import` line with the module's place in the message.
fn to_lsp(
    d: &Diagnostic,
    id: FileId,
    text: &str,
    uri: &Uri,
    sources: &SourceMap,
    import_range: Range,
) -> lsp_types::Diagnostic {
    let (place, mut message) = if d.span.file == id {
        (range(text, d.span.start, d.span.end), d.message.clone())
    } else {
        let (line, col) = sources.line_col(d.span.file, d.span.start);
        let file = sources.name(d.span.file);
        (import_range, format!("{file}:{line}:{col}: {}", d.message))
    };
    if !d.label.is_empty() && d.label != d.message {
        message.push_str(&format!("\n{}", d.label));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    if let Some(note) = &d.note {
        message.push_str(&format!("\nnote: {note}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter(|(s, _)| s.file == id)
        .map(|(s, label)| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range(text, s.start, s.end)),
            message: label.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: place,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("uq".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// Apply one change of `didChange`: the whole text, or a range of it (clamped to the text).
pub fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(r) => {
            let start = offset(text, r.start);
            let end = offset(text, r.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

/// `textDocument/formatting`: one edit replacing the whole text when `uq fmt` changes it; a syntax
/// error is reported (with its line) and nothing is changed.
pub fn format_edits(text: &str) -> Result<Vec<TextEdit>, String> {
    match crate::fmt::format_source(FileId(0), text) {
        Ok(out) if out == text => Ok(Vec::new()),
        Ok(out) => Ok(vec![TextEdit::new(range(text, 0, text.len()), out)]),
        Err(diags) => {
            let mut sources = SourceMap::new();
            sources.add("document", None::<PathBuf>, text);
            let first = diags.first().map_or_else(String::new, |d| {
                let (line, col) = sources.line_col(d.span.file, d.span.start);
                format!(": {line}:{col}: {}", d.message)
            });
            Err(format!("not formatted: the file has syntax errors{first}"))
        }
    }
}
