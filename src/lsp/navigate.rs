//! Hover (types and shapes of names, signatures and docs of functions and distributions) and go to
//! definition (in the document, and into imported modules).

use super::position::range;
use super::scope::{declaration, doc_comment, imported_modules, word_at, Decl, DeclKind, Module};
use super::uri::{from_path, to_path};
use crate::check::{builtin, check_source_with_expr};
use crate::dist;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{Expr, ExprKind, StmtKind};
use crate::syntax::parse;
use lsp_types::{
    GotoDefinitionResponse, Hover, HoverContents, Location, MarkupContent, MarkupKind, Range, Uri,
};
use std::path::Path;

/// The hover text for the name at byte `at`.
pub fn hover(uri: &Uri, text: &str, at: usize) -> Option<Hover> {
    let (start, end, word) = word_at(text, at)?;
    let (program, _) = parse(FileId(0), text);
    let path = to_path(uri);
    let body = if let Some(decl) = declaration(&program, word, Some(start)) {
        local_hover(&decl, word, text, path.as_deref())
    } else if let Some((module, decl)) = imported(&program, word, path.as_deref()) {
        let mut s = decl_hover(&decl, word, &module.text, None);
        s.push_str(&format!("\n\nfrom `{}`", module.shown()));
        s
    } else {
        library_hover(word)?
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: body,
        }),
        range: Some(range(text, start, end)),
    })
}

/// Where the name at byte `at` is defined.
pub fn definition(uri: &Uri, text: &str, at: usize) -> Option<GotoDefinitionResponse> {
    let (start, _, word) = word_at(text, at)?;
    let (program, _) = parse(FileId(0), text);
    let path = to_path(uri);
    // `import NAME`: the module's file.
    let on_import = program
        .stmts
        .iter()
        .any(|s| matches!(&s.kind, StmtKind::Import { module } if module.span.start == start));
    if on_import {
        let module = imported_modules(&program, path.as_deref())
            .into_iter()
            .find(|m| m.name == word)?;
        let target = from_path(module.path.as_deref()?)?;
        return Some(GotoDefinitionResponse::Scalar(Location::new(
            target,
            Range::default(),
        )));
    }
    if let Some(decl) = declaration(&program, word, Some(start)) {
        let r = range(text, decl.name_span.start, decl.name_span.end);
        return Some(GotoDefinitionResponse::Scalar(Location::new(uri.clone(), r)));
    }
    let (module, decl) = imported(&program, word, path.as_deref())?;
    let target = from_path(module.path.as_deref()?)?;
    let r = range(&module.text, decl.name_span.start, decl.name_span.end);
    Some(GotoDefinitionResponse::Scalar(Location::new(target, r)))
}

/// The first imported module that declares `word`, with the declaration's kind and name span.
fn imported(
    program: &crate::syntax::ast::Program,
    word: &str,
    path: Option<&Path>,
) -> Option<(Module, OwnedDecl)> {
    imported_modules(program, path).into_iter().find_map(|m| {
        let d = declaration(&m.program, word, None).map(|d| OwnedDecl::of(&d, &m.text))?;
        Some((m, d))
    })
}

/// A declaration detached from its program: kind, name span, the statement's text and start.
struct OwnedDecl {
    kind: DeclKind,
    name_span: Span,
    stmt_start: usize,
    signature: String,
}

impl OwnedDecl {
    fn of(d: &Decl<'_>, text: &str) -> OwnedDecl {
        let signature = match &d.stmt.kind {
            StmtKind::Fn { name, params, .. } if d.kind == DeclKind::Fn => {
                let ps: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                format!("fn {}({})", name.name, ps.join(", "))
            }
            StmtKind::Fn { name, .. } => format!("parameter of fn {}", name.name),
            StmtKind::Data { name, ty, default } => {
                let ty = text.get(ty.span.start..ty.span.end).unwrap_or("");
                let default = default
                    .as_ref()
                    .map_or(String::new(), |d| format!(" = {:?}", d.value));
                format!("data {} : {ty}{default}", name.name)
            }
            _ => String::new(),
        };
        OwnedDecl {
            kind: d.kind,
            name_span: d.name_span,
            stmt_start: d.stmt.span.start,
            signature,
        }
    }
}

fn local_hover(decl: &Decl<'_>, word: &str, text: &str, path: Option<&Path>) -> String {
    let owned = OwnedDecl::of(decl, text);
    decl_hover(&owned, word, text, Some((text, path)))
}

/// The declaration as code, its checked type when `model` (the model text and its file) checks,
/// and the comment above it.
fn decl_hover(d: &OwnedDecl, word: &str, text: &str, model: Option<(&str, Option<&Path>)>) -> String {
    let ty = || model.and_then(|(t, p)| type_of(word, t, p));
    let (code, what) = match d.kind {
        DeclKind::Fn => (d.signature.clone(), "function"),
        DeclKind::Param => (word.to_string(), d.signature.as_str()),
        DeclKind::Data => (d.signature.clone(), "data"),
        DeclKind::Let => (
            format!("let {word} : {}", ty().unwrap_or_else(|| "?".into())),
            "binding",
        ),
        DeclKind::Prior => (
            format!("prior {word} : {}", ty().unwrap_or_else(|| "?".into())),
            "latent variable",
        ),
    };
    let mut s = format!("```uq\n{code}\n```\n{what}");
    if matches!(d.kind, DeclKind::Let | DeclKind::Prior) && ty().is_none() {
        s.push_str(" (type known once the model checks)");
    }
    let doc = doc_comment(text, d.stmt_start);
    if !doc.is_empty() && d.kind != DeclKind::Param {
        s.push_str(&format!("\n\n```text\n{doc}\n```"));
    }
    s
}

/// The type and shape of `name` in the model `text`, as the checker computes it.
fn type_of(name: &str, text: &str, path: Option<&Path>) -> Option<String> {
    let mut sources = SourceMap::new();
    let file = path.map_or_else(|| "model.uq".to_string(), |p| p.display().to_string());
    let probe = sources.add("<hover>", None, name);
    let expr = Expr {
        kind: ExprKind::Var(name.to_string()),
        span: Span::new(probe, 0, name.len()),
    };
    let dir = path.and_then(Path::parent);
    let (model, node) = check_source_with_expr(&file, text, dir, &expr, &mut sources).ok()?;
    Some(model.graph.node(node)?.ty.to_string())
}

/// Built-in functions and distributions: signatures and what they do.
fn library_hover(word: &str) -> Option<String> {
    if let Some(b) = builtin(word).filter(|_| !word.starts_with("__")) {
        let sigs = b.signatures().join("\n");
        return Some(format!("```uq\n{sigs}\n```\nbuilt-in function: {}", b.doc()));
    }
    let d = dist::find(word)?;
    let sigs = dist::signatures(word).join("\n");
    Some(format!("```uq\n{sigs}\n```\ndistribution: {}", d.summary()))
}
