//! Smooth random phase for training complex priors from real slices: `x · exp(iφ)`, φ a random quadratic.
//!
//! One draw of φ on an `H × W` grid (pixel centres at `u, v ∈ (−1, 1)`, `u` along columns, `v` along
//! rows): a global offset `θ₀ ~ U(−π, π)` plus a spatially varying part
//! `A · p(u, v) / max|p|` with `p = a₁u + a₂v + a₃u² + a₄uv + a₅v²`, `a_k ~ N(0, 1)` and
//! `A ~ U(0, π)`, so the varying part spans at most ±π across the image (MRI phase is smooth:
//! B₀ inhomogeneity, coil and receive phase). The draws come from the trainer's seeded stream.

use std::f64::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Whether and how training images get a random phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhaseAug {
    /// Images are used as they are (real: one channel; complex `.npy`: two).
    #[default]
    None,
    /// Every draw multiplies the image by `exp(iφ)` with a fresh smooth φ (see the module docs).
    Smooth,
}

/// A fresh smooth phase map, row-major `h × w`, in radians.
pub fn smooth_phase(rng: &mut ChaCha8Rng, h: usize, w: usize) -> Vec<f64> {
    let theta0 = PI * (2.0 * rng.random::<f64>() - 1.0);
    let amp = PI * rng.random::<f64>();
    let a: [f64; 5] = std::array::from_fn(|_| rng.sample::<f64, _>(StandardNormal));
    let coord = |i: usize, n: usize| (2 * i + 1) as f64 / n.max(1) as f64 - 1.0;
    let mut p = Vec::with_capacity(h * w);
    for r in 0..h {
        let v = coord(r, h);
        for c in 0..w {
            let u = coord(c, w);
            p.push(a[0] * u + a[1] * v + a[2] * u * u + a[3] * u * v + a[4] * v * v);
        }
    }
    let max = p.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = if max > 1e-12 { amp / max } else { 0.0 };
    p.iter().map(|x| theta0 + scale * x).collect()
}

/// The largest distance between two training images once each may carry any phase:
/// `max_{i≠j} ‖xᵢ‖ + ‖xⱼ‖` (opposite global phases reach it), the VE σ_max rule of Song & Ermon (2020)
/// for phase-augmented training. `images` are channel-first planes (real, or re then im).
pub fn max_rotated_distance(images: &[Vec<f32>]) -> f64 {
    let mut norms: Vec<f64> = images
        .iter()
        .map(|x| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt())
        .collect();
    norms.sort_by(|a, b| b.total_cmp(a));
    norms.iter().take(2).sum()
}

/// Multiply a channel-first image in place by `exp(iφ)`: `planes` holds the real plane and then, for
/// a complex image, the imaginary plane; the result always has both (`2 · φ.len()` values).
pub fn rotate(planes: &mut Vec<f32>, phi: &[f64]) {
    let n = phi.len();
    planes.resize(2 * n, 0.0);
    let (re, im) = planes.split_at_mut(n);
    for ((r, i), &f) in re.iter_mut().zip(im.iter_mut()).zip(phi) {
        let (s, c) = f.sin_cos();
        let (x, y) = (f64::from(*r), f64::from(*i));
        *r = (x * c - y * s) as f32;
        *i = (x * s + y * c) as f32;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn phase_is_smooth_bounded_and_seeded() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (h, w) = (16, 12);
        let mut spans = Vec::new();
        for _ in 0..200 {
            let phi = smooth_phase(&mut rng, h, w);
            assert_eq!(phi.len(), h * w);
            let (lo, hi) = phi
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, u), &x| (l.min(x), u.max(x)));
            // θ₀ ∈ (−π, π) plus a varying part in [−A, A], A < π.
            assert!(lo > -2.0 * PI && hi < 2.0 * PI, "{lo} {hi}");
            assert!(hi - lo <= 2.0 * PI + 1e-9);
            spans.push(hi - lo);
            // Smooth: a quadratic with |p| ≤ π changes by less than π · (|∂p| ≤ 5 · 2/n-ish) per pixel.
            for r in 0..h {
                for c in 1..w {
                    assert!((phi[r * w + c] - phi[r * w + c - 1]).abs() < 1.5);
                }
            }
        }
        // A ~ U(0, π) over a quadratic: the spans cover a wide range, not a constant.
        let mean = spans.iter().sum::<f64>() / spans.len() as f64;
        assert!(mean > 0.5 && mean < 2.0 * PI, "{mean}");
        let again = smooth_phase(&mut ChaCha8Rng::seed_from_u64(3), h, w);
        assert_eq!(again, smooth_phase(&mut ChaCha8Rng::seed_from_u64(3), h, w));
    }

    #[test]
    fn rotation_keeps_magnitude_and_sets_phase() {
        let mut planes = vec![1.0f32, 0.5, 0.0, 2.0];
        let phi = [0.3, -1.0, 2.0, PI / 2.0];
        rotate(&mut planes, &phi);
        assert_eq!(planes.len(), 8);
        for (k, (&m, &f)) in [1.0f64, 0.5, 0.0, 2.0].iter().zip(&phi).enumerate() {
            let (re, im) = (f64::from(planes[k]), f64::from(planes[4 + k]));
            assert!(((re * re + im * im).sqrt() - m).abs() < 1e-6);
            if m > 0.0 {
                assert!((im.atan2(re) - f).abs() < 1e-6, "{k}");
            }
        }
        // A complex input is rotated, not overwritten: i · exp(iπ/2) = −1.
        let mut z = vec![0.0f32, 1.0];
        rotate(&mut z, &[PI / 2.0]);
        assert!((z[0] + 1.0).abs() < 1e-6 && z[1].abs() < 1e-6);
    }
}
