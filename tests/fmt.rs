//! `uq fmt` over every shipped `.uq` file and the fuzz corpus: the AST is kept (spans aside),
//! formatting is idempotent, shipped files are already formatted; and the command's `--check`.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use uq::fmt::{collect_uq_files, format_source};
use uq::source::FileId;
use uq::syntax::{dump, parse};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The AST as `uq check --dump ast` prints it, without the byte ranges.
fn ast_without_spans(text: &str) -> String {
    let (program, _) = parse(FileId(0), text);
    dump(&program)
        .lines()
        .map(|l| l.rsplit_once(" @").map_or(l, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\n")
}

fn files_under(dirs: &[&str]) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = dirs.iter().map(|d| root().join(d)).collect();
    collect_uq_files(&dirs).expect("folders list")
}

/// Format `path` (if it parses) and check AST preservation and idempotence; whether it changed.
fn check_file(path: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(path).ok()?;
    let once = format_source(FileId(0), &text).ok()?;
    assert_eq!(
        ast_without_spans(&text),
        ast_without_spans(&once),
        "formatting changed the AST of {}",
        path.display()
    );
    let twice = format_source(FileId(0), &once).expect("formatted text parses");
    assert_eq!(once, twice, "formatting {} is not idempotent", path.display());
    let comments = |t: &str| t.matches('#').count();
    assert_eq!(
        comments(&text),
        comments(&once),
        "a `#` was lost in {}",
        path.display()
    );
    Some(once != text)
}

#[test]
fn shipped_models_are_formatted_and_keep_their_ast() {
    let files = files_under(&["models", "stdlib", "examples"]);
    assert!(files.len() >= 27, "found {} files", files.len());
    for f in &files {
        assert_eq!(
            check_file(f),
            Some(false),
            "{} is not formatted (run `uq fmt`)",
            f.display()
        );
    }
}

#[test]
fn fuzz_corpus_and_test_models_keep_their_ast() {
    let files = files_under(&[
        "tests/fuzz_corpus",
        "tests/models",
        "tests/valid",
        "tests/invalid",
    ]);
    let formatted = files.iter().filter_map(|f| check_file(f)).count();
    // Most of the corpus parses (the rest has syntax errors, which are refused).
    assert!(formatted >= 60, "only {formatted} of {} files parse", files.len());
}

#[test]
fn check_lists_unformatted_files_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messy = dir.path().join("messy.uq");
    let tidy = dir.path().join("sub").join("tidy.uq");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let messy_text = "prior x:real~Normal(0,1)   # keep me\n";
    std::fs::write(&messy, messy_text).expect("write");
    std::fs::write(&tidy, "prior x : real ~ Normal(0, 1)\n").expect("write");

    let out = Command::cargo_bin("uq")
        .expect("uq binary")
        .args(["fmt", "--check"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("messy.uq") && !listed.contains("tidy.uq"),
        "{listed}"
    );
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), messy_text);

    let tidy_before = std::fs::metadata(&tidy)
        .and_then(|m| m.modified())
        .expect("mtime");
    let out = Command::cargo_bin("uq")
        .expect("uq binary")
        .arg("fmt")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "prior x : real ~ Normal(0, 1)  # keep me\n"
    );
    let tidy_after = std::fs::metadata(&tidy)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(tidy_before, tidy_after, "an unchanged file is not rewritten");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn syntax_errors_name_the_place_and_leave_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.uq");
    let text = "prior x : real ~ Normal(0, 1\nlet a=1\n";
    std::fs::write(&bad, text).expect("write");
    let out = Command::cargo_bin("uq")
        .expect("uq binary")
        .arg("fmt")
        .arg(&bad)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("E0003") && err.contains("bad.uq:1:"), "{err}");
    assert_eq!(std::fs::read_to_string(&bad).expect("read"), text);

    let out = Command::cargo_bin("uq")
        .expect("uq binary")
        .args(["fmt", "no/such/dir"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir"));
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_stays_a_link_and_its_file_is_formatted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = dir.path().join("real.uq");
    let link = dir.path().join("link.uq");
    std::fs::write(&real, "prior x:real~Normal(0,1)\n").expect("write");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let out = Command::cargo_bin("uq")
        .expect("uq binary")
        .arg("fmt")
        .arg(&link)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&real).expect("read"),
        "prior x : real ~ Normal(0, 1)\n"
    );
}
