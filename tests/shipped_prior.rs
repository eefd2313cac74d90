//! Shipped VE priors: the reduced denoising check (Tweedie ≥ 2 dB over the best Gaussian filter), and
//! the JAX-trained `mri64_ve2` read by uq giving JAX's scores.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use ndarray::{Array2, Array3};
use uq::score::fast::Precision;
use uq::score::train::{read_images, DenoiseReport};
use uq::score::{NetworkPrior, ScoreModel};

fn find(rel: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        root.join(rel),
        root.join("..")
            .join("shared")
            .join(rel.trim_start_matches("../shared/")),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| PathBuf::from("/work/shared").join(rel.trim_start_matches("../shared/")))
}

#[test]
fn shipped_ve_prior_beats_gaussian_filter_by_2db() {
    let prior = NetworkPrior::load(&find("models/head64_ve.safetensors")).unwrap();
    let flat = |p: PathBuf| -> Vec<Vec<f32>> {
        read_images(&p)
            .unwrap()
            .outer_iter()
            .map(|im| im.iter().copied().collect())
            .collect()
    };
    let test: Vec<Vec<f32>> = flat(find("tests/fixtures/mri/mri_head_test_64.npy"))
        .into_iter()
        .step_by(2)
        .collect();
    let train: Vec<Vec<f32>> = flat(find("tests/fixtures/mri/mri_head_train_64.npy"))
        .into_iter()
        .step_by(4)
        .collect();
    for sigma in [0.05, 0.1, 0.2] {
        let r = DenoiseReport::run(&prior, &train, &test, 64, sigma, 1, 4).unwrap();
        assert!(r.tweedie_psnr >= r.gaussian_psnr + 2.0, "{r:?}");
    }
}

/// `models/mri64_ve2.safetensors` was written by `examples/train_jax/train_ve.py`; its scores in uq
/// (f32) equal JAX's on the same weights (`examples/train_jax/make_fixture.py`) to 1e-4 relative.
#[test]
fn jax_trained_prior_gives_jax_scores() {
    let mut prior = NetworkPrior::load(&find("models/mri64_ve2.safetensors")).unwrap();
    prior.set_precision(Precision::F32).unwrap();
    let dir = find("tests/fixtures/jax_prior");
    let x: Array3<f32> = ndarray_npy::read_npy(dir.join("x.npy")).unwrap();
    let rows: Array2<f64> = x.mapv(f64::from).into_shape_with_order((2, 64 * 64)).unwrap();
    for (sigma, file) in [(0.1, "score_0.1.npy"), (2.0, "score_2.npy")] {
        let want: Array3<f32> = ndarray_npy::read_npy(dir.join(file)).unwrap();
        let got = prior.score(rows.view(), sigma).unwrap();
        let (mut err, mut norm) = (0f64, 0f64);
        for (g, w) in got.iter().zip(want.iter()) {
            err = err.max((g - f64::from(*w)).abs());
            norm = norm.max(f64::from(*w).abs());
        }
        assert!(
            err <= 1e-4 * norm,
            "σ {sigma}: max |uq − JAX| {err} against max |JAX| {norm}"
        );
    }
}
