//! Denoising benchmark: Tweedie `x + σ² s(x, σ)` against the best Gaussian filter (width tuned on training images).

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::score::{ScoreError, ScoreModel};

/// PSNR in dB for images with peak value 1.
pub fn psnr(clean: &[f32], est: &[f64]) -> f64 {
    let mse: f64 = clean
        .iter()
        .zip(est)
        .map(|(c, e)| (f64::from(*c) - e).powi(2))
        .sum::<f64>()
        / clean.len().max(1) as f64;
    10.0 * (1.0 / mse.max(1e-20)).log10()
}

/// Separable Gaussian blur of a size×size image (std `width` pixels, reflect boundary, radius ⌈3w⌉).
pub fn gaussian_filter(img: &[f64], size: usize, width: f64) -> Vec<f64> {
    if width <= 0.0 || size == 0 {
        return img.to_vec();
    }
    let r = (3.0 * width).ceil() as isize;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * width * width)).exp())
        .collect();
    let ks: f64 = k.iter().sum();
    let n = size as isize;
    let refl = |i: isize| -> usize {
        let mut i = i;
        while i < 0 || i >= n {
            i = if i < 0 { -i - 1 } else { 2 * n - i - 1 };
        }
        i as usize
    };
    let pass = |src: &[f64], horizontal: bool| -> Vec<f64> {
        let mut out = vec![0.0; size * size];
        for y in 0..size {
            for x in 0..size {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let o = j as isize - r;
                    let (yy, xx) = if horizontal {
                        (y, refl(x as isize + o))
                    } else {
                        (refl(y as isize + o), x)
                    };
                    acc += kv * src.get(yy * size + xx).copied().unwrap_or(0.0);
                }
                if let Some(v) = out.get_mut(y * size + x) {
                    *v = acc / ks;
                }
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

fn noisy(images: &[Vec<f32>], sigma: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    images
        .iter()
        .map(|im| {
            im.iter()
                .map(|&v| f64::from(v) + sigma * Distribution::<f64>::sample(&StandardNormal, &mut rng))
                .collect::<Vec<f64>>()
        })
        .collect()
}

/// Width (from a grid 0.25..=4 px, plus 0 = identity) maximising mean PSNR on `images` at noise `sigma`.
pub fn tune_gaussian_width(images: &[Vec<f32>], size: usize, sigma: f64, seed: u64) -> f64 {
    let ny = noisy(images, sigma, seed);
    let mut best = (f64::NEG_INFINITY, 0.0);
    for w in std::iter::once(0.0).chain((1..=32).map(|i| i as f64 * 0.125)) {
        let p: f64 = images
            .iter()
            .zip(&ny)
            .map(|(c, n)| psnr(c, &gaussian_filter(n, size, w)))
            .sum::<f64>()
            / images.len().max(1) as f64;
        if p > best.0 {
            best = (p, w);
        }
    }
    best.1
}

/// One row of the denoising benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct DenoiseReport {
    pub sigma: f64,
    pub noisy_psnr: f64,
    pub gaussian_width: f64,
    pub gaussian_psnr: f64,
    pub tweedie_psnr: f64,
}

impl DenoiseReport {
    /// Mean PSNRs over `test` at noise `sigma`: noisy input, the tuned Gaussian filter, and Tweedie with
    /// `prior.score` (evaluated in batches of `batch`).
    pub fn run(
        prior: &dyn ScoreModel,
        train: &[Vec<f32>],
        test: &[Vec<f32>],
        size: usize,
        sigma: f64,
        seed: u64,
        batch: usize,
    ) -> Result<Self, ScoreError> {
        let gaussian_width = tune_gaussian_width(train, size, sigma, seed ^ 0x7A1A);
        let ny = noisy(test, sigma, seed);
        let nimg = test.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Vec<f32>, &Vec<f64>) -> f64| {
            test.iter().zip(&ny).map(|(c, n)| f(c, n)).sum::<f64>() / nimg
        };
        let noisy_psnr = mean(&|c, n| psnr(c, n));
        let gaussian_psnr = mean(&|c, n| psnr(c, &gaussian_filter(n, size, gaussian_width)));
        let mut tw = 0.0;
        for (cs, ns) in test.chunks(batch.max(1)).zip(ny.chunks(batch.max(1))) {
            let flat: Vec<f64> = ns.iter().flatten().copied().collect();
            let x = Array2::from_shape_vec((ns.len(), size * size), flat)
                .map_err(|e| ScoreError(e.to_string()))?;
            let s = prior.score(x.view(), sigma)?;
            let den = &x + &(s * (sigma * sigma));
            for (c, row) in cs.iter().zip(den.rows()) {
                tw += psnr(c, &row.to_vec());
            }
        }
        Ok(DenoiseReport {
            sigma,
            noisy_psnr,
            gaussian_width,
            gaussian_psnr,
            tweedie_psnr: tw / nimg,
        })
    }
}
