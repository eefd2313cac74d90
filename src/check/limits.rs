//! Bounds on the checker's work: expression depth (inlined bodies included), total work, import depth.
//!
//! The checker lowers expressions recursively and inlines every `fn` call, so a chain of functions
//! that call each other nests as deeply as the chain is long, and functions that call others twice
//! multiply the work at every level. Three documented limits make every such program end in a
//! diagnostic instead of a stack overflow or a hang:
//! - [`MAX_DEPTH`] nested expressions, counting the bodies of inlined functions (E0309);
//! - [`MAX_STEPS`] expressions checked for one model, counting every inlined copy (E0310);
//! - [`MAX_IMPORT_DEPTH`] nested imports (E0110).
//!
//! The recursion itself runs on a thread of its own with a [`CHECK_STACK`]-byte stack, sized for
//! [`MAX_DEPTH`] with a wide margin, so the limit holds whatever the caller's stack (an 8 MiB main
//! thread, a 2 MiB test thread).

use super::errors::CheckError;
use super::lower::Ctx;
use crate::source::Span;

/// Deepest expression nesting followed, counting the bodies of inlined functions. A statement alone
/// nests at most about 1,100 deep (the parser's limits: 100 brackets, 1,000 operators).
pub const MAX_DEPTH: usize = 2_500;
/// Most expressions checked for one model, counting every inlined copy of a function body.
pub const MAX_STEPS: usize = 250_000;
/// Deepest chain of modules importing modules.
pub const MAX_IMPORT_DEPTH: usize = 64;
/// Stack size of the checker's thread: [`MAX_DEPTH`] levels of lowering need well under a tenth.
pub const CHECK_STACK: usize = 256 << 20;

impl Ctx<'_> {
    /// Enter one more nested expression at `span`; false (after reporting it, once) when a limit is
    /// reached, and the expression is then not checked.
    pub(super) fn enter(&mut self, span: Span) -> bool {
        self.steps += 1;
        if self.depth < MAX_DEPTH && self.steps <= MAX_STEPS {
            self.depth += 1;
            return true;
        }
        if !self.limit_reported {
            self.limit_reported = true;
            let outer = self.call_spans.first().copied().unwrap_or(span);
            let err = if self.depth >= MAX_DEPTH {
                CheckError::TooDeep {
                    limit: MAX_DEPTH,
                    chain: chain_summary(&self.stack),
                    span: outer,
                    at: span,
                }
            } else {
                CheckError::TooMuchWork {
                    limit: MAX_STEPS,
                    span: outer,
                }
            };
            self.error(err);
        }
        false
    }

    /// Leave an expression entered with [`Ctx::enter`].
    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// A call or import chain, shortened to its ends: `f1 -> f2 -> … (4,990 more) … -> f4999`.
pub(super) fn chain_summary(stack: &[String]) -> String {
    if stack.len() <= 8 {
        return stack.join(" -> ");
    }
    let (head, tail) = (&stack[..3], &stack[stack.len() - 3..]);
    format!(
        "{} -> … ({} more) … -> {}",
        head.join(" -> "),
        stack.len() - 6,
        tail.join(" -> ")
    )
}

/// Run `f` on a thread with a [`CHECK_STACK`]-byte stack; `None` when no thread can be started.
pub(super) fn on_check_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("uq-check".into())
            .stack_size(CHECK_STACK)
            .spawn_scoped(s, f)
            .ok()?;
        Some(
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chains_are_shortened() {
        let names: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
        assert_eq!(chain_summary(&names[..2]), "f0 -> f1");
        assert_eq!(
            chain_summary(&names),
            "f0 -> f1 -> f2 -> … (4 more) … -> f7 -> f8 -> f9"
        );
    }
}
