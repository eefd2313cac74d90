//! The chumsky parser; rule names match `grammar/uq.ebnf`.

use super::ast::Program;
use crate::diagnostics::Diagnostic;
use crate::source::FileId;

/// Parse one file. Always returns a program (with `Error` nodes where recovery happened) and every
/// independent syntax error found.
pub fn parse(file: FileId, text: &str) -> (Program, Vec<Diagnostic>) {
    let _ = (file, text);
    (Program::default(), Vec::new())
}
