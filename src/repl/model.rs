//! The session's model: statements keyed by what they define, re-assembled and re-checked as one text.

use crate::check::{check_source, check_source_with_expr, Model};
use crate::diagnostics::Diagnostic;
use crate::graph::NodeId;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{Expr, StmtKind};
use std::path::Path;

/// Name of the typed input in diagnostics.
pub const INPUT: &str = "<input>";
/// Name of the re-assembled model in diagnostics (its lines are those `:model` prints).
pub const MODEL: &str = "<model>";
/// Checked after the statements while no `prior` is defined yet, so a model typed step by step can
/// be checked (and its data looked at) before its latent exists.
const PLACEHOLDER: &str = "prior __repl_no_prior_yet : real ~ Flat()";

/// What a statement defines: a later statement with the same key replaces it in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `data`, `let`, `fn` and `prior` share one namespace.
    Name(String),
    /// `NAME ~ DIST` (the likelihood of data `NAME`).
    Observe(String),
    Infer,
    Import(String),
    /// `output a, b` (the names, as listed).
    Output(Vec<String>),
}

impl Key {
    pub fn of(kind: &StmtKind) -> Option<Key> {
        Some(match kind {
            StmtKind::Import { module } => Key::Import(module.name.clone()),
            StmtKind::Data { name, .. }
            | StmtKind::Let { name, .. }
            | StmtKind::Fn { name, .. }
            | StmtKind::Prior { name, .. } => Key::Name(name.name.clone()),
            StmtKind::Observe { name, .. } => Key::Observe(name.name.clone()),
            StmtKind::Infer { .. } => Key::Infer,
            StmtKind::Output { names } => Key::Output(names.iter().map(|n| n.name.clone()).collect()),
            StmtKind::Error => return None,
        })
    }
}

/// One statement of the model, as typed (or read from the loaded file).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Key,
    pub text: String,
    pub is_prior: bool,
}

/// Replace the entry with `entry`'s key in place, or append it; returns its index and whether it replaced.
pub fn upsert(entries: &mut Vec<Entry>, entry: Entry) -> (usize, bool) {
    match entries.iter().position(|e| e.key == entry.key) {
        Some(i) => {
            entries[i] = entry;
            (i, true)
        }
        None => {
            entries.push(entry);
            (entries.len() - 1, false)
        }
    }
}

/// The model as source text, one statement per line (what `:model` prints and `:write` saves).
pub fn source_text(entries: &[Entry]) -> String {
    entries.iter().map(|e| format!("{}\n", e.text)).collect()
}

/// A checked model with the sources its spans point into.
pub struct Checked {
    pub model: Model,
    pub sources: SourceMap,
    /// True when the last latent is the placeholder (no `prior` typed yet).
    pub placeholder: bool,
}

impl Checked {
    /// The latents the user defined (without the placeholder).
    pub fn latents(&self) -> &[crate::check::Latent] {
        let n = self
            .model
            .latents
            .len()
            .saturating_sub(usize::from(self.placeholder));
        &self.model.latents[..n]
    }
}

/// Typed text whose statements became entries: `(entry index, byte offset of the statement in `text`)`.
pub struct Typed<'a> {
    pub text: &'a str,
    pub pieces: Vec<(usize, usize)>,
}

/// A failed check: diagnostics (pointing into the typed text where they can) and their sources.
pub struct Failed {
    pub diags: Vec<Diagnostic>,
    pub sources: SourceMap,
}

/// Check `entries` (plus `expr`, whose spans point into file 0, the typed input). Spans of the
/// diagnostics that fall in a typed statement are moved into the typed text, so ariadne shows the
/// line just typed.
pub fn check(
    entries: &[Entry],
    dir: Option<&Path>,
    typed: &Typed<'_>,
    expr: Option<&Expr>,
) -> Result<(Checked, Option<NodeId>), Failed> {
    let mut sources = SourceMap::new();
    let input = sources.add(INPUT, None, typed.text);
    let mut text = String::new();
    let mut starts = Vec::with_capacity(entries.len());
    for e in entries {
        starts.push(text.len());
        text.push_str(&e.text);
        text.push('\n');
    }
    let placeholder = !entries.iter().any(|e| e.is_prior);
    if placeholder {
        text.push_str(PLACEHOLDER);
        text.push('\n');
    }
    let model_id = FileId(1);
    let result = match expr {
        Some(x) => check_source_with_expr(MODEL, &text, dir, x, &mut sources).map(|(m, n)| (m, Some(n))),
        None => check_source(MODEL, &text, dir, &mut sources).map(|m| (m, None)),
    };
    // The `infer` line is checked against the sampler registry, as `uq check` does.
    let result = result.and_then(|(m, n)| {
        let diags = crate::session::infer_diagnostics(&m);
        if diags.is_empty() {
            Ok((m, n))
        } else {
            Err(diags)
        }
    });
    let ranges: Vec<(usize, usize, usize)> = typed
        .pieces
        .iter()
        .filter_map(|&(i, at)| Some((*starts.get(i)?, entries.get(i)?.text.len(), at)))
        .collect();
    let fix = |d: &mut Diagnostic| {
        d.span = remap(d.span, model_id, input, &ranges);
        for (s, _) in &mut d.secondary {
            *s = remap(*s, model_id, input, &ranges);
        }
    };
    match result {
        Ok((mut model, node)) => {
            model.warnings.iter_mut().for_each(fix);
            let checked = Checked {
                model,
                sources,
                placeholder,
            };
            Ok((checked, node))
        }
        Err(mut diags) => {
            diags.iter_mut().for_each(fix);
            Err(Failed { diags, sources })
        }
    }
}

/// Move a span of the assembled model into the typed input when it lies in a typed statement.
fn remap(span: Span, model: FileId, input: FileId, ranges: &[(usize, usize, usize)]) -> Span {
    if span.file != model {
        return span;
    }
    for &(start, len, at) in ranges {
        if span.start >= start && span.start <= start + len {
            let end = span.end.clamp(span.start, start + len);
            return Span::new(input, at + span.start - start, at + end - start);
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: Key, text: &str) -> Entry {
        Entry {
            key,
            text: text.into(),
            is_prior: text.starts_with("prior"),
        }
    }

    #[test]
    fn redefining_replaces_in_place() {
        let mut es = vec![
            entry(Key::Name("a".into()), "let a = 1"),
            entry(Key::Name("b".into()), "let b = 2"),
        ];
        let (i, replaced) = upsert(&mut es, entry(Key::Name("a".into()), "let a = 3"));
        assert_eq!((i, replaced), (0, true));
        assert_eq!(source_text(&es), "let a = 3\nlet b = 2\n");
        let (i, replaced) = upsert(&mut es, entry(Key::Observe("a".into()), "a ~ Poisson(x)"));
        assert_eq!((i, replaced), (2, false));
    }

    #[test]
    fn spans_in_a_typed_statement_move_to_the_input() {
        let ranges = [(10, 9, 0)];
        let s = remap(Span::new(FileId(1), 14, 15), FileId(1), FileId(0), &ranges);
        assert_eq!(s, Span::new(FileId(0), 4, 5));
        let other = remap(Span::new(FileId(1), 2, 3), FileId(1), FileId(0), &ranges);
        assert_eq!(other, Span::new(FileId(1), 2, 3));
    }
}
