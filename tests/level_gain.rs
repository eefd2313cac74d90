//! The share of an annealing level's noise that reaches a Gaussian likelihood's mean: a real image
//! through a masked orthonormal FFT carries σ²/2 per observed real and imaginary part, a complex one
//! σ², and a gain `scale` multiplies both by scale²; observed elements that the mean sets to 0 (the
//! zero-filled half of k-space) carry none and do not dilute the rest. Read off the likelihood at a zero residual,
//! where `log p = −(m/2) log(2π v)` gives the variance `v = 0.1² + c σ²` of each of the m parts.
#![allow(clippy::unwrap_used)]

#[path = "kernels_util/mod.rs"]
mod kernels_util;
#[path = "model_util/mod.rs"]
mod model_util;

use model_util::load;
use ndarray::Array2;
use num_complex::Complex64;
use uq::infer::Posterior;

/// The per-part level gain c of `model` with every other column acquired and `scale`; `observed`
/// elements enter the likelihood.
fn gain(model: &str, scale: f64, observed: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let y = ndarray::Array2::<Complex64>::zeros((16, 16));
    let mask = Array2::from_shape_fn((16, 16), |(_, j)| if j % 2 == 0 { 1.0 } else { 0.0 });
    let files = [
        ("y", {
            let p = dir.path().join("y.npy");
            ndarray_npy::write_npy(&p, &y).unwrap();
            p
        }),
        ("mask", {
            let p = dir.path().join("mask.npy");
            ndarray_npy::write_npy(&p, &mask).unwrap();
            p
        }),
        ("scale", {
            let p = dir.path().join("scale.npy");
            ndarray_npy::write_npy(&p, &ndarray::arr0(scale)).unwrap();
            p
        }),
    ];
    let overrides: Vec<(String, std::path::PathBuf)> =
        files.into_iter().map(|(n, p)| (n.to_string(), p)).collect();
    let built = load(model, &overrides);
    let post = &built.posterior;
    let x = Array2::zeros((1, post.dim()));
    let m = 2.0 * observed as f64;
    let sigma = 0.3;
    let log_p = post.log_likelihood(x.view(), sigma)[0].clone().unwrap();
    let v = (-2.0 * log_p / m).exp() / (2.0 * std::f64::consts::PI);
    // Level 0 is the likelihood itself.
    let log_p0 = post.log_likelihood(x.view(), 0.0)[0].clone().unwrap();
    let v0 = (-2.0 * log_p0 / m).exp() / (2.0 * std::f64::consts::PI);
    assert!((v0 - 0.01).abs() < 1e-12, "level 0: variance {v0}");
    (v - 0.01) / (sigma * sigma)
}

#[test]
fn level_noise_reaches_k_space_by_its_per_part_variance() {
    // 32 Gaussian probes over 256 observed parts: the estimate's relative sd is about 2%.
    for (model, scale, observed, want) in [
        ("kspace16.uq", 1.0, 128, 0.5),
        ("kspace16.uq", 3.0, 128, 4.5),
        ("kspace16_complex.uq", 1.0, 128, 1.0),
        ("kspace16_all.uq", 1.0, 256, 0.5),
    ] {
        let c = gain(model, scale, observed);
        eprintln!("{model}, scale {scale}: gain {c:.4} (exact {want})");
        assert!(
            (c / want - 1.0).abs() < 0.08,
            "{model}, scale {scale}: gain {c}, want {want}"
        );
    }
}
