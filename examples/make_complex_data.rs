//! Simulates the complex-image MRI example data (`examples/data/mri_complex_*`) from a held-out slice.
//!
//! Run: `cargo run --release --example make_complex_data` (from the repository root, after
//! `make_example_data`: it reuses `truth.npy` and `mri_mask.npy`). The image is the real slice times
//! one draw of the smooth random phase that `uq train --phase smooth` trains on (seeded), so the files
//! are reproducible bit for bit. The k-space is written as `.npy` and as a BART `.cfl/.hdr` pair.

use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use num_complex::Complex64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::path::Path;

/// Orthonormal unshifted 2-D DFT (numpy `fft2(x, norm="ortho")`): uq's own `fft`.
fn fft2_ortho(x: &Array2<Complex64>) -> Array2<Complex64> {
    let (h, w) = x.dim();
    let mut data: Vec<Complex64> = x.iter().copied().collect();
    uq::graph::FftCache::new().fft2(&mut data, h, w, false);
    Array2::from_shape_vec((h, w), data).expect("h × w values")
}

fn main() -> anyhow::Result<()> {
    let dir = Path::new("examples/data");
    let x: Array2<f64> = read_npy(dir.join("truth.npy"))?;
    let mask: Array2<f64> = read_npy(dir.join("mri_mask.npy"))?;
    let (h, w) = x.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(20261201);
    let phi = uq::score::train::smooth_phase(&mut rng, h, w);
    let z = Array2::from_shape_fn((h, w), |(r, c)| Complex64::from_polar(x[[r, c]], phi[r * w + c]));
    // y = mask · (F z + n), n ~ CN(0, σ²) per real/imaginary part, σ = 0.02 (as mri_kspace.npy).
    let noise = Normal::new(0.0, 0.02)?;
    let k = fft2_ortho(&z);
    let y = Array2::from_shape_fn((h, w), |(r, c)| {
        let n = Complex64::new(noise.sample(&mut rng), noise.sample(&mut rng));
        (k[[r, c]] + n) * mask[[r, c]]
    });
    write_npy(dir.join("mri_complex_truth.npy"), &z)?;
    write_npy(dir.join("mri_complex_kspace.npy"), &y)?;
    uq::output::write_cfl(&dir.join("mri_complex_kspace.cfl"), &y)?;
    let span = phi.iter().fold(f64::MIN, |m, p| m.max(*p)) - phi.iter().fold(f64::MAX, |m, p| m.min(*p));
    println!("mri_complex: phase spans {span:.2} rad over the image");
    Ok(())
}
