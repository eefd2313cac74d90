//! The `:commands`: load, bind data, types, model text, graph, plan, sample, summary, save, write, reset.

use super::model::{self, Entry, Key, Typed};
use super::{run, Output, Session, COMMANDS};
use crate::check::{builtins, check_file};
use crate::diagnostics::did_you_mean;
use crate::graph::{Syntax, OPS};
use crate::session::{self, RunProgress};
use crate::source::{FileId, SourceMap};
use crate::syntax::ast::StmtKind;
use crate::syntax::parse;
use std::path::Path;
use std::sync::atomic::Ordering;

impl Session {
    pub(super) fn command(&mut self, cmd: &str, progress: &(dyn Fn(RunProgress<'_>) + Sync)) -> Output {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        let mut out = Output::default();
        match name {
            "help" | "h" | "?" => help(&mut out),
            "quit" | "q" | "exit" => out.quit = true,
            "load" | "l" => return self.load(Path::new(arg)),
            "data" | "d" => return self.data(arg),
            "type" | "t" => return self.type_of(arg),
            "model" | "m" if self.entries.is_empty() => out.line("(no statements yet)"),
            "model" | "m" => out.out = model::source_text(&self.entries),
            "graph" | "g" => match &self.checked {
                Some(c) => {
                    let latents: Vec<String> = c.model.latents.iter().map(|l| l.name.clone()).collect();
                    let data: Vec<String> = c.model.data.iter().map(|d| d.name.clone()).collect();
                    out.out = crate::graph::dump(&c.model.graph, &c.sources, &latents, &data);
                }
                None => out.error("no model yet"),
            },
            "plan" | "p" => match self.prepare(&[]) {
                Ok(p) => out.line(format!("sampler: {} — {}", p.plan.sampler, p.plan.reason)),
                Err(m) => out.error(m),
            },
            "sample" | "s" => return self.sample(arg, progress),
            "summary" => match &self.last {
                Some(r) => {
                    out.line(r.table.trim_end());
                    out.line(run::run_line(&r.summary));
                }
                None => out.error("no run yet: :sample first"),
            },
            "save" => match (&self.last, arg) {
                (None, _) => out.error("no run yet: :sample first"),
                (_, "") => out.error("usage: :save DIR"),
                (Some(r), dir) => {
                    let from = r.folder.path().join("run");
                    match crate::output::save_run(&from, Path::new(dir), r.summary.partial) {
                        Ok(to) if r.summary.partial => {
                            out.line(format!("wrote the partial run to {}", to.display()))
                        }
                        Ok(to) => out.line(format!("wrote {}", to.display())),
                        Err(e) => out.error(format!("cannot save: {e}")),
                    }
                }
            },
            "write" | "w" => match arg {
                "" => out.error("usage: :write FILE.uq"),
                file => match std::fs::write(file, model::source_text(&self.entries)) {
                    Ok(()) => out.line(format!("wrote {file}")),
                    Err(e) => out.error(format!("cannot write {file}: {e}")),
                },
            },
            "reset" => {
                *self = Session {
                    interrupt: self.interrupt.clone(),
                    ..Session::new(self.colour)
                };
                out.line("the session is empty");
            }
            other => {
                let names = COMMANDS.iter().map(|(c, _, _)| &c[1..]);
                let hint =
                    did_you_mean(other, names).map_or(String::new(), |s| format!("; did you mean `:{s}`?"));
                out.error(format!("unknown command `:{other}`{hint} (:help lists them)"));
            }
        }
        out
    }

    /// `:load FILE`: check the file as `uq check` would; on success it becomes the session's model.
    pub fn load(&mut self, path: &Path) -> Output {
        let mut out = Output::default();
        if path.as_os_str().is_empty() {
            out.error("usage: :load FILE");
            return out;
        }
        let mut sources = SourceMap::new();
        if let Err(diags) = check_file(path, &mut sources) {
            out.failed = true;
            out.err = self.render(&diags, &sources);
            out.err.push_str("(not loaded: the session is unchanged)\n");
            return out;
        }
        let text = sources.text(FileId(0)).to_string();
        let (program, _) = parse(FileId(0), &text);
        let mut entries = Vec::new();
        for stmt in &program.stmts {
            let Some(key) = Key::of(&stmt.kind) else { continue };
            let piece = text.get(stmt.span.start..stmt.span.end).unwrap_or("").trim_end();
            let is_prior = matches!(stmt.kind, StmtKind::Prior { .. });
            model::upsert(
                &mut entries,
                Entry {
                    key,
                    text: piece.to_string(),
                    is_prior,
                },
            );
        }
        let dir = path.parent().map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".").to_path_buf()
            } else {
                d.to_path_buf()
            }
        });
        let typed = Typed {
            text: "",
            pieces: Vec::new(),
        };
        match model::check(&entries, dir.as_deref(), &typed, None) {
            Err(failed) => {
                out.failed = true;
                out.err = self.render(&failed.diags, &failed.sources);
            }
            Ok((checked, _)) => {
                self.entries = entries;
                self.dir = dir;
                self.name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("model")
                    .to_string();
                self.last = None;
                self.install(checked, &mut out);
                let c = self.checked.as_ref();
                let latents = c.map_or(0, |c| c.latents().len());
                let data = c.map_or(0, |c| c.model.data.len());
                let obs = c.map_or(0, |c| c.model.observations.len());
                out.line(format!(
                    "loaded {}: {} statements, {latents} latent(s), {data} data, {obs} likelihood term(s)",
                    path.display(),
                    self.entries.len()
                ));
            }
        }
        out
    }

    /// `:data NAME=PATH`.
    fn data(&mut self, arg: &str) -> Output {
        let mut out = Output::default();
        let Some((name, path)) = arg
            .split_once('=')
            .filter(|(n, p)| !n.trim().is_empty() && !p.is_empty())
        else {
            out.error("usage: :data NAME=PATH");
            return out;
        };
        let name = name.trim().to_string();
        self.add_binding(&name, Path::new(path.trim()));
        let Some(checked) = self.checked.take() else {
            out.line(format!(
                "`{name}` will be bound when `data {name} : …` is declared"
            ));
            return out;
        };
        let declared = checked.model.data_index(&name);
        self.install(checked, &mut out);
        match declared {
            None => out.line(format!(
                "`{name}` will be bound when `data {name} : …` is declared"
            )),
            Some(j) => {
                if let Some(Some(v)) = self.data_values().get(j) {
                    out.line(format!("{name} : {}  {}", v.ty(), super::eval::describe(v)));
                }
            }
        }
        out
    }

    /// `:type EXPR`: the type of an expression, or the signatures of a function or distribution.
    fn type_of(&mut self, arg: &str) -> Output {
        let mut out = Output::default();
        if arg.is_empty() {
            out.error("usage: :type EXPR");
            return out;
        }
        let sigs = self.scope.signatures(arg);
        let is_value =
            self.scope.names.iter().any(|n| n == arg) && !self.scope.fns.iter().any(|(n, _)| n == arg);
        if !sigs.is_empty() && !is_value {
            sigs.iter().for_each(|s| out.line(s));
            return out;
        }
        self.expression(arg, true)
    }

    /// Check the `infer` line, build the posterior with all data bound, plan and resolve the options
    /// of `:sample WORDS`, as `uq sample` does.
    fn prepare(&self, words: &[&str]) -> Result<session::Prepared, String> {
        let Some(c) = &self.checked else {
            return Err("no model yet: define a `prior` first".into());
        };
        if c.placeholder {
            return Err("the model has no `prior` yet".into());
        }
        let values = self.data_values();
        let mut data = Vec::new();
        for (d, v) in c.model.data.iter().zip(values) {
            match v {
                Some(v) => data.push(v),
                None => return Err(format!("data `{}` is not bound: :data {}=PATH", d.name, d.name)),
            }
        }
        let req = run::request(words)?;
        session::prepare(&c.model, data, &req).map_err(|e| match e {
            session::PrepareError::Model(diags) => self.render(&diags, &c.sources).trim_end().to_string(),
            session::PrepareError::Usage(m) => m,
        })
    }

    /// `:sample [DRAWS] [KEY=VALUE...]`.
    fn sample(&mut self, arg: &str, progress: &(dyn Fn(RunProgress<'_>) + Sync)) -> Output {
        let mut out = Output::default();
        let words: Vec<&str> = arg.split_whitespace().collect();
        let session::Prepared {
            built,
            plan,
            settings,
            notes,
        } = match self.prepare(&words) {
            Ok(p) => p,
            Err(m) => {
                out.error(m);
                return out;
            }
        };
        let Some(c) = &self.checked else { return out };
        notes.iter().for_each(|n| out.line(format!("note: {n}")));
        let line = format!("sampler: {} — {}", plan.sampler, plan.reason);
        progress(RunProgress::Planned(&line));
        out.line(line);
        self.interrupt.stop.store(false, Ordering::SeqCst);
        self.interrupt.sampling.store(true, Ordering::SeqCst);
        let result = run::sample(&c.model, &built, &plan, &settings, progress, &self.interrupt.stop);
        self.interrupt.sampling.store(false, Ordering::SeqCst);
        match result {
            Ok(r) => {
                out.line(run::run_line(&r.summary));
                for w in &r.summary.warnings {
                    out.err.push_str(&format!("warning: {}\n", w.message));
                }
                out.line(":summary shows the diagnostics table; :save DIR writes the run");
                self.last = Some(r);
            }
            Err(m) => out.error(m),
        }
        out
    }
}

fn help(out: &mut Output) {
    out.line("Type a statement (`let`, `data`, `prior`, `y ~ ...`, `fn`, `import`, `infer`) to add it;");
    out.line("a statement for a name already defined replaces it. Type an expression to evaluate it.");
    for (c, args, what) in COMMANDS {
        let usage = if args.is_empty() {
            c.to_string()
        } else {
            format!("{c} {args}")
        };
        out.line(format!("  {usage:32} {what}"));
    }
    out.line(format!(
        "  :sample options: {}",
        run::option_keys().collect::<Vec<_>>().join(", ")
    ));
    out.line(format!(
        "  samplers: {}",
        session::sampler_names().collect::<Vec<_>>().join(", ")
    ));
    let names: Vec<&str> = builtins().map(|b| b.name()).collect();
    out.line(format!(
        "Built-in functions (`:type NAME` shows the signatures): {}",
        names.join(", ")
    ));
    let ops: Vec<String> = OPS
        .iter()
        .filter(|d| !d.is_callable())
        .map(|d| written(d.syntax))
        .collect();
    out.line(format!("Operators: {}", ops.join(" ")));
    out.line(format!(
        "  distributions: priors {}; likelihoods {} (:type NAME shows its signatures)",
        crate::dist::names(crate::dist::Role::Prior).join(", "),
        crate::dist::names(crate::dist::Role::Likelihood).join(", ")
    ));
}

/// An operator as written: `+`, or `-x` for a prefix one.
fn written(s: Syntax) -> String {
    match s {
        Syntax::Infix(sym) => sym.to_string(),
        Syntax::Prefix(sym) => format!("{sym}x"),
        Syntax::Call => String::new(),
    }
}
