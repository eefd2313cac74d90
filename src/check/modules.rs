//! Imports: finding modules (the model's folder, then the embedded `stdlib/`), cycles, flattening.

use super::errors::CheckError;
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{Stmt, StmtKind};
use crate::syntax::parse;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The standard library, embedded so the binary works from any folder.
pub const STDLIB: &[(&str, &str)] = &[
    ("mri", include_str!("../../stdlib/mri.uq")),
    ("blur", include_str!("../../stdlib/blur.uq")),
    ("inpaint", include_str!("../../stdlib/inpaint.uq")),
    ("superres", include_str!("../../stdlib/superres.uq")),
    ("phase", include_str!("../../stdlib/phase.uq")),
    ("sense", include_str!("../../stdlib/sense.uq")),
    ("radial", include_str!("../../stdlib/radial.uq")),
];

/// A statement of the model or of an imported module, in import order.
#[derive(Clone, Debug)]
pub struct Unit {
    pub stmt: Stmt,
}

/// Everything gathered from a model and its imports.
#[derive(Default)]
pub struct Loaded {
    pub units: Vec<Unit>,
    pub syntax: Vec<Diagnostic>,
    pub errors: Vec<CheckError>,
}

struct Loader<'a> {
    sources: &'a mut SourceMap,
    model_dir: Option<PathBuf>,
    stack: Vec<String>,
    done: HashSet<String>,
    out: Loaded,
}

/// Parse the model in `file` and, recursively, every module it imports, in import order.
pub fn load(sources: &mut SourceMap, file: FileId, model_name: &str, model_dir: Option<&Path>) -> Loaded {
    let mut l = Loader {
        sources,
        model_dir: model_dir.map(Path::to_path_buf),
        stack: vec![model_name.to_string()],
        done: HashSet::new(),
        out: Loaded::default(),
    };
    l.file(file, None);
    l.out
}

impl Loader<'_> {
    fn file(&mut self, file: FileId, module: Option<&str>) {
        let text = self.sources.text(file).to_string();
        let (program, diags) = parse(file, &text);
        self.out.syntax.extend(diags);
        for stmt in program.stmts {
            match &stmt.kind {
                StmtKind::Import { module: m } => self.import(&m.name, m.span),
                StmtKind::Fn { .. } | StmtKind::Let { .. } | StmtKind::Error => {
                    self.out.units.push(Unit { stmt })
                }
                other => match module {
                    Some(m) => self.out.errors.push(CheckError::ModuleStatement {
                        module: m.to_string(),
                        what: statement_kind(other),
                        span: stmt.span,
                    }),
                    None => self.out.units.push(Unit { stmt }),
                },
            }
        }
    }

    fn import(&mut self, name: &str, span: Span) {
        let stdlib = STDLIB.iter().find(|(n, _)| *n == name);
        // A model named like a stdlib module (models/mri.uq) imports the stdlib module, not itself.
        let is_self = self.stack.len() == 1 && self.stack[0] == name && stdlib.is_some();
        if let Some(pos) = self.stack.iter().position(|n| n == name).filter(|_| !is_self) {
            let mut chain = self.stack[pos..].to_vec();
            chain.push(name.to_string());
            self.out.errors.push(CheckError::ImportCycle { chain, span });
            return;
        }
        if !self.done.insert(name.to_string()) {
            return;
        }
        if self.stack.len() > super::limits::MAX_IMPORT_DEPTH {
            let mut chain = self.stack.clone();
            chain.push(name.to_string());
            self.out.errors.push(CheckError::ImportsTooDeep {
                limit: super::limits::MAX_IMPORT_DEPTH,
                chain: super::limits::chain_summary(&chain),
                span,
            });
            return;
        }
        let local = self
            .model_dir
            .as_ref()
            .map(|d| d.join(format!("{name}.uq")))
            .filter(|p| p.is_file() && !is_self);
        let local = match local.map(|p| (super::read_source(&p), p)) {
            Some((Err(e), p)) => {
                let searched = format!("{} ({e})", p.display());
                self.out.errors.push(CheckError::UnknownModule {
                    name: name.into(),
                    span,
                    suggestion: None,
                    searched,
                });
                return;
            }
            // A full model beside this one (data, priors, observations) is not a module: when the
            // stdlib has a module of that name, that is the one meant.
            Some((Ok(text), _)) if stdlib.is_some() && !is_module_text(&text) => None,
            Some((Ok(text), p)) => Some((text, p)),
            None => None,
        };
        let id = match (local, stdlib) {
            (Some((text, p)), _) => self.sources.add(p.display().to_string(), Some(p), text),
            (None, Some((n, text))) => self.sources.add(format!("stdlib/{n}.uq"), None, *text),
            (None, None) => return self.unknown(name, span),
        };
        self.stack.push(name.to_string());
        self.file(id, Some(name));
        self.stack.pop();
    }

    fn unknown(&mut self, name: &str, span: Span) {
        let mut cands: Vec<String> = STDLIB.iter().map(|(n, _)| n.to_string()).collect();
        let dir = self.model_dir.clone();
        if let Some(entries) = dir.as_ref().and_then(|d| std::fs::read_dir(d).ok()) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "uq") {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        cands.push(stem.to_string());
                    }
                }
            }
        }
        cands.sort();
        let suggestion = did_you_mean(name, cands.iter().map(String::as_str)).map(String::from);
        let searched = match &dir {
            Some(d) if !d.as_os_str().is_empty() => format!("`{}` and the standard library", d.display()),
            Some(_) => "`.` and the standard library".to_string(),
            None => "the standard library".to_string(),
        };
        self.out.errors.push(CheckError::UnknownModule {
            name: name.into(),
            span,
            suggestion,
            searched,
        });
    }
}

/// Whether `text` has only what a module may contain (`fn`, `let`, `import`).
fn is_module_text(text: &str) -> bool {
    let mut scratch = SourceMap::new();
    let id = scratch.add("probe", None, text);
    let (program, _) = parse(id, text);
    program.stmts.iter().all(|s| {
        matches!(
            s.kind,
            StmtKind::Import { .. } | StmtKind::Fn { .. } | StmtKind::Let { .. } | StmtKind::Error
        )
    })
}

fn statement_kind(k: &StmtKind) -> &'static str {
    match k {
        StmtKind::Data { .. } => "`data`",
        StmtKind::Prior { .. } => "`prior`",
        StmtKind::Observe { .. } => "observation",
        StmtKind::Infer { .. } => "`infer`",
        _ => "other",
    }
}
