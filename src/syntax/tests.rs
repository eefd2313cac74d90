//! Unit tests of the syntax stage: statements, precedence, layout, recovery, spans, diagnostics.

use super::ast::*;
use super::{dump, is_incomplete, parse};
use crate::diagnostics::Diagnostic;
use crate::source::FileId;

const F: FileId = FileId(3);

fn ok(text: &str) -> Program {
    let (p, d) = parse(F, text);
    assert!(d.is_empty(), "unexpected diagnostics for {text:?}: {d:#?}");
    p
}

fn errs(text: &str) -> (Program, Vec<Diagnostic>) {
    let (p, d) = parse(F, text);
    for diag in &d {
        assert!(
            diag.span.end <= text.len() && diag.span.start <= diag.span.end,
            "{diag:?}"
        );
        assert_eq!(diag.span.file, F);
    }
    (p, d)
}

fn codes(d: &[Diagnostic]) -> Vec<&str> {
    d.iter().map(|d| d.code).collect()
}

fn one(text: &str) -> Stmt {
    let p = ok(text);
    assert_eq!(p.stmts.len(), 1, "{p:#?}");
    p.stmts.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn slice<'a>(text: &'a str, e: &Expr) -> &'a str {
    &text[e.span.start..e.span.end]
}

/// Compact s-expression of an expression, for precedence tests.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Num(x) => format!("{x}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Var(v) => v.clone(),
        ExprKind::Call { callee, args } => {
            let a: Vec<String> = args.iter().map(sx).collect();
            format!("{}({})", callee.name, a.join(" "))
        }
        ExprKind::List(xs) => format!("[{}]", xs.iter().map(sx).collect::<Vec<_>>().join(" ")),
        ExprKind::Unary { operand, .. } => format!("(neg {})", sx(operand)),
        ExprKind::Named { name, value } => format!("{}={}", name.name, sx(value)),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs)),
        ExprKind::Error => "ERR".into(),
    }
}

fn let_value(text: &str) -> Expr {
    match one(text).kind {
        StmtKind::Let { value, .. } => value,
        k => panic!("not a let: {k:?}"),
    }
}

#[test]
fn each_statement_kind() {
    let text = "import mri\n\
                data y : complex[64, 64]\n\
                data mask : real[64, 64] = \"mask.npy\"\n\
                let sigma = 0.1\n\
                fn A(x) = mask * fft(x)\n\
                prior x : complex[64, 64] ~ score(\"brain64.safetensors\")\n\
                y ~ Normal(A(x), sigma)\n\
                infer annealed_hmc(gamma = 0.995, eps = 10)\n\
                infer mala\n";
    let p = ok(text);
    let k: Vec<&StmtKind> = p.stmts.iter().map(|s| &s.kind).collect();
    assert!(matches!(k[0], StmtKind::Import { module } if module.name == "mri"));
    match k[1] {
        StmtKind::Data { name, ty, default } => {
            assert_eq!(name.name, "y");
            assert_eq!(ty.elem, ElemType::Complex);
            assert_eq!(ty.dims.iter().map(|d| d.0).collect::<Vec<_>>(), vec![64, 64]);
            assert!(default.is_none());
        }
        other => panic!("{other:?}"),
    }
    match k[2] {
        StmtKind::Data {
            ty, default: Some(d), ..
        } => {
            assert_eq!(ty.elem, ElemType::Real);
            assert_eq!(d.value, "mask.npy");
            assert_eq!(&text[d.span.start..d.span.end], "\"mask.npy\"");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(k[3], StmtKind::Let { name, value } if name.name == "sigma" && value.kind == ExprKind::Num(0.1))
    );
    match k[4] {
        StmtKind::Fn { name, params, body } => {
            assert_eq!(name.name, "A");
            assert_eq!(params.len(), 1);
            assert_eq!(sx(body), "(* mask fft(x))");
        }
        other => panic!("{other:?}"),
    }
    match k[5] {
        StmtKind::Prior {
            name,
            ty: Some(ty),
            dist,
        } => {
            assert_eq!(name.name, "x");
            assert_eq!(ty.dims.len(), 2);
            assert_eq!(sx(dist), "score(\"brain64.safetensors\")");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(k[6], StmtKind::Observe { name, dist } if name.name == "y" && sx(dist) == "Normal(A(x) sigma)")
    );
    match k[7] {
        StmtKind::Infer { sampler, args } => {
            assert_eq!(sampler.name, "annealed_hmc");
            let kv: Vec<(String, String)> = args.iter().map(|a| (a.key.name.clone(), sx(&a.value))).collect();
            assert_eq!(
                kv,
                vec![("gamma".into(), "0.995".into()), ("eps".into(), "10".into())]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(k[8], StmtKind::Infer { sampler, args } if sampler.name == "mala" && args.is_empty()));
}

#[test]
fn design_card_forms_parse() {
    let p = ok("prior x ~ score(\"knee.safetensors\")\ny ~ Normal(mask(fft(x)), 0.1)");
    assert!(matches!(&p.stmts[0].kind, StmtKind::Prior { ty: None, .. }));
    match &p.stmts[1].kind {
        StmtKind::Observe { dist, .. } => assert_eq!(sx(dist), "Normal(mask(fft(x)) 0.1)"),
        k => panic!("{k:?}"),
    }
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(sx(&let_value("let a = 1 + 2 * 3")), "(+ 1 (* 2 3))");
    assert_eq!(sx(&let_value("let a = 1 - 2 - 3")), "(- (- 1 2) 3)");
    assert_eq!(sx(&let_value("let a = a / b * c @ d")), "(@ (* (/ a b) c) d)");
    assert_eq!(sx(&let_value("let a = -x * y")), "(* (neg x) y)");
    assert_eq!(sx(&let_value("let a = x * -y")), "(* x (neg y))");
    assert_eq!(sx(&let_value("let a = - - x")), "(neg (neg x))");
    assert_eq!(sx(&let_value("let a = (1 + 2) * 3")), "(* (+ 1 2) 3)");
    assert_eq!(sx(&let_value("let a = 2 - -3")), "(- 2 (neg 3))");
    assert_eq!(sx(&let_value("let w = [0.5, 0.25, 0.25,]")), "[0.5 0.25 0.25]");
    assert_eq!(sx(&let_value("let w = f()")), "f()");
}

#[test]
fn number_literals() {
    for (src, v) in [
        ("10", 10.0),
        ("0.995", 0.995),
        ("1e-3", 1e-3),
        ("2.5E+2", 250.0),
        ("7e2", 700.0),
    ] {
        assert_eq!(
            let_value(&format!("let a = {src}")).kind,
            ExprKind::Num(v),
            "{src}"
        );
    }
    for bad in ["1.", "1e", ".5", "12abc", "1e999", "1.2.3"] {
        let (_, d) = errs(&format!("let a = {bad}\nlet b = 2"));
        assert_eq!(codes(&d), vec!["E0005"], "{bad}: {d:#?}");
    }
}

#[test]
fn strings_and_escapes() {
    let v = let_value(r#"let s = "a\"b\\c""#);
    assert_eq!(v.kind, ExprKind::Str("a\"b\\c".into()));
    let (p, d) = errs("data m : real[4] = \"mask.npy\nlet a = 1\n");
    assert_eq!(codes(&d), vec!["E0002"]);
    assert_eq!((d[0].span.start, d[0].span.end), (19, 28));
    assert!(matches!(p.stmts[1].kind, StmtKind::Let { .. }));
    let (_, d) = errs(r#"let s = "a\qb""#);
    assert_eq!(codes(&d), vec!["E0008"]);
}

#[test]
fn multi_line_calls_and_separators() {
    let text = "y ~ Normal(\n  mask(fft(x)),   # the mean\n\n  0.1\n)\nlet a = [1,\n 2]; let b = 3\n";
    let p = ok(text);
    assert_eq!(p.stmts.len(), 3);
    match &p.stmts[0].kind {
        StmtKind::Observe { dist, .. } => {
            assert_eq!(sx(dist), "Normal(mask(fft(x)) 0.1)");
            assert_eq!(
                slice(text, dist),
                "Normal(\n  mask(fft(x)),   # the mean\n\n  0.1\n)"
            );
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn spans_point_at_the_right_bytes() {
    let text = "let sigma = 0.1 * abs(x)\n";
    let s = one(text);
    assert_eq!((s.span.start, s.span.end), (0, 24));
    match s.kind {
        StmtKind::Let { name, value } => {
            assert_eq!(&text[name.span.start..name.span.end], "sigma");
            assert_eq!(slice(text, &value), "0.1 * abs(x)");
            let ExprKind::Binary { lhs, rhs, .. } = &value.kind else {
                panic!()
            };
            assert_eq!(slice(text, lhs), "0.1");
            assert_eq!(slice(text, rhs), "abs(x)");
            assert_eq!(value.span.file, F);
        }
        k => panic!("{k:?}"),
    }
    let (_, d) = errs("let a = 1 +\n");
    assert_eq!(codes(&d), vec!["E0001"]);
    assert_eq!(d[0].message, "expected an expression, found end of line");
    assert_eq!((d[0].span.start, d[0].span.end), (11, 12));
}

#[test]
fn three_independent_errors_give_three_diagnostics() {
    let text = "data y : complex[64, 0]\nlet = 3\nprior x ~ score(\"a.safetensors\")\ny ~ Normal(x, )) \nlet ok = 1\n";
    let (p, d) = errs(text);
    assert_eq!(codes(&d), vec!["E0004", "E0001", "E0007"], "{d:#?}");
    assert_eq!(&text[d[0].span.start..d[0].span.end], "0");
    assert_eq!(&text[d[1].span.start..d[1].span.end], "=");
    assert!(matches!(p.stmts.last().map(|s| &s.kind), Some(StmtKind::Let { name, .. }) if name.name == "ok"));
    assert!(matches!(p.stmts[2].kind, StmtKind::Prior { .. }));
}

#[test]
fn one_typo_one_diagnostic() {
    let text = "prior x ~ Flat()\ny ~ Normal(x,, 0.1)\nlet z = 2 * x\n";
    let (p, d) = errs(text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "E0001");
    assert_eq!(d[0].message, "expected `)` or an expression, found `,`");
    assert_eq!(d[0].span.start, text.find(",,").map_or(0, |i| i + 1));
    assert_eq!(p.stmts.len(), 3);
    match &p.stmts[1].kind {
        StmtKind::Observe { dist, .. } => assert_eq!(sx(dist), "Normal(ERR)"),
        k => panic!("{k:?}"),
    }
    assert!(matches!(p.stmts[2].kind, StmtKind::Let { .. }));
}

#[test]
fn unclosed_delimiter_closes_at_next_statement() {
    let text = "y ~ Normal(f(x, 0.1\nprior x ~ Flat()\n";
    let (p, d) = errs(text);
    assert_eq!(codes(&d), vec!["E0003"], "{d:#?}");
    assert_eq!(d[0].secondary.len(), 2);
    assert_eq!(d[0].secondary[1].0.start, text.find("f(").map_or(0, |i| i + 1));
    assert_eq!(p.stmts.len(), 2);
    assert!(matches!(p.stmts[1].kind, StmtKind::Prior { .. }));
    let (_, d) = errs("let a = (1 + 2");
    assert_eq!(codes(&d), vec!["E0003"]);
    assert_eq!((d[0].span.start, d[0].span.end), (14, 14));
}

#[test]
fn mismatched_and_stray_closers() {
    let (p, d) = errs("y ~ Normal(x, 1]\nlet a = 1)\n");
    assert_eq!(codes(&d), vec!["E0007", "E0007"]);
    assert_eq!(p.stmts.len(), 2);
    assert!(p.stmts.iter().all(|s| s.kind != StmtKind::Error));
}

#[test]
fn types_and_dimensions() {
    for (src, why) in [
        ("real[0]", "invalid dimension `0`"),
        ("real[2.5]", "invalid dimension `2.5`"),
        ("real[n]", "a dimension must be a positive integer literal"),
        ("real[]", "a tensor type needs at least one dimension"),
    ] {
        let (p, d) = errs(&format!("data y : {src}\nlet a = 1"));
        assert_eq!(codes(&d), vec!["E0004"], "{src}");
        assert_eq!(d[0].message, why);
        assert!(matches!(p.stmts[0].kind, StmtKind::Data { .. }), "{src}");
    }
    assert!(
        matches!(one("prior z : real ~ Normal(0, 1)").kind, StmtKind::Prior { ty: Some(TypeExpr { ref dims, .. }), .. } if dims.is_empty())
    );
}

#[test]
fn keywords_are_reserved() {
    for src in [
        "let data = 1",
        "fn f(let) = 1",
        "y ~ Normal(real, 1)",
        "real ~ Flat()",
    ] {
        let (_, d) = errs(src);
        assert_eq!(codes(&d), vec!["E0006"], "{src}: {d:#?}");
    }
}

#[test]
fn other_errors_and_help() {
    let (p, d) = errs("data y : real = 3\nlet a = 1 + * 2\nlet b = f(1 +, 2)\n");
    assert_eq!(codes(&d), vec!["E0001", "E0001", "E0001"], "{d:#?}");
    assert_eq!(d[0].message, "expected a file name string, found `3`");
    assert!(matches!(&p.stmts[0].kind, StmtKind::Data { default: None, .. }));
    assert!(matches!(&p.stmts[2].kind, StmtKind::Let { value, .. } if sx(value) == "f((+ 1 ERR) 2)"));
    let (_, d) = errs("let a = 1 let b = 2\n");
    assert_eq!(codes(&d), vec!["E0010"]);
    let (_, d) = errs("x = 3\n");
    assert_eq!(codes(&d), vec!["E0001"]);
    assert!(
        d[0].help.as_deref().is_some_and(|h| h.contains("let NAME")),
        "{d:#?}"
    );
    let (_, d) = errs("lett a = 3\n");
    assert!(
        d[0].help
            .as_deref()
            .is_some_and(|h| h.contains("did you mean `let`")),
        "{d:#?}"
    );
    let (_, d) = errs("42\n");
    assert_eq!(d[0].message, "expected a statement, found `42`");
    let (_, d) = errs("let a = f(x)(y)\n");
    assert_eq!(codes(&d), vec!["E0011"]);
    let (_, d) = errs("let a = 1 $ 2\nlet b = {\n");
    assert_eq!(codes(&d), vec!["E0001", "E0001"], "{d:#?}");
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("let a = {}", "(".repeat(10_000));
    let (_, d) = errs(&deep);
    assert_eq!(codes(&d), vec!["E0009", "E0003"]);
    let balanced = format!("let a = {}1{}\nlet b = 2", "(".repeat(5000), ")".repeat(5000));
    let (p, d) = errs(&balanced);
    assert_eq!(codes(&d), vec!["E0009"]);
    assert_eq!(p.stmts.len(), 2);
    let long = format!("let a = 1{}\n", "+1".repeat(20_000));
    let (_, d) = errs(&long);
    assert_eq!(codes(&d), vec!["E0009"]);
    let negs = format!("let a = {}x\n", "-".repeat(5000));
    assert_eq!(codes(&errs(&negs).1), vec!["E0009"]);
}

#[test]
fn incomplete_input_for_the_repl() {
    assert!(is_incomplete("y ~ Normal(x,"));
    assert!(is_incomplete("let a = [1,\n 2"));
    assert!(is_incomplete("data m : real[4] = \"mask"));
    assert!(!is_incomplete("y ~ Normal(x, 1)"));
    assert!(!is_incomplete("let a = (1\nprior x ~ Flat()"));
    assert!(!is_incomplete("let a = 1 +"));
}

#[test]
fn dump_is_an_indented_tree() {
    let text = "let s = -a * f(b, [1])\ninfer hmc(steps = 10)\nlet = 2\n";
    let (p, _) = errs(text);
    let expected =
        "Program\n  Let s @0..22\n    Binary * @8..22\n      Neg @8..10\n        Var a @9..10\n      \
                    Call f @13..22\n        Var b @15..16\n        List @18..21\n          Num 1 @19..20\n  \
                    Infer hmc @23..44\n    Arg steps @33..43\n      Num 10 @41..43\n  ErrorStmt @45..52\n";
    assert_eq!(dump(&p), expected);
}

#[test]
fn a_leading_byte_order_mark_is_skipped() {
    let text = "\u{feff}let a = 1\nlet b = $\n";
    let (p, d) = errs(text);
    assert_eq!(p.stmts.len(), 2);
    assert_eq!(p.stmts[0].span.start, 3, "spans stay byte offsets into the text");
    assert_eq!(codes(&d), vec!["E0001"], "only the `$`: {d:#?}");
    assert_eq!(d[0].span.start, text.find('$').unwrap());
    // Elsewhere it is still an unexpected character.
    let (_, d) = errs("let a = 1\u{feff}\n");
    assert_eq!(codes(&d), vec!["E0001"]);
}
