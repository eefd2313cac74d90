//! The op registry is the single source of the built-ins: every registered callable appears in the
//! checker's signatures and reserved names, the REPL's completion, `:type` and `:help`, and
//! `docs/ops.md`, and nothing appears there that is not registered.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use uq::check::{builtin, builtins, check_source, ops_markdown};
use uq::dist::DISTRIBUTIONS;
use uq::graph::{Syntax, OPS};
use uq::repl::{Scope, Session};
use uq::source::SourceMap;

fn registered() -> BTreeSet<&'static str> {
    builtins().map(|b| b.name()).collect()
}

/// The checker's built-in ops are exactly the registry's callable ops (plus constant functions).
#[test]
fn checker_builtins_are_the_registry() {
    let ops: BTreeSet<_> = builtins().filter_map(|b| b.op()).map(|d| d.name).collect();
    let callable: BTreeSet<_> = OPS.iter().filter(|d| d.is_callable()).map(|d| d.name).collect();
    assert_eq!(ops, callable);
    for d in OPS.iter().filter(|d| !d.is_callable()) {
        assert!(
            builtin(d.name).is_none(),
            "operator `{}` must not be callable by name",
            d.name
        );
    }
}

/// Check `text` and render its diagnostics.
fn diagnostics(text: &str) -> String {
    let mut sources = SourceMap::new();
    match check_source("t.uq", text, None, &mut sources) {
        Ok(_) => String::new(),
        Err(diags) => diags.iter().map(|d| d.render(&sources, false)).collect(),
    }
}

/// A wrong number of arguments prints every registered signature; the name cannot be redefined.
#[test]
fn checker_prints_registered_signatures_and_reserves_names() {
    let prior = "prior x : real[4, 4] ~ Normal(0, 1)\n";
    for b in builtins() {
        let args = vec!["x"; b.arg_count() + 1].join(", ");
        let out = diagnostics(&format!("{prior}let t = {}({args})\n", b.name()));
        assert!(out.contains("Available signatures"), "{}: {out}", b.name());
        for sig in b.signatures() {
            assert!(out.contains(sig), "{}: `{sig}` missing from\n{out}", b.name());
        }
        let out = diagnostics(&format!("{prior}let {} = 1\n", b.name()));
        assert!(out.contains("E0107"), "{} is not reserved: {out}", b.name());
    }
    let out = diagnostics(&format!("{prior}let t = flipud(x)\n"));
    assert!(out.contains("E0101"), "an unregistered name is unknown: {out}");
}

#[test]
fn repl_completes_and_types_exactly_the_registered() {
    let scope = Scope::default();
    for b in builtins() {
        let (_, cands) = scope.complete(b.name(), b.name().len());
        assert!(cands.iter().any(|c| c == b.name()), "{} not completed", b.name());
        let sigs: Vec<String> = b.signatures().iter().map(|s| s.to_string()).collect();
        assert_eq!(scope.signatures(b.name()), sigs);
    }
    let names = registered();
    for c in ('a'..='z').chain(['_']) {
        let word = c.to_string();
        for cand in scope.complete(&word, 1).1 {
            let known = names.contains(cand.as_str())
                || DISTRIBUTIONS.contains(&cand.as_str())
                || uq::syntax::KEYWORDS.contains(&cand.as_str());
            assert!(known, "the REPL completes `{cand}`, which is not registered");
        }
    }
}

#[test]
fn repl_help_lists_exactly_the_registered() {
    let out = Session::new(false).eval_line(":help").out;
    let line = out
        .lines()
        .find(|l| l.starts_with("Built-in functions"))
        .unwrap_or_else(|| panic!(":help lists no built-ins:\n{out}"));
    let listed: BTreeSet<&str> = line.split(": ").nth(1).unwrap().split(", ").collect();
    assert_eq!(listed, registered());
    let ops = out.lines().find(|l| l.starts_with("Operators: ")).unwrap();
    let listed: Vec<&str> = ops["Operators: ".len()..].split(' ').collect();
    let want: Vec<String> = OPS
        .iter()
        .filter_map(|d| match d.syntax {
            Syntax::Infix(s) => Some(s.to_string()),
            Syntax::Prefix(s) => Some(format!("{s}x")),
            Syntax::Call => None,
        })
        .collect();
    assert_eq!(listed, want);
}

/// `docs/ops.md` is the generated page (rewrite it with `UQ_UPDATE_DOCS=1`), and its tables name
/// exactly the registered operators and functions.
#[test]
fn docs_list_exactly_the_registered() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ops.md");
    let want = ops_markdown();
    if std::env::var_os("UQ_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/ops.md is out of date: run `UQ_UPDATE_DOCS=1 cargo test --test builtins_registry`"
    );
    let (ops_part, fns_part) = have.split_once("## Functions").unwrap();
    let first_code = |row: &str, col: usize| -> Option<String> {
        let cell = row.split('|').nth(col)?.trim();
        cell.strip_prefix('`')?.strip_suffix('`').map(str::to_string)
    };
    let fns: BTreeSet<String> = fns_part.lines().filter_map(|r| first_code(r, 1)).collect();
    let want_fns: BTreeSet<String> = registered().into_iter().map(str::to_string).collect();
    assert_eq!(fns, want_fns);
    let ops: BTreeSet<String> = ops_part.lines().filter_map(|r| first_code(r, 2)).collect();
    let want_ops: BTreeSet<String> = OPS
        .iter()
        .filter(|d| !d.is_callable())
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(ops, want_ops);
}
