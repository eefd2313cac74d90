//! The editor grammars in `editors/` name exactly the lexer's keywords, the registered distributions
//! and the built-in functions, and the VS Code files are valid JSON that point at each other.

use std::collections::BTreeSet;
use std::path::PathBuf;
use uq::check::builtins;
use uq::dist::DISTRIBUTIONS;
use uq::syntax::KEYWORDS;

fn read(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("editors")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn set<'a>(words: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    words.into_iter().map(str::to_string).collect()
}

fn builtin_names() -> BTreeSet<String> {
    builtins()
        .map(|b| b.name().to_string())
        .filter(|n| !n.starts_with("__"))
        .collect()
}

/// The words of `syn keyword GROUP ...` lines.
fn vim_group(text: &str, group: &str) -> BTreeSet<String> {
    let prefix = format!("syn keyword {group} ");
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect()
}

/// The alternatives of a `\b(a|b|c)\b` TextMate rule.
fn tm_words(grammar: &serde_json::Value, rule: &str) -> BTreeSet<String> {
    let m = grammar["repository"][rule]["match"].as_str().unwrap_or("");
    let inner = m
        .split_once("\\b(")
        .and_then(|(_, rest)| rest.split_once(")\\b"))
        .map_or("", |(words, _)| words);
    set(inner.split('|').filter(|w| !w.is_empty()))
}

#[test]
fn vim_syntax_matches_the_language() {
    let vim = read("vim/syntax/uq.vim");
    let mut keywords = vim_group(&vim, "uqStatement");
    keywords.extend(vim_group(&vim, "uqType"));
    assert_eq!(keywords, set(KEYWORDS));
    assert_eq!(
        vim_group(&vim, "uqDistribution"),
        set(DISTRIBUTIONS.iter().copied())
    );
    assert_eq!(vim_group(&vim, "uqBuiltin"), builtin_names());
    assert!(read("vim/ftdetect/uq.vim").contains("*.uq"));
}

#[test]
fn textmate_grammar_matches_the_language() {
    let grammar: serde_json::Value =
        serde_json::from_str(&read("vscode/syntaxes/uq.tmLanguage.json")).expect("grammar is JSON");
    assert_eq!(grammar["scopeName"], "source.uq");
    let mut keywords = tm_words(&grammar, "keyword");
    keywords.extend(tm_words(&grammar, "type"));
    assert_eq!(keywords, set(KEYWORDS));
    assert_eq!(
        tm_words(&grammar, "distribution"),
        set(DISTRIBUTIONS.iter().copied())
    );
    assert_eq!(tm_words(&grammar, "builtin"), builtin_names());
}

#[test]
fn vscode_extension_files_fit_together() {
    let pkg: serde_json::Value =
        serde_json::from_str(&read("vscode/package.json")).expect("package.json is JSON");
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "uq");
    assert_eq!(lang["extensions"][0], ".uq");
    let config = lang["configuration"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("./");
    let conf: serde_json::Value =
        serde_json::from_str(&read(&format!("vscode/{config}"))).expect("config is JSON");
    assert_eq!(conf["comments"]["lineComment"], "#");
    let grammar = pkg["contributes"]["grammars"][0]["path"].as_str().unwrap_or("");
    assert!(!read(&format!("vscode/{}", grammar.trim_start_matches("./"))).is_empty());
    let main = pkg["main"].as_str().unwrap_or("").trim_start_matches("./");
    let js = read(&format!("vscode/{main}"));
    assert!(js.contains("vscode-languageclient/node") && js.contains("'lsp'"));
    assert!(pkg["dependencies"]["vscode-languageclient"].is_string());
}
