//! Training tests: the loss goes down on a few images, and checkpoint + resume is bit-identical.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

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
        phase: PhaseAug::None,
        augment: Augment::Flips,
        augment_params: AugmentParams::default(),
        lr_schedule: LrSchedule::Constant,
        ema: 0.0,
    }
}

/// The shipped recipe's settings: full augmentation and a moving average of the weights.
fn cfg_full(kind: NetKind, steps: usize) -> TrainConfig {
    TrainConfig {
        augment: Augment::Full,
        ema: 0.9,
        ..cfg(kind, steps)
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
    let mut straight = Trainer::new(cfg_full(NetKind::Ve, 6), data.clone()).unwrap();
    for _ in 0..6 {
        straight.train_step().unwrap();
    }

    let mut first = Trainer::new(cfg_full(NetKind::Ve, 3), data.clone()).unwrap();
    for _ in 0..3 {
        first.train_step().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    write_checkpoint(&path, &first.checkpoint().unwrap()).unwrap();
    drop(first);
    let ck = read_checkpoint(&path).unwrap();
    let mut second = Trainer::resume(cfg_full(NetKind::Ve, 6), data.clone(), ck, "ck").unwrap();
    assert_eq!(second.step, 3);
    for _ in 0..3 {
        second.train_step().unwrap();
    }
    // Nothing the trainer keeps between steps records autograd history (which would keep every
    // earlier step's tensors alive: memory growing with the step count).
    let ck = straight.checkpoint().unwrap();
    for (what, map) in [("EMA", &ck.ema), ("Adam m", &ck.adam_m), ("Adam v", &ck.adam_v)] {
        assert_eq!(map.len(), ck.weights.len(), "{what}");
        for (k, t) in map {
            assert!(!t.track_op(), "{what} of {k} records autograd history");
        }
    }
    let pairs = [
        (straight.weights().unwrap(), second.weights().unwrap()),
        (straight.model_weights().unwrap(), second.model_weights().unwrap()),
    ];
    // The moving average differs from the weights (so the second comparison tests something).
    assert!(pairs[0].0.iter().any(|(k, t)| {
        let d = (t - &pairs[1].0[k]).unwrap().abs().unwrap().sum_all().unwrap();
        d.to_scalar::<f32>().unwrap() > 0.0
    }));
    for (a, b) in &pairs {
        assert_eq!(a.len(), b.len());
        for (k, ta) in a {
            let va: Vec<f32> = ta.flatten_all().unwrap().to_vec1().unwrap();
            let vb: Vec<f32> = b[k].flatten_all().unwrap().to_vec1().unwrap();
            assert!(
                va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{k} differs"
            );
        }
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
fn complex_prior_trains_with_a_random_phase() {
    let data = ImageSet::split(&images(8, 16), 16, 0.25, 11, "synthetic").unwrap();
    let mut c = cfg(NetKind::Ve, 80);
    c.phase = PhaseAug::Smooth;
    // A random phase makes complex images: a 1-channel network is refused.
    assert!(matches!(
        Trainer::new(c.clone(), data.clone()),
        Err(TrainError::Config(_))
    ));
    c.image_channels = 2;
    let mut t = Trainer::new(c, data.clone()).unwrap();
    let before = t.heldout_loss().unwrap();
    for _ in 0..80 {
        assert!(t.train_step().unwrap().loss.is_finite());
    }
    // The fast path's loss (channels-last re/im pixels) is candle's (re, im planes) on the same
    // weights and the same fixed held-out draws, VE and (below) VP.
    let fast = t.heldout_loss().unwrap();
    t.fast = false;
    let slow = t.heldout_loss().unwrap();
    t.fast = true;
    assert!(
        (fast / slow - 1.0).abs() < 1e-4,
        "held-out loss {fast} (fast) vs {slow} (candle)"
    );
    let mut vp = cfg(NetKind::Vp, 4);
    vp.phase = PhaseAug::Smooth;
    vp.image_channels = 2;
    let mut tv = Trainer::new(vp, data.clone()).unwrap();
    for _ in 0..4 {
        tv.train_step().unwrap();
    }
    let fast = tv.heldout_loss().unwrap();
    tv.fast = false;
    let slow = tv.heldout_loss().unwrap();
    assert!(
        (fast / slow - 1.0).abs() < 1e-4,
        "VP held-out loss {fast} (fast) vs {slow} (candle)"
    );
    let after = t.report(0.0).unwrap();
    assert!(
        after.heldout < 0.8 * before,
        "held-out loss {before} -> {}",
        after.heldout
    );
    let meta = t.model_metadata(&BTreeMap::new());
    assert_eq!(meta.get("image_channels").map(String::as_str), Some("2"));
    assert_eq!(meta.get("train_phase").map(String::as_str), Some("smooth"));
    // Real data cannot feed a 2-channel network without the phase.
    let mut c = cfg(NetKind::Ve, 1);
    c.image_channels = 2;
    assert!(matches!(Trainer::new(c, data), Err(TrainError::Config(_))));
}

#[test]
fn complex_npy_becomes_re_im_planes() {
    use ndarray_npy::WriteNpyExt;
    use num_complex::Complex32;
    let z = Array3::from_shape_fn((3, 16, 16), |(i, y, x)| {
        Complex32::new(i as f32 + 0.01 * y as f32, -(x as f32))
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.npy");
    z.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
    let planes = read_training_images(&path).unwrap();
    assert_eq!(planes.dim(), (3, 2, 16, 16));
    assert_eq!(planes[[2, 0, 5, 7]], 2.05);
    assert_eq!(planes[[2, 1, 5, 7]], -7.0);
    let data = ImageSet::split_planes(&planes, 16, 0.34, 1, "z").unwrap();
    assert_eq!((data.channels, data.train.len(), data.heldout.len()), (2, 2, 1));
    assert_eq!(data.train[0].len(), 2 * 16 * 16);
    // A complex network trains on it without a phase; a real one is refused.
    let mut c = cfg(NetKind::Vp, 1);
    assert!(Trainer::new(c.clone(), data.clone()).is_err());
    c.image_channels = 2;
    let mut t = Trainer::new(c, data).unwrap();
    assert!(t.train_step().unwrap().loss.is_finite());
    // The σ_max for phase-augmented training is the sum of the two largest norms.
    let imgs = vec![vec![3.0f32, 4.0], vec![1.0, 0.0], vec![0.0, 2.0]];
    assert!((max_rotated_distance(&imgs) - 7.0).abs() < 1e-12);
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

/// `--init`: a fresh trainer takes another run's weights exactly (its held-out loss equals that
/// run's: the held-out noise is fixed by the seed), starts at step 0 and trains on; a network of other
/// channels is refused, naming a tensor.
#[test]
fn init_from_model_weights() {
    let data = ImageSet::split(&images(8, 16), 16, 0.25, 11, "synthetic").unwrap();
    let mut first = Trainer::new(cfg(NetKind::Ve, 80), data.clone()).unwrap();
    for _ in 0..80 {
        first.train_step().unwrap();
    }
    let trained = first.heldout_loss().unwrap();
    let weights = first.weights().unwrap();
    let mut second = Trainer::new(cfg(NetKind::Ve, 5), data.clone()).unwrap();
    let fresh = second.heldout_loss().unwrap();
    second.init_from(&weights, "model").unwrap();
    assert_eq!(second.step, 0);
    let loaded = second.heldout_loss().unwrap();
    assert_eq!(loaded, trained);
    assert!(loaded < 0.8 * fresh, "loaded {loaded}, fresh {fresh}");
    assert!(second.train_step().unwrap().loss.is_finite());

    let other = TrainConfig {
        channels: vec![4, 16],
        ..cfg(NetKind::Ve, 5)
    };
    let mut wrong = Trainer::new(other, data).unwrap();
    let e = wrong
        .init_from(&weights, "m.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--init `m.safetensors`") && e.contains("has shape"),
        "{e}"
    );
}

#[test]
fn cosine_schedule_warms_up_then_decays_to_a_twentieth() {
    let c = TrainConfig {
        lr: 1e-3,
        lr_schedule: LrSchedule::Cosine { warmup: 10 },
        ..cfg(NetKind::Ve, 1000)
    };
    assert!((c.lr_at(0) - 1e-4).abs() < 1e-12, "first step: lr/warmup");
    assert!(c.lr_at(4) < c.lr_at(9), "rising during warm-up");
    let top = c.lr_at(9);
    assert!(top < 1e-3 && top > 0.999e-3, "{top}");
    assert!(
        (c.lr_at(500) - 1e-3 * (0.05 + 0.95 * 0.5)).abs() < 1e-12,
        "half way"
    );
    assert!((c.lr_at(1000) - 5e-5).abs() < 1e-12, "end: lr/20");
    assert!(c.lr_at(700) > c.lr_at(800), "decaying");
    assert_eq!(cfg(NetKind::Ve, 1000).lr_at(123), cfg(NetKind::Ve, 1000).lr);
}
