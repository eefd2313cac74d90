//! DPS, DPS + the MALA corrector and annealed HMC against closed-form posteriors: a linear-Gaussian
//! model under a standard normal prior (through its exact VP view) and a two-component mixture prior.

#[path = "kernels_util/mod.rs"]
mod kernels_util;
#[path = "model_util/mod.rs"]
mod model_util;

use kernels_util::{gaussian_posterior, normal_vector, rng};
use model_util::load;
use ndarray::{Array1, Array2, Axis};
use std::sync::atomic::AtomicBool;
use uq::infer::{correct, run_dps, vp_prior, CorrectorConfig, DpsConfig, GraphPosterior, MhMode, VpLevel};
use uq::session::Built;

/// A well-conditioned 4×4 mixing matrix (a 3-tap blur with wrap-around).
fn mixing() -> Array2<f64> {
    Array2::from_shape_fn((4, 4), |(i, j)| match (4 + j - i) % 4 {
        0 => 0.6,
        1 | 3 => 0.3,
        _ => 0.0,
    })
}

fn write_npy<D: ndarray::Dimension>(dir: &std::path::Path, name: &str, a: &ndarray::Array<f64, D>) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.npy"));
    ndarray_npy::write_npy(&p, a).unwrap();
    p
}

fn build(model: &str, a: &Array2<f64>, y: &Array1<f64>) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let overrides = [
        ("A".to_string(), write_npy(dir.path(), "A", a)),
        ("y".to_string(), write_npy(dir.path(), "y", y)),
    ];
    load(model, &overrides)
}

/// `n` DPS samples (ζ = 1, β variance) and the same after `k` corrector transitions.
fn dps_and_corrected(post: &GraphPosterior, steps: usize, k: usize, n: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let prior = post.priors()[0].as_ref();
    let cfg = DpsConfig { zeta: 1.0, steps, small_variance: false, init: None };
    let stop = AtomicBool::new(false);
    let out = run_dps(post, prior, &cfg, n, seed, &|_| {}, &stop).unwrap();
    let view = vp_prior(prior).unwrap();
    let level = VpLevel::new(post, view.as_ref()).unwrap();
    let ccfg = CorrectorConfig { steps: k, sigma: level.sigma, mh: MhMode::score_only(), eds: true };
    let c = correct(&level, &out.samples, &ccfg, seed, &stop).unwrap();
    let accept = c.accept.iter().sum::<f64>() / c.accept.len() as f64;
    eprintln!("corrector: σ_c {:.4}, step {:.4}, acceptance {accept:.3}, jump {:.3}", level.sigma, c.step_size, c.jump(&out.samples));
    (out.samples, c.samples)
}

/// Per coordinate: (sample mean − exact mean)/exact sd and sample sd / exact sd.
fn moments(x: &Array2<f64>, mean: &Array1<f64>, sd: &Array1<f64>) -> (Array1<f64>, Array1<f64>) {
    let m = x.mean_axis(Axis(0)).unwrap();
    let s = x.std_axis(Axis(0), 1.0);
    ((&m - mean) / sd, &s / sd)
}

/// Corrector transitions in these tests (the default of `uq`'s DPS).
const K: usize = 20;
/// Independent samples per case.
const N: usize = 512;

/// DPS + corrector at ζ = 1, 1000 and 250 steps: mean within 0.1 posterior sd and sd ratio within
/// [0.9, 1.1], each up to its Monte-Carlo error (1/√N for a mean in sds, 1/√(2N) for an sd ratio,
/// Bonferroni over the coordinates at 1%). DPS alone, beside it, is reported.
#[test]
fn dps_with_corrector_matches_the_gaussian_posterior() {
    let a = mixing();
    let mut r = rng(7);
    let x_true = normal_vector(&mut r, 4, 1.0);
    let y = a.dot(&x_true) + normal_vector(&mut r, 4, 0.3);
    let built = build("linear4.uq", &a, &y);
    let (mean, cov) = gaussian_posterior(&a, &y, 0.3, &Array1::zeros(4), &Array1::ones(4));
    let sd = cov.diag().mapv(f64::sqrt);
    let z = kernels_util::bonferroni_bound(8);
    let (tol_mean, tol_sd) = (z / (N as f64).sqrt(), z / (2.0 * N as f64).sqrt());
    for steps in [1000, 250] {
        let (dps, fixed) = dps_and_corrected(&built.posterior, steps, K, N, 11);
        let (zd, rd) = moments(&dps, &mean, &sd);
        let (zc, rc) = moments(&fixed, &mean, &sd);
        eprintln!("{steps} steps: DPS mean error {zd:.3} sd ratio {rd:.3}; + corrector {zc:.3} / {rc:.3}");
        for (e, s) in zc.iter().zip(&rc) {
            assert!(e.abs() < 0.1 + tol_mean, "{steps} steps: corrected mean off by {e:.3} sd");
            assert!(*s > 0.9 - tol_sd && *s < 1.1 + tol_sd, "{steps} steps: corrected sd ratio {s:.3}");
        }
    }
}
