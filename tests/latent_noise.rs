//! A latent noise level next to an annealed prior, against its closed form: `x : real[4] ~ N(0, 1)`
//! (an analytic prior, annealed like a score network), `y = A x + N(0, σ²)` with 200 observations and
//! `σ ~ HalfNormal(1)`. The marginal posterior of σ is known by quadrature (Woodbury on A Aᵀ + σ² I);
//! annealed HMC (σ updated by Metropolis-within-Gibbs at every level) and DPS (σ drawn given each
//! image) must match its mean and sd within Monte-Carlo error (128 independent samples each).
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const N: usize = 200;
const K: usize = 4;

/// log N(y; 0, A Aᵀ + σ² I) up to a constant, with B = AᵀA and b = Aᵀy (k × k algebra only).
fn log_marginal(yy: f64, b: &Array2<f64>, aty: &Array1<f64>, s2: f64) -> f64 {
    // M = σ² I + AᵀA; log det C = (n − k) log σ² + log det M; yᵀC⁻¹y = (yᵀy − bᵀ M⁻¹ b)/σ².
    let mut m = b.clone();
    for i in 0..K {
        m[[i, i]] += s2;
    }
    // Cholesky M = L Lᵀ.
    let mut l = Array2::<f64>::zeros((K, K));
    for i in 0..K {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            l[[i, j]] = if i == j {
                (m[[i, i]] - s).sqrt()
            } else {
                (m[[i, j]] - s) / l[[j, j]]
            };
        }
    }
    let mut z = Array1::<f64>::zeros(K);
    for i in 0..K {
        let s: f64 = (0..i).map(|k| l[[i, k]] * z[k]).sum();
        z[i] = (aty[i] - s) / l[[i, i]];
    }
    let logdet = (N - K) as f64 * s2.ln() + 2.0 * (0..K).map(|i| l[[i, i]].ln()).sum::<f64>();
    -0.5 * logdet - 0.5 * (yy - z.dot(&z)) / s2
}

#[test]
fn annealed_hmc_samples_a_latent_noise_level_like_its_closed_form() {
    check(&[
        "--sampler",
        "annealed_hmc",
        "--rounds",
        "32",
        "--sigma-min",
        "0.005",
        "--correct",
        "0",
    ]);
}

/// DPS through the analytic prior's exact VP view, σ drawn given each DPS image by
/// Metropolis-within-Gibbs, then the corrector on both (128 samples).
#[test]
fn dps_samples_a_latent_noise_level_like_its_closed_form() {
    check(&["--sampler", "dps", "--draws", "32", "--dps-steps", "250"]);
}

fn check(sampler: &[&str]) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let a = Array2::from_shape_fn((N, K), |_| z() / (N as f64).sqrt() * 3.0);
    let x = Array1::from_shape_fn(K, |_| z());
    let y = a.dot(&x) + Array1::from_shape_fn(N, |_| 0.3 * z());
    let dir = tempfile::tempdir().unwrap();
    ndarray_npy::write_npy(dir.path().join("A.npy"), &a).unwrap();
    ndarray_npy::write_npy(dir.path().join("y.npy"), &y).unwrap();
    let model = dir.path().join("noise.uq");
    std::fs::write(
        &model,
        format!(
            "data A : real[{N}, {K}] = \"A.npy\"\ndata y : real[{N}] = \"y.npy\"\n\
             prior x : real[{K}] ~ Normal(0, 1)\nprior sigma ~ HalfNormal(1)\ny ~ Normal(A @ x, sigma)\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("run");
    Command::cargo_bin("uq")
        .unwrap()
        .args(["sample", "--quiet"])
        .args(sampler)
        .args(["--seed", "3", "--out"])
        .arg(&out)
        .arg(&model)
        .assert()
        .success();
    let draws: Array2<f64> = ndarray_npy::read_npy(out.join("sigma/samples.npy")).unwrap();
    let s: Vec<f64> = draws.iter().copied().collect();
    // Quadrature over log σ (the HalfNormal(1) prior and the log-Jacobian included).
    let (b, aty, yy) = (a.t().dot(&a), a.t().dot(&y), y.dot(&y));
    let grid: Vec<f64> = (0..4000).map(|i| -4.0 + 4.0 * i as f64 / 3999.0).collect();
    let lp: Vec<f64> = grid
        .iter()
        .map(|&u| log_marginal(yy, &b, &aty, (2.0 * u).exp()) - (2.0 * u).exp() / 2.0 + u)
        .collect();
    let top = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = lp.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = w.iter().sum();
    let mean: f64 = grid.iter().zip(&w).map(|(u, w)| u.exp() * w).sum::<f64>() / total;
    let m2: f64 = grid.iter().zip(&w).map(|(u, w)| (2.0 * u).exp() * w).sum::<f64>() / total;
    let sd = (m2 - mean * mean).sqrt();
    let n = s.len() as f64;
    let got = s.iter().sum::<f64>() / n;
    let got_sd = (s.iter().map(|v| (v - got).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // Independent annealing runs: MCSE of the mean sd/√n, of the sd ≈ sd/√(2n).
    let (zm, zs) = (
        (got - mean) / (sd / n.sqrt()),
        (got_sd - sd) / (sd / (2.0 * n).sqrt()),
    );
    eprintln!("sigma: mean {got:.5} (exact {mean:.5}, z {zm:+.2}), sd {got_sd:.5} (exact {sd:.5}, z {zs:+.2}), {n} draws");
    // 0.99 two-sided normal quantile, Bonferroni over the 2 moments.
    assert!(zm.abs() < 2.81 && zs.abs() < 2.81);
}
