//! `nufft`, `nufft_adjoint` and `nufft_dcf` against the exact non-uniform DFT, `fft` on the
//! Cartesian grid, BART's `nufft` (fixtures written by `tests/fixtures/bart/make.sh`), and the
//! adjoint identity; density weights on Cartesian and radial trajectories; the trajectory CLI.

use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64 as C;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;
use std::path::Path;
use uq::graph::{FftCache, Op, Value};

#[path = "nufft/bart.rs"]
mod bart;

fn op(name: &str, params: &[usize]) -> Op {
    Op::new(name, params).unwrap()
}

fn complex(shape: &[usize], data: Vec<C>) -> Value {
    Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
}

fn real(shape: &[usize], data: Vec<f64>) -> Value {
    Value::Real(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
}

fn data(v: &Value) -> Vec<C> {
    v.to_complex().iter().copied().collect()
}

fn random_complex(r: &mut ChaCha8Rng, n: usize) -> Vec<C> {
    (0..n)
        .map(|_| C::new(r.random_range(-1.0..1.0), r.random_range(-1.0..1.0)))
        .collect()
}

/// `‖a − b‖ / ‖b‖`.
fn rel_err(a: &[C], b: &[C]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).norm_sqr()).sum();
    let den: f64 = b.iter().map(|y| y.norm_sqr()).sum();
    (num / den).sqrt()
}

/// The exact non-uniform DFT of `coils` planes `h × w` at `traj` (`[M, 2]`, radians).
fn nudft(x: &[C], traj: &[f64], h: usize, w: usize) -> Vec<C> {
    let s = 1.0 / ((h * w) as f64).sqrt();
    let mut out = Vec::new();
    for plane in x.chunks_exact(h * w) {
        for om in traj.chunks_exact(2) {
            let mut acc = C::default();
            for p in 0..h {
                for q in 0..w {
                    acc += plane[p * w + q] * C::from_polar(1.0, -(om[0] * p as f64 + om[1] * q as f64));
                }
            }
            out.push(acc * s);
        }
    }
    out
}

/// The exact adjoint of [`nudft`].
fn nudft_adjoint(k: &[C], traj: &[f64], h: usize, w: usize) -> Vec<C> {
    let (s, m) = (1.0 / ((h * w) as f64).sqrt(), traj.len() / 2);
    let mut out = Vec::new();
    for run in k.chunks_exact(m) {
        for p in 0..h {
            for q in 0..w {
                let acc: C = run
                    .iter()
                    .zip(traj.chunks_exact(2))
                    .map(|(&y, om)| y * C::from_polar(1.0, om[0] * p as f64 + om[1] * q as f64))
                    .sum();
                out.push(acc * s);
            }
        }
    }
    out
}

fn random_traj(r: &mut ChaCha8Rng, m: usize) -> Vec<f64> {
    (0..2 * m).map(|_| r.random_range(-PI..PI)).collect()
}

/// Forward and adjoint within 1e-5 of the exact NUDFT: even and odd sizes, 3 coils.
#[test]
fn matches_the_exact_nudft() {
    let cache = FftCache::new();
    let mut r = ChaCha8Rng::seed_from_u64(7);
    for (h, w) in [(16, 16), (15, 20), (1, 3)] {
        let m = 150;
        let traj = random_traj(&mut r, m);
        let tv = real(&[m, 2], traj.clone());
        let x = random_complex(&mut r, 3 * h * w);
        let got = op("nufft", &[])
            .forward(&[&complex(&[3, h, w], x.clone()), &tv], &cache)
            .unwrap();
        assert_eq!(got.shape(), [3, m]);
        let e = rel_err(&data(&got), &nudft(&x, &traj, h, w));
        eprintln!("nufft {h}x{w}: relative error {e:e}");
        assert!(e <= 1e-5, "nufft {h}x{w}: relative error {e:e}");
        let k = random_complex(&mut r, 3 * m);
        let adj = op("nufft_adjoint", &[h, w]);
        let got = adj.forward(&[&complex(&[3, m], k.clone()), &tv], &cache).unwrap();
        assert_eq!(got.shape(), [3, h, w]);
        let e = rel_err(&data(&got), &nudft_adjoint(&k, &traj, h, w));
        eprintln!("nufft_adjoint {h}x{w}: relative error {e:e}");
        assert!(e <= 1e-5, "nufft_adjoint {h}x{w}: relative error {e:e}");
    }
    assert_eq!(
        cache.nufft_plans(),
        3,
        "one plan per trajectory and size, shared by both ops"
    );
}

/// `⟨A x, y⟩ = ⟨x, Aᴴ y⟩` to 1e-10 relative, and the VJPs are the other op.
#[test]
fn adjoint_identity_and_vjps() {
    let cache = FftCache::new();
    let mut r = ChaCha8Rng::seed_from_u64(8);
    for (h, w, m) in [(16, 16, 200), (15, 20, 97), (2, 7, 5)] {
        let tv = real(&[m, 2], random_traj(&mut r, m));
        let x = complex(&[3, h, w], random_complex(&mut r, 3 * h * w));
        let y = complex(&[3, m], random_complex(&mut r, 3 * m));
        let (fwd, adj) = (op("nufft", &[]), op("nufft_adjoint", &[h, w]));
        let ax = fwd.forward(&[&x, &tv], &cache).unwrap();
        let ahy = adj.forward(&[&y, &tv], &cache).unwrap();
        let dot =
            |a: &Value, b: &Value| -> C { data(a).iter().zip(data(b)).map(|(u, v)| u.conj() * v).sum() };
        let (lhs, rhs) = (dot(&ax, &y), dot(&x, &ahy));
        eprintln!(
            "{h}x{w}: adjoint identity relative gap {:e}",
            (lhs - rhs).norm() / lhs.norm()
        );
        assert!(
            (lhs - rhs).norm() <= 1e-10 * lhs.norm(),
            "{h}x{w}: {lhs} vs {rhs}"
        );
        let g = fwd.vjp(&[&x, &tv], &ax, &y, &cache).unwrap();
        assert_eq!(g[0], ahy);
        assert_eq!(
            g[1],
            Value::zeros(&tv.ty()),
            "the trajectory gets a zero cotangent"
        );
        let g = adj.vjp(&[&y, &tv], &ahy, &x, &cache).unwrap();
        assert_eq!(g[0], ax);
    }
}

/// On the Cartesian grid `ω = 2πk/N` (k ≥ N/2 given as negative frequencies) `nufft` is `fft`.
#[test]
fn equals_fft_on_the_cartesian_grid() {
    let cache = FftCache::new();
    let mut r = ChaCha8Rng::seed_from_u64(9);
    for (h, w) in [(8, 8), (5, 6)] {
        let mut traj = Vec::new();
        for a in 0..h {
            for b in 0..w {
                let wrap = |k: usize, n: usize| if 2 * k >= n { k as f64 - n as f64 } else { k as f64 };
                traj.extend([2.0 * PI * wrap(a, h) / h as f64, 2.0 * PI * wrap(b, w) / w as f64]);
            }
        }
        let x = real(
            &[2, h, w],
            (0..2 * h * w).map(|_| r.random_range(-1.0..1.0)).collect(),
        );
        let tv = real(&[h * w, 2], traj);
        let got = op("nufft", &[]).forward(&[&x, &tv], &cache).unwrap();
        let want = op("fft", &[]).forward(&[&x], &cache).unwrap();
        let e = rel_err(&data(&got), &data(&want));
        eprintln!("{h}x{w} Cartesian vs fft: {e:e}");
        assert!(e <= 1e-5, "{h}x{w}: {e:e}");
        let dcf = op("nufft_dcf", &[h, w]).forward(&[&tv], &cache).unwrap();
        let worst = data(&dcf).iter().map(|d| (d.re - 1.0).abs()).fold(0.0, f64::max);
        assert!(
            worst <= 1e-9,
            "{h}x{w}: Cartesian density weights differ from 1 by {worst:e}"
        );
    }
}

/// Pipe–Menon weights of a radial trajectory follow the ramp `π|k|/S` (k in grid samples) away
/// from the centre and the edge, and a doubled trajectory gets half the weights.
#[test]
fn radial_density_weights_follow_the_ramp() {
    let cache = FftCache::new();
    let (n, spokes) = (32usize, 48usize);
    let mut traj = Vec::new();
    for s in 0..spokes {
        let th = PI * s as f64 / spokes as f64;
        for i in 0..n {
            let t = -PI + 2.0 * PI * i as f64 / n as f64;
            traj.extend([t * th.cos(), t * th.sin()]);
        }
    }
    let m = spokes * n;
    let dcf = op("nufft_dcf", &[n, n]);
    let d = data(&dcf.forward(&[&real(&[m, 2], traj.clone())], &cache).unwrap());
    let mut worst = 0.0f64;
    for (i, di) in d.iter().enumerate() {
        let k = (i % n) as f64 - n as f64 / 2.0;
        if k.abs() >= n as f64 / 8.0 && k.abs() <= 3.0 * n as f64 / 8.0 {
            worst = worst.max((di.re / (PI * k.abs() / spokes as f64) - 1.0).abs());
        }
    }
    eprintln!("radial weights vs the ramp: worst relative difference {worst}");
    assert!(worst <= 0.03, "radial weights differ from the ramp by {worst}");
    let twice: Vec<f64> = traj.iter().chain(&traj).copied().collect();
    let d2 = data(&dcf.forward(&[&real(&[2 * m, 2], twice)], &cache).unwrap());
    let e = rel_err(&d2[..m].iter().map(|z| z * 2.0).collect::<Vec<_>>(), &d);
    assert!(e <= 1e-6, "doubled samples: {e:e}");
}

/// A trajectory not of type real[M, 2] is rejected with the shapes; a non-finite one at run time.
#[test]
fn bad_trajectories_are_errors() {
    use uq::graph::Ty;
    let e = op("nufft", &[])
        .infer_type(&[Ty::real(vec![8, 8]), Ty::real(vec![10, 3])])
        .unwrap_err();
    assert!(e.contains("real[M, 2]") && e.contains("real[10, 3]"), "{e}");
    let e = op("nufft", &[])
        .infer_type(&[Ty::real(vec![8, 8]), Ty::complex(vec![10, 2])])
        .unwrap_err();
    assert!(e.contains("complex[10, 2]"), "{e}");
    let adj = op("nufft_adjoint", &[8, 8]);
    let e = adj
        .infer_type(&[Ty::complex(vec![3, 9]), Ty::real(vec![10, 2])])
        .unwrap_err();
    assert!(e.contains("complex[3, 9]") && e.contains("10"), "{e}");
    let e = op("nufft_dcf", &[0, 8])
        .infer_type(&[Ty::real(vec![10, 2])])
        .unwrap_err();
    assert!(e.contains("non-empty"), "{e}");
    let e = op("nufft_dcf", &[1 << 20, 1 << 20])
        .infer_type(&[Ty::real(vec![10, 2])])
        .unwrap_err();
    assert!(e.contains("oversampled grid"), "{e}");
    let e = op("nufft_dcf", &[usize::MAX - 1, 3])
        .infer_type(&[Ty::real(vec![10, 2])])
        .unwrap_err();
    assert!(e.contains("oversampled grid"), "{e}");
    let cache = FftCache::new();
    let traj = real(&[2, 2], vec![0.1, f64::NAN, 0.2, 0.3]);
    let x = real(&[4, 4], vec![1.0; 16]);
    let e = op("nufft", &[])
        .forward(&[&x, &traj], &cache)
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite") && e.contains("sample 0"), "{e}");
}

/// `uq traj radial` writes the documented trajectory (the fixture of `tests/valid/radial.uq`) and
/// never overwrites an existing file.
#[test]
fn cli_writes_a_radial_trajectory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("traj.npy");
    let run = || {
        assert_cmd::Command::cargo_bin("uq")
            .unwrap()
            .args([
                "traj",
                "radial",
                "--spokes",
                "8",
                "--readout",
                "16",
                "--golden",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let got: ndarray::Array2<f64> = ndarray_npy::read_npy(&out).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/radial/traj.npy");
    let want: ndarray::Array2<f64> = ndarray_npy::read_npy(fixture).unwrap();
    assert_eq!(got.shape(), [128, 2]);
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-14, "{worst:e}");
    std::fs::write(&out, b"not uq's").unwrap();
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), b"not uq's");
}

/// The checker refuses a trajectory that depends on a latent (no gradient would flow to it).
#[test]
fn a_latent_trajectory_is_refused() {
    let text = "prior t : real[4, 2] ~ Normal(0, 1)\nprior x : real[4, 4] ~ Normal(0, 1)\n\
                data y : complex[4]\ny ~ Normal(nufft(x, t * 2), 0.1)\n";
    let mut sources = uq::source::SourceMap::new();
    let Err(diags) = uq::check::check_source("t.uq", text, None, &mut sources) else {
        panic!("a latent trajectory was accepted")
    };
    let out: String = diags.iter().map(|d| d.render(&sources, false)).collect();
    assert!(
        out.contains("E0302") && out.contains("depends on a latent"),
        "{out}"
    );
}
