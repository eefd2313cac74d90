//! `nufft` and `nufft_adjoint` against BART's on fixtures BART wrote (`tests/fixtures/bart/make.sh`).

use super::{complex, data, op, real, rel_err};
use num_complex::Complex64 as C;
use std::f64::consts::PI;
use std::path::Path;
use uq::graph::FftCache;

/// A `.cfl/.hdr` pair written by BART: its dimensions and complex64 column-major elements.
fn read_cfl(name: &str) -> (Vec<usize>, Vec<C>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bart");
    let hdr = std::fs::read_to_string(dir.join(format!("{name}.hdr"))).unwrap();
    let dims: Vec<usize> = hdr
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|d| d.parse().unwrap())
        .collect();
    let bytes = std::fs::read(dir.join(format!("{name}.cfl"))).unwrap();
    let f: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let z: Vec<C> = f
        .chunks_exact(2)
        .map(|p| C::new(p[0].into(), p[1].into()))
        .collect();
    assert_eq!(z.len(), dims.iter().product::<usize>(), "{name}");
    (dims, z)
}

/// BART's `[3, M]` trajectory in grid samples as uq's `[M, 2]` radians for an `x × y` image.
fn bart_traj(t: &[C], x: usize, y: usize) -> Vec<f64> {
    t.chunks_exact(3)
        .flat_map(|k| [2.0 * PI * k[0].re / x as f64, 2.0 * PI * k[1].re / y as f64])
        .collect()
}

/// BART's column-major `[X, Y, 1, coils]` image as uq's row-major `[coils, X, Y]`.
fn bart_image(z: &[C], x: usize, y: usize) -> Vec<C> {
    let coils = z.len() / (x * y);
    (0..coils * x * y)
        .map(|i| {
            let (c, p, q) = (i / (x * y), i / y % x, i % y);
            z[c * x * y + q * x + p]
        })
        .collect()
}

/// BART's image is centred at `N/2` (a real number for odd N): its samples are uq's times
/// `exp(i ω·N/2)`, with the same normalisation `(XY)^(−1/2)` (its DFT mode `-s` omits it). uq
/// matches BART's exact DFT to 1e-5, and BART's gridding `nufft` as closely as that matches its own
/// DFT (measured in the test from the fixtures; about 1.3e-3, mostly a scale of 1.0013).
#[test]
fn agrees_with_bart() {
    let cache = FftCache::new();
    let (_, t) = read_cfl("traj16");
    let traj = bart_traj(&t, 16, 16);
    let m = traj.len() / 2;
    let ramp: Vec<C> = traj
        .chunks_exact(2)
        .map(|om| C::from_polar(1.0, 8.0 * (om[0] + om[1])))
        .collect();
    let (_, img) = read_cfl("img16");
    let x = complex(&[3, 16, 16], bart_image(&img, 16, 16));
    let tv = real(&[m, 2], traj.clone());
    let ours = data(&op("nufft", &[]).forward(&[&x, &tv], &cache).unwrap());
    let ours: Vec<C> = ours.iter().enumerate().map(|(i, z)| z * ramp[i % m]).collect();
    let (dims, ksp) = read_cfl("ksp16");
    assert_eq!(dims[..4], [1, m / 9, 9, 3]);
    let (_, dft) = read_cfl("ksp16s");
    let dft: Vec<C> = dft.iter().map(|z| z / 16.0).collect();
    let e = rel_err(&ours, &dft);
    assert!(e <= 1e-5, "nufft vs BART's DFT: {e:e}");
    let (e, bart) = (rel_err(&ours, &ksp), rel_err(&ksp, &dft));
    eprintln!("nufft vs BART's nufft: {e:e}, BART's own error {bart:e}");
    assert!(
        e <= 2.0 * bart,
        "nufft vs BART's nufft: {e:e}, BART's own error {bart:e}"
    );
    // Adjoint: BART's is ours applied to the samples times exp(−i ω·N/2).
    let k: Vec<C> = ksp
        .iter()
        .enumerate()
        .map(|(i, z)| z * ramp[i % m].conj())
        .collect();
    let adj = op("nufft_adjoint", &[16, 16])
        .forward(&[&complex(&[3, m], k), &tv], &cache)
        .unwrap();
    let adj = data(&adj);
    let (_, grid) = read_cfl("adj16");
    let (_, dft) = read_cfl("adj16s");
    let dft: Vec<C> = bart_image(&dft, 16, 16).iter().map(|z| z / 16.0).collect();
    let e = rel_err(&adj, &dft);
    assert!(e <= 1e-5, "nufft_adjoint vs BART's DFT: {e:e}");
    let (e, bart) = (
        rel_err(&adj, &bart_image(&grid, 16, 16)),
        rel_err(&bart_image(&grid, 16, 16), &dft),
    );
    assert!(
        e <= 2.0 * bart,
        "nufft_adjoint vs BART's nufft -a: {e:e}, BART's own error {bart:e}"
    );
    // Odd sizes against BART's exact DFT (its gridding is off for odd sizes; see make.sh).
    let (_, t) = read_cfl("traj15");
    let traj = bart_traj(&t, 15, 20);
    let m = traj.len() / 2;
    let (_, img) = read_cfl("img15");
    let x = complex(&[15, 20], bart_image(&img, 15, 20));
    let ours = data(
        &op("nufft", &[])
            .forward(&[&x, &real(&[m, 2], traj.clone())], &cache)
            .unwrap(),
    );
    let scale = (300.0f64).sqrt();
    let ours: Vec<C> = ours
        .iter()
        .zip(traj.chunks_exact(2))
        .map(|(z, om)| z * C::from_polar(scale, 7.5 * om[0] + 10.0 * om[1]))
        .collect();
    let (_, ksp) = read_cfl("ksp15");
    let e = rel_err(&ours, &ksp);
    assert!(e <= 1e-5, "nufft vs BART's DFT at 15x20: {e:e}");
}
