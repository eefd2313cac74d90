//! What a name in a document refers to: the word under the cursor, declarations in the document
//! and in the modules it imports (found as the checker finds them: beside the file, then stdlib).

use super::analysis::is_module;
use super::uri::stdlib_file;
use crate::check::STDLIB;
use crate::source::{FileId, Span};
use crate::syntax::ast::{Program, Stmt, StmtKind};
use crate::syntax::{lex, parse, Token};
use std::path::{Path, PathBuf};

/// Most modules followed through nested imports.
const MAX_MODULES: usize = 64;

/// The name (identifier or keyword) under or just before byte `at`: `(start, end, text)`.
pub fn word_at(text: &str, at: usize) -> Option<(usize, usize, &str)> {
    let raw = lex(FileId(0), text);
    let hit = |inclusive: bool| {
        raw.tokens.iter().find(|(t, r)| {
            matches!(t, Token::Ident(_) | Token::Kw(_))
                && r.start <= at
                && (at < r.end || (inclusive && at == r.end))
        })
    };
    let (_, r) = hit(false).or_else(|| hit(true))?;
    Some((r.start, r.end, text.get(r.clone())?))
}

/// A module the document imports, directly or through another module.
pub struct Module {
    pub name: String,
    /// The file an editor can open (a local module, or the stdlib's file).
    pub path: Option<PathBuf>,
    pub text: String,
    pub program: Program,
    /// From the standard library (else a file beside the document).
    pub stdlib: bool,
}

impl Module {
    /// Where it was found, as messages name it.
    pub fn shown(&self) -> String {
        match &self.path {
            Some(p) if !self.stdlib => p.display().to_string(),
            _ => format!("stdlib/{}.uq", self.name),
        }
    }
}

/// The modules `program` imports, in import order, nested imports after their importer.
pub fn imported_modules(program: &Program, doc_path: Option<&Path>) -> Vec<Module> {
    let dir = doc_path.and_then(Path::parent);
    let self_name = doc_path.and_then(|p| p.file_stem()).and_then(|s| s.to_str());
    let mut queue: Vec<String> = imports(program);
    let mut out: Vec<Module> = Vec::new();
    let mut i = 0;
    while let Some(name) = queue.get(i).cloned() {
        i += 1;
        if out.len() >= MAX_MODULES || out.iter().any(|m| m.name == name) {
            continue;
        }
        let Some(module) = find_module(&name, dir, self_name == Some(name.as_str())) else {
            continue;
        };
        queue.extend(imports(&module.program));
        out.push(module);
    }
    out
}

fn imports(program: &Program) -> Vec<String> {
    program
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Import { module } => Some(module.name.clone()),
            _ => None,
        })
        .collect()
}

/// The checker's rule: a `.uq` file beside the model, unless it is the model itself or a full
/// model where the stdlib has a module of that name; else the stdlib module.
fn find_module(name: &str, dir: Option<&Path>, is_self: bool) -> Option<Module> {
    let stdlib = STDLIB.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    let local = dir
        .map(|d| d.join(format!("{name}.uq")))
        .filter(|p| p.is_file() && !(is_self && stdlib.is_some()))
        .and_then(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .filter(|(_, t)| stdlib.is_none() || is_module(t));
    let (path, text, from_stdlib) = match (local, stdlib) {
        (Some((p, t)), _) => (Some(p), t, false),
        (None, Some(t)) => (stdlib_file(name), t.to_string(), true),
        (None, None) => return None,
    };
    let (program, _) = parse(FileId(0), &text);
    Some(Module {
        name: name.to_string(),
        path,
        text,
        program,
        stdlib: from_stdlib,
    })
}

/// What a declaration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Data,
    Let,
    Prior,
    Fn,
    /// A parameter of the `fn` statement given.
    Param,
}

/// A declaration of a name: its kind, the name's span, the whole statement.
pub struct Decl<'p> {
    pub kind: DeclKind,
    pub name_span: Span,
    pub stmt: &'p Stmt,
}

/// The declaration `name` at byte `at` refers to: a parameter of the `fn` around `at`, else the
/// top-level `data`, `let`, `prior` or `fn` of that name (the last one, as redefinitions replace).
pub fn declaration<'p>(program: &'p Program, name: &str, at: Option<usize>) -> Option<Decl<'p>> {
    if let Some(at) = at {
        for stmt in &program.stmts {
            if let StmtKind::Fn { params, .. } = &stmt.kind {
                if stmt.span.start <= at && at <= stmt.span.end {
                    if let Some(p) = params.iter().find(|p| p.name == name) {
                        return Some(Decl {
                            kind: DeclKind::Param,
                            name_span: p.span,
                            stmt,
                        });
                    }
                }
            }
        }
    }
    program.stmts.iter().rev().find_map(|stmt| {
        let (kind, ident) = match &stmt.kind {
            StmtKind::Data { name, .. } => (DeclKind::Data, name),
            StmtKind::Let { name, .. } => (DeclKind::Let, name),
            StmtKind::Prior { name, .. } => (DeclKind::Prior, name),
            StmtKind::Fn { name, .. } => (DeclKind::Fn, name),
            _ => return None,
        };
        (ident.name == name).then_some(Decl {
            kind,
            name_span: ident.span,
            stmt,
        })
    })
}

/// The comment lines right above byte `at` (no blank line between), without their `#`.
pub fn doc_comment(text: &str, at: usize) -> String {
    let before = text.get(..at.min(text.len())).unwrap_or("");
    let mut lines: Vec<&str> = Vec::new();
    for line in before.lines().rev() {
        match line.trim_start().strip_prefix('#') {
            Some(c) => lines.push(c.strip_prefix(' ').unwrap_or(c)),
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n").trim_end().to_string()
}
