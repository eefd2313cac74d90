//! Training images: `.npy` loading (real or complex), the seeded held-out split, and flip augmentation.

use std::path::Path;

use ndarray::{Array3, Array4, Axis};
use ndarray_npy::ReadNpyExt;
use num_complex::{Complex32, Complex64};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::TrainError;

/// Square images, channel-first and row-major (a complex image is its real plane, then its imaginary
/// plane), split into training and held-out sets.
#[derive(Clone, Debug)]
pub struct ImageSet {
    pub size: usize,
    /// 1 (real) or 2 (complex as re, im planes).
    pub channels: usize,
    pub train: Vec<Vec<f32>>,
    pub heldout: Vec<Vec<f32>>,
}

/// Read an `(n, H, W)` float32 (or float64) `.npy` of images.
pub fn read_images(path: &Path) -> Result<Array3<f32>, TrainError> {
    let p = path.display().to_string();
    let bad = |reason: String| TrainError::Data {
        path: p.clone(),
        reason,
    };
    // The header is checked against the file first (no FIFOs or devices, no lying lengths).
    let bytes = crate::check::read_npy_bytes(path, u64::MAX).map_err(|e| bad(e.to_string()))?;
    let f32s: Result<Array3<f32>, _> = Array3::read_npy(std::io::Cursor::new(&bytes));
    match f32s {
        Ok(a) => Ok(a),
        Err(e32) => {
            let f64s: Result<Array3<f64>, _> = Array3::read_npy(std::io::Cursor::new(&bytes));
            f64s.map(|a| a.mapv(|v| v as f32))
                .map_err(|_| bad(format!("expected an (n, H, W) float32 array: {e32}")))
        }
    }
}

/// Read an `(n, H, W)` `.npy` of training images as `(n, C, H, W)`: float32/float64 give one channel,
/// complex64/complex128 two (real and imaginary planes).
pub fn read_training_images(path: &Path) -> Result<Array4<f32>, TrainError> {
    let p = path.display().to_string();
    let bytes = crate::check::read_npy_bytes(path, u64::MAX).map_err(|e| TrainError::Data {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let planes = |a: Array3<Complex64>| {
        let (n, h, w) = a.dim();
        Array4::from_shape_fn((n, 2, h, w), |(i, c, y, x)| {
            let z = a[[i, y, x]];
            (if c == 0 { z.re } else { z.im }) as f32
        })
    };
    let cursor = || std::io::Cursor::new(&bytes);
    if let Ok(a) = Array3::<Complex32>::read_npy(cursor()) {
        return Ok(planes(a.mapv(|z| Complex64::new(z.re.into(), z.im.into()))));
    }
    if let Ok(a) = Array3::<Complex64>::read_npy(cursor()) {
        return Ok(planes(a));
    }
    let real = read_images(path).map_err(|_| TrainError::Data {
        path: p,
        reason: "expected an (n, H, W) array of float32, float64, complex64 or complex128".into(),
    })?;
    Ok(real.insert_axis(Axis(1)))
}

impl ImageSet {
    /// Split real `images` (n, size, size): a `holdout` fraction (at least one image when n ≥ 2), chosen by a
    /// seeded shuffle, is held out.
    pub fn split(
        images: &Array3<f32>,
        size: usize,
        holdout: f64,
        seed: u64,
        path: &str,
    ) -> Result<Self, TrainError> {
        Self::split_planes(
            &images.view().insert_axis(Axis(1)).to_owned(),
            size,
            holdout,
            seed,
            path,
        )
    }

    /// Split `images` (n, C, size, size), C = 1 (real) or 2 (re, im planes), like [`ImageSet::split`].
    pub fn split_planes(
        images: &Array4<f32>,
        size: usize,
        holdout: f64,
        seed: u64,
        path: &str,
    ) -> Result<Self, TrainError> {
        let (n, channels, h, w) = images.dim();
        let bad = |reason: String| TrainError::Data {
            path: path.to_string(),
            reason,
        };
        if h != size || w != size {
            return Err(bad(format!("images are {h}×{w}, --size asks for {size}×{size}")));
        }
        if !(1..=2).contains(&channels) {
            return Err(bad(format!(
                "images have {channels} channels, expected 1 (real) or 2 (complex)"
            )));
        }
        if n < 2 {
            return Err(bad(format!("need at least 2 images, found {n}")));
        }
        if images.iter().any(|v| !v.is_finite()) {
            return Err(bad("the images contain NaN or infinite values".into()));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5917));
        let n_held = ((n as f64 * holdout).round() as usize).clamp(1, n - 1);
        let img = |i: usize| {
            images
                .index_axis(Axis(0), i)
                .iter()
                .copied()
                .collect::<Vec<f32>>()
        };
        let (held, train) = order.split_at(n_held);
        Ok(ImageSet {
            size,
            channels,
            train: train.iter().map(|&i| img(i)).collect(),
            heldout: held.iter().map(|&i| img(i)).collect(),
        })
    }
}

/// Copy `src` (size × size) into `dst`, flipped horizontally and/or vertically.
pub fn flipped(src: &[f32], size: usize, flip_h: bool, flip_v: bool, dst: &mut Vec<f32>) {
    for r in 0..size {
        let sr = if flip_v { size - 1 - r } else { r };
        for c in 0..size {
            let sc = if flip_h { size - 1 - c } else { c };
            dst.push(src.get(sr * size + sc).copied().unwrap_or(0.0));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flips_are_mirror_images() {
        let src: Vec<f32> = (0..6).map(|v| v as f32).collect::<Vec<_>>()[..4].to_vec(); // [[0,1],[2,3]]
        let mut d = Vec::new();
        flipped(&src, 2, true, false, &mut d);
        assert_eq!(d, vec![1.0, 0.0, 3.0, 2.0]);
        d.clear();
        flipped(&src, 2, false, true, &mut d);
        assert_eq!(d, vec![2.0, 3.0, 0.0, 1.0]);
    }

    #[test]
    fn split_is_seeded_and_disjoint() {
        let imgs = Array3::from_shape_fn((20, 4, 4), |(i, _, _)| i as f32 / 20.0);
        let a = ImageSet::split(&imgs, 4, 0.1, 7, "x").unwrap();
        let b = ImageSet::split(&imgs, 4, 0.1, 7, "x").unwrap();
        assert_eq!(a.heldout, b.heldout);
        assert_eq!(a.heldout.len(), 2);
        assert_eq!(a.train.len(), 18);
        for h in &a.heldout {
            assert!(!a.train.contains(h));
        }
        assert!(ImageSet::split(&imgs, 8, 0.1, 7, "x").is_err());
    }
}
