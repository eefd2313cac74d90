//! Running one fuzz case through parser, checker, data binding, build and the REPL, and judging it.
//!
//! A case passes when nothing panics and every failure is a diagnostic: at least one, each with a
//! code documented in `docs/errors.md` (the catalogue), a non-empty message, and
//! spans on char boundaries inside the file they name; rendering them must work too. What a case
//! reached is returned as features (diagnostic codes with their message shapes, graph operators,
//! stages passed), the coverage proxy that decides which inputs join the corpus.

use super::case::{Case, DataFile};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;
use uq::check::{bind_data, check_file, ALL_CODES};
use uq::diagnostics::{render_all, Diagnostic};
use uq::graph::NodeKind;
use uq::infer::Posterior;
use uq::source::SourceMap;

/// Every code `docs/errors.md` documents (a table row `| E0101 | ... |`).
fn catalogue() -> &'static BTreeSet<String> {
    static CODES: OnceLock<BTreeSet<String>> = OnceLock::new();
    CODES.get_or_init(|| {
        let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md"))
            .unwrap_or_default();
        let codes: BTreeSet<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| E"))
            .filter_map(|l| l.get(..4).filter(|d| d.bytes().all(|b| b.is_ascii_digit())))
            .map(|d| format!("E{d}"))
            .collect();
        assert!(
            ALL_CODES.iter().all(|c| codes.contains(*c)),
            "docs/errors.md lacks some of the checker's codes"
        );
        codes
    })
}

/// Largest tensor a case may evaluate (build, REPL expressions); bigger ones are only checked.
const EVAL_ELEMENTS: u64 = 1 << 16;

pub type Features = BTreeSet<String>;

/// The message with quoted names and numbers blanked: `expected `_`, found `_``.
fn shape_of(message: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in message.chars().take(120) {
        match c {
            '`' => {
                in_quote = !in_quote;
                if in_quote {
                    out.push_str("`_");
                } else {
                    out.push('`');
                }
            }
            _ if in_quote => {}
            c if c.is_ascii_digit() => {
                if !out.ends_with('0') {
                    out.push('0');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Check every diagnostic of one failed stage; `None` when they are fine.
fn judge(
    stage: &str,
    diags: &[Diagnostic],
    sources: &SourceMap,
    must_fail: bool,
    f: &mut Features,
) -> Result<(), String> {
    if must_fail && diags.is_empty() {
        return Err(format!("{stage} failed without a diagnostic"));
    }
    for d in diags {
        if !catalogue().contains(d.code) {
            return Err(format!("{stage}: code {} is not in the catalogue: {d:?}", d.code));
        }
        if d.message.trim().is_empty() {
            return Err(format!("{stage}: empty message: {d:?}"));
        }
        let spans = std::iter::once(d.span).chain(d.secondary.iter().map(|(s, _)| *s));
        for s in spans {
            let Some(file) = sources.get(s.file) else {
                return Err(format!("{stage}: span in an unknown file: {d:?}"));
            };
            let t = &file.text;
            if s.start > s.end
                || s.end > t.len()
                || !t.is_char_boundary(s.start)
                || !t.is_char_boundary(s.end)
            {
                return Err(format!(
                    "{stage}: span {s:?} outside {} ({} bytes): {d:?}",
                    file.name,
                    t.len()
                ));
            }
        }
        f.insert(format!("{stage}:{}:{}", d.code, shape_of(&d.message)));
    }
    let _ = render_all(diags, sources, false);
    Ok(())
}

/// Write the case's files into `dir`: the model as `fuzz.uq` and data files as `f0.npy`...; the
/// `--data` bindings as paths.
fn materialise(case: &Case, dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    for i in 0..8 {
        let _ = std::fs::remove_file(dir.join(format!("f{i}.npy")));
    }
    let _ = std::fs::write(dir.join("fuzz.uq"), &case.model);
    let mut bindings = Vec::new();
    for (i, (name, file)) in case.data.iter().enumerate() {
        let path = match file {
            DataFile::Bytes(b) => {
                let p = dir.join(format!("f{i}.npy"));
                let _ = std::fs::write(&p, b);
                p
            }
            DataFile::Path(p) => std::path::PathBuf::from(p),
        };
        bindings.push((name.clone(), path));
    }
    bindings
}

/// Run `case` with its files in `dir` (a scratch folder of this worker); features, or what went wrong.
pub fn run(case: &Case, dir: &Path) -> Result<Features, String> {
    let mut f = Features::new();
    let bindings = materialise(case, dir);
    let (program, diags) = uq::syntax::parse(uq::source::FileId(0), &case.model);
    let mut scratch = SourceMap::new();
    scratch.add("fuzz.uq", None, case.model.as_str());
    judge("parse", &diags, &scratch, false, &mut f)?;
    let _ = uq::syntax::dump(&program);
    let _ = uq::syntax::is_incomplete(&case.model);
    drop(program);

    let mut sources = SourceMap::new();
    let model = match check_file(&dir.join("fuzz.uq"), &mut sources) {
        Ok(m) => m,
        Err(diags) => {
            judge("check", &diags, &sources, true, &mut f)?;
            if case.repl && !not_for_repl(&case.model) {
                repl(case, dir, &bindings, &mut f)?;
            }
            return Ok(f);
        }
    };
    judge("warn", &model.warnings, &sources, false, &mut f)?;
    f.insert("checked".into());
    for n in &model.graph.nodes {
        if let NodeKind::Op(op, _) = &n.kind {
            f.insert(format!("op:{}", op.name()));
        }
    }
    let latents: Vec<String> = model.latents.iter().map(|l| l.name.clone()).collect();
    let data: Vec<String> = model.data.iter().map(|d| d.name.clone()).collect();
    let _ = uq::graph::dump(&model.graph, &sources, &latents, &data);
    let _ = uq::check::summary(&model, &bindings);
    match bind_data(&model, &bindings, &mut sources) {
        Err(diags) => judge("bind", &diags, &sources, true, &mut f)?,
        Ok(values) => {
            f.insert("bound".into());
            let small = model
                .graph
                .nodes
                .iter()
                .all(|n| numel(&n.ty.shape) <= EVAL_ELEMENTS);
            if small {
                build(&model, values, &sources, &mut f)?;
            }
        }
    }
    if case.repl && !not_for_repl(&case.model) {
        repl(case, dir, &bindings, &mut f)?;
    }
    Ok(f)
}

/// Cases the REPL is not fed: a number of four digits or more (the REPL evaluates what it defines,
/// so big shapes would only measure memory), or more than [`REPL_LINES`] lines (the REPL re-checks
/// the whole model after each statement, so a long script costs quadratic time by design).
fn not_for_repl(text: &str) -> bool {
    text.lines().count() > REPL_LINES || text.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() >= 4)
}

/// Longest script fed to the REPL.
const REPL_LINES: usize = 200;

fn numel(shape: &[usize]) -> u64 {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .unwrap_or(u64::MAX)
}

/// Prepare a run as `uq check` does (infer line, posterior, plan, options) and evaluate the log
/// density once at zero.
fn build(
    model: &uq::check::Model,
    values: Vec<uq::graph::Value>,
    sources: &SourceMap,
    f: &mut Features,
) -> Result<(), String> {
    match uq::session::prepare(model, values, &uq::session::Request::default()) {
        Err(uq::session::PrepareError::Model(diags)) => judge("prepare", &diags, sources, true, f),
        Err(uq::session::PrepareError::Usage(m)) => {
            f.insert(format!("usage-error:{}", shape_of(&m)));
            Ok(())
        }
        Ok(prepared) => {
            f.insert("built".into());
            f.insert(format!("plan:{}", prepared.plan.sampler.name));
            let built = prepared.built;
            let dim = built.posterior.dim();
            if dim as u64 <= EVAL_ELEMENTS {
                let x = ndarray::Array2::<f64>::zeros((1, dim));
                for r in built.posterior.evaluate(x.view(), 1.0) {
                    f.insert(if r.is_ok() { "eval:ok" } else { "eval:err" }.into());
                }
            }
            Ok(())
        }
    }
}

/// Feed the model to a REPL session line by line, as a piped script would.
fn repl(
    case: &Case,
    dir: &Path,
    bindings: &[(String, std::path::PathBuf)],
    f: &mut Features,
) -> Result<(), String> {
    let mut s = uq::repl::Session::new(false);
    for (name, path) in bindings {
        s.add_binding(name, path);
    }
    let mut lines = case.model.lines().peekable();
    while let Some(first) = lines.next() {
        let mut text = first.to_string();
        while !text.trim_start().starts_with(':') && uq::syntax::is_incomplete(&text) {
            match lines.next_if(|l| !l.trim().is_empty() && !l.trim_start().starts_with(':')) {
                Some(next) => {
                    text.push('\n');
                    text.push_str(next);
                }
                None => break,
            }
        }
        let t = text.trim_start();
        // Commands that run samplers or write files are not fuzzed; big shapes are only typed.
        let allowed = [
            ":type", ":model", ":graph", ":help", ":reset", ":data", ":load", ":plan",
        ];
        let input = if let Some(cmd) = t.strip_prefix(':') {
            if !allowed.iter().any(|a| t.starts_with(a)) {
                continue;
            }
            if cmd.starts_with("load") {
                format!(":load {}", dir.join("fuzz.uq").display())
            } else {
                text.clone()
            }
        } else {
            text.clone()
        };
        let out = s.eval_line(&input);
        if out.failed && out.err.trim().is_empty() {
            return Err(format!("REPL input {input:?} failed without a message"));
        }
        f.insert(format!("repl:{}", if out.failed { "failed" } else { "ok" }));
    }
    Ok(())
}
