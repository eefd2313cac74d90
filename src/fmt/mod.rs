//! `uq fmt`: canonical layout of `.uq` source that keeps every comment and the parsed AST.
//!
//! The formatter works on the lexer's token stream with its trivia (the comments between tokens),
//! not by printing the AST: every token is kept in order (parentheses as written, number literals
//! as written), only the whitespace between tokens and top-level `;` change. So the AST is the same
//! by construction, comments stay where they were, and formatting is idempotent. The rules:
//! - one statement per line: top-level `;` separators become line breaks;
//! - one space between tokens, around binary operators, `~`, `=` and `:`, after `,`; none inside
//!   brackets, before `,`, between a name and its call's `(`, between `real`/`complex` and `[`, or
//!   after a unary `-`;
//! - a statement spread over several lines (line breaks inside brackets) keeps its line breaks;
//!   continuation lines are indented 4 spaces per bracket still open from an earlier line;
//! - trailing comments are kept on their line: two spaces after the code, aligned across a run of
//!   consecutive lines that all carry one; comment lines are indented like code, their text as is
//!   (trailing blanks removed);
//! - at most one blank line in a row, none at the start or end, one newline at the end.
//!
//! A file with a syntax error is not formatted: [`format_source`] returns its diagnostics.

mod files;
mod lines;
#[cfg(test)]
mod tests;

pub use files::{collect_uq_files, format_path, FileOutcome, FmtError};

use crate::diagnostics::Diagnostic;
use crate::source::FileId;

/// The canonical form of `text`, or the syntax errors that prevent formatting it (spans in `file`).
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (_, diags) = crate::syntax::parse(file, text);
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(lines::format_tokens(file, text))
}
