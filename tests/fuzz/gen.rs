//! Grammar-aware mutation of uq programs: token splices, subtree replacement on the real syntax tree,
//! expressions generated from `grammar/uq.ebnf`, and edge values (numbers, dims, strings, unicode).

use super::grammar::{expr, statement, stress, DIMS, NUMBERS, UNICODE};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uq::check::builtins;
use uq::source::FileId;
use uq::syntax::ast::{Expr, ExprKind, StmtKind};

/// Strings a literal may become: files of the scratch folder (relative to the model there), special
/// paths, score and data files of the repository (as `@ROOT@/...`, see [`super::portable`]).
pub fn strings(scratch: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "f0.npy",
        "f1.npy",
        "missing.npy",
        "pipe.npy",
        "loop.npy",
        "link_to_zero.npy",
        "",
        "a\\\"b",
        "..",
        "/dev/zero",
        "/dev/null",
        "/dev/urandom",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(scratch.display().to_string());
    for p in [
        "models/head64_ve.safetensors",
        "tests/valid/knee.safetensors",
        "tests/invalid/data/real8.safetensors",
        "tests/invalid/data/real4.npy",
    ] {
        v.push(super::root().join(p).display().to_string());
    }
    v
}

/// Rough tokens: words and numbers, strings, single punctuation, whitespace runs.
pub fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = if c == '"' {
            let mut end = text.len();
            let mut esc = false;
            for (j, d) in chars.by_ref() {
                if d == '"' && !esc || d == '\n' {
                    end = j + d.len_utf8();
                    break;
                }
                esc = d == '\\' && !esc;
            }
            end
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while chars
                .next_if(|(_, d)| d.is_alphanumeric() || *d == '_' || *d == '.')
                .is_some()
            {}
            chars.peek().map_or(text.len(), |(j, _)| *j)
        } else if c == ' ' {
            while chars.next_if(|(_, d)| *d == ' ').is_some() {}
            chars.peek().map_or(text.len(), |(j, _)| *j)
        } else {
            i + c.len_utf8()
        };
        if let Some(t) = text.get(start.max(i)..end) {
            out.push(t);
        }
        start = end;
    }
    out
}

/// Spans of every expression in `text`'s syntax tree (byte ranges).
pub fn expr_spans(text: &str) -> Vec<(usize, usize)> {
    fn walk(e: &Expr, out: &mut Vec<(usize, usize)>) {
        out.push((e.span.start, e.span.end));
        match &e.kind {
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
            ExprKind::List(items) => items.iter().for_each(|a| walk(a, out)),
            ExprKind::Unary { operand, .. } => walk(operand, out),
            ExprKind::Binary { lhs, rhs, .. } => {
                walk(lhs, out);
                walk(rhs, out);
            }
            _ => {}
        }
    }
    let (program, _) = uq::syntax::parse(FileId(0), text);
    let mut out = Vec::new();
    for s in &program.stmts {
        match &s.kind {
            StmtKind::Let { value: e, .. } | StmtKind::Fn { body: e, .. } => walk(e, &mut out),
            StmtKind::Prior { dist: e, .. } | StmtKind::Observe { dist: e, .. } => walk(e, &mut out),
            StmtKind::Infer { args, .. } => args.iter().for_each(|a| walk(&a.value, &mut out)),
            _ => {}
        }
    }
    out.retain(|(a, b)| a < b && text.is_char_boundary(*a) && text.is_char_boundary(*b) && *b <= text.len());
    out
}

/// Names a generated expression may use: those of the program, built-ins, a few fresh ones.
pub fn names(text: &str) -> Vec<String> {
    let mut v: Vec<String> = tokens(text)
        .into_iter()
        .filter(|t| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        })
        .map(String::from)
        .collect();
    v.extend(builtins().map(|b| b.name().to_string()));
    v.extend(["x", "y", "z", "f", "mask", "sigma"].map(String::from));
    v.sort();
    v.dedup();
    v
}

/// One random edit of `text`, drawing material from `others`.
pub fn mutate(rng: &mut ChaCha8Rng, text: &str, others: &[String], strings: &[String]) -> String {
    let names = names(text);
    let toks = tokens(text);
    let pick = |rng: &mut ChaCha8Rng| rng.random_range(0..=toks.len());
    match rng.random_range(0..12) {
        0 => {
            let other = others.choose(rng).map_or("", String::as_str);
            let ot = tokens(other);
            let (i, j) = (pick(rng), rng.random_range(0..=ot.len()));
            format!("{}{}", toks[..i].concat(), ot[j..].concat())
        }
        1 => {
            let other = others.choose(rng).map_or("", String::as_str);
            let lines: Vec<&str> = other.lines().collect();
            let mut mine: Vec<&str> = text.lines().collect();
            for _ in 0..rng.random_range(1..4) {
                if let Some(l) = lines.choose(rng) {
                    let at = rng.random_range(0..=mine.len());
                    mine.insert(at, l);
                }
            }
            mine.join("\n")
        }
        2 | 3 => {
            let spans = expr_spans(text);
            let Some(&(a, b)) = spans.choose(rng) else {
                return statement(rng, &names, strings);
            };
            let new = if rng.random_bool(0.5) {
                let depth = rng.random_range(1..5);
                expr(rng, depth, &names, strings)
            } else {
                let other = others.choose(rng).map_or("", String::as_str);
                let os = expr_spans(other);
                os.choose(rng)
                    .and_then(|&(c, d)| other.get(c..d))
                    .unwrap_or("1")
                    .to_string()
            };
            format!("{}{new}{}", &text[..a], &text[b..])
        }
        4 => {
            let mut t: Vec<String> = toks.iter().map(|s| s.to_string()).collect();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..=t.len());
                match rng.random_range(0..4) {
                    0 if i < t.len() => {
                        t.remove(i);
                    }
                    1 if i < t.len() => {
                        let d = t[i].clone();
                        t.insert(i, d);
                    }
                    2 => t.insert(
                        i,
                        ["(", ")", "[", "]", ",", "~", "=", ";", "\n", "\"", "#", ":"]
                            .choose(rng)
                            .copied()
                            .unwrap_or("(")
                            .into(),
                    ),
                    _ => t.insert(i, names.choose(rng).cloned().unwrap_or_default()),
                }
            }
            t.concat()
        }
        5 => replace_tokens(
            rng,
            &toks,
            |t| t.starts_with(|c: char| c.is_ascii_digit()),
            NUMBERS,
        ),
        6 => replace_tokens(rng, &toks, |t| t.starts_with(|c: char| c.is_ascii_digit()), DIMS),
        7 => {
            let s: Vec<&str> = strings.iter().map(String::as_str).collect();
            let quoted: Vec<String> = s.iter().map(|x| format!("\"{x}\"")).collect();
            let q: Vec<&str> = quoted.iter().map(String::as_str).collect();
            replace_tokens(rng, &toks, |t| t.starts_with('"'), &q)
        }
        8 => {
            let mut t: Vec<String> = toks.iter().map(|s| s.to_string()).collect();
            let i = rng.random_range(0..=t.len());
            t.insert(i, UNICODE.choose(rng).copied().unwrap_or("é").to_string());
            t.concat()
        }
        9 => {
            let spans = expr_spans(text);
            let Some(&(a, b)) = spans.choose(rng) else {
                return stress(rng);
            };
            let n = *[50usize, 99, 100, 101, 1000].choose(rng).unwrap_or(&99);
            let (open, close) = if rng.random_bool(0.5) {
                ("(", ")")
            } else {
                ("[", "]")
            };
            format!(
                "{}{}{}{}{}",
                &text[..a],
                open.repeat(n),
                &text[a..b],
                close.repeat(n),
                &text[b..]
            )
        }
        10 => {
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..=lines.len());
                lines.insert(at, statement(rng, &names, strings));
            }
            lines.join("\n")
        }
        _ => stress(rng),
    }
}

/// Replace up to three tokens matching `is` by values from `with`.
fn replace_tokens(rng: &mut ChaCha8Rng, toks: &[&str], is: impl Fn(&str) -> bool, with: &[&str]) -> String {
    let mut t: Vec<String> = toks.iter().map(|s| s.to_string()).collect();
    let at: Vec<usize> = (0..t.len()).filter(|&i| is(&t[i])).collect();
    for _ in 0..rng.random_range(1..4) {
        if let (Some(&i), Some(w)) = (at.choose(rng), with.choose(rng)) {
            t[i] = w.to_string();
        }
    }
    t.concat()
}
