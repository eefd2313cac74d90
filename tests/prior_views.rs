//! Samplers through prior views against closed forms: annealed HMC on the VE view of a VP Gaussian
//! prior, DPS on the VP view of a VE one; and `uq sample`/`uq check` running the shipped VP network
//! with annealed HMC and MALA and the shipped VE network with DPS, saying which view is used.
#![allow(clippy::unwrap_used)]

#[path = "kernels_util/mod.rs"]
mod kernels_util;
#[path = "model_util/mod.rs"]
mod model_util;

use kernels_util::{check_moments, gaussian_posterior, normal_vector, rng};
use model_util::load;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use std::sync::atomic::AtomicBool;
use uq::infer::{
    annealed_hmc, correct, run_dps, vp_prior, AnnealedConfig, CorrectorConfig, Denoise, DpsConfig, MhMode,
    VpLevel,
};
use uq::score::{NoiseKind, NormalPrior, ScoreError, ScoreModel, VeView, VpNormalPrior};
use uq::session::Built;

/// A well-conditioned 4×4 mixing matrix (a 3-tap blur with wrap-around), as in `dps_corrector.rs`.
fn mixing() -> Array2<f64> {
    Array2::from_shape_fn((4, 4), |(i, j)| match (4 + j - i) % 4 {
        0 => 0.6,
        1 | 3 => 0.3,
        _ => 0.0,
    })
}

/// `tests/models/linear4.uq` (y = A x + N(0, 0.3²), x ~ N(0, I₄)) with `A = mixing()` and data
/// simulated from seed 7, and the data.
fn linear4() -> (Built, Array2<f64>, Array1<f64>) {
    let a = mixing();
    let mut r = rng(7);
    let x_true = normal_vector(&mut r, 4, 1.0);
    let y = a.dot(&x_true) + normal_vector(&mut r, 4, 0.3);
    let dir = tempfile::tempdir().unwrap();
    let (pa, py) = (dir.path().join("A.npy"), dir.path().join("y.npy"));
    ndarray_npy::write_npy(&pa, &a).unwrap();
    ndarray_npy::write_npy(&py, &y).unwrap();
    let built = load("linear4.uq", &[("A".into(), pa), ("y".into(), py)]);
    (built, a, y)
}

/// Annealed HMC through the VE view of the exact DDPM N(0, 1) prior (σ 1 → 0.05, γ = 0.98, 4 chains ×
/// 300 + 1000 at σ_min): the draws match that level's closed-form posterior (prior N(0, 1 + σ²),
/// likelihood variance 0.3² + σ²), means and variances within the Bonferroni bound of their MCSE.
#[test]
fn annealed_hmc_on_the_ve_view_of_a_vp_prior_matches_the_posterior() {
    let (built, a, y) = linear4();
    let view = VeView::new(VpNormalPrior::iid(4, 0.0, 1.0).unwrap()).unwrap();
    let post = built.posterior.with_priors(vec![Box::new(view)]).unwrap();
    let cfg = AnnealedConfig {
        sigma0: 1.0,
        sigma_min: 0.05,
        gamma: 0.98,
        steps: 4,
        eps: None,
        mh: MhMode::score_only(),
        rounds: 1,
        batch: 64,
        warmup: 300,
        target_accept: None,
        level_adapt: 0.0,
        draws: 1000,
        denoise: Denoise::Mean,
        correct: 0,
    };
    let mut r = rng(31);
    let init = Array2::from_shape_fn((4, 4), |_| normal_vector(&mut r, 1, 1.0)[0]);
    let out = annealed_hmc(&post, &cfg, init, 31, &|_| {}, &AtomicBool::new(false)).unwrap();
    let s2 = cfg.sigma_min * cfg.sigma_min;
    let (mean, cov) = gaussian_posterior(
        &a,
        &y,
        (0.09 + s2).sqrt(),
        &Array1::zeros(4),
        &Array1::from_elem(4, (1.0 + s2).sqrt()),
    );
    let (zm, zv, ess) = check_moments(
        "annealed HMC, VE view of VP N(0, 1)",
        &out.raw,
        &mean,
        &cov.diag().to_owned(),
    );
    eprintln!(
        "{} levels, ε {:.3?}, {} score evaluations; max |z| mean {zm:.2}, var {zv:.2}, min ESS {ess:.0}",
        out.sigmas.len(),
        out.eps,
        out.score_evals
    );
}

/// An exact prior posing as a VE network trained for σ in `[lo, hi]`.
struct AsVe(NormalPrior, f64, f64);

impl ScoreModel for AsVe {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Ve {
            sigma_min: self.1,
            sigma_max: self.2,
        }
    }
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        self.0.score(x, level)
    }
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        self.0.score_vjp(x, level, v)
    }
}

/// Independent samples per DPS case.
const N: usize = 512;

/// DPS (250 steps, ζ = 1) + 50 corrector transitions through the VP view of a VE N(0, 1) prior with
/// the shipped networks' range [0.01, 23.7] (schedule cut at T = 791): the standard of
/// `dps_with_corrector_matches_the_gaussian_posterior`, mean within 0.1 posterior sd and sd ratio
/// within [0.9, 1.1], each up to its Monte-Carlo error (Bonferroni over 8 at 1%).
#[test]
fn dps_on_the_vp_view_of_a_ve_prior_matches_the_posterior() {
    let (built, a, y) = linear4();
    let post = &built.posterior;
    let prior = AsVe(NormalPrior::iid(4, 0.0, 1.0).unwrap(), 0.01, 23.7);
    let cfg = DpsConfig {
        zeta: 1.0,
        steps: 250,
        small_variance: false,
        init: None,
    };
    let stop = AtomicBool::new(false);
    let out = run_dps(post, &prior, &cfg, N, 11, &|_| {}, &stop).unwrap();
    let view = vp_prior(&prior).unwrap();
    assert!(
        matches!(view.noise_kind(), NoiseKind::Vp { steps: 791, .. }),
        "{:?}",
        view.noise_kind()
    );
    let level = VpLevel::new(post, view.as_ref()).unwrap();
    let ccfg = CorrectorConfig {
        steps: 50,
        sigma: level.sigma,
        mh: MhMode::score_only(),
        eds: true,
    };
    let fixed = correct(&level, &out.samples, &ccfg, 11, &stop).unwrap().samples;
    let (mean, cov) = gaussian_posterior(&a, &y, 0.3, &Array1::zeros(4), &Array1::ones(4));
    let sd = cov.diag().mapv(f64::sqrt);
    let moments = |x: &Array2<f64>| {
        let m = x.mean_axis(Axis(0)).unwrap();
        ((&m - &mean) / &sd, &x.std_axis(Axis(0), 1.0) / &sd)
    };
    let (zd, rd) = moments(&out.samples);
    let (zc, rc) = moments(&fixed);
    eprintln!("DPS on the VP view: mean error {zd:.3} sd ratio {rd:.3}; + corrector {zc:.3} / {rc:.3}");
    let z = kernels_util::bonferroni_bound(8);
    let (tol_mean, tol_sd) = (z / (N as f64).sqrt(), z / (2.0 * N as f64).sqrt());
    for (e, s) in zc.iter().zip(&rc) {
        assert!(e.abs() < 0.1 + tol_mean, "corrected mean off by {e:.3} sd");
        assert!(
            *s > 0.9 - tol_sd && *s < 1.1 + tol_sd,
            "corrected sd ratio {s:.3}"
        );
    }
}

/// The MRI example's model with the shipped network `prior` (a file in models/), then `tail` (an
/// `infer` line, or nothing).
fn mri_model(dir: &std::path::Path, prior: &str, tail: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = format!(
        "data y : complex[64, 64] = \"{}\"\ndata mask : real[64, 64] = \"{}\"\n\
         prior x : real[64, 64] ~ score(\"{}\")\ny ~ Normal(mask * fft(x), 0.02)\n{tail}",
        root.join("examples/data/mri_kspace.npy").display(),
        root.join("examples/data/mri_mask.npy").display(),
        root.join("models").join(prior).display(),
    );
    let path = dir.join(format!("mri_{prior}.uq"));
    std::fs::write(&path, model).unwrap();
    path
}

/// `uq sample` of the MRI model with network `prior` and `--sampler NAME` at reduced settings; its
/// summary.json.
fn sample(prior: &str, sampler: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = mri_model(dir.path(), prior, "");
    assert_cmd::Command::cargo_bin("uq")
        .unwrap()
        .args(["sample"])
        .arg(&model)
        .args(["--quiet", "--seed", "3", "--sampler", sampler, "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let mean: Array2<f64> = ndarray_npy::read_npy(out.join("x/mean.npy")).unwrap();
    assert!(mean.iter().all(|v| v.is_finite()), "{prior}: non-finite mean");
    s
}

/// The shipped VP network runs annealed HMC (σ down to its σ_0 = 0.01) and MALA (at that σ) through
/// its VE view, the shipped VE network DPS through its VP view, and the reasons say so.
#[test]
fn shipped_networks_run_the_other_family_samplers() {
    let annealed = [
        "--gamma",
        "0.5",
        "--rounds",
        "1",
        "--warmup",
        "1",
        "--draws",
        "1",
        "--chains",
        "2",
        "--correct",
        "1",
    ];
    let s = sample("head64_vp.safetensors", "annealed-hmc", &annealed);
    assert_eq!(s["sampler"], "annealed_hmc");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason.contains("VE view") && reason.contains("σ in [0.01, 157.4]"),
        "{reason}"
    );
    let sigma_min = s["extra"]["schedule"]["sigma_min"].as_f64().unwrap();
    assert!((sigma_min - 0.01).abs() < 1e-5, "{sigma_min}");

    let s = sample(
        "head64_vp.safetensors",
        "mala",
        &["--warmup", "2", "--draws", "2", "--chains", "1"],
    );
    assert_eq!(s["sampler"], "mala");
    assert!(s["reason"].as_str().unwrap().contains("VE view"));
    assert!(
        (s["extra"]["sigma"].as_f64().unwrap() - 0.01).abs() < 1e-5,
        "{}",
        s["extra"]
    );

    let s = sample(
        "head64_ve.safetensors",
        "dps",
        &["--dps-steps", "4", "--chains", "2", "--correct", "2"],
    );
    assert_eq!(s["sampler"], "dps");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason.contains("VP view") && reason.contains("T = 791"),
        "{reason}"
    );
}

/// `uq check` prints the plan with the view when the model's `infer` line asks for the other family.
#[test]
fn check_prints_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let path = mri_model(dir.path(), "head64_vp.safetensors", "infer annealed_hmc()\n");
    let out = assert_cmd::Command::cargo_bin("uq")
        .unwrap()
        .arg("check")
        .arg(&path)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("sampler: annealed_hmc") && text.contains("VE view"),
        "{text}"
    );
}
