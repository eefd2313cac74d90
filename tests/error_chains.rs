//! Errors printed with their chain (as `uq` does, `{:#}`) say each cause once.
#![allow(clippy::unwrap_used)]

use std::path::Path;

/// How often `needle` occurs in the full report of `e`.
fn said(e: impl std::error::Error + Send + Sync + 'static, needle: &str) -> (usize, String) {
    let report = format!("{:#}", anyhow::Error::new(e));
    (report.matches(needle).count(), report)
}

#[test]
fn output_errors_say_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    // A folder that is a file: "Not a directory (os error 20)".
    let bad = file.join("x.npy");
    let e = uq::output::write_npy(&bad, &ndarray::arr1(&[1.0f64])).unwrap_err();
    let (n, report) = said(e, "os error");
    assert_eq!(n, 1, "{report}");
    assert!(report.contains("x.npy"), "names the path: {report}");
}

#[test]
fn training_errors_say_their_cause_once() {
    let e = uq::score::train::TrainError::from(candle_core::Error::Msg("the network broke".into()));
    let (n, report) = said(e, "the network broke");
    assert_eq!(n, 1, "{report}");
    let dir = tempfile::tempdir().unwrap();
    let e = uq::score::train::read_images(&dir.path().join("none.npy")).unwrap_err();
    let (n, report) = said(e, "os error");
    assert_eq!(n, 1, "{report}");
}

#[test]
fn the_binary_says_a_write_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/prior_only.uq");
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_uq"))
        .args([
            "sample",
            model.to_str().unwrap(),
            "--draws",
            "5",
            "--warmup",
            "5",
            "--chains",
            "1",
        ])
        .arg("--out")
        .arg(dir.path().join("blocker").join("out"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The output folder is checked before sampling: a usage error (exit 2), its cause said once.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}
