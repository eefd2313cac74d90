//! The formatter's rules, one case each, and idempotence on each case.

use super::format_source;
use crate::source::FileId;

fn fmt(text: &str) -> String {
    let out = format_source(FileId(0), text).expect("formats");
    assert_eq!(fmt_again(&out), out, "formatting is idempotent");
    out
}

fn fmt_again(text: &str) -> String {
    format_source(FileId(0), text).expect("formatted text parses")
}

#[test]
fn canonical_spacing() {
    assert_eq!(
        fmt("prior   x:real[ 64,64 ]~Normal( 0,1 )\n"),
        "prior x : real[64, 64] ~ Normal(0, 1)\n"
    );
    assert_eq!(fmt("let a=-b*(c+ -d)/2@e\n"), "let a = -b * (c + -d) / 2 @ e\n");
    assert_eq!(fmt("let w = [ 0.5,0.5, ]\n"), "let w = [0.5, 0.5,]\n");
    assert_eq!(
        fmt("infer annealed_hmc( gamma=0.98,steps = 3 )\n"),
        "infer annealed_hmc(gamma = 0.98, steps = 3)\n"
    );
    assert_eq!(fmt("fn f( x ,y )=x- -y\n"), "fn f(x, y) = x - -y\n");
    assert_eq!(fmt("output a,b\n"), "output a, b\n");
}

#[test]
fn literals_stay_as_written() {
    assert_eq!(
        fmt("let s = 1e-3\ndata y:real=\"a \\\"b\\\".npy\"\n"),
        "let s = 1e-3\ndata y : real = \"a \\\"b\\\".npy\"\n"
    );
}

#[test]
fn semicolons_become_line_breaks() {
    assert_eq!(fmt("let a = 1; let b = 2;\n"), "let a = 1\nlet b = 2\n");
    assert_eq!(fmt("let a = 1;  # one\n"), "let a = 1  # one\n");
}

#[test]
fn comments_are_kept_and_aligned() {
    let src = "# head   \nimport mri # ops\nlet sigma = 0.1     # noise\n\n\n\nlet x=1 #  x\n# tail";
    assert_eq!(
        fmt(src),
        "# head\nimport mri       # ops\nlet sigma = 0.1  # noise\n\nlet x = 1  #  x\n# tail\n"
    );
    // A `#` inside a string is not a comment.
    assert_eq!(
        fmt("data y : real = \"a#b.npy\"\n"),
        "data y : real = \"a#b.npy\"\n"
    );
}

#[test]
fn multi_line_statements_keep_their_breaks() {
    let src = "y ~ GaussianMixture(\n[0.5, 0.5],  # weights\n  # means\n      [-1, 1],\n[1, 1]\n  )\n";
    assert_eq!(
        fmt(src),
        "y ~ GaussianMixture(\n    [0.5, 0.5],  # weights\n    # means\n    [-1, 1],\n    [1, 1]\n)\n"
    );
    // Brackets opened on one line indent once.
    assert_eq!(fmt("let a = f(g(\n1))\n"), "let a = f(g(\n    1))\n");
    assert_eq!(
        fmt("let a = f(\ng(\n1\n)\n)\n"),
        "let a = f(\n    g(\n        1\n    )\n)\n"
    );
}

#[test]
fn blank_lines_and_ends() {
    assert_eq!(fmt("\n\n\nlet a = 1\n\n\n"), "let a = 1\n");
    assert_eq!(fmt("let a = 1"), "let a = 1\n");
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\r\nlet a = 1\r\n"), "let a = 1\n");
    assert_eq!(fmt("\u{feff}let a=1\n"), "\u{feff}let a = 1\n");
}

#[test]
fn syntax_errors_are_not_formatted() {
    let err = format_source(FileId(3), "let a = (1 +\nlet b = 2\n").expect_err("unclosed");
    assert!(err.iter().any(|d| d.code == "E0003" && d.span.file == FileId(3)));
    assert!(format_source(FileId(0), "let = 1\n").is_err());
}
