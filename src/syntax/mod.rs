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
pub use parser::{is_incomplete, parse};
