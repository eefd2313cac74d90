//! Syntax: source text → AST with spans (chumsky parser with error recovery).

pub mod ast;
mod parser;

pub use parser::parse;
