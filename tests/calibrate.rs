//! `uq calibrate` on a linear-Gaussian model with exact posteriors: the exact samplers' ranks are
//! uniform over 200 repetitions, a broken sampler is caught; the command writes its folder.

use ndarray::Array2;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use uq::calibrate::{analyse, calibrate, chosen_params, Analysis, Spec};
use uq::check::{bind_data, check_file};
use uq::session::{prepare, Given, Origin, Raw, Request};
use uq::source::SourceMap;

/// A well-conditioned 4×4 mixing matrix (a 3-tap blur with wrap-around).
fn mixing() -> Array2<f64> {
    Array2::from_shape_fn((4, 4), |(i, j)| match (4 + j - i) % 4 {
        0 => 0.6,
        1 | 3 => 0.3,
        _ => 0.0,
    })
}

fn fixtures(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let (a, y) = (dir.join("A.npy"), dir.join("y.npy"));
    ndarray_npy::write_npy(&a, &mixing()).unwrap();
    ndarray_npy::write_npy(&y, &ndarray::Array1::<f64>::zeros(4)).unwrap();
    vec![("A".into(), a), ("y".into(), y)]
}

/// Calibrate tests/models/linear4.uq (y = A x + N(0, 0.3²), x ~ N(0, I)) with `sampler` and flags.
fn run(sampler: &str, flags: &[(&str, &str)], reps: usize) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = SourceMap::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/linear4.uq");
    let model = check_file(&path, &mut sources).unwrap();
    let data = bind_data(&model, &fixtures(dir.path()), &mut sources).unwrap();
    let request = Request {
        sampler: Some(sampler.into()),
        sampler_origin: "--sampler",
        given: flags
            .iter()
            .map(|(k, v)| Given {
                key: k.to_string(),
                value: Raw::Text(v.to_string()),
                origin: Origin::Flag,
            })
            .collect(),
    };
    let base =
        prepare(&model, data.clone(), &request).unwrap_or_else(|_| panic!("{sampler} does not prepare"));
    let spec = Spec::new(&model, data, request, reps);
    let out = calibrate(&spec, &base, &|_| {}, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(out.stats.len(), reps, "{sampler}: stopped: {:?}", out.stopped);
    let chosen = chosen_params(&[("x".into(), vec![4], false)], &[(0, 4)]);
    analyse(&out.stats, &chosen, None)
}

fn uniform(sampler: &str, flags: &[(&str, &str)]) {
    let a = run(sampler, flags, 200);
    eprintln!("{sampler} {flags:?}: {}", a.verdict);
    assert!(a.rank_uniformity_p > 0.01, "{sampler}: {}", a.verdict);
    for c in &a.chosen {
        assert!(c.p > 0.01 / 4.0, "{sampler}: {} p = {}", c.name, c.p);
    }
}

#[test]
fn nuts_ranks_are_uniform() {
    uniform("hmc", &[("draws", "100"), ("warmup", "100")]);
}

#[test]
fn mala_ranks_are_uniform() {
    uniform("mala", &[("draws", "200"), ("warmup", "200")]);
}

#[test]
fn annealed_hmc_ranks_are_uniform() {
    // γ 0.9 instead of 0.995: 20× fewer levels; the last level's exact MH keeps it exact.
    uniform("annealed_hmc", &[("gamma", "0.9")]);
}

#[test]
fn dps_with_the_corrector_ranks_are_uniform() {
    uniform("dps", &[("draws", "4"), ("dps_steps", "250")]);
}

#[test]
fn broken_samplers_are_caught() {
    // DPS with ζ = 3 and no corrector over-weights the data.
    let a = run(
        "dps",
        &[
            ("draws", "4"),
            ("dps_steps", "250"),
            ("zeta", "3"),
            ("correct", "0"),
        ],
        200,
    );
    assert!(a.rank_uniformity_p < 1e-3, "DPS ζ = 3: {}", a.verdict);
    // MALA without its Metropolis correction at a large fixed step.
    let a = run(
        "mala",
        &[
            ("draws", "200"),
            ("warmup", "0"),
            ("mh", "off"),
            ("step_size", "0.5"),
        ],
        200,
    );
    assert!(a.rank_uniformity_p < 1e-3, "MALA without MH: {}", a.verdict);
}

#[test]
fn the_command_writes_a_calibration_folder_and_keeps_foreign_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures(dir.path());
    let out = dir.path().join("cal");
    let cmd = |out: &Path| {
        let mut c = assert_cmd::Command::cargo_bin("uq").unwrap();
        c.arg("calibrate")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/linear4.uq"))
            .args([
                "--reps",
                "12",
                "--sampler",
                "hmc",
                "--draws",
                "50",
                "--warmup",
                "50",
                "--quiet",
                "--conformal",
            ])
            .arg("--out")
            .arg(out);
        for (k, p) in &data {
            c.arg("--data").arg(format!("{k}={}", p.display()));
        }
        c
    };
    let assert = cmd(&out).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("12 repetitions of 4 parameters"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap()).unwrap();
    assert_eq!(json["reps"], 12);
    assert!(json["rank_uniformity_p"].is_number());
    assert_eq!(json["coverage"].as_array().unwrap().len(), 9);
    for f in [
        "calibration.png",
        "ranks.png",
        "ranks.npy",
        "truths.npy",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // The conformal scales: finite where 6 calibration repetitions allow it (α ≥ 1/7), and usable.
    let scale: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("interval_scale.json")).unwrap()).unwrap();
    assert!(scale["scale"][4].as_f64().unwrap().is_finite(), "{scale}");
    assert!(scale["scale"][8].is_null(), "{scale}");
    let run = dir.path().join("run");
    let mut s = assert_cmd::Command::cargo_bin("uq").unwrap();
    s.arg("sample")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/linear4.uq"))
        .args([
            "--quiet",
            "--draws",
            "200",
            "--warmup",
            "200",
            "--interval-level",
            "0.5",
            "--interval-scale",
        ])
        .arg(out.join("interval_scale.json"))
        .arg("--out")
        .arg(&run);
    for (k, p) in &data {
        s.arg("--data").arg(format!("{k}={}", p.display()));
    }
    s.assert().success();
    let lo: ndarray::Array1<f64> = ndarray_npy::read_npy(run.join("x/lower.npy")).unwrap();
    let hi: ndarray::Array1<f64> = ndarray_npy::read_npy(run.join("x/upper.npy")).unwrap();
    assert!(lo.iter().zip(&hi).all(|(l, h)| l < h), "{lo} {hi}");
    // Its own earlier folder is replaced; a folder with someone's file is refused untouched.
    cmd(&out).assert().success();
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep").unwrap();
    cmd(&foreign).assert().code(2);
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep"
    );
}
