//! `uq lsp`: a Language Server Protocol server for `.uq` files, synchronous, on any byte streams.
//!
//! Capabilities: full-text sync with the checker's diagnostics on every change (UTF-16 columns),
//! hover (a name's type and shape, signatures and docs of functions and distributions), completion
//! (the REPL's completer), go to definition (into imported modules and the stdlib) and formatting
//! (`uq fmt`). Messages are `lsp-server`'s JSON-RPC types with `lsp-types` parameters; the framing
//! is ours so that no input (a malformed frame, bad JSON, an unknown method, a position past the
//! end) ends the server or panics.

mod analysis;
mod complete;
mod navigate;
mod position;
mod scope;
mod server;
#[cfg(test)]
mod tests;
mod transport;
mod uri;

pub use server::{serve, Ending};
