//! diffusers `UNet2DModel` import: outputs and VJPs against PyTorch's (fixtures made by
//! examples/diffusers/make_fixtures.py), loading errors, `uq prior-eval`, and DPS end to end.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::{Array2, Array4, Axis};
use ndarray_npy::{read_npy, write_npy};
use std::path::{Path, PathBuf};
use uq::score::{DiffusersPrior, NoiseKind, Prediction, ScoreModel, VeView};

const SMALL: &str = "tests/fixtures/diffusers/small32";
const PIPE: &str = "tests/fixtures/diffusers/pipe64";

fn npy(path: impl AsRef<Path>) -> Array4<f32> {
    read_npy(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// ‖a − b‖/‖b‖ in f64.
fn rel(a: &Array4<f32>, b: &Array4<f32>) -> f64 {
    let (mut d, mut n) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        d += (f64::from(*x) - f64::from(*y)).powi(2);
        n += f64::from(*y).powi(2);
    }
    (d / n).sqrt()
}

/// The fixture folder holding x.npy and the references, and the path uq is given.
fn cases() -> [(&'static str, PathBuf, [usize; 2]); 2] {
    [
        (SMALL, PathBuf::from(SMALL), [7, 500]),
        // A pipeline folder: uq finds unet/ and ../scheduler/.
        (PIPE, PathBuf::from(PIPE).join("unet"), [0, 999]),
    ]
}

#[test]
fn outputs_and_vjps_match_pytorch() {
    for (root, dir, ts) in cases() {
        let prior = DiffusersPrior::load(Path::new(root)).unwrap();
        let x = npy(dir.join("x.npy"));
        let v = npy(dir.join("v.npy"));
        for t in ts {
            let out = prior.predict(x.view(), t).unwrap();
            let e = rel(&out, &npy(dir.join(format!("out_t{t}.npy"))));
            let g = prior.predict_vjp(x.view(), t, v.view()).unwrap();
            let ev = rel(&g, &npy(dir.join(format!("vjp_t{t}.npy"))));
            eprintln!("{root} t={t}: output rel err {e:.2e}, VJP rel err {ev:.2e}");
            assert!(e < 1e-4, "{root} t={t}: output rel err {e}");
            assert!(ev < 1e-3, "{root} t={t}: VJP rel err {ev}");
        }
    }
}

#[test]
fn schedule_prediction_and_score_conversion() {
    let small = DiffusersPrior::load(Path::new(SMALL)).unwrap();
    assert_eq!(small.prediction(), Prediction::Epsilon);
    assert_eq!(small.dim(), 32 * 32);
    let pipe = DiffusersPrior::load(Path::new(PIPE)).unwrap();
    assert_eq!(pipe.prediction(), Prediction::V);
    assert_eq!(pipe.dim(), 2 * 64 * 64);
    assert!(matches!(pipe.noise_kind(), NoiseKind::Vp { steps: 1000, .. }));
    let s = pipe.vp_schedule().unwrap();
    // squaredcos_cap_v2: ᾱ_t = f(t+1)/f(0) with f(u) = cos²((u/T + 0.008)/1.008 · π/2).
    let f = |u: f64| {
        ((u / 1000.0 + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    assert!((s.alpha_bar(400) - f(401.0) / f(0.0)).abs() < 1e-12);
    // The score is −ε/√(1−ᾱ) with ε = √ᾱ v + √(1−ᾱ) x of the network input x = x' − √ᾱ.
    let x = npy(Path::new(PIPE).join("unet/x.npy"));
    let t = 600;
    let ab = s.alpha_bar(t);
    let v = pipe.predict(x.view(), t).unwrap();
    let shifted = x.mapv(|a| f64::from(a) + ab.sqrt());
    let rows = Array2::from_shape_fn((2, pipe.dim()), |(b, k)| {
        shifted[[b, k % 2, k / 2 / 64, (k / 2) % 64]]
    });
    let score = pipe.score(rows.view(), t as f64).unwrap();
    let mut worst = 0.0f64;
    for ((b, c, i, j), vv) in v.indexed_iter() {
        let eps = ab.sqrt() * f64::from(*vv) + (1.0 - ab).sqrt() * f64::from(x[[b, c, i, j]]);
        let want = -eps / (1.0 - ab).sqrt();
        let got = score[[b, (i * 64 + j) * 2 + c]];
        worst = worst.max((got - want).abs() / want.abs().max(1.0));
    }
    assert!(worst < 1e-4, "score conversion off by {worst}");
    assert_eq!(pipe.data_scale(), 2.0);

    // Its VE view (annealed HMC on a diffusers network) follows the cosine schedule itself, not a
    // linear one through the end βs: the σ range is σ_t = √((1−ᾱ_t)/ᾱ_t)/c at t = 0 and T − 1.
    let view = VeView::new(&pipe).unwrap();
    let NoiseKind::Ve { sigma_min, sigma_max } = view.noise_kind() else {
        panic!("the view is not VE: {:?}", view.noise_kind())
    };
    let sig = |t: usize| ((1.0 - s.alpha_bar(t)) / s.alpha_bar(t)).sqrt() / 2.0;
    assert!(
        (sigma_min / sig(0) - 1.0).abs() < 1e-12,
        "{sigma_min} vs {}",
        sig(0)
    );
    assert!(
        (sigma_max / sig(999) - 1.0).abs() < 1e-12,
        "{sigma_max} vs {}",
        sig(999)
    );
}

/// A copy of the small fixture's model files in a temporary folder.
fn copy_small() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "config.json",
        "diffusion_pytorch_model.safetensors",
        "scheduler_config.json",
    ] {
        std::fs::copy(Path::new(SMALL).join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn load_err(dir: &Path) -> String {
    match DiffusersPrior::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn loading_errors_name_the_file_and_the_fix() {
    let d = copy_small();
    std::fs::write(d.path().join("config.json"), "{ \"sample_size\": 32,").unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("config.json") && e.contains("not a valid diffusers config"),
        "{e}"
    );

    let d = copy_small();
    std::fs::remove_file(d.path().join("diffusion_pytorch_model.safetensors")).unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("diffusion_pytorch_model.safetensors") && e.contains("save_pretrained"),
        "{e}"
    );

    let d = copy_small();
    let cfg = std::fs::read_to_string(d.path().join("config.json")).unwrap();
    let fourier = cfg.replace("\"positional\"", "\"fourier\"");
    std::fs::write(d.path().join("config.json"), fourier).unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("time_embedding_type") && e.contains("fourier") && e.contains("config.json"),
        "{e}"
    );

    // Weights of another architecture: the first tensor whose shape differs is named.
    let wide = cfg.replace(
        "\"block_out_channels\": [\n    16,\n    32\n  ]",
        "\"block_out_channels\": [16, 64]",
    );
    assert_ne!(wide, cfg);
    std::fs::write(d.path().join("config.json"), wide).unwrap();
    let e = load_err(d.path());
    assert!(e.contains("has shape") && e.contains("safetensors"), "{e}");

    let d = copy_small();
    std::fs::remove_file(d.path().join("scheduler_config.json")).unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("scheduler_config.json") && e.contains("../scheduler"),
        "{e}"
    );
}

fn uq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uq"))
}

#[test]
fn prior_eval_reproduces_the_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("eps.npy");
    uq().args(["prior-eval", SMALL, "--t", "500", "--x"])
        .arg(Path::new(SMALL).join("x.npy"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let e = rel(&npy(&out), &npy(Path::new(SMALL).join("out_t500.npy")));
    assert!(e < 1e-4, "prior-eval rel err {e}");
    // [B, H, W] input for a one-channel model gives [B, H, W] output.
    let x3 = npy(Path::new(SMALL).join("x.npy")).index_axis_move(Axis(1), 0);
    let (x3p, out3) = (tmp.path().join("x3.npy"), tmp.path().join("eps3.npy"));
    write_npy(&x3p, &x3.mapv(f64::from)).unwrap();
    uq().args(["prior-eval", SMALL, "--t", "7", "--x"])
        .arg(&x3p)
        .arg("--out")
        .arg(&out3)
        .assert()
        .success();
    let y3: ndarray::Array3<f32> = read_npy(&out3).unwrap();
    let want = npy(Path::new(SMALL).join("out_t7.npy")).index_axis_move(Axis(1), 0);
    assert!(rel(&y3.insert_axis(Axis(1)), &want.insert_axis(Axis(1))) < 1e-4);
    // Never overwrite; missing --t; t out of range; wrong shape: exit 2 with a message.
    let fail = |args: &[&str], x: &Path, o: &Path, needle: &str| {
        let a = uq()
            .arg("prior-eval")
            .args(args)
            .arg("--x")
            .arg(x)
            .arg("--out")
            .arg(o)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(err.contains(needle), "{err}");
    };
    let x = Path::new(SMALL).join("x.npy");
    let fresh = tmp.path().join("new.npy");
    fail(&[SMALL, "--t", "7"], &x, &out, "does not overwrite");
    fail(&[SMALL], &x, &fresh, "give --t");
    fail(&[SMALL, "--t", "1000"], &x, &fresh, "0..1000");
    let pipe_x = Path::new(PIPE).join("unet/x.npy");
    fail(&[SMALL, "--t", "3"], &pipe_x, &fresh, "[B, 1, 32, 32]");
    assert!(!fresh.exists());
}

#[test]
fn a_uq_model_with_a_diffusers_prior_checks_and_samples_with_dps() {
    let tmp = tempfile::tempdir().unwrap();
    let prior_dir = std::fs::canonicalize(SMALL).unwrap();
    let y =
        ndarray::Array2::<f64>::from_shape_fn((32, 32), |(i, j)| 0.5 + 0.3 * ((i + j) as f64 / 10.0).sin());
    write_npy(tmp.path().join("y.npy"), &y).unwrap();
    let model = tmp.path().join("denoise.uq");
    std::fs::write(
        &model,
        format!(
            "data y : real[32, 32] = \"y.npy\"\nprior x : real[32, 32] ~ score(\"{}\")\ny ~ Normal(x, 0.1)\ninfer dps(dps_steps = 4, correct = 0)\n",
            prior_dir.display()
        ),
    )
    .unwrap();
    let check = uq().arg("check").arg(&model).assert().success();
    let text = String::from_utf8_lossy(&check.get_output().stdout).to_string()
        + &String::from_utf8_lossy(&check.get_output().stderr);
    assert!(
        text.contains("diffusers_unet2d") && text.contains("dps"),
        "{text}"
    );
    // The model's sample_size must be the latent's shape.
    let wrong = tmp.path().join("wrong.uq");
    std::fs::write(
        &wrong,
        format!("prior x : real[64, 64] ~ score(\"{}\")\n", prior_dir.display()),
    )
    .unwrap();
    let a = uq().arg("check").arg(&wrong).assert().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("real[32, 32]") && err.contains("real[64, 64]"),
        "{err}"
    );
    let out = tmp.path().join("run");
    uq().args(["sample", "--quiet", "--chains", "2", "--seed", "3", "--out"])
        .arg(&out)
        .arg(&model)
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["sampler"], "dps");
    // Provenance records (and hashes) the weights file of the folder.
    let prior = &s["provenance"]["priors"][0];
    assert!(
        prior["path"]
            .as_str()
            .unwrap()
            .ends_with("diffusion_pytorch_model.safetensors"),
        "{prior}"
    );
    assert!(prior["sha256"].is_string(), "{prior}");
    let mean: ndarray::ArrayD<f64> = read_npy(out.join("x").join("mean.npy")).unwrap();
    assert_eq!(mean.shape(), [32, 32]);
    assert!(mean.iter().all(|v| v.is_finite()));
}
