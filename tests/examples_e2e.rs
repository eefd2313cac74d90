//! Every shipped example model runs end to end through `uq sample` with the shipped priors and data,
//! at reduced settings (a short schedule, few draws), and writes its run folder.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use std::path::Path;

/// Reduced settings per sampler: what CI can afford in the dev profile.
const ANNEALED: &[&str] = &[
    "--gamma",
    "0.5",
    "--rounds",
    "2",
    "--warmup",
    "2",
    "--draws",
    "2",
    "--chains",
    "2",
    "--correct",
    "2",
];
const DPS: &[&str] = &["--dps-steps", "4", "--chains", "2", "--correct", "2"];

fn run(model: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    Command::cargo_bin("uq")
        .unwrap()
        .args(["sample", model, "--quiet", "--seed", "3", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    for f in [
        "samples.npy",
        "mean.npy",
        "std.npy",
        "mean.png",
        "std.png",
        "samples.png",
    ] {
        assert!(out.join("x").join(f).is_file(), "{model}: missing x/{f}");
    }
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mean: ndarray::Array2<f64> = ndarray_npy::read_npy(out.join("x/mean.npy")).unwrap();
    assert!(mean.iter().all(|v| v.is_finite()), "{model}: non-finite mean");
    assert_eq!(mean.dim(), (64, 64));
    s
}

#[test]
fn mri_runs_annealed_hmc() {
    let s = run("models/mri.uq", ANNEALED);
    assert_eq!(s["sampler"], "annealed_hmc");
    assert_eq!(s["extra"]["schedule"]["start"], "adjoint");
    // σ 1 → 0.02 (the model's σ_min) with γ = 0.5: 1, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.02.
    let levels = s["extra"]["level_accept"].as_array().unwrap().len();
    assert_eq!(levels, 7);
    assert_eq!(s["extra"]["schedule"]["levels"], 7);
    // 2 chains × 2 rounds × 2 draws.
    assert_eq!(s["extra"]["schedule"]["rounds"], 2);
    assert_eq!((s["chains"].as_u64(), s["draws"].as_u64()), (Some(2), Some(4)));
    // Linear-Gaussian in the image: the last step is a draw given the data, by default.
    assert_eq!(s["extra"]["schedule"]["denoise"], "draw");
    assert!(s["extra"]["denoise_draw"]["cg_iterations"].as_u64().is_some());
}

#[test]
fn mri_dps_runs_dps_and_ccdf() {
    let s = run("models/mri_dps.uq", DPS);
    assert_eq!(s["sampler"], "dps");
    let mut ccdf = DPS.to_vec();
    ccdf.extend(["--init", "adjoint", "--t0", "0.5"]);
    let s = run("models/mri_dps.uq", &ccdf);
    assert_eq!(s["extra"]["ccdf_t0"], 0.5);
    assert!(s["reason"].as_str().unwrap().contains("dps"));
}

#[test]
fn deblur_gaussian_and_poisson_run_dps() {
    for m in ["models/deblur.uq", "models/deblur_poisson.uq"] {
        let s = run(m, DPS);
        assert_eq!(s["sampler"], "dps", "{m}");
    }
}

#[test]
fn inpaint_runs_annealed_hmc() {
    let s = run("models/inpaint.uq", ANNEALED);
    assert_eq!(s["sampler"], "annealed_hmc");
}

/// The two deblurring models differ only in their data and likelihood lines.
#[test]
fn deblur_models_differ_only_in_the_likelihood() {
    let read = |p: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap();
    let (g, p) = (read("models/deblur.uq"), read("models/deblur_poisson.uq"));
    let code = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let diff: Vec<(String, String)> = code(&g)
        .into_iter()
        .zip(code(&p))
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(diff.len(), 2, "{diff:?}");
    assert!(diff[0].1.contains("deblur_poisson_y.npy"));
    assert!(diff[1].0.contains("Normal(") && diff[1].1.contains("Poisson("));
}
