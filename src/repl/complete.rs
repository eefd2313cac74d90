//! Tab completion and signature hints: names in scope, stdlib functions, built-ins, distributions, commands.

use super::model::{Entry, Key};
use crate::check::{builtin, builtins, STDLIB};
use crate::dist::{self, DISTRIBUTIONS};
use crate::source::FileId;
use crate::syntax::ast::StmtKind;
use crate::syntax::parse;
use std::path::Path;

/// Every command with its arguments and what it does (`:help` prints this).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (":help", "", "this list"),
    (":load", "FILE", "replace the session's model by a .uq file"),
    (
        ":data",
        "NAME=PATH",
        "bind data NAME to a .npy file (PATH relative to the working directory)",
    ),
    (
        ":type",
        "EXPR",
        "the type of an expression (or a function's signature)",
    ),
    (":model", "", "the current model as source"),
    (":graph", "", "the lowered operator graph"),
    (":plan", "", "the sampler uq would choose, and why"),
    (
        ":sample",
        "[DRAWS] [KEY=VALUE...]",
        "draw posterior samples (Ctrl-C stops the run)",
    ),
    (":summary", "", "the diagnostics table of the last run"),
    (
        ":save",
        "DIR",
        "write the last run's folder (npy, png, summary.json)",
    ),
    (":write", "FILE.uq", "save the current model as a .uq file"),
    (":reset", "", "forget every statement, binding and run"),
    (":quit", "", "leave (Ctrl-D works too)"),
];

/// Names the session knows, with signatures of the functions among them.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `data`, `let`, `prior` and `fn` names of the model and of imported modules.
    pub names: Vec<String>,
    /// `(name, "name(a, b)")` of user and imported functions.
    pub fns: Vec<(String, String)>,
    /// Modules `import` can find beside the model (`*.uq` in its folder); stdlib modules always.
    pub modules: Vec<String>,
}

impl Scope {
    /// Collect the names of `entries` and of the modules they import (beside `dir`, then stdlib).
    pub fn of(entries: &[Entry], dir: Option<&Path>) -> Scope {
        let mut scope = Scope::default();
        for e in entries {
            match &e.key {
                Key::Import(m) => scope.add_module(m, dir),
                _ => scope.add_text(&e.text),
            }
        }
        scope.finish(dir)
    }

    /// Collect the names a whole model text defines and imports (the language server's completion).
    pub fn of_source(text: &str, dir: Option<&Path>) -> Scope {
        let mut scope = Scope::default();
        let (program, _) = parse(FileId(0), text);
        for s in &program.stmts {
            if let StmtKind::Import { module } = &s.kind {
                scope.add_module(&module.name, dir);
            }
        }
        scope.add_text(text);
        scope.finish(dir)
    }

    fn add_module(&mut self, m: &str, dir: Option<&Path>) {
        let local = dir.and_then(|d| std::fs::read_to_string(d.join(format!("{m}.uq"))).ok());
        let text = local.or_else(|| STDLIB.iter().find(|(n, _)| *n == m).map(|(_, t)| t.to_string()));
        if let Some(t) = text {
            self.add_text(&t);
        }
    }

    fn finish(mut self, dir: Option<&Path>) -> Scope {
        self.names.sort();
        self.names.dedup();
        self.modules = local_modules(dir);
        self
    }

    fn add_text(&mut self, text: &str) {
        let (program, _) = parse(FileId(0), text);
        for s in program.stmts {
            match s.kind {
                StmtKind::Fn { name, params, .. } => {
                    let ps: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                    self.fns.retain(|(n, _)| *n != name.name);
                    self.fns
                        .push((name.name.clone(), format!("{}({})", name.name, ps.join(", "))));
                    self.names.push(name.name);
                }
                StmtKind::Data { name, .. } | StmtKind::Let { name, .. } | StmtKind::Prior { name, .. } => {
                    self.names.push(name.name)
                }
                _ => {}
            }
        }
    }

    /// The signatures of a function or distribution name, one per line.
    pub fn signatures(&self, name: &str) -> Vec<String> {
        if let Some((_, sig)) = self.fns.iter().find(|(n, _)| n == name) {
            return vec![sig.clone()];
        }
        if let Some(b) = builtin(name) {
            return b.signatures().iter().map(|s| s.to_string()).collect();
        }
        if DISTRIBUTIONS.contains(&name) {
            return dist::signatures(name);
        }
        Vec::new()
    }

    /// Completions of the word before `pos`: `(start of the word, candidates)`.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        if before.starts_with(':') && !before.contains(char::is_whitespace) {
            let cands = COMMANDS
                .iter()
                .map(|(c, _, _)| c.to_string())
                .filter(|c| c.starts_with(before))
                .collect();
            return (0, cands);
        }
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        if is_import_argument(before, start) {
            let mut cands: Vec<String> = STDLIB
                .iter()
                .map(|(n, _)| n.to_string())
                .chain(self.modules.iter().cloned())
                .filter(|m| m.starts_with(word))
                .collect();
            cands.sort();
            cands.dedup();
            return (start, cands);
        }
        if before.starts_with(":sample") {
            let cands = super::run::option_keys()
                .filter(|k| k.starts_with(word))
                .map(|k| format!("{k}="))
                .collect();
            return (start, cands);
        }
        if word.is_empty() {
            return (pos, Vec::new());
        }
        let mut cands: Vec<String> = self
            .names
            .iter()
            .map(String::as_str)
            .chain(self.fns.iter().map(|(n, _)| n.as_str()))
            .chain(builtins().map(|b| b.name()))
            .chain(DISTRIBUTIONS.iter().copied())
            .chain(crate::syntax::KEYWORDS.iter().copied())
            .filter(|n| n.starts_with(word) && !n.starts_with("__"))
            .map(str::to_string)
            .collect();
        cands.sort();
        cands.dedup();
        (start, cands)
    }

    /// A hint after the cursor at the end of the line: the usage of a command being typed, or the
    /// signature of the innermost call still open.
    pub fn hint(&self, line: &str, pos: usize) -> Option<String> {
        if pos != line.len() || line.is_empty() {
            return None;
        }
        if line.starts_with(':') && !line.contains(' ') {
            let matches: Vec<_> = COMMANDS.iter().filter(|(c, _, _)| c.starts_with(line)).collect();
            if let [(c, args, _)] = matches.as_slice() {
                let rest = c.get(line.len()..).unwrap_or("");
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!(" {args}")
                };
                return Some(format!("{rest}{args}"));
            }
            return None;
        }
        let callee = open_call(line)?;
        let sigs = self.signatures(callee);
        (!sigs.is_empty()).then(|| format!("   {}", sigs.join(" | ")))
    }
}

/// Whether the word starting at `start` is the module name of an `import` statement.
fn is_import_argument(before: &str, start: usize) -> bool {
    let head = before.get(..start).unwrap_or("");
    let stmt = head.rsplit(';').next().unwrap_or(head);
    stmt.trim_start()
        .strip_prefix("import")
        .is_some_and(|rest| rest.starts_with(char::is_whitespace) && rest.trim().is_empty())
}

/// Stems of the `*.uq` files in `dir` (none without a folder: then only stdlib modules import).
fn local_modules(dir: Option<&Path>) -> Vec<String> {
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "uq"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    out.sort();
    out
}

/// The name before the innermost `(` still open at the end of `line`.
fn open_call(line: &str) -> Option<&str> {
    let mut stack = Vec::new();
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' | '[' if !in_string => stack.push((i, c)),
            ')' | ']' if !in_string => {
                stack.pop();
            }
            _ => {}
        }
    }
    let (at, _) = stack.into_iter().rev().find(|(_, c)| *c == '(')?;
    let before = line.get(..at)?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let name = &before[start..];
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let entries = vec![
            Entry {
                key: Key::Import("blur".into()),
                text: "import blur".into(),
                is_prior: false,
            },
            Entry {
                key: Key::Name("sigma".into()),
                text: "let sigma = 0.2".into(),
                is_prior: false,
            },
        ];
        Scope::of(&entries, None)
    }

    #[test]
    fn completes_names_builtins_and_commands() {
        let s = scope();
        assert_eq!(
            s.complete("y ~ Normal(blur_w", 17),
            (11, vec!["blur_with".to_string()])
        );
        assert_eq!(s.complete("let t = sig", 11).1, vec!["sigma".to_string()]);
        assert_eq!(
            s.complete(":sa", 3),
            (0, vec![":sample".to_string(), ":save".to_string()])
        );
        assert!(s.complete("ff", 2).1.contains(&"fft".to_string()));
    }

    #[test]
    fn completes_module_names_after_import() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("brain_ops.uq"), "fn b(x) = x\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let s = Scope::of(&[], Some(dir.path()));
        assert_eq!(
            s.complete("import b", 8),
            (7, vec!["blur".to_string(), "brain_ops".to_string()])
        );
        assert_eq!(s.complete("import ", 7).1.len(), STDLIB.len() + 1);
        assert_eq!(
            s.complete("let a = 1; import m", 19),
            (18, vec!["mri".to_string()])
        );
        // Without a model folder only the standard library can be imported.
        assert_eq!(Scope::default().complete("import ", 7).1.len(), STDLIB.len());
        // Elsewhere `b` completes names, not modules.
        assert!(!s.complete("let x = b", 9).1.contains(&"brain_ops".to_string()));
    }

    #[test]
    fn hints_signatures_of_open_calls() {
        let s = scope();
        assert_eq!(s.hint("blur_with(", 10).as_deref(), Some("   blur_with(x, n, s)"));
        assert!(s
            .hint("y ~ Poisson(", 12)
            .is_some_and(|h| h.contains("Poisson(rate)")));
        assert_eq!(s.hint(":wr", 3).as_deref(), Some("ite FILE.uq"));
        assert_eq!(s.hint("fft(x)", 6), None);
    }
}
