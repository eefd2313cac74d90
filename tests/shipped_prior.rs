//! Reduced denoising check of the shipped VE prior: Tweedie beats the best Gaussian filter by ≥ 2 dB.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use uq::score::train::{read_images, DenoiseReport};
use uq::score::NetworkPrior;

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
