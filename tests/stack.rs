//! `uq sample --over NAME`: one run per slice of a stacked data tensor, equal to a separate run of
//! that slice, with stacked means and the per-slice table (PSNR against `--truth`).
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::{Array2, Array3};

#[test]
fn over_runs_every_slice_as_its_own_run_and_stacks_the_means() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("m.uq"),
        "data y : real[3]\nprior x : real[3] ~ Normal(0, 1)\ny ~ Normal(x, 0.5)\n",
    )
    .unwrap();
    let truth = Array2::from_shape_fn((4, 3), |(i, j)| 0.2 * i as f64 - 0.1 * j as f64);
    let stack = &truth + 0.05;
    ndarray_npy::write_npy(dir.join("stack.npy"), &stack).unwrap();
    ndarray_npy::write_npy(dir.join("truth.npy"), &truth).unwrap();
    ndarray_npy::write_npy(dir.join("y2.npy"), &stack.row(2).to_owned()).unwrap();
    let run = ["--draws", "30", "--warmup", "30", "--chains", "2", "--quiet"];
    for _ in 0..2 {
        // The second time replaces the first stack (uq wrote it).
        Command::cargo_bin("uq")
            .unwrap()
            .current_dir(dir)
            .args([
                "sample",
                "m.uq",
                "--data",
                "y=stack.npy",
                "--over",
                "y",
                "--truth",
                "truth.npy",
            ])
            .args(["--out", "st"])
            .args(run)
            .assert()
            .success();
    }
    Command::cargo_bin("uq")
        .unwrap()
        .current_dir(dir)
        .args(["sample", "m.uq", "--data", "y=y2.npy", "--out", "alone"])
        .args(run)
        .assert()
        .success();
    let st = dir.join("st");
    assert_eq!(
        std::fs::read(st.join("slice_002/x/samples.npy")).unwrap(),
        std::fs::read(dir.join("alone/x/samples.npy")).unwrap()
    );
    let means: Array2<f64> = ndarray_npy::read_npy(st.join("x/mean.npy")).unwrap();
    let stds: Array2<f64> = ndarray_npy::read_npy(st.join("x/std.npy")).unwrap();
    assert_eq!(means.dim(), (4, 3));
    assert_eq!(stds.dim(), (4, 3));
    let samples: Array3<f64> = ndarray_npy::read_npy(st.join("slice_001/x/samples.npy"))
        .map(|a: ndarray::Array3<f64>| a)
        .unwrap();
    assert_eq!(samples.shape()[0], 2);
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(st.join("stack.json")).unwrap()).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        let p = r["psnr"].as_f64().unwrap();
        assert!(p.is_finite() && p > 0.0, "{r}");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(st.join("slice_003/summary.json")).unwrap()).unwrap();
    assert_eq!(s["extra"]["slice"]["index"], 3);
    assert!(s["provenance"]["data"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("stack.npy"));
}

#[test]
fn over_needs_the_stack_bound() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("m.uq"),
        "data y : real[3]\nprior x : real[3] ~ Normal(0, 1)\ny ~ Normal(x, 0.5)\n",
    )
    .unwrap();
    let o = Command::cargo_bin("uq")
        .unwrap()
        .current_dir(d.path())
        .args(["sample", "m.uq", "--over", "y", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--data y=STACK.npy"));
}
