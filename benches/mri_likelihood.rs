//! Gradient evaluations per second of the MRI likelihood alone (a wide Gaussian prior, so the
//! operator dominates): single-coil Cartesian, SENSE with 1, 2, 4 and 8 coils, and 8-coil radial
//! (32 spokes × 128 samples, NUFFT) at 64×64, batched over 4 chains. The cost should grow with the
//! coil count (one FFT per coil and direction), not faster.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, Array3};
use num_complex::Complex64;
use std::f64::consts::PI;
use std::hint::black_box;
use uq::infer::Posterior;
use uq::source::SourceMap;

const SINGLE: &str = r#"
import mri
data y : complex[64, 64] = "y1.npy"
data mask : real[64, 64] = "mask.npy"
prior x : real[64, 64] ~ Normal(0.5, 10)
y ~ Normal(mri(x, mask), 0.02)
"#;

/// SENSE with the first `coils` of the 8 coil maps.
fn sense(coils: usize) -> String {
    format!(
        r#"
import sense
data y : complex[{coils}, 64, 64] = "ys{coils}.npy"
data smaps : complex[{coils}, 64, 64] = "smaps{coils}.npy"
data mask : real[64, 64] = "mask.npy"
prior x : real[64, 64] ~ Normal(0.5, 10)
y ~ Normal(sense(x, smaps, mask), 0.02)
"#
    )
}

const RADIAL: &str = r#"
import radial
data y : complex[8, 4096] = "yr.npy"
data smaps : complex[8, 64, 64] = "smaps8.npy"
data traj : real[4096, 2] = "traj.npy"
prior x : real[64, 64] ~ Normal(0.5, 10)
y ~ Normal(radial(x, smaps, traj), 0.02)
"#;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    let mask = Array2::<f64>::from_shape_fn((64, 64), |(_, j)| f64::from(j % 4 == 0 || j < 3));
    let k = |i: usize, j: usize| Complex64::new(((i * 7 + j * 3) % 11) as f64 / 11.0, 0.1);
    ndarray_npy::write_npy(p.join("mask.npy"), &mask).expect("write");
    ndarray_npy::write_npy(
        p.join("y1.npy"),
        &Array2::from_shape_fn((64, 64), |(i, j)| k(i, j)),
    )
    .expect("write");
    let y8 = Array3::from_shape_fn((8, 64, 64), |(c, i, j)| k(i + c, j));
    let s = Array3::from_shape_fn((8, 64, 64), |(c, i, j)| {
        Complex64::from_polar(0.35, (c as f64 + i as f64 / 64.0 + j as f64 / 32.0) * 0.7)
    });
    for coils in [1, 2, 4, 8] {
        let first = ndarray::s![..coils, .., ..];
        ndarray_npy::write_npy(p.join(format!("ys{coils}.npy")), &y8.slice(first)).expect("write");
        ndarray_npy::write_npy(p.join(format!("smaps{coils}.npy")), &s.slice(first)).expect("write");
    }
    let yr = Array2::from_shape_fn((8, 4096), |(c, m)| k(c, m % 64));
    ndarray_npy::write_npy(p.join("yr.npy"), &yr).expect("write");
    // 32 golden-angle spokes × 128 points, as `uq traj radial --spokes 32 --readout 128 --golden`.
    let traj = Array2::from_shape_fn((4096, 2), |(m, d)| {
        let (s, i) = ((m / 128) as f64, (m % 128) as f64);
        let (t, th) = (-PI + 2.0 * PI * i / 128.0, (s * 111.246_117_975_f64).to_radians());
        t * if d == 0 { th.cos() } else { th.sin() }
    });
    ndarray_npy::write_npy(p.join("traj.npy"), &traj).expect("write");
    let xs = Array2::<f64>::from_elem((4, 64 * 64), 0.5);
    let mut g = c.benchmark_group("mri_likelihood_64x64");
    g.throughput(Throughput::Elements(4));
    let models = [("single_coil".to_string(), SINGLE.to_string())]
        .into_iter()
        .chain([1, 2, 4, 8].map(|c| (format!("sense_{c}_coils"), sense(c))))
        .chain([("radial_8_coils".to_string(), RADIAL.to_string())]);
    for (name, src) in models {
        let mut sources = SourceMap::new();
        let model = uq::check::check_source("bench.uq", &src, Some(p), &mut sources).expect("model checks");
        let data = uq::check::bind_data(&model, &[], &mut sources).expect("data binds");
        let built = uq::session::build(&model, data, false)
            .map_err(|_| ())
            .expect("posterior builds");
        g.bench_function(format!("gradient_4_chains/{name}"), |b| {
            b.iter(|| black_box(built.posterior.evaluate(black_box(xs.view()), 0.0)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
