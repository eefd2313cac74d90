//! uq: a probabilistic-programming language for Bayesian imaging inverse problems.
//!
//! Pipeline (one module per stage, imports point one way):
//! `syntax` (text → AST) → `check` (names, types, shapes → typed model) → `graph` (operator DAG with
//! forward + VJP) → `infer` (posterior target, planner, samplers, diagnostics) ← `score` (priors);
//! `output` writes results; the CLI and REPL sit on top. `dist` (the distribution registry: signatures,
//! supports, log densities, prior construction) sits below `check` and is read by every stage.
#![deny(clippy::unwrap_used)]

pub mod calibrate;
pub mod check;
pub mod diagnostics;
pub mod dist;
pub mod fmt;
pub mod graph;
pub mod infer;
pub mod lsp;
pub mod output;
pub mod repl;
pub mod report;
pub mod score;
pub mod session;
pub mod source;
pub mod supn;
pub mod syntax;
