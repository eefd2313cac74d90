//! Training tests: the loss goes down on a few images, and checkpoint + resume is bit-identical.
#![allow(clippy::unwrap_used)]

use ndarray::Array3;

use super::*;
use crate::score::unet::NetKind;

/// Smooth synthetic "slices": a bright disc with a darker off-centre blob, varying per image.
fn images(n: usize, size: usize) -> Array3<f32> {
    Array3::from_shape_fn((n, size, size), |(i, y, x)| {
        let c = size as f32 / 2.0;
        let (dy, dx) = (y as f32 - c, x as f32 - c);
        let r = (dy * dy + dx * dx).sqrt() / c;
        let k = i as f32 / n as f32;
        let disc = if r < 0.7 + 0.1 * k { 0.8 } else { 0.0 };
        let by = dy - 2.0 * k * c * 0.3;
        let blob = 0.3 * (-(by * by + dx * dx) / (0.05 * c * c)).exp();
        disc - blob
    })
}

fn cfg(kind: NetKind, steps: usize) -> TrainConfig {
    TrainConfig {
        kind,
        channels: vec![4, 8],
        size: 16,
        image_channels: 1,
        steps,
        batch: 4,
        lr: 3e-3,
        seed: 11,
        sigma: SigmaDist::LogUniform { min: 0.05, max: 1.0 },
        beta_start: 1e-4,
        beta_end: 0.02,
        timesteps: 1000,
        holdout: 0.25,
    }
}

#[test]
fn loss_goes_down_ve_and_vp() {
    for kind in [NetKind::Ve, NetKind::Vp] {
        let data = ImageSet::split(&images(8, 16), 16, 0.25, 11, "synthetic").unwrap();
        let mut t = Trainer::new(cfg(kind, 80), data).unwrap();
        let before = t.heldout_loss().unwrap();
        for _ in 0..80 {
            let info = t.train_step().unwrap();
            assert!(info.loss.is_finite());
        }
        let after = t.report(0.0).unwrap();
        // Held-out noise is fixed, so this compares the same draws. At init the VE loss is about 1
        // (E‖u‖²/n) and the VP loss about 1 + ‖ε̂‖² — a trained denoiser removes a clear fraction.
        assert!(
            after.heldout < 0.8 * before,
            "{kind:?}: held-out loss {before} -> {}",
            after.heldout
        );
        assert!(after.train.is_finite());
    }
}

#[test]
fn resume_is_bit_identical() {
    let data = ImageSet::split(&images(8, 16), 16, 0.25, 11, "synthetic").unwrap();
    let mut straight = Trainer::new(cfg(NetKind::Ve, 6), data.clone()).unwrap();
    for _ in 0..6 {
        straight.train_step().unwrap();
    }

    let mut first = Trainer::new(cfg(NetKind::Ve, 3), data.clone()).unwrap();
    for _ in 0..3 {
        first.train_step().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    write_checkpoint(&path, &first.checkpoint().unwrap()).unwrap();
    drop(first);
    let ck = read_checkpoint(&path).unwrap();
    let mut second = Trainer::resume(cfg(NetKind::Ve, 6), data.clone(), ck, "ck").unwrap();
    assert_eq!(second.step, 3);
    for _ in 0..3 {
        second.train_step().unwrap();
    }
    let (a, b) = (straight.weights().unwrap(), second.weights().unwrap());
    assert_eq!(a.len(), b.len());
    for (k, ta) in &a {
        let va: Vec<f32> = ta.flatten_all().unwrap().to_vec1().unwrap();
        let vb: Vec<f32> = b[k].flatten_all().unwrap().to_vec1().unwrap();
        assert!(
            va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{k} differs"
        );
    }
    for (k, m) in &straight.adam.v {
        let va: Vec<f32> = m.flatten_all().unwrap().to_vec1().unwrap();
        let vb: Vec<f32> = second.adam.v[k].flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(va, vb, "Adam v of {k}");
    }

    // A σ range whose decimal form does not round-trip exactly still resumes.
    let mut odd = cfg(NetKind::Ve, 6);
    odd.sigma = SigmaDist::LogUniform {
        min: 0.01,
        max: 14.038140428375435,
    };
    let mut ck = read_checkpoint(&path).unwrap();
    ck.config = odd.clone();
    write_checkpoint(&path, &ck).unwrap();
    let ck = read_checkpoint(&path).unwrap();
    assert!(odd.same_run(&ck.config));
    odd.lr = 0.5;
    assert!(!odd.same_run(&ck.config));

    // A checkpoint from a different run is refused.
    let ck = read_checkpoint(&path).unwrap();
    let mut other = cfg(NetKind::Ve, 6);
    other.lr = 1e-3;
    assert!(matches!(
        Trainer::resume(other, data, ck, "ck"),
        Err(TrainError::Checkpoint { .. })
    ));
}

#[test]
fn bad_settings_are_errors() {
    let data = ImageSet::split(&images(8, 16), 16, 0.25, 11, "synthetic").unwrap();
    let mut c = cfg(NetKind::Ve, 1);
    c.size = 15;
    assert!(Trainer::new(c, data.clone()).is_err());
    let mut c = cfg(NetKind::Ve, 1);
    c.sigma = SigmaDist::LogUniform { min: 1.0, max: 0.5 };
    assert!(Trainer::new(c, data.clone()).is_err());
    let mut c = cfg(NetKind::Ve, 1);
    c.batch = 0;
    assert!(Trainer::new(c, data).is_err());
    assert!(read_checkpoint(std::path::Path::new("/nonexistent.ckpt")).is_err());
}

#[test]
fn gaussian_filter_preserves_constants_and_smooths_noise() {
    let flat = vec![0.5f64; 64];
    assert!(gaussian_filter(&flat, 8, 1.3)
        .iter()
        .all(|v| (v - 0.5).abs() < 1e-12));
    let imgs: Vec<Vec<f32>> = images(6, 16)
        .outer_iter()
        .map(|a| a.iter().copied().collect())
        .collect();
    let w = tune_gaussian_width(&imgs, 16, 0.2, 3);
    assert!(w > 0.0, "at σ = 0.2 some blur must help");
    assert!((psnr(&[0.0, 1.0], &[0.1, 0.9]) - 20.0).abs() < 1e-9);
}
