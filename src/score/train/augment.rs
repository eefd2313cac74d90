//! Training augmentation that helps a prior generalise beyond the people it saw: flips, and (with
//! `--augment full`) a random rotation, scale and smooth elastic warp in one bilinear resampling,
//! an intensity and contrast remapping, and optional blur/sharpening, bias field and acquisition noise.
//!
//! One geometric draw (probability `p_warp`, default 0.75): rotation θ ~ U(−r, r) (r 15°), scale
//! s = exp(U(ln lo, ln hi)) (0.9–1.1) about the image centre (with `aniso` the two axes draw their
//! own), and a displacement field interpolated bilinearly from a 5 × 5 grid of N(0, (e px ·
//! size/64)²) offsets (e 1.5; an elastic warp after Simard et al. 2003, on a coarse grid instead of
//! a blurred dense field). Samples outside the image read 0 (MRI background). Intensity (real images
//! only, probability `p_gamma`, 0.5): `x ← c · max(x, 0)^γ` with γ = exp(U(ln 0.7, ln 1.4)) and
//! c ~ U(0.85, 1.15), a monotone remapping of tissue contrast. Then, each off by default:
//! resolution (`p_sharp`): `x ← x + a (x − G₁ x)`, a ~ U(−0.6, 1), G₁ a Gaussian of sd 1 px (5 taps,
//! zero outside): blurred (a < 0) or sharpened, as scanners differ; bias field (`p_bias`):
//! `x ← x · exp(b)`, b = Σ c_ij P_i(u) P_j(v) over Legendre polynomials of degree 1 ≤ i + j ≤ 3 in
//! the image coordinates u, v ∈ [−1, 1], c_ij ~ N(0, `bias`²) (the receive-coil inhomogeneity that
//! N4 removes, after MONAI's `RandBiasField`); acquisition noise (`p_noise`, real images): the
//! magnitude |x + s (n₁ + i n₂)| inside the image's support (x > 0), s log-uniform in `noise`.
//! All draws come from the trainer's seeded stream; a term whose probability is 0 draws nothing, so
//! the original recipe's streams (and old checkpoints' resumes) are unchanged.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

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

/// The settings of `--augment full` (defaults: uq's original recipe; `models/README.md` has the
/// wider one of the shipped prior). Absent from older checkpoints, which read the defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentParams {
    /// Largest rotation, degrees.
    pub rotate_deg: f64,
    /// Range of the log-uniform scale.
    pub scale: [f64; 2],
    /// Scale the two axes independently.
    pub aniso: bool,
    /// Standard deviation of the warp grid's offsets, pixels at 64 × 64.
    pub elastic_px: f64,
    /// Probability of the geometric warp.
    pub p_warp: f64,
    /// Probability of the intensity remapping (real images).
    pub p_gamma: f64,
    /// Probability of a random blur or sharpening.
    pub p_sharp: f64,
    /// Probability of a smooth multiplicative bias field.
    pub p_bias: f64,
    /// Standard deviation of the bias field's Legendre coefficients (log scale).
    pub bias: f64,
    /// Probability of Rician acquisition noise (real images).
    pub p_noise: f64,
    /// Range of the log-uniform noise standard deviation.
    pub noise: [f64; 2],
}

impl Default for AugmentParams {
    fn default() -> Self {
        AugmentParams {
            rotate_deg: 15.0,
            scale: [0.9, 1.1],
            aniso: false,
            elastic_px: 1.5,
            p_warp: 0.75,
            p_gamma: 0.5,
            p_sharp: 0.0,
            p_bias: 0.0,
            bias: 0.1,
            p_noise: 0.0,
            noise: [0.005, 0.05],
        }
    }
}

impl AugmentParams {
    /// Why these settings cannot run (`None`: they can). Names the flag.
    pub fn invalid(&self) -> Option<String> {
        let prob = [
            ("--p-warp", self.p_warp),
            ("--p-sharp", self.p_sharp),
            ("--p-bias", self.p_bias),
            ("--p-noise", self.p_noise),
        ];
        if let Some((flag, p)) = prob.iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
            return Some(format!("{flag} {p} must be a probability in [0, 1]"));
        }
        let [lo, hi] = self.scale;
        let [nlo, nhi] = self.noise;
        if !(self.rotate_deg.is_finite() && (0.0..=180.0).contains(&self.rotate_deg)) {
            Some(format!(
                "--rotate {} must be in [0, 180] degrees",
                self.rotate_deg
            ))
        } else if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
            Some(format!("--scale {lo},{hi} needs 0 < LO <= HI"))
        } else if !(self.elastic_px.is_finite() && self.elastic_px >= 0.0) {
            Some(format!("--elastic {} must be >= 0 pixels", self.elastic_px))
        } else if !(self.bias.is_finite() && (0.0..=2.0).contains(&self.bias)) {
            Some(format!("--bias {} must be in [0, 2] (log scale)", self.bias))
        } else if !(nlo > 0.0 && nlo <= nhi && nhi.is_finite()) {
            Some(format!("--noise {nlo},{nhi} needs 0 < LO <= HI"))
        } else {
            None
        }
    }
}

/// One `--augment full` draw on the planes of one image (after its flips); `real`: one real plane.
pub fn augment_full(rng: &mut ChaCha8Rng, planes: &mut [f32], size: usize, real: bool, a: &AugmentParams) {
    if rng.random::<f64>() < a.p_warp {
        warp(rng, planes, size, a);
    }
    if real && rng.random::<f64>() < a.p_gamma {
        remap_intensity(rng, planes);
    }
    if a.p_sharp > 0.0 && rng.random::<f64>() < a.p_sharp {
        let amount = -0.6 + 1.6 * rng.random::<f32>();
        for plane in planes.chunks_mut(size * size) {
            sharpen(plane, size, amount, real);
        }
    }
    if a.p_bias > 0.0 && rng.random::<f64>() < a.p_bias {
        bias_field(rng, planes, size, a.bias);
    }
    if real && a.p_noise > 0.0 && rng.random::<f64>() < a.p_noise {
        let [lo, hi] = a.noise;
        let s = log_uniform(rng, lo, hi);
        for v in planes.iter_mut().filter(|v| **v > 0.0) {
            let n1 = s * rng.sample::<f64, _>(StandardNormal);
            let n2 = s * rng.sample::<f64, _>(StandardNormal);
            *v = ((f64::from(*v) + n1).powi(2) + n2 * n2).sqrt() as f32;
        }
    }
}

/// `x ← x + a (x − G₁ x)` on one plane, G₁ the separable 5-tap Gaussian of sd 1 px, zero outside;
/// a real image is kept ≥ 0.
fn sharpen(plane: &mut [f32], size: usize, amount: f32, real: bool) {
    let g: [f32; 5] = {
        let w = [-2.0f32, -1.0, 0.0, 1.0, 2.0].map(|d| (-0.5 * d * d).exp());
        let s: f32 = w.iter().sum();
        w.map(|v| v / s)
    };
    let pass = |src: &[f32], along_rows: bool| -> Vec<f32> {
        let mut out = vec![0f32; src.len()];
        for y in 0..size {
            for x in 0..size {
                let mut acc = 0.0;
                for (k, w) in g.iter().enumerate() {
                    let (yy, xx) = if along_rows {
                        (y as isize, x as isize + k as isize - 2)
                    } else {
                        (y as isize + k as isize - 2, x as isize)
                    };
                    if (0..size as isize).contains(&yy) && (0..size as isize).contains(&xx) {
                        acc += w * src[yy as usize * size + xx as usize];
                    }
                }
                out[y * size + x] = acc;
            }
        }
        out
    };
    let blur = pass(&pass(plane, true), false);
    for (v, b) in plane.iter_mut().zip(blur) {
        let s = *v + amount * (*v - b);
        *v = if real { s.max(0.0) } else { s };
    }
}

/// Legendre polynomial P_n(u), n ≤ 3.
fn legendre(n: usize, u: f64) -> f64 {
    match n {
        0 => 1.0,
        1 => u,
        2 => 0.5 * (3.0 * u * u - 1.0),
        _ => 0.5 * (5.0 * u * u * u - 3.0 * u),
    }
}

/// Multiply every plane by one smooth field exp(Σ c_ij P_i(u) P_j(v)), 1 ≤ i + j ≤ 3, c_ij ~ N(0, sd²).
pub fn bias_field(rng: &mut ChaCha8Rng, planes: &mut [f32], size: usize, sd: f64) {
    let mut terms = Vec::with_capacity(9);
    for i in 0..=3usize {
        for j in 0..=(3 - i) {
            if i + j > 0 {
                terms.push((i, j, sd * rng.sample::<f64, _>(StandardNormal)));
            }
        }
    }
    let coord = |k: usize| 2.0 * k as f64 / (size as f64 - 1.0).max(1.0) - 1.0;
    let n = size * size;
    for y in 0..size {
        for x in 0..size {
            let (v, u) = (coord(y), coord(x));
            let b: f64 = terms
                .iter()
                .map(|&(i, j, c)| c * legendre(i, u) * legendre(j, v))
                .sum();
            let f = b.exp() as f32;
            for plane in planes.chunks_mut(n) {
                plane[y * size + x] *= f;
            }
        }
    }
}

/// exp(U(ln lo, ln hi)): one uniform draw.
pub(super) fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// Resample every plane (`planes` = C planes of `size × size`) through one random rotation, scale and
/// elastic warp.
pub fn warp(rng: &mut ChaCha8Rng, planes: &mut [f32], size: usize, a: &AugmentParams) {
    let theta = (rng.random::<f64>() * 2.0 - 1.0) * a.rotate_deg.to_radians();
    let [lo, hi] = a.scale;
    let scale = log_uniform(rng, lo, hi);
    let amp = a.elastic_px * size as f64 / 64.0;
    let mut field = [[[0f64; 2]; GRID]; GRID];
    for row in field.iter_mut() {
        for d in row.iter_mut() {
            *d = [
                amp * rng.sample::<f64, _>(StandardNormal),
                amp * rng.sample::<f64, _>(StandardNormal),
            ];
        }
    }
    // With `aniso` the x axis draws its own scale (after the field, so the isotropic stream is unchanged).
    let scale_x = if a.aniso { log_uniform(rng, lo, hi) } else { scale };
    let n = size * size;
    let c = (size as f64 - 1.0) / 2.0;
    let (cos, sin) = (theta.cos() / scale, theta.sin() / scale);
    let (cos_x, sin_x) = (theta.cos() / scale_x, theta.sin() / scale_x);
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
            let sx = c + sin_x * dy + cos_x * dx + wx;
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
    let gamma = log_uniform(rng, 0.7, 1.4) as f32;
    let c = 0.85 + 0.3 * rng.random::<f32>();
    img.iter_mut().for_each(|v| *v = c * v.max(0.0).powf(gamma));
}

#[cfg(test)]
#[path = "augment_tests.rs"]
mod tests;
