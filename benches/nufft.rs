//! `nufft` and `nufft_adjoint` of an 8-coil 64×64 image at 32 golden-angle spokes × 128 samples,
//! against `fft` of the same image in the same run; prints the time ratios after the groups.

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;
use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Instant;
use uq::graph::{FftCache, Op, Value};

const COILS: usize = 8;
const N: usize = 64;
const SPOKES: usize = 32;
const READOUT: usize = 128;

struct Case {
    cache: FftCache,
    image: Value,
    samples: Value,
    traj: Value,
    fft: Op,
    nufft: Op,
    adjoint: Op,
}

impl Case {
    fn new() -> Case {
        let image: Vec<Complex64> = (0..COILS * N * N)
            .map(|k| Complex64::new((0.7 * k as f64).sin(), (1.1 * k as f64).cos()))
            .collect();
        let mut traj = Vec::with_capacity(SPOKES * READOUT * 2);
        for s in 0..SPOKES {
            let th = (s as f64 * 111.246_117_975).to_radians();
            for i in 0..READOUT {
                let t = -PI + 2.0 * PI * i as f64 / READOUT as f64;
                traj.extend([t * th.cos(), t * th.sin()]);
            }
        }
        let m = SPOKES * READOUT;
        let samples: Vec<Complex64> = (0..COILS * m)
            .map(|k| Complex64::new((0.3 * k as f64).cos(), 0.5))
            .collect();
        let arr = |shape: &[usize], v: Vec<Complex64>| {
            Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape"))
        };
        Case {
            cache: FftCache::new(),
            image: arr(&[COILS, N, N], image),
            samples: arr(&[COILS, m], samples),
            traj: Value::Real(ArrayD::from_shape_vec(IxDyn(&[m, 2]), traj).expect("shape")),
            fft: Op::new("fft", &[]).expect("fft"),
            nufft: Op::new("nufft", &[]).expect("nufft"),
            adjoint: Op::new("nufft_adjoint", &[N, N]).expect("nufft_adjoint"),
        }
    }

    fn run(&self, which: usize) -> Value {
        let out = match which {
            0 => self.fft.forward(&[&self.image], &self.cache),
            1 => self.nufft.forward(&[&self.image, &self.traj], &self.cache),
            _ => self.adjoint.forward(&[&self.samples, &self.traj], &self.cache),
        };
        out.expect("forward")
    }
}

const NAMES: [&str; 3] = ["fft", "nufft", "nufft_adjoint"];

fn bench(c: &mut Criterion) {
    let case = Case::new();
    let mut g = c.benchmark_group("nufft_64x64_8coils_32x128");
    for (i, name) in NAMES.iter().enumerate() {
        g.bench_function(*name, |b| b.iter(|| black_box(case.run(black_box(i)))));
    }
    g.finish();
    // Ratios from interleaved rounds (median of 21), the plan already cached.
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..21 {
        for (i, t) in times.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..5 {
                black_box(case.run(i));
            }
            t.push(start.elapsed().as_secs_f64() / 5.0);
        }
    }
    let med: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    for (i, name) in NAMES.iter().enumerate() {
        println!("{name}: {:.3} ms, {:.1}× fft", med[i] * 1e3, med[i] / med[0]);
    }
    let fresh = FftCache::new();
    let t0 = Instant::now();
    black_box(
        case.nufft
            .forward(&[&case.image, &case.traj], &fresh)
            .expect("forward"),
    );
    let first = t0.elapsed().as_secs_f64();
    println!("nufft with plan construction (first call): {:.3} ms", first * 1e3);
}

criterion_group!(benches, bench);
criterion_main!(benches);
