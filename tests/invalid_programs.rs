//! Invalid programs: every `tests/invalid/NNN_*.uq` fails with a coded, located diagnostic.
//!
//! A first line `# args: --data NAME=PATH ...` gives `--data` bindings (paths relative to the
//! repository root). Rendered diagnostics (colour off, relative paths) are insta snapshots; every
//! checker error code must be exercised; the real binary must exit 1 with a `line:col` location.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use uq::check::{bind_data, check_file, ALL_CODES};
use uq::diagnostics::{render_all, Diagnostic, Severity};
use uq::session::{prepare, PrepareError, Request};
use uq::source::SourceMap;

fn programs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("tests/invalid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.ends_with(".uq") && name.len() > 4 && name[..3].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    v.sort();
    v
}

/// The words after `# args:` on the program's first line.
fn args_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# args:"))
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

fn overrides(args: &[String]) -> Vec<(String, PathBuf)> {
    args.windows(2)
        .filter(|w| w[0] == "--data")
        .map(|w| {
            let (n, p) = w[1].split_once('=').unwrap();
            (n.to_string(), PathBuf::from(p))
        })
        .collect()
}

/// Check, bind and prepare a run like `uq check`; the diagnostics of the first failing stage.
fn diagnose(path: &Path) -> (Vec<Diagnostic>, SourceMap) {
    let mut sources = SourceMap::new();
    let ov = overrides(&args_of(path));
    let result = check_file(path, &mut sources).and_then(|m| {
        let data = bind_data(&m, &ov, &mut sources)?;
        match prepare(&m, data, &Request::default()) {
            Ok(_) => Ok(()),
            Err(PrepareError::Model(d)) => Err(d),
            Err(PrepareError::Usage(u)) => panic!("{}: usage error {u}", path.display()),
        }
    });
    match result {
        Ok(_) => panic!("{} was accepted but must be rejected", path.display()),
        Err(d) => (d, sources),
    }
}

#[test]
fn there_are_at_least_forty_invalid_programs() {
    assert!(
        programs().len() >= 40,
        "only {} invalid programs",
        programs().len()
    );
}

#[test]
fn invalid_programs_render_snapshots() {
    for path in programs() {
        let (diags, sources) = diagnose(&path);
        assert!(
            diags.iter().any(|d| d.severity == Severity::Error),
            "{}: no error diagnostic",
            path.display()
        );
        let source = std::fs::read_to_string(&path).unwrap();
        let rendered = render_all(&diags, &sources, false);
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::assert_snapshot!(stem, format!("SOURCE CODE\n{source}\nERROR\n{rendered}"));
    }
}

#[test]
fn every_checker_error_code_is_exercised() {
    let mut seen = BTreeSet::new();
    for path in programs() {
        for d in diagnose(&path).0 {
            seen.insert(d.code);
        }
    }
    // E0109 needs a model file that does not exist, which cannot live in tests/invalid/.
    let mut sources = SourceMap::new();
    let err = check_file(Path::new("tests/invalid/no_such_model.uq"), &mut sources).unwrap_err();
    seen.extend(err.iter().map(|d| d.code));
    // E0110 needs a chain of more than 64 modules, written to a temporary folder.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..70 {
        let text = format!("import m{}\nfn f{i}(x) = x\n", i + 1);
        std::fs::write(dir.path().join(format!("m{i}.uq")), text).unwrap();
    }
    std::fs::write(dir.path().join("m70.uq"), "fn f70(x) = x\n").unwrap();
    let model = dir.path().join("model.uq");
    std::fs::write(&model, "import m0\nprior x ~ Normal(f0(0), 1)\n").unwrap();
    let err = check_file(&model, &mut SourceMap::new()).unwrap_err();
    assert!(
        err.iter()
            .any(|d| d.code == "E0110" && d.note.as_deref().is_some_and(|n| n.contains("m0 -> m1"))),
        "{err:?}"
    );
    seen.extend(err.iter().map(|d| d.code));
    let missing: Vec<&str> = ALL_CODES.iter().copied().filter(|c| !seen.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "codes without an invalid program: {missing:?}"
    );
    // The syntax stage contributes its own codes too.
    assert!(
        seen.iter().any(|c| c.starts_with("E00")),
        "no syntax error among the programs"
    );
}

fn has_line_col(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        let digits = |mut j: usize| {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            (j > start).then_some(j)
        };
        b[i] == b':' && digits(i + 1).is_some_and(|j| j < b.len() && b[j] == b':' && digits(j + 1).is_some())
    })
}

#[test]
fn the_binary_exits_1_with_a_location() {
    for path in programs() {
        let out = Command::cargo_bin("uq")
            .unwrap()
            .arg("check")
            .arg(&path)
            .args(args_of(&path))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: stderr:\n{stderr}",
            path.display()
        );
        assert!(
            has_line_col(&stderr),
            "{}: no line:col in\n{stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
        assert!(
            !stderr.contains('\u{1b}'),
            "{}: colour in non-terminal stderr",
            path.display()
        );
    }
}
