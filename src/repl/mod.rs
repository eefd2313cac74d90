//! The REPL session (`uq repl`): statements typed one by one, re-checked as a whole, expressions evaluated.
//!
//! [`Session::eval_line`] takes one complete input (a statement, an expression or a `:command`) and
//! returns its [`Output`]; it needs no terminal, so the CLI's rustyline front end and the tests share
//! it. Redefining a name replaces its statement in place; a statement that makes the model invalid is
//! rejected with the same diagnostics as `uq check`, pointing into the text just typed.

mod commands;
mod complete;
mod eval;
mod model;
mod run;

pub use complete::{Scope, COMMANDS};

use crate::check::{bind_data, Model};
use crate::diagnostics::{render_all, Diagnostic};
use crate::graph::{Graph, Ty, Value};
use crate::session::RunProgress;
use crate::source::SourceMap;
use crate::syntax::parse;
use model::{Checked, Entry, Key, Typed};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What one input produced: text for stdout, rendered diagnostics and errors for stderr.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub out: String,
    pub err: String,
    /// `:quit` was typed.
    pub quit: bool,
    /// The input failed: an error was reported (warnings alone do not count). A piped script
    /// exits non-zero when any input failed.
    pub failed: bool,
}

impl Output {
    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }
    fn error(&mut self, s: impl AsRef<str>) {
        self.failed = true;
        self.err.push_str("error: ");
        self.err.push_str(s.as_ref());
        self.err.push('\n');
    }
}

const NOT_ADDED: &str = "(not added: the model stays as it was)\n";

/// Flags shared with a Ctrl-C handler: `stop` ends the running sampler (its draws so far are kept).
#[derive(Debug, Default)]
pub struct Interrupt {
    pub stop: AtomicBool,
    /// True while `:sample` runs.
    pub sampling: AtomicBool,
}

/// A data file read for a declaration, remembered so that re-checks neither re-read nor re-report it.
struct Bound {
    name: String,
    ty: Ty,
    path: PathBuf,
    value: Option<Value>,
}

/// The state of one REPL session.
pub struct Session {
    entries: Vec<Entry>,
    /// Where relative paths in the model resolve (the loaded file's folder, else the working directory).
    dir: Option<PathBuf>,
    name: String,
    /// `:data` / `--data` bindings (paths relative to the working directory).
    bindings: Vec<(String, PathBuf)>,
    checked: Option<Checked>,
    bound: Vec<Bound>,
    scope: Scope,
    last: Option<run::LastRun>,
    colour: bool,
    interrupt: Arc<Interrupt>,
}

impl Session {
    /// An empty session; `colour` renders diagnostics with ANSI colours.
    pub fn new(colour: bool) -> Self {
        Session {
            entries: Vec::new(),
            dir: None,
            name: "repl".into(),
            bindings: Vec::new(),
            checked: None,
            bound: Vec::new(),
            scope: Scope::default(),
            last: None,
            colour,
            interrupt: Arc::new(Interrupt::default()),
        }
    }

    /// The flags a Ctrl-C handler sets.
    pub fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }

    /// Names in scope and signatures, for completion and hints.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Bind data `name` to `path` (relative to the working directory) from the next check on, silently
    /// (`:data` binds at once and reports).
    pub fn add_binding(&mut self, name: &str, path: &Path) {
        self.bindings.retain(|(n, _)| n != name);
        self.bindings.push((name.to_string(), path.to_path_buf()));
    }

    /// Evaluate one complete input (see [`Session::eval_with`]); `:sample` shows no progress.
    pub fn eval_line(&mut self, text: &str) -> Output {
        self.eval_with(text, &|_| {})
    }

    /// Evaluate one complete input: a `:command`, one or more statements, or an expression.
    /// `progress` receives the sampler's progress during `:sample`.
    pub fn eval_with(&mut self, text: &str, progress: &(dyn Fn(RunProgress<'_>) + Sync)) -> Output {
        let text = text.trim_end();
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Output::default();
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            return self.command(cmd, progress);
        }
        if is_statement(trimmed) {
            self.define(text)
        } else {
            self.expression(text, false)
        }
    }

    fn render(&self, diags: &[Diagnostic], sources: &SourceMap) -> String {
        render_all(diags, sources, self.colour)
    }

    /// Add or replace the statements of `text`; reject them all if the model no longer checks.
    fn define(&mut self, text: &str) -> Output {
        let mut out = Output::default();
        let mut sources = SourceMap::new();
        let id = sources.add(model::INPUT, None, text);
        let (program, diags) = parse(id, text);
        if !diags.is_empty() {
            out.failed = true;
            out.err = self.render(&diags, &sources);
            out.err.push_str(NOT_ADDED);
            return out;
        }
        let mut entries = self.entries.clone();
        let mut pieces = Vec::new();
        let mut notes = Vec::new();
        for stmt in &program.stmts {
            let Some(key) = Key::of(&stmt.kind) else { continue };
            let piece = text.get(stmt.span.start..stmt.span.end).unwrap_or("").trim_end();
            let entry = Entry {
                key: key.clone(),
                text: piece.to_string(),
                is_prior: matches!(stmt.kind, crate::syntax::ast::StmtKind::Prior { .. }),
            };
            let (i, replaced) = model::upsert(&mut entries, entry);
            // Typed twice on one line: the later statement is the one kept.
            pieces.retain(|(j, _)| *j != i);
            pieces.push((i, stmt.span.start));
            notes.retain(|(k, _)| *k != key);
            notes.push((key, replaced));
        }
        let typed = Typed { text, pieces };
        match model::check(&entries, self.dir.as_deref(), &typed, None) {
            Err(failed) => {
                out.failed = true;
                out.err = self.render(&failed.diags, &failed.sources);
                out.err.push_str(NOT_ADDED);
            }
            Ok((checked, _)) => {
                if !checked.model.warnings.is_empty() {
                    out.err = self.render(&checked.model.warnings, &checked.sources);
                }
                self.entries = entries;
                self.install(checked, &mut out);
                for (key, replaced) in notes {
                    let line = self.describe(&key);
                    out.line(if replaced {
                        format!("{line}   (replaced)")
                    } else {
                        line
                    });
                }
            }
        }
        out
    }

    /// Make `checked` the current model: refresh the scope and bind its data.
    fn install(&mut self, mut checked: Checked, out: &mut Output) {
        checked.model.name = self.name.clone();
        self.scope = Scope::of(&self.entries, self.dir.as_deref());
        for d in &checked.model.data {
            let path = match self.bindings.iter().rev().find(|(n, _)| *n == d.name) {
                Some((_, p)) => Some((p.clone(), true)),
                None => d.default.clone().map(|p| (p, false)),
            };
            let Some((path, is_override)) = path else { continue };
            let known = self
                .bound
                .iter()
                .any(|b| b.name == d.name && b.ty == d.ty && b.path == path);
            if known {
                continue;
            }
            let one = Model {
                name: self.name.clone(),
                graph: Graph::default(),
                latents: Vec::new(),
                data: vec![d.clone()],
                observations: Vec::new(),
                outputs: Vec::new(),
                infer: None,
                warnings: Vec::new(),
            };
            let overrides = if is_override {
                vec![(d.name.clone(), path.clone())]
            } else {
                Vec::new()
            };
            let mut sources = checked.sources.clone();
            let value = match bind_data(&one, &overrides, &mut sources) {
                Ok(mut v) => v.pop(),
                Err(diags) => {
                    out.failed = true;
                    out.err.push_str(&self.render(&diags, &sources));
                    None
                }
            };
            self.bound.retain(|b| b.name != d.name);
            self.bound.push(Bound {
                name: d.name.clone(),
                ty: d.ty.clone(),
                path,
                value,
            });
        }
        self.checked = Some(checked);
    }

    /// The bound value of each data declaration of the current model (`None`: unbound).
    fn data_values(&self) -> Vec<Option<Value>> {
        let Some(c) = &self.checked else { return Vec::new() };
        c.model
            .data
            .iter()
            .map(|d| {
                let path = match self.bindings.iter().rev().find(|(n, _)| *n == d.name) {
                    Some((_, p)) => Some(p.clone()),
                    None => d.default.clone(),
                };
                let path = path?;
                self.bound
                    .iter()
                    .find(|b| b.name == d.name && b.ty == d.ty && b.path == path)
                    .and_then(|b| b.value.clone())
            })
            .collect()
    }

    /// One line about the statement with `key` in the current model.
    fn describe(&self, key: &Key) -> String {
        let Some(c) = &self.checked else {
            return String::new();
        };
        let m = &c.model;
        let ty_of = |id: crate::graph::NodeId| m.graph.node(id).map(|n| n.ty.to_string()).unwrap_or_default();
        match key {
            Key::Import(name) => {
                let mut fns: Vec<String> = Scope::of(
                    &[Entry {
                        key: key.clone(),
                        text: String::new(),
                        is_prior: false,
                    }],
                    self.dir.as_deref(),
                )
                .fns
                .into_iter()
                .map(|(_, s)| s)
                .collect();
                fns.sort();
                format!("import {name}: {}", fns.join(", "))
            }
            Key::Output(names) => {
                let list: Vec<String> = m
                    .outputs
                    .iter()
                    .filter(|d| names.contains(&d.name))
                    .map(|d| format!("{} : {}", d.name, d.ty))
                    .collect();
                format!("output {}", list.join(", "))
            }
            Key::Infer => match &m.infer {
                Some(i) => format!("infer {}", i.sampler.name),
                None => "infer".into(),
            },
            Key::Observe(name) => {
                let o = m
                    .data_index(name)
                    .and_then(|i| m.observations.iter().find(|o| o.data == i));
                match o.map(|o| &o.likelihood) {
                    Some(l) => {
                        let params = l.signature_params().iter().zip(&l.params);
                        let args: Vec<String> = params
                            .map(|(p, &id)| format!("{}: {}", p.name, ty_of(id)))
                            .collect();
                        format!("{name} ~ {}({})", l.name(), args.join(", "))
                    }
                    None => format!("{name} ~ …"),
                }
            }
            Key::Name(name) => {
                if let Some(l) = m.latents.iter().find(|l| l.name == *name) {
                    let text = self
                        .entries
                        .iter()
                        .find(|e| e.key == *key)
                        .map_or("", |e| e.text.as_str());
                    let dist = text.split_once('~').map_or("", |(_, d)| d.trim());
                    return format!("prior {name} : {} ~ {dist}", l.ty);
                }
                if let Some((j, d)) = m.data.iter().enumerate().find(|(_, d)| d.name == *name) {
                    let state = match self.data_values().get(j) {
                        Some(Some(_)) => "bound".to_string(),
                        _ => format!("unbound: :data {name}=PATH"),
                    };
                    return format!("data {name} : {} ({state})", d.ty);
                }
                if let Some((_, sig)) = self.scope.fns.iter().find(|(n, _)| n == name) {
                    return format!("fn {sig}");
                }
                let value = self.expression(name, false);
                format!("let {name} : {}", value.out.trim_end())
            }
        }
    }
}

/// True when `text` is a statement (starts with a keyword, or has a `~` outside strings).
fn is_statement(text: &str) -> bool {
    let first: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if matches!(
        first.as_str(),
        "import" | "data" | "let" | "fn" | "prior" | "infer"
    ) {
        return true;
    }
    let mut in_string = false;
    for c in text.chars() {
        match c {
            '"' => in_string = !in_string,
            '~' if !in_string => return true,
            '#' if !in_string => return false,
            _ => {}
        }
    }
    false
}
