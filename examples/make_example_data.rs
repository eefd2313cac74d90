//! Simulates the shipped example data (`examples/data/`) from held-out real MRI slices.
//!
//! Run: `cargo run --release --example make_example_data -- /work/shared/data/mri_head_test_64.npy`
//! Everything is seeded, so the files are reproducible bit for bit.

use ndarray::{s, Array2, Array3, Axis};
use ndarray_npy::{read_npy, write_npy};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};
use rustfft::FftPlanner;
use std::path::Path;

/// The slice of `mri_head_test_64.npy` used by the single-image examples.
const SLICE: usize = 8;

fn fft2_ortho(x: &Array2<Complex64>) -> Array2<Complex64> {
    let (h, w) = x.dim();
    let mut planner = FftPlanner::new();
    let (fr, fc) = (planner.plan_fft_forward(w), planner.plan_fft_forward(h));
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        let mut buf: Vec<Complex64> = row.to_vec();
        fr.process(&mut buf);
        row.assign(&ndarray::Array1::from(buf));
    }
    for mut col in out.columns_mut() {
        let mut buf: Vec<Complex64> = col.to_vec();
        fc.process(&mut buf);
        col.assign(&ndarray::Array1::from(buf));
    }
    out.mapv_inplace(|z| z / ((h * w) as f64).sqrt());
    out
}

/// 4× Cartesian mask (fastMRI style): phase-encode columns, 8% fully sampled centre, unshifted layout.
fn cartesian_mask(n: usize, accel: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let centre = ((n as f64) * 0.08).round() as usize;
    let p = (n as f64 / accel as f64 - centre as f64) / (n - centre) as f64;
    let mut cols = vec![false; n];
    for (i, c) in cols.iter_mut().enumerate() {
        let k = (i as isize - n as isize / 2).unsigned_abs(); // centred frequency index
        *c = k <= centre / 2 || rng.random::<f64>() < p;
    }
    // Centred → unshifted (ifftshift): frequency k sits at column (k + n/2) mod n in centred layout.
    let mut m = Array2::zeros((n, n));
    for j in 0..n {
        if cols[(j + n / 2) % n] {
            m.column_mut(j).fill(1.0);
        }
    }
    m
}

/// The inverse of [`fft2_ortho`]: conjugate, transform, conjugate.
fn ifft2_ortho(k: &Array2<Complex64>) -> Array2<Complex64> {
    fft2_ortho(&k.mapv(|z| z.conj())).mapv(|z| z.conj())
}

fn gaussian_kernel(n: usize, s: f64) -> Array2<f64> {
    let c = (n / 2) as f64;
    let mut k = Array2::from_shape_fn((n, n), |(i, j)| {
        (-((i as f64 - c).powi(2) + (j as f64 - c).powi(2)) / (2.0 * s * s)).exp()
    });
    let total = k.sum();
    k /= total;
    k
}

/// Circular convolution, kernel centred at (n/2, n/2) — the same definition as uq's `conv`.
fn conv(x: &Array2<f64>, k: &Array2<f64>) -> Array2<f64> {
    let (h, w) = x.dim();
    let (kh, kw) = k.dim();
    Array2::from_shape_fn((h, w), |(i, j)| {
        let mut acc = 0.0;
        for a in 0..kh {
            for b in 0..kw {
                let ii = (i + h + kh / 2 - a) % h;
                let jj = (j + w + kw / 2 - b) % w;
                acc += k[[a, b]] * x[[ii, jj]];
            }
        }
        acc
    })
}

fn main() -> anyhow::Result<()> {
    let src = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/data/mri_head_test_64.npy".into());
    let out = Path::new("examples/data");
    std::fs::create_dir_all(out)?;
    let slices: Array3<f32> = read_npy(&src)?;
    let x: Array2<f64> = slices.index_axis(Axis(0), SLICE).mapv(f64::from);
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(20261123);
    write_npy(out.join("truth.npy"), &x)?;

    // MRI: y = mask · (F x + n), n ~ CN(0, σ²) per real/imag part, σ = 0.02.
    let mask = cartesian_mask(n, 4, &mut rng);
    let noise = Normal::new(0.0, 0.02)?;
    let k = fft2_ortho(&x.mapv(|v| Complex64::new(v, 0.0)));
    let y = Array2::from_shape_fn((n, n), |(i, j)| {
        let z = k[[i, j]] + Complex64::new(noise.sample(&mut rng), noise.sample(&mut rng));
        z * mask[[i, j]]
    });
    write_npy(out.join("mri_mask.npy"), &mask)?;
    write_npy(out.join("mri_kspace.npy"), &y)?;
    // The zero-filled reconstruction Re Fᴴ y (the baseline the posterior mean is compared with).
    let zf = ifft2_ortho(&y).mapv(|z| z.re);
    write_npy(out.join("mri_zero_filled.npy"), &zf)?;
    println!("mri: sampled fraction {:.3}", mask.mean().unwrap_or(0.0));

    // Deblurring: photons · (k ∗ x) + background, Gaussian (σ = 1 photon... see README) and Poisson.
    let kernel = gaussian_kernel(9, 1.5);
    let (photons, background) = (50.0, 1.0);
    let rate = conv(&x, &kernel).mapv(|v| photons * v + background);
    let gauss = Normal::new(0.0, 2.0)?;
    let yg = rate.mapv(|r| r + gauss.sample(&mut rng));
    write_npy(out.join("deblur_y.npy"), &yg)?;
    let counts = rate.mapv(|r| Poisson::new(r).map(|p| p.sample(&mut rng)).unwrap_or(0.0));
    write_npy(out.join("deblur_poisson_y.npy"), &counts)?;
    // The blurred inputs in image units, (y − background)/photons: the deblurring baselines.
    write_npy(
        out.join("deblur_input.npy"),
        &yg.mapv(|v| (v - background) / photons),
    )?;
    write_npy(
        out.join("deblur_poisson_input.npy"),
        &counts.mapv(|v| (v - background) / photons),
    )?;

    // Inpainting: keep 30% of pixels at random, σ = 0.02.
    let keep = Array2::from_shape_fn((n, n), |_| if rng.random::<f64>() < 0.3 { 1.0 } else { 0.0 });
    let yi = Array2::from_shape_fn((n, n), |(i, j)| {
        keep[[i, j]] * (x[[i, j]] + noise.sample(&mut rng))
    });
    write_npy(out.join("inpaint_mask.npy"), &keep)?;
    write_npy(out.join("inpaint_y.npy"), &yi)?;

    // All 16 held-out slices for the evaluation tests (MRI with the same mask, fresh noise).
    let all = slices.mapv(f64::from);
    let mut ks = ndarray::Array3::<Complex64>::zeros(all.dim());
    for i in 0..all.shape()[0] {
        let ki = fft2_ortho(&all.slice(s![i, .., ..]).mapv(|v| Complex64::new(v, 0.0)));
        for ((r, c), v) in ks.slice_mut(s![i, .., ..]).indexed_iter_mut() {
            *v = (ki[[r, c]] + Complex64::new(noise.sample(&mut rng), noise.sample(&mut rng))) * mask[[r, c]];
        }
    }
    write_npy(out.join("mri_test_kspace.npy"), &ks)?;
    write_npy(out.join("mri_test_truth.npy"), &all)?;
    Ok(())
}
