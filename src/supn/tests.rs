//! SUPN against dense linear algebra on a 16×16 image with a small random decoder: log density,
//! gradients in x (dense formula) and z (finite differences), draws' covariance; files round-trip
//! and corrupt ones fail with typed errors; the training loss and the trainer's two stages and resume.

#![allow(clippy::unwrap_used)]

use super::files::{expected, load, save};
use super::*;
use crate::score::seeded_builder;
use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::BTreeMap;

/// A random decoder's tensors (seeded) for `cfg`.
fn random_tensors(cfg: &SupnConfig, seed: u64) -> BTreeMap<String, Tensor> {
    let (vb, store) = seeded_builder(seed);
    SupnNets::new(cfg, vb).unwrap();
    let vars = store.lock().unwrap();
    vars.iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
}

/// `tensors` with the precision head's last layer scaled by `f`: a random 5×5 factor with full-size
/// weights is so far from diagonally dominant that Λ's condition number passes 1e16 and a dense
/// Cholesky fails; scaled, the dense reference stays accurate.
fn tame(mut tensors: BTreeMap<String, Tensor>, f: f64) -> BTreeMap<String, Tensor> {
    for k in ["dec.prec1.weight", "dec.prec1.bias"] {
        let t = (tensors[k].clone() * f).unwrap();
        tensors.insert(k.to_string(), t);
    }
    tensors
}

pub(crate) fn small(radius: usize) -> SupnConfig {
    SupnConfig {
        height: 16,
        width: 16,
        latent: 5,
        radius,
        channels: vec![8, 6],
    }
}

fn normals(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// Dense lower Cholesky factor of a symmetric positive definite row-major matrix.
fn cholesky(a: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| c[i * n + k] * c[j * n + k]).sum::<f64>();
            c[i * n + j] = if i == j { s.sqrt() } else { s / c[j * n + j] };
        }
    }
    c
}

/// Λ = L Lᵀ densely.
fn precision(l: &[f64], n: usize) -> Vec<f64> {
    let mut p = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            p[i * n + j] = (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum();
        }
    }
    p
}

/// Λ⁻¹ from its dense Cholesky factor C (Λ = C Cᵀ), column by column.
fn inverse(c: &[f64], n: usize) -> Vec<f64> {
    let mut inv = vec![0.0; n * n];
    for col in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let e = if i == col { 1.0 } else { 0.0 };
            y[i] = (e - (0..i).map(|k| c[i * n + k] * y[k]).sum::<f64>()) / c[i * n + i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (y[i] - (i + 1..n).map(|k| c[k * n + i] * x[k]).sum::<f64>()) / c[i * n + i];
        }
        (0..n).for_each(|i| inv[i * n + col] = x[i]);
    }
    inv
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

#[test]
fn log_density_and_x_gradient_match_dense_linear_algebra() {
    // Radius 0 is the diagonal precision (the baseline SUPN is compared with).
    for radius in [0, 1, 2] {
        let cfg = small(radius);
        let model = SupnModel::from_tensors(&cfg, &tame(random_tensors(&cfg, 3), 0.3)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z = normals(cfg.latent, &mut rng);
        let (mean, f) = model.decode(&z).unwrap();
        let n = f.n();
        let x: Vec<f64> = mean
            .iter()
            .zip(normals(n, &mut rng))
            .map(|(m, e)| m + 0.3 * e)
            .collect();
        let lam = precision(&f.dense(), n);
        let c = cholesky(&lam, n);
        let log_det: f64 = (0..n).map(|i| 2.0 * c[i * n + i].ln()).sum();
        let r: Vec<f64> = x.iter().zip(&mean).map(|(x, m)| x - m).collect();
        let lr: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| lam[i * n + j] * r[j]).sum())
            .collect();
        let quad: f64 = r.iter().zip(&lr).map(|(a, b)| a * b).sum();
        let dense = -0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln() + 0.5 * log_det - 0.5 * quad;
        let d = model.log_density(&x, &z).unwrap();
        assert!(close(d.log_p, dense, 1e-10), "r={radius}: {} vs {dense}", d.log_p);
        for (i, (g, want)) in d.d_x.iter().zip(&lr).enumerate() {
            assert!(close(*g, -want, 1e-10), "r={radius} d_x[{i}]: {g} vs {}", -want);
        }
        // The products and solves agree with the dense factor.
        let e = normals(n, &mut rng);
        let v = f.solve_lt(&e);
        let back = f.lt_mul(&v);
        assert!(back.iter().zip(&e).all(|(a, b)| (a - b).abs() < 1e-9));
        let pv = f.precision_mul(&e);
        for i in 0..n {
            let dv: f64 = (0..n).map(|j| lam[i * n + j] * e[j]).sum();
            assert!(close(pv[i], dv, 1e-10));
        }
        // The CG preconditioner's factor: L_c L_cᵀ has the diagonal of Λ + c I, and is Λ + c I
        // when L is diagonal.
        let shifted = precision(&f.shifted(2.5).dense(), n);
        for i in 0..n {
            for j in 0..n {
                let want = lam[i * n + j] + if i == j { 2.5 } else { 0.0 };
                if i == j || radius == 0 {
                    assert!(close(shifted[i * n + j], want, 1e-12), "r={radius} ({i}, {j})");
                }
            }
        }
    }
}

#[test]
fn z_gradient_matches_finite_differences() {
    let cfg = small(1);
    let model = SupnModel::from_tensors(&cfg, &random_tensors(&cfg, 7)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let z = normals(cfg.latent, &mut rng);
    let (mean, _) = model.decode(&z).unwrap();
    let x: Vec<f64> = mean
        .iter()
        .zip(normals(mean.len(), &mut rng))
        .map(|(m, e)| m + 0.2 * e)
        .collect();
    let d = model.log_density(&x, &z).unwrap();
    let h = 1e-5;
    for k in 0..cfg.latent {
        let at = |s: f64| {
            let mut zz = z.clone();
            zz[k] += s;
            model.log_density(&x, &zz).unwrap().log_p
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        assert!(close(d.d_z[k], fd, 1e-6), "d_z[{k}]: {} vs {fd}", d.d_z[k]);
    }
}

#[test]
fn draws_have_the_inverse_precision_as_covariance() {
    let cfg = small(1);
    let model = SupnModel::from_tensors(&cfg, &random_tensors(&cfg, 11)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let z = normals(cfg.latent, &mut rng);
    let (mean, f) = model.decode(&z).unwrap();
    let n = f.n();
    let sigma = inverse(&cholesky(&precision(&f.dense(), n), n), n);
    // Pixel (7, 7) with its right, lower, lower-right and lower-left neighbours, a pixel two rows
    // down, and a variance elsewhere.
    let i = 7 * 16 + 7;
    let pairs = [
        (i, i),
        (i, i + 1),
        (i, i + 16),
        (i, i + 17),
        (i, i + 15),
        (i, i + 32),
        (40, 40),
    ];
    let draws = 20_000;
    let mut sums = vec![0.0; pairs.len()];
    let mut means = vec![0.0; n];
    let xs: Vec<Vec<f64>> = (0..draws).map(|_| model.sample(&z, &mut rng).unwrap()).collect();
    xs.iter()
        .for_each(|x| means.iter_mut().zip(x).for_each(|(m, v)| *m += v / draws as f64));
    for x in &xs {
        for (s, &(a, b)) in sums.iter_mut().zip(&pairs) {
            *s += (x[a] - means[a]) * (x[b] - means[b]);
        }
    }
    for (s, &(a, b)) in sums.iter().zip(&pairs) {
        let est = s / (draws - 1) as f64;
        let exact = sigma[a * n + b];
        // Standard error of a Gaussian sample covariance: √((Σ_aa Σ_bb + Σ_ab²) / n).
        let se = ((sigma[a * n + a] * sigma[b * n + b] + exact * exact) / draws as f64).sqrt();
        assert!(
            (est - exact).abs() < 4.0 * se,
            "cov({a},{b}): {est} vs {exact} (se {se})"
        );
    }
    // The draws' mean is μ(z), within its standard error.
    for a in [i, 40] {
        let se = (sigma[a * n + a] / draws as f64).sqrt();
        assert!((means[a] - mean[a]).abs() < 4.0 * se, "mean {a}");
    }
    // Off-diagonal structure is present: the neighbours are correlated.
    assert!(sigma[i * n + i + 1].abs() > 0.05 * sigma[i * n + i]);
}

#[test]
fn files_round_trip_and_corrupt_ones_are_typed_errors() {
    let cfg = small(2);
    let tensors = random_tensors(&cfg, 21);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.safetensors");
    save(&path, &cfg, &tensors, &[("stage", "2".into())]).unwrap();
    let a = SupnModel::from_tensors(&cfg, &tensors).unwrap();
    let b = SupnModel::load(&path).unwrap();
    assert_eq!(b.config(), &cfg);
    let z = vec![0.3; cfg.latent];
    let x = vec![0.1; cfg.pixels()];
    let (da, db) = (a.log_density(&x, &z).unwrap(), b.log_density(&x, &z).unwrap());
    assert!(close(da.log_p, db.log_p, 1e-12));
    assert_eq!(expected(&cfg).unwrap().len(), tensors.len());

    let mut missing = tensors.clone();
    missing.remove("dec.prec1.weight");
    save(&path, &cfg, &missing, &[]).unwrap();
    let e = load(&path, DType::F64).err().unwrap();
    assert!(matches!(e, SupnError::MissingTensor { .. }), "{e}");

    let other = SupnConfig {
        channels: vec![8, 4],
        ..cfg.clone()
    };
    save(&path, &other, &tensors, &[]).unwrap();
    let e = load(&path, DType::F64).err().unwrap();
    assert!(matches!(e, SupnError::TensorShape { .. }), "{e}");

    let meta = supn_metadata(&cfg, &[("kind", "ve".into())]);
    crate::score::write_safetensors(&path, &tensors, meta).unwrap();
    let e = load(&path, DType::F64).err().unwrap();
    assert!(
        matches!(e, SupnError::NotSupn { .. }) && e.to_string().contains("score"),
        "{e}"
    );

    let meta = supn_metadata(&cfg, &[("stencil", "4".into())]);
    crate::score::write_safetensors(&path, &tensors, meta).unwrap();
    let e = load(&path, DType::F64).err().unwrap();
    assert!(
        matches!(e, SupnError::Metadata { .. }) && e.to_string().contains("odd"),
        "{e}"
    );

    std::fs::write(&path, b"not a safetensors file").unwrap();
    let e = load(&path, DType::F64).err().unwrap();
    assert!(matches!(e, SupnError::File(_)), "{e}");

    let e = SupnModel::load(&dir.path().join("absent.safetensors"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("absent.safetensors"), "{e}");
    assert!(a.log_density(&x, &z[..2]).is_err());
}

/// The training loss's candle form (shifted products) is the same density as the factor's.
#[test]
fn training_likelihood_matches_the_factor_density() {
    let cfg = small(2);
    let tensors = random_tensors(&cfg, 31);
    let model = SupnModel::from_tensors(&cfg, &tensors).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let z = normals(cfg.latent, &mut rng);
    let (mean, f) = model.decode(&z).unwrap();
    let x: Vec<f64> = mean
        .iter()
        .zip(normals(f.n(), &mut rng))
        .map(|(m, e)| m + 0.1 * e)
        .collect();
    let (want, _) = f.log_density(&x, &mean);
    let dev = candle_core::Device::Cpu;
    let shape = (1, 1, cfg.height, cfg.width);
    let xt = Tensor::from_slice(&x, shape, &dev).unwrap();
    let mt = Tensor::from_slice(&mean, shape, &dev).unwrap();
    let mut planes = f.log_diag.clone();
    f.off.iter().for_each(|p| planes.extend_from_slice(p));
    let k = f.off.len();
    let pt = Tensor::from_vec(planes, (1, 1 + k, cfg.height, cfg.width), &dev).unwrap();
    let got: Vec<f64> = supn_log_likelihood(&xt, &mt, &pt, cfg.radius)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(close(got[0], want, 1e-10), "{} vs {want}", got[0]);
    let diag: Vec<f64> = diagonal_log_likelihood(&xt, &mt, 0.2).unwrap().to_vec1().unwrap();
    let n = f.n() as f64;
    let quad: f64 = x.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum();
    let exact = -0.5 * quad / 0.04 - n * (0.2f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln());
    assert!(close(diag[0], exact, 1e-10));
}

/// Training runs both stages, lowers the held-out loss, and resumes bit-identically.
#[test]
fn training_two_stages_checkpoints_and_resumes() {
    let cfg = SupnConfig {
        height: 8,
        width: 8,
        latent: 2,
        radius: 1,
        channels: vec![4, 4],
    };
    // Smooth random images: a ramp with a random slope plus a little noise.
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let img = |rng: &mut ChaCha8Rng| -> Vec<f32> {
        let a: f64 = StandardNormal.sample(rng);
        (0..64)
            .map(|i| {
                let e: f64 = StandardNormal.sample(rng);
                (0.5 + 0.2 * a * ((i % 8) as f64 / 8.0 - 0.5) + 0.02 * e) as f32
            })
            .collect()
    };
    let train: Vec<Vec<f32>> = (0..16).map(|_| img(&mut rng)).collect();
    let held: Vec<Vec<f32>> = (0..4).map(|_| img(&mut rng)).collect();
    let tc = SupnTrainConfig {
        net: cfg.clone(),
        steps: 40,
        stage1: 20,
        batch: 4,
        lr: 3e-3,
        seed: 1,
        sigma0: 0.1,
    };
    let mut a = SupnTrainer::new(tc.clone(), train.clone(), held.clone()).unwrap();
    let start = a.heldout_loss().unwrap();
    for _ in 0..20 {
        a.train_step().unwrap();
    }
    let after1 = a.heldout_loss().unwrap();
    assert!(after1 < start, "stage 1: {after1} vs {start}");
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("c.safetensors");
    a.write_checkpoint(&ck).unwrap();
    let mut b = SupnTrainer::resume(&ck, 40, None, None, train.clone(), held.clone()).unwrap();
    // The same stage-1 checkpoint trains the diagonal baseline (stencil 1): its precision branch
    // is rebuilt with one plane, it learns, and its file loads.
    let mut d = SupnTrainer::resume(&ck, 40, None, Some(0), train.clone(), held.clone()).unwrap();
    for _ in 0..20 {
        d.train_step().unwrap();
    }
    let ld = d.heldout_loss().unwrap();
    assert!(ld < after1, "diagonal stage 2: {ld} vs {after1}");
    let diag_out = dir.path().join("d.safetensors");
    d.export(&diag_out, &[]).unwrap();
    assert_eq!(SupnModel::load(&diag_out).unwrap().config().radius, 0);
    let stage2_start = {
        a.train_step().unwrap();
        b.train_step().unwrap()
    };
    assert!(stage2_start.is_finite());
    for _ in 0..18 {
        a.train_step().unwrap();
        b.train_step().unwrap();
    }
    let (la, lb) = (a.heldout_loss().unwrap(), b.heldout_loss().unwrap());
    assert_eq!(la, lb, "resume is bit-identical");
    // Once the factor has trained, its stencil is fixed.
    b.write_checkpoint(&ck).unwrap();
    let late = SupnTrainer::resume(&ck, 60, None, Some(0), train, held);
    assert!(matches!(late, Err(e) if e.to_string().contains("cannot change")));
    // Stage 2 learns the precision: better than stage 1's fixed σ₀ = 0.1 for 0.02-noise images.
    assert!(la < after1, "stage 2: {la} vs {after1}");
    let out = dir.path().join("m.safetensors");
    a.export(&out, &[]).unwrap();
    let m = SupnModel::load(&out).unwrap();
    assert_eq!(m.config(), &cfg);
}
