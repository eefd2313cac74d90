//! The distribution registry is the single source: the checker's signatures and messages, the REPL's
//! completion, `:type` and `:help`, and `docs/distributions.md` list exactly the registered distributions.

use std::collections::BTreeSet;
use uq::check::{builtin, check_source};
use uq::dist::{self, Role, REGISTRY};
use uq::repl::Session;
use uq::source::SourceMap;

fn registered(role: Option<Role>) -> BTreeSet<String> {
    REGISTRY
        .iter()
        .filter(|d| role.is_none_or(|r| d.signature(r).is_some()))
        .map(|d| d.name().to_string())
        .collect()
}

/// Names in a comma-separated list.
fn listed(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The diagnostics of a model that fails to check.
fn errors(text: &str) -> Vec<uq::diagnostics::Diagnostic> {
    let mut sources = SourceMap::new();
    match check_source("t.uq", text, None, &mut sources) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(d) => d,
    }
}

#[test]
fn the_checker_lists_exactly_the_registry() {
    // Not a distribution: the help lists the names by role.
    let d = errors("prior x ~ 3\n");
    let help = d[0].help.clone().unwrap_or_default();
    let (priors, likelihoods) = help
        .strip_prefix("priors: ")
        .and_then(|h| h.split_once("; likelihoods: "))
        .unwrap_or_else(|| panic!("{help}"));
    assert_eq!(listed(priors), registered(Some(Role::Prior)));
    assert_eq!(listed(likelihoods), registered(Some(Role::Likelihood)));
    // Wrong arity: the checker shows the registry's signatures of that distribution.
    for d in REGISTRY {
        let sigs = dist::signatures(d.name());
        assert_eq!(sigs.len(), d.signatures().len(), "{}", d.name());
        let Some(sig) = d.signatures().first() else {
            panic!("{} has no signature", d.name());
        };
        if sig.params.iter().any(|p| p.kind == dist::ParamKind::ScoreFile) {
            continue; // `score` reports its file argument itself (E0603)
        }
        let args = vec!["1"; sig.params.len() + 1].join(", ");
        let text = match sig.role {
            Role::Prior => format!("prior x : real[2] ~ {}({args})\n", d.name()),
            Role::Likelihood => format!(
                "data y : real[2]\nprior x : real[2] ~ Flat()\ny ~ {}({args})\n",
                d.name()
            ),
        };
        let diags = errors(&text);
        let arity = diags
            .iter()
            .find(|x| x.code == "E0301")
            .unwrap_or_else(|| panic!("{text}"));
        let want = format!("Available signatures:\n  {}", sigs.join("\n  "));
        assert_eq!(arity.help.as_deref(), Some(want.as_str()), "{text}");
    }
}

#[test]
fn the_repl_completes_describes_and_lists_exactly_the_registry() {
    let mut s = Session::new(false);
    // Completion in an empty session: built-in functions, the language's keywords and the registry.
    let keywords = uq::syntax::KEYWORDS;
    let mut completed = BTreeSet::new();
    for c in ('a'..='z').chain('A'..='Z') {
        let (_, cands) = s.scope().complete(&c.to_string(), 1);
        let is_builtin = |n: &String| builtin(n).is_some();
        completed.extend(
            cands
                .into_iter()
                .filter(|n| !is_builtin(n) && !keywords.contains(&n.as_str())),
        );
    }
    assert_eq!(completed, registered(None));
    // `:type NAME` prints the registry's signatures.
    for d in REGISTRY {
        let out = s.eval_line(&format!(":type {}", d.name())).out;
        let want: String = dist::signatures(d.name())
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(out, want, "{}", d.name());
    }
    // `:help` names every distribution by role, and nothing else.
    let help = s.eval_line(":help").out;
    let line = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("distributions: priors "))
        .unwrap_or_else(|| panic!("{help}"));
    let (priors, rest) = line
        .split_once("; likelihoods ")
        .unwrap_or_else(|| panic!("{line}"));
    let likelihoods = rest.split(" (").next().unwrap_or_default();
    assert_eq!(listed(priors), registered(Some(Role::Prior)));
    assert_eq!(listed(likelihoods), registered(Some(Role::Likelihood)));
}

#[test]
fn the_docs_table_is_the_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/distributions.md");
    let mut doc = std::fs::read_to_string(path).unwrap_or_default();
    let (begin, end) = ("<!-- registry:begin -->\n", "<!-- registry:end -->");
    // `UQ_BLESS=1` rewrites the table between the markers (and nothing else of the page).
    if std::env::var_os("UQ_BLESS").is_some() {
        if let Some((head, rest)) = doc.split_once(begin) {
            if let Some((_, tail)) = rest.split_once(end) {
                doc = format!("{head}{begin}{}{end}{tail}", dist::docs_table());
                std::fs::write(path, &doc).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
    }
    let table = doc
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(t, _)| t)
        .unwrap_or_default();
    assert_eq!(
        table,
        dist::docs_table(),
        "docs/distributions.md is out of date: run `UQ_BLESS=1 cargo test --test dist_registry`, or put this \
         between the registry markers:\n{}",
        dist::docs_table()
    );
    let rows: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_string))
        .collect();
    assert_eq!(rows, registered(None));
}
