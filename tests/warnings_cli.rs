//! `uq sample` end to end: warnings on stderr and in summary.json, and `sample_stats.npz`.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::Array2;
use ndarray_npy::NpzReader;
use std::path::Path;

/// Run `uq sample` (exit 0 whatever it warns); returns stderr and summary.json.
fn sample(model: &str, out: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    let mut cmd = Command::cargo_bin("uq").unwrap();
    cmd.args(["sample", model, "--quiet", "--out"])
        .arg(out)
        .args(extra);
    let done = cmd.assert().success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    let summary = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (stderr, summary)
}

fn kinds(summary: &serde_json::Value) -> Vec<String> {
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The repro: mri_gauss at 20 + 20 with the diagonal metric has chains whose every draw is
/// divergent. (With the default low-rank metric the same short run warns too, of chains stuck at
/// acceptance 0 and R̂, without divergences.)
#[test]
fn divergent_chains_and_a_short_warmup_warn() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (stderr, summary) = sample(
        "models/mri_gauss.uq",
        &out,
        &[
            "--warmup", "20", "--draws", "20", "--seed", "5", "--metric", "diag",
        ],
    );
    let k = kinds(&summary);
    assert!(k.contains(&"divergences".to_string()), "{k:?}\n{stderr}");
    assert!(k.contains(&"short_warmup".to_string()), "{k:?}");
    assert!(stderr.contains("warning: ") && stderr.contains("of 20)") && stderr.contains("--warmup 150"));
    // Every warning is printed, one per line, and carries its figures.
    assert_eq!(stderr.matches("warning: ").count(), k.len());
    let div = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "divergences")
        .unwrap();
    let per_chain: Vec<u64> = serde_json::from_value(div["figures"]["per_chain"].clone()).unwrap();
    assert_eq!(per_chain.len(), 4);
    assert_eq!(
        per_chain,
        serde_json::from_value::<Vec<u64>>(summary["divergences"].clone()).unwrap()
    );

    // sample_stats.npz: ArviZ's names, [chains, draws] each, the divergences as summary.json counts them.
    let mut npz = NpzReader::new(std::fs::File::open(out.join("sample_stats.npz")).unwrap()).unwrap();
    let mut names = npz.names().unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "acceptance_rate",
            "diverging",
            "energy",
            "lp",
            "n_steps",
            "step_size",
            "tree_depth"
        ]
    );
    let diverging: Array2<bool> = npz.by_name("diverging").unwrap();
    assert_eq!(diverging.dim(), (4, 20));
    let counted: Vec<u64> = diverging
        .rows()
        .into_iter()
        .map(|r| r.iter().filter(|&&d| d).count() as u64)
        .collect();
    assert_eq!(counted, per_chain);
    let depth: Array2<i64> = npz.by_name("tree_depth").unwrap();
    let steps: Array2<i64> = npz.by_name("n_steps").unwrap();
    // Depth d counts the valid doublings: 2^d − 1 steps, plus at most 2^d of a rejected subtree.
    for (d, n) in depth.iter().zip(&steps) {
        assert!(*n >= 1 && *n < 1 << (d + 1), "depth {d}, {n} steps");
    }
    let lp: Array2<f64> = npz.by_name("lp").unwrap();
    assert!(lp.iter().all(|v| v.is_finite()));
}

/// A healthy run at the defaults warns about nothing and exits 0.
#[test]
fn a_healthy_run_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (stderr, summary) = sample("models/mixture_regression.uq", &out, &["--seed", "2"]);
    assert_eq!(summary["warnings"], serde_json::json!([]), "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    let mut npz = NpzReader::new(std::fs::File::open(out.join("sample_stats.npz")).unwrap()).unwrap();
    let acc: Array2<f64> = npz.by_name("acceptance_rate").unwrap();
    assert_eq!(acc.dim(), (4, 1000));
    let mean = acc.mean().unwrap();
    assert!(mean > 0.6 && mean < 0.99, "mean acceptance {mean}");
}
