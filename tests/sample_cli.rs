//! `uq sample` end to end: the run folder's files, summary.json fields, and seed reproducibility.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use std::path::Path;

fn sample(model: &str, out: &Path, extra: &[&str]) {
    let mut cmd = Command::cargo_bin("uq").unwrap();
    cmd.args(["sample", model, "--quiet", "--out"])
        .arg(out)
        .args(extra);
    cmd.assert().success();
}

#[test]
fn writes_every_file_and_the_summary_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    sample(
        "models/blur_demo.uq",
        &out,
        &["--draws", "20", "--warmup", "20", "--chains", "2"],
    );
    for f in [
        "samples.npy",
        "mean.npy",
        "std.npy",
        "mean.png",
        "std.png",
        "samples.png",
    ] {
        assert!(out.join("x").join(f).is_file(), "missing x/{f}");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "sampler",
        "reason",
        "chains",
        "draws",
        "warmup",
        "seed",
        "acceptance_rate",
        "step_size",
        "divergences",
        "rhat_max",
        "ess_bulk_min",
        "ess_tail_min",
        "grad_evals",
        "score_evals",
        "wall_seconds",
        "peak_memory_bytes",
        "partial",
        "latents",
    ] {
        assert!(s.get(key).is_some(), "summary.json lacks `{key}`");
    }
    assert_eq!(s["sampler"], "hmc");
    assert_eq!(s["chains"], 2);
    assert_eq!(s["draws"], 20);
    assert_eq!(s["partial"], false);
    assert_eq!(s["latents"][0]["shape"], serde_json::json!([32, 32]));
    let samples: ndarray::ArrayD<f64> = ndarray_npy::read_npy(out.join("x").join("samples.npy")).unwrap();
    assert_eq!(samples.shape(), &[2, 20, 32, 32]);
    // No sibling temporary folder is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn same_seed_gives_bit_identical_draws() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--draws", "30", "--warmup", "30", "--seed", "7"];
    sample("models/mixture_regression.uq", &dir.path().join("a"), &args);
    sample("models/mixture_regression.uq", &dir.path().join("b"), &args);
    let read = |p: &str| std::fs::read(dir.path().join(p).join("beta").join("samples.npy")).unwrap();
    assert_eq!(read("a"), read("b"));
    sample(
        "models/mixture_regression.uq",
        &dir.path().join("c"),
        &["--draws", "30", "--warmup", "30", "--seed", "8"],
    );
    assert_ne!(read("a"), read("c"));
}

#[test]
fn impossible_sampler_is_a_diagnostic() {
    let mut cmd = Command::cargo_bin("uq").unwrap();
    cmd.args([
        "sample",
        "models/blur_demo.uq",
        "--sampler",
        "annealed-langevin",
        "--quiet",
    ]);
    let out = cmd.assert().code(1).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("E0706") && text.contains("blur_demo.uq:"), "{text}");
}

/// A hierarchical model: constrained latents are written on their scale, an `output` is the
/// function of the latents it names at every draw, and `--predictive` writes replicates and checks.
#[test]
fn hierarchical_outputs_and_predictive_replicates() {
    use ndarray::{Array2, Array3};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    sample(
        "tests/valid/hierarchical.uq",
        &out,
        &["--draws", "50", "--warmup", "50", "--chains", "2", "--predictive"],
    );
    let sigma: Array2<f64> = ndarray_npy::read_npy(out.join("sigma/samples.npy")).unwrap();
    assert!(
        sigma.iter().all(|s| *s > 0.0),
        "sigma is written on its (positive) scale"
    );
    let p: Array2<f64> = ndarray_npy::read_npy(out.join("p/samples.npy")).unwrap();
    assert!(p.iter().all(|p| *p > 0.0 && *p < 1.0));
    let x: Array3<f64> = ndarray_npy::read_npy(out.join("x/samples.npy")).unwrap();
    let resid: Array3<f64> = ndarray_npy::read_npy(out.join("resid/samples.npy")).unwrap();
    let y: ndarray::Array1<f64> = ndarray_npy::read_npy("tests/invalid/data/real4.npy").unwrap();
    let want = -&x + &y;
    assert!(want.iter().zip(resid.iter()).all(|(a, b)| (a - b).abs() < 1e-12));
    let y_rep: Array3<f64> = ndarray_npy::read_npy(out.join("y_rep/samples.npy")).unwrap();
    assert_eq!(y_rep.shape(), &[2, 50, 4]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let checks = s["predictive"].as_array().unwrap();
    assert_eq!(checks.len(), 4);
    assert!(checks
        .iter()
        .all(|c| c["data"] == "y" && c["p_value"].as_f64().is_some()));
}

/// A reader that closes the pipe early (`uq check model.uq | head -1`) ends `uq` quietly by
/// SIGPIPE, as other Unix tools end, not by a panic in `println!`.
#[cfg(unix)]
#[test]
fn closed_stdout_pipe_is_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_uq"))
        .args(["check", "models/mri.uq"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}: {stderr}",
        out.status
    );
}
