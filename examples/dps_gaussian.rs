//! DPS against a closed-form posterior: the 8×8 Gaussian-blur model of the tests with an analytic
//! VP prior N(0, 1) (exact diffused scores), so DPS's only error is its own approximation.
//!
//! Run: `cargo run --release --example dps_gaussian` — prints, for 1000 and 250 (strided) steps, both
//! reverse-step variances (β "large", β̃ "small") and each step size ζ, the RMS over pixels of
//! (DPS mean − exact mean)/exact sd and the mean ratio DPS sd / exact sd, from 512 independent DPS
//! samples (the Monte-Carlo floor of the first figure is 1/√512 ≈ 0.044).
//!
//! `cargo run --release --example dps_gaussian -- corrector` instead measures the corrector at ζ = 1
//! (β variance): the same two figures after K = 0, 5, 10, 20, 50, 100 MALA transitions at σ_c, with
//! the corrector's acceptance, step, jump and prior evaluations per sample. `-- annealed` measures
//! annealed HMC on the same model with the analytic N(0, 1) prior (σ 1 → 0.02, γ 0.98, 4 leapfrog
//! steps, 512 independent runs with one draw each) after K = 0, 5, 10, 20, 50 corrector transitions.
//! `-- strided` measures fewer strided steps (250, 150, 100) with ζ raised to keep or exceed the
//! total guidance of 250 steps at ζ = 1 (β variance).

#[path = "../tests/kernels_util/mod.rs"]
mod kernels_util;

use kernels_util::{blur_matrix, gaussian_posterior, normal_vector, rng};
use ndarray::{Array1, Array2, Axis};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use uq::check::{bind_data, check_file};
use uq::infer::{
    annealed_hmc, correct, run_dps, vp_prior, AnnealedConfig, CorrectorConfig, Denoise, DpsConfig, MhMode,
    VpLevel,
};
use uq::score::VpNormalPrior;
use uq::session::build;
use uq::source::SourceMap;

const SIDE: usize = 8;
const NOISE: f64 = 0.2;

fn main() -> anyhow::Result<()> {
    let b = blur_matrix(SIDE);
    let d = SIDE * SIDE;
    let mut r = rng(2024);
    let x_true = normal_vector(&mut r, d, 1.0);
    let y = b.dot(&x_true) + normal_vector(&mut r, d, NOISE);
    let dir = tempfile::tempdir()?;
    let y_path = dir.path().join("y.npy");
    ndarray_npy::write_npy(&y_path, &y.clone().into_shape_with_order((SIDE, SIDE))?)?;
    let mut sources = SourceMap::new();
    let model = check_file(Path::new("tests/models/blur8.uq"), &mut sources)
        .map_err(|d| anyhow::anyhow!("blur8.uq: {d:?}"))?;
    let data = bind_data(&model, &[("y".into(), y_path.clone())], &mut sources)
        .map_err(|d| anyhow::anyhow!("data: {d:?}"))?;
    let built = build(&model, data, false).map_err(|d| anyhow::anyhow!("build: {d:?}"))?;
    let prior = VpNormalPrior::iid(d, 0.0, 1.0)?;
    // The model's own analytic N(0, 1) prior for annealed HMC; its exact VP view for DPS.
    let data2 = bind_data(&model, &[("y".into(), y_path.clone())], &mut sources)
        .map_err(|d| anyhow::anyhow!("data: {d:?}"))?;
    let analytic = build(&model, data2, false).map_err(|d| anyhow::anyhow!("build: {d:?}"))?;
    let post = built
        .posterior
        .with_priors(vec![Box::new(VpNormalPrior::iid(d, 0.0, 1.0)?)])
        .map_err(|m| anyhow::anyhow!(m))?;
    let (mean, cov) = gaussian_posterior(&b, &y, NOISE, &Array1::zeros(d), &Array1::ones(d));
    let sd = cov.diag().mapv(f64::sqrt);
    let chains = 512;
    let score = |x: &Array2<f64>| {
        let m = x.mean_axis(Axis(0)).unwrap_or_default();
        let z = (&m - &mean) / &sd;
        let rms = (z.mapv(|v| v * v).sum() / d as f64).sqrt();
        (rms, (&x.std_axis(Axis(0), 1.0) / &sd).mean().unwrap_or(f64::NAN))
    };
    if std::env::args().nth(1).as_deref() == Some("corrector") {
        let stop = AtomicBool::new(false);
        let view = vp_prior(&prior)?;
        let level = VpLevel::new(&post, view.as_ref())?;
        for steps in [1000, 250] {
            let cfg = DpsConfig {
                zeta: 1.0,
                steps,
                small_variance: false,
                init: None,
            };
            let out = run_dps(&post, &prior, &cfg, chains, 7, &|_| {}, &stop)?;
            for k in [0, 5, 10, 20, 50, 100] {
                let ccfg = CorrectorConfig {
                    steps: k,
                    sigma: level.sigma,
                    mh: MhMode::score_only(),
                    eds: true,
                };
                let c = correct(&level, &out.samples, &ccfg, 7, &stop)?;
                let (rms, ratio) = score(&c.samples);
                let accept = c.accept.iter().sum::<f64>() / chains as f64;
                // Every sample adapts its own step: their mean.
                let step = c.step_size.iter().sum::<f64>() / c.step_size.len().max(1) as f64;
                println!(
                    "{{\"steps\": {steps}, \"K\": {k}, \"rms_mean_error_in_sd\": {rms:.3}, \"sd_ratio\": {ratio:.3}, \"accept\": {accept:.3}, \"step\": {step:.4}, \"jump\": {:.3}, \"prior_evals_per_sample\": {:.1}, \"sigma_c\": {:.4}}}",
                    c.jump(&out.samples),
                    (c.grad_evals + c.score_evals) as f64 / chains as f64,
                    level.sigma
                );
            }
        }
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("annealed") {
        for k in [0, 5, 10, 20, 50] {
            let cfg = AnnealedConfig {
                sigma0: 1.0,
                sigma_min: 0.02,
                gamma: 0.98,
                steps: 4,
                eps: None,
                mh: MhMode::score_only(),
                rounds: chains,
                batch: 64,
                warmup: 0,
                target_accept: None,
                level_adapt: 0.0,
                draws: 1,
                denoise: Denoise::Mean,
                correct: k,
            };
            let init = Array2::from_shape_fn((chains, d), |_| normal_vector(&mut r, 1, 1.0)[0]);
            let out = annealed_hmc(
                &analytic.posterior,
                &cfg,
                init,
                7,
                &|_| {},
                &AtomicBool::new(false),
            )?;
            let x = out.draws.into_shape_with_order((chains, d))?;
            let (rms, ratio) = score(&x);
            let jump = out.corrections.iter().map(|(c, from)| c.jump(from)).sum::<f64>()
                / out.corrections.len().max(1) as f64
                + 0.0;
            println!(
                "{{\"annealed_hmc\": true, \"K\": {k}, \"rms_mean_error_in_sd\": {rms:.3}, \"sd_ratio\": {ratio:.3}, \"jump\": {jump:.3}, \"prior_evals_per_sample\": {:.1}}}",
                (out.grad_evals + out.score_evals) as f64 / chains as f64
            );
        }
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("strided") {
        // Fewer strided steps with the step size ζ raised in proportion (β variance): the total
        // guidance of 250 steps at ζ = 1 spread over 150 or 100 steps, and ζ beyond it.
        for (steps, zeta) in [
            (250, 1.0),
            (250, 1.5),
            (150, 1.0),
            (150, 1.667),
            (150, 2.0),
            (150, 2.5),
            (150, 3.0),
            (100, 2.5),
            (100, 4.0),
        ] {
            let cfg = DpsConfig {
                zeta,
                steps,
                small_variance: false,
                init: None,
            };
            let out = run_dps(&post, &prior, &cfg, chains, 7, &|_| {}, &AtomicBool::new(false))?;
            let (rms, ratio) = score(&out.samples);
            println!(
                "{{\"steps\": {steps}, \"zeta\": {zeta}, \"rms_mean_error_in_sd\": {rms:.3}, \"sd_ratio\": {ratio:.3}}}"
            );
        }
        return Ok(());
    }
    let runs = [1000, 250]
        .into_iter()
        .flat_map(|steps| [false, true].map(|small| (steps, small)));
    for ((steps, small_variance), zeta) in runs.flat_map(|r| [0.1, 0.3, 1.0, 3.0].map(|z| (r, z))) {
        let cfg = DpsConfig {
            zeta,
            steps,
            small_variance,
            init: None,
        };
        let out = run_dps(&post, &prior, &cfg, chains, 7, &|_| {}, &AtomicBool::new(false))?;
        let m = out.samples.mean_axis(Axis(0)).unwrap_or_default();
        let s = out.samples.std_axis(Axis(0), 1.0);
        let z = (&m - &mean) / &sd;
        let rms = (z.mapv(|v| v * v).sum() / d as f64).sqrt();
        let ratio = (&s / &sd).mean().unwrap_or(f64::NAN);
        println!(
            "{{\"steps\": {steps}, \"variance\": \"{}\", \"zeta\": {zeta}, \"rms_mean_error_in_sd\": {rms:.3}, \"sd_ratio\": {ratio:.3}, \"final_residual\": {:.3}}}",
            if small_variance { "small" } else { "large" },
            out.residuals.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
