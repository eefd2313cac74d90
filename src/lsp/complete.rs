//! Completion: the REPL's completer ([`crate::repl::Scope`]) over the document's line, with kinds
//! and signatures for the editor's list.

use super::position::position;
use super::uri::to_path;
use crate::check::builtin;
use crate::dist::DISTRIBUTIONS;
use crate::repl::Scope;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, CompletionTextEdit, Range, TextEdit, Uri,
};
use std::path::Path;

/// Candidates for the word before byte `at`: keywords, distributions, built-ins, the document's
/// names and those of the modules it imports (module names after `import`).
pub fn completion(uri: &Uri, text: &str, at: usize) -> CompletionResponse {
    let path = to_path(uri);
    let dir = path.as_deref().and_then(Path::parent);
    let scope = Scope::of_source(text, dir);
    let line_start = text.get(..at).and_then(|b| b.rfind('\n')).map_or(0, |i| i + 1);
    let line = text.get(line_start..at).unwrap_or("");
    // A line starting with `:` is a REPL command there; in a file it is no statement.
    let (start, candidates) = if line.trim_start().starts_with(':') {
        (line.len(), Vec::new())
    } else {
        scope.complete(line, line.len())
    };
    let replace = Range::new(position(text, line_start + start), position(text, at));
    let in_import = line.trim_start().starts_with("import");
    let items = candidates
        .into_iter()
        .map(|label| {
            let sigs = scope.signatures(&label);
            let kind = kind_of(&label, &scope, in_import);
            CompletionItem {
                kind: Some(kind),
                detail: (!sigs.is_empty()).then(|| sigs.join(" | ")),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(replace, label.clone()))),
                label,
                ..CompletionItem::default()
            }
        })
        .collect();
    CompletionResponse::Array(items)
}

fn kind_of(label: &str, scope: &Scope, in_import: bool) -> CompletionItemKind {
    if in_import {
        CompletionItemKind::MODULE
    } else if crate::syntax::KEYWORDS.contains(&label) {
        CompletionItemKind::KEYWORD
    } else if DISTRIBUTIONS.contains(&label) {
        CompletionItemKind::CLASS
    } else if scope.fns.iter().any(|(n, _)| n == label) || builtin(label).is_some() {
        CompletionItemKind::FUNCTION
    } else {
        CompletionItemKind::VARIABLE
    }
}
