//! Diagnostics: the one place that talks to ariadne; every stage's error becomes a `Diagnostic`.

use crate::source::{SourceMap, Span};
use ariadne::{Color, Config, Label, Report, ReportKind};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A located, coded message with optional secondary labels and a help line.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0101`; documented in `docs/errors.md`.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// Text of the primary label (under the caret).
    pub label: String,
    pub secondary: Vec<(Span, String)>,
    pub help: Option<String>,
    pub note: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        Diagnostic {
            severity: Severity::Error,
            code,
            label: message.clone(),
            message,
            span,
            secondary: Vec::new(),
            help: None,
            note: None,
        }
    }

    /// The same message as a warning (for problems that do not make the model invalid).
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Render with ariadne: `error[E0101]: message` + `file:line:col` + code window + help.
    pub fn render(&self, sources: &SourceMap, colour: bool) -> String {
        let file = sources.name(self.span.file).to_string();
        let (line, col) = sources.line_col(self.span.file, self.span.start);
        let kind = match self.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let primary_colour = Color::Red;
        let mut report = Report::build(kind, (file.clone(), self.span.start..self.span.end))
            .with_config(
                Config::default()
                    .with_color(colour)
                    .with_compact(false)
                    .with_index_type(ariadne::IndexType::Byte),
            )
            .with_code(self.code)
            .with_message(format!("{} (at {file}:{line}:{col})", self.message))
            .with_label(
                Label::new((file.clone(), self.span.start..self.span.end))
                    .with_message(&self.label)
                    .with_color(primary_colour)
                    .with_order(0),
            );
        for (i, (span, text)) in self.secondary.iter().enumerate() {
            let name = sources.name(span.file).to_string();
            report = report.with_label(
                Label::new((name, span.start..span.end))
                    .with_message(text)
                    .with_color(Color::Blue)
                    .with_order(i as i32 + 1),
            );
        }
        if let Some(help) = &self.help {
            report = report.with_help(help);
        }
        if let Some(note) = &self.note {
            report = report.with_note(note);
        }
        let cache = ariadne::sources(sources.files().map(|(_, f)| (f.name.clone(), f.text.clone())));
        let mut out = Vec::new();
        if report.finish().write(cache, &mut out).is_err() {
            // Fall back to a plain line rather than losing the message.
            let mut s = String::new();
            let _ = writeln!(s, "error[{}]: {} at {file}:{line}:{col}", self.code, self.message);
            return s;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Render many diagnostics, separated by blank lines.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, colour: bool) -> String {
    diags
        .iter()
        .map(|d| d.render(sources, colour))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Damerau-free Levenshtein suggestion: the closest candidate within a third of the length.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
