//! Training augmentation that helps a prior generalise beyond the people it saw: flips, and (with
//! `--augment full`) a random rotation, scale and smooth elastic warp in one bilinear resampling,
//! then an intensity and contrast remapping.
//!
//! One geometric draw (applied with probability [`P_WARP`]): rotation θ ~ U(−15°, 15°), isotropic
//! scale s = exp(U(ln 0.9, ln 1.1)) about the image centre, and a displacement field interpolated
//! bilinearly from a 5 × 5 grid of N(0, (1.5 px · size/64)²) offsets (an elastic warp after Simard et
//! al. 2003, on a coarse grid instead of a blurred dense field). Samples outside the image read 0
//! (MRI background). Intensity (real images only, probability [`P_GAMMA`]): `x ← c · max(x, 0)^γ`
//! with γ = exp(U(ln 0.7, ln 1.4)) and c ~ U(0.85, 1.15), a monotone remapping of tissue contrast.
//! All draws come from the trainer's seeded stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Probability of a geometric warp per draw (the rest keep the anatomy as acquired).
pub const P_WARP: f64 = 0.75;
/// Probability of an intensity remapping per draw (real images).
pub const P_GAMMA: f64 = 0.5;
/// Coarse grid of the elastic displacement field.
const GRID: usize = 5;

/// Which augmentations a training run applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Augment {
    /// Random horizontal and vertical flips (uq's original recipe).
    #[default]
    Flips,
    /// Flips, then rotation, scale, elastic warp and intensity remapping (see the module docs).
    Full,
}

/// Resample every plane (`planes` = C planes of `size × size`) through one random rotation, scale and
/// elastic warp.
pub fn warp(rng: &mut ChaCha8Rng, planes: &mut [f32], size: usize) {
    let theta = (rng.random::<f64>() * 2.0 - 1.0) * 15f64.to_radians();
    let scale = (0.9f64.ln() + rng.random::<f64>() * (1.1f64.ln() - 0.9f64.ln())).exp();
    let amp = 1.5 * size as f64 / 64.0;
    let mut field = [[[0f64; 2]; GRID]; GRID];
    for row in field.iter_mut() {
        for d in row.iter_mut() {
            *d = [
                amp * rng.sample::<f64, _>(StandardNormal),
                amp * rng.sample::<f64, _>(StandardNormal),
            ];
        }
    }
    let n = size * size;
    let c = (size as f64 - 1.0) / 2.0;
    let (cos, sin) = (theta.cos() / scale, theta.sin() / scale);
    // Bilinear read of the coarse field at pixel (y, x).
    let disp = |y: f64, x: f64| -> [f64; 2] {
        let g = (GRID - 1) as f64 / (size as f64 - 1.0).max(1.0);
        let (gy, gx) = (y * g, x * g);
        let (y0, x0) = (
            (gy.floor() as usize).min(GRID - 2),
            (gx.floor() as usize).min(GRID - 2),
        );
        let (fy, fx) = (gy - y0 as f64, gx - x0 as f64);
        let mut out = [0.0; 2];
        for (k, o) in out.iter_mut().enumerate() {
            let a = field[y0][x0][k] * (1.0 - fx) + field[y0][x0 + 1][k] * fx;
            let b = field[y0 + 1][x0][k] * (1.0 - fx) + field[y0 + 1][x0 + 1][k] * fx;
            *o = a * (1.0 - fy) + b * fy;
        }
        out
    };
    let src: Vec<f32> = planes.to_vec();
    for y in 0..size {
        for x in 0..size {
            // Output pixel ← source position: inverse rotation and scale about the centre, plus the warp.
            let (dy, dx) = (y as f64 - c, x as f64 - c);
            let [wy, wx] = disp(y as f64, x as f64);
            let sy = c + cos * dy - sin * dx + wy;
            let sx = c + sin * dy + cos * dx + wx;
            for (p, plane) in planes.chunks_mut(n).enumerate() {
                plane[y * size + x] = bilinear(&src[p * n..(p + 1) * n], size, sy, sx);
            }
        }
    }
}

/// `img` at fractional `(y, x)`, zero outside.
fn bilinear(img: &[f32], size: usize, y: f64, x: f64) -> f32 {
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = ((y - y0) as f32, (x - x0) as f32);
    let at = |yy: f64, xx: f64| -> f32 {
        if yy < 0.0 || xx < 0.0 || yy >= size as f64 || xx >= size as f64 {
            0.0
        } else {
            img[yy as usize * size + xx as usize]
        }
    };
    let a = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
    let b = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
    a * (1.0 - fy) + b * fy
}

/// `x ← c · max(x, 0)^γ` on a real image, with a fresh γ and c.
pub fn remap_intensity(rng: &mut ChaCha8Rng, img: &mut [f32]) {
    let gamma = (0.7f64.ln() + rng.random::<f64>() * (1.4f64.ln() - 0.7f64.ln())).exp() as f32;
    let c = 0.85 + 0.3 * rng.random::<f32>();
    img.iter_mut().for_each(|v| *v = c * v.max(0.0).powf(gamma));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn warp_is_seeded_bounded_and_keeps_a_centred_disc() {
        let size = 32;
        // A bright disc of radius 8 in the centre: it stays roughly where and as big as it was.
        let disc: Vec<f32> = (0..size * size)
            .map(|i| {
                let (y, x) = ((i / size) as f64 - 15.5, (i % size) as f64 - 15.5);
                f32::from(u8::from(y * y + x * x < 64.0))
            })
            .collect();
        let mass: f32 = disc.iter().sum();
        for seed in 0..20 {
            let mut a = disc.clone();
            warp(&mut ChaCha8Rng::seed_from_u64(seed), &mut a, size);
            let mut b = disc.clone();
            warp(&mut ChaCha8Rng::seed_from_u64(seed), &mut b, size);
            assert_eq!(a, b, "seeded");
            assert!(
                a.iter().all(|v| (0.0..=1.0).contains(v)),
                "convex weights of values in [0, 1]"
            );
            let m: f32 = a.iter().sum();
            // Scale ∈ [0.9, 1.1] changes the area by at most ±21 %; the warp adds a little more.
            assert!((m / mass - 1.0).abs() < 0.3, "seed {seed}: mass {m} vs {mass}");
            assert!(a != disc, "seed {seed}: the warp moved something");
        }
    }

    #[test]
    fn intensity_remap_is_monotone() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut v: Vec<f32> = (0..11).map(|i| i as f32 / 10.0).collect();
        remap_intensity(&mut rng, &mut v);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(v[0], 0.0);
        assert!(v[10] >= 0.85 && v[10] <= 1.15);
    }
}
