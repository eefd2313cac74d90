//! Syntax: source text → AST with spans (lexer, layout, chumsky parser with error recovery, dump).

pub mod ast;
mod dump;
mod errors;
mod expr;
mod layout;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use dump::dump;
pub(crate) use lexer::{lex, Keyword, Token};
pub use parser::{is_incomplete, parse};

/// The reserved words of the language, as written (the lexer's list; editors and completion use it).
pub const KEYWORDS: [&str; Keyword::ALL.len()] = {
    let mut out = [""; Keyword::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Keyword::ALL[i].as_str();
        i += 1;
    }
    out
};
