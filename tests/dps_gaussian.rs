//! DPS against closed forms: on the 8×8 blur model with an analytic VP prior N(0, 1) (exact diffused
//! scores) the posterior mean error and sd ratio of both reverse-step variances at 250 and 1000 steps
//! reproduce docs/samplers.md within their Monte-Carlo error; the data-consistency norm and its
//! gradient equal the closed forms (plain ℓ2 for Gaussian, weights 1/(2 max(y, 1)) for Poisson).

#[path = "kernels_util/mod.rs"]
mod kernels_util;
#[path = "model_util/mod.rs"]
mod model_util;

use kernels_util::{blur_matrix, gaussian_posterior, normal_vector, rng};
use model_util::load;
use ndarray::{array, Array1, Axis};
use std::sync::atomic::AtomicBool;
use uq::infer::{run_dps, DpsConfig};
use uq::score::VpNormalPrior;

const SIDE: usize = 8;
const NOISE: f64 = 0.2;
const CHAINS: usize = 512;

fn npy<D: ndarray::Dimension>(
    dir: &std::path::Path,
    name: &str,
    a: &ndarray::Array<f64, D>,
) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.npy"));
    ndarray_npy::write_npy(&p, a).unwrap();
    p
}

/// (RMS over pixels of (DPS mean − exact mean)/exact sd, mean DPS sd / exact sd) at ζ = 1.
fn dps_figures(steps: usize, small_variance: bool) -> (f64, f64) {
    let b = blur_matrix(SIDE);
    let d = SIDE * SIDE;
    let mut r = rng(2024);
    let x_true = normal_vector(&mut r, d, 1.0);
    let y = b.dot(&x_true) + normal_vector(&mut r, d, NOISE);
    let dir = tempfile::tempdir().unwrap();
    let y_path = npy(
        dir.path(),
        "y",
        &y.clone().into_shape_with_order((SIDE, SIDE)).unwrap(),
    );
    let built = load("blur8.uq", &[("y".into(), y_path)]);
    let prior = VpNormalPrior::iid(d, 0.0, 1.0).unwrap();
    let post = built
        .posterior
        .with_priors(vec![Box::new(VpNormalPrior::iid(d, 0.0, 1.0).unwrap())])
        .unwrap();
    let (mean, cov) = gaussian_posterior(&b, &y, NOISE, &Array1::zeros(d), &Array1::ones(d));
    let sd = cov.diag().mapv(f64::sqrt);
    let cfg = DpsConfig {
        zeta: 1.0,
        steps,
        small_variance,
        init: None,
    };
    let out = run_dps(&post, &prior, &cfg, CHAINS, 7, &|_| {}, &AtomicBool::new(false)).unwrap();
    let m = out.samples.mean_axis(Axis(0)).unwrap();
    let z = (&m - &mean) / &sd;
    let rms = (z.mapv(|v| v * v).sum() / d as f64).sqrt();
    let ratio = (&out.samples.std_axis(Axis(0), 1.0) / &sd).mean().unwrap();
    (rms, ratio)
}

/// Compare with the documented figures (512 samples each). The measured and the documented RMS are
/// each within the RMS of the Monte-Carlo noise of a mean, ≈ ratio/√n, of the true bias (triangle
/// inequality); the sd ratio's error per pixel is ≈ ratio/√(2n). 4 such errors is far beyond chance.
fn check(steps: usize, small: bool, doc_rms: f64, doc_ratio: f64) {
    let (rms, ratio) = dps_figures(steps, small);
    let n = CHAINS as f64;
    let tol_rms = 2.0 * 1.3 * doc_ratio / n.sqrt();
    let tol_ratio = 4.0 * doc_ratio / (2.0 * n).sqrt();
    eprintln!(
        "{steps} steps, small {small}: rms {rms:.3} (doc {doc_rms}), sd ratio {ratio:.3} (doc {doc_ratio})"
    );
    assert!(
        (rms - doc_rms).abs() < tol_rms,
        "{steps} steps, small {small}: rms {rms} vs {doc_rms} ± {tol_rms}"
    );
    assert!(
        (ratio - doc_ratio).abs() < tol_ratio,
        "{steps} steps, small {small}: sd ratio {ratio} vs {doc_ratio} ± {tol_ratio}"
    );
}

#[test]
fn dps_250_steps_matches_its_documented_error() {
    check(250, false, 0.224, 0.932);
    check(250, true, 0.225, 0.914);
}

#[test]
fn dps_1000_steps_matches_its_documented_error() {
    check(1000, false, 1.196, 0.837);
    check(1000, true, 1.197, 0.833);
}

/// ‖y − m(x)‖_Λ and its gradient −Aᵀ(Λ r)/‖r‖_Λ at a point, against the model's measurement norm.
fn norm_closed_form(model: &str, offset: f64, weights: impl Fn(f64) -> f64) {
    let a = array![
        [0.6, 0.3, 0.0, 0.3],
        [0.3, 0.6, 0.3, 0.0],
        [0.0, 0.3, 0.6, 0.3],
        [0.3, 0.0, 0.3, 0.6]
    ];
    let y = array![3.0, 0.0, 7.0, 5.0];
    let x = array![0.4, -1.2, 0.7, 2.0];
    let dir = tempfile::tempdir().unwrap();
    let overrides = [
        ("A".to_string(), npy(dir.path(), "A", &a)),
        ("y".to_string(), npy(dir.path(), "y", &y)),
    ];
    let built = load(model, &overrides);
    let (norm, grad) = built.posterior.measurement_norm(x.view()).unwrap();
    let r = &y - &(a.dot(&x) + offset);
    let w = y.mapv(&weights);
    let exact = (&r * &r * &w).sum().sqrt();
    let exact_grad: Array1<f64> = -a.t().dot(&(&w * &r)) / exact;
    assert!((norm - exact).abs() < 1e-12 * exact, "{model}: {norm} vs {exact}");
    for (g, e) in grad.iter().zip(&exact_grad) {
        assert!((g - e).abs() < 1e-12, "{model}: gradient {grad} vs {exact_grad}");
    }
}

#[test]
fn the_data_consistency_norm_and_its_gradient_are_the_closed_forms() {
    norm_closed_form("linear4.uq", 0.0, |_| 1.0);
    norm_closed_form("poisson4.uq", 5.0, |y: f64| 1.0 / (2.0 * y.max(1.0)));
}
