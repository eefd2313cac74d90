//! A hierarchical image model with a latent prior scale and latent noise, against its exact
//! posterior by quadrature: `x ~ N(0, τ²)` per pixel, `y = H x + N(0, σ²)` with a circulant blur H,
//! `τ ~ HalfNormal(1)`, `σ ~ HalfNormal(0.1)`. In the Fourier basis the marginal likelihood of
//! (τ, σ) is exact (variance τ²|h_k|² + σ² per frequency), so a 2-D grid over (log τ, log σ) gives
//! the posterior moments of τ, σ and of every pixel. NUTS at the defaults must match them within
//! Monte-Carlo error (Bonferroni over every compared moment).

mod kernels_util;
mod model_util;

use kernels_util::bonferroni_bound;
use model_util::*;
use ndarray::{Array1, Array2};
use ndarray_npy::write_npy;
use num_complex::Complex64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rustfft::FftPlanner;
use uq::infer::RunConfig;

const TAU: f64 = 0.5;
const SIGMA: f64 = 0.05;

/// Orthonormal 2-D FFT of an N×N real or complex array (numpy's `fft2(norm="ortho")`).
fn fft2(x: &Array2<Complex64>, inverse: bool) -> Array2<Complex64> {
    let n = x.nrows();
    let mut planner = FftPlanner::new();
    let f = if inverse {
        planner.plan_fft_inverse(n)
    } else {
        planner.plan_fft_forward(n)
    };
    let mut a = x.clone();
    for mut row in a.rows_mut() {
        let mut v = row.to_vec();
        f.process(&mut v);
        row.iter_mut().zip(v).for_each(|(r, v)| *r = v);
    }
    for mut col in a.columns_mut() {
        let mut v = col.to_vec();
        f.process(&mut v);
        col.iter_mut().zip(v).for_each(|(r, v)| *r = v);
    }
    a.mapv(|z| z / n as f64)
}

/// The transfer function of a circular Gaussian blur of width 1 pixel (real and even: H is symmetric).
fn transfer(n: usize) -> Array2<f64> {
    let d = |i: usize| (i.min(n - i)) as f64;
    let k = Array2::from_shape_fn((n, n), |(i, j)| (-(d(i).powi(2) + d(j).powi(2)) / 2.0).exp());
    let k = &k / k.sum();
    // Unnormalised DFT of the kernel: fft2_ortho · N.
    fft2(&k.mapv(|v| Complex64::new(v, 0.0)), false).mapv(|z| z.re * n as f64)
}

struct Exact {
    tau: (f64, f64),
    sigma: (f64, f64),
    x_mean: Array1<f64>,
    x_sd: Array1<f64>,
}

/// Posterior moments by quadrature over (log τ, log σ), with the half-normal priors and the
/// log-Jacobians of the log scale.
fn exact(y: &Array2<f64>, h: &Array2<f64>) -> Exact {
    let n = y.nrows();
    let yk = fft2(&y.mapv(|v| Complex64::new(v, 0.0)), false);
    let h2: Vec<f64> = h.iter().map(|v| v * v).collect();
    let p2: Vec<f64> = yk.iter().map(|z| z.norm_sqr()).collect();
    let log_post = |lt: f64, ls: f64| {
        let (t2, s2) = ((2.0 * lt).exp(), (2.0 * ls).exp());
        let mut lp = -t2 / 2.0 - s2 / (2.0 * 0.01) + lt + ls;
        for (a, p) in h2.iter().zip(&p2) {
            let v = t2 * a + s2;
            lp -= 0.5 * (v.ln() + p / v);
        }
        lp
    };
    // A coarse search for the mode, then a fine grid ±0.6 around it in each log scale.
    let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
    for i in 0..120 {
        for j in 0..120 {
            let (lt, ls) = (-5.0 + 7.0 * i as f64 / 119.0, -7.0 + 7.0 * j as f64 / 119.0);
            let lp = log_post(lt, ls);
            if lp > best.0 {
                best = (lp, lt, ls);
            }
        }
    }
    let (m, span) = (301, 0.6);
    let grid = |c: f64, i: usize| c - span + 2.0 * span * i as f64 / (m - 1) as f64;
    let mut w = Array2::zeros((m, m));
    for i in 0..m {
        for j in 0..m {
            w[[i, j]] = log_post(grid(best.1, i), grid(best.2, j));
        }
    }
    let top = w.fold(f64::NEG_INFINITY, |a: f64, &b| a.max(b));
    let w = w.mapv(|v| (v - top).exp());
    let total = w.sum();
    assert!(
        w.row(0).sum() / total < 1e-12 && w.column(0).sum() / total < 1e-12,
        "grid too narrow"
    );
    let (mut t, mut t2, mut s, mut s2) = (0.0, 0.0, 0.0, 0.0);
    let mut xm = Array2::<Complex64>::zeros((n, n));
    let mut xm2 = Array1::<f64>::zeros(n * n);
    let mut xvar = 0.0;
    for i in 0..m {
        for j in 0..m {
            let p = w[[i, j]] / total;
            if p < 1e-14 {
                continue;
            }
            let (tau, sig) = (grid(best.1, i).exp(), grid(best.2, j).exp());
            t += p * tau;
            t2 += p * tau * tau;
            s += p * sig;
            s2 += p * sig * sig;
            // E[x | τ, σ, y] in the Fourier basis; Var(x_i | τ, σ) = mean over k of τ²σ²/v_k.
            let gain = h.mapv(|a| tau * tau * a / (tau * tau * a * a + sig * sig));
            let mk = &yk * &gain.mapv(|g| Complex64::new(g, 0.0));
            let mx = fft2(&mk, true).mapv(|z| z.re);
            xm = xm + mx.mapv(|v| Complex64::new(p * v, 0.0));
            xm2 = xm2 + mx.iter().map(|v| p * v * v).collect::<Array1<f64>>();
            let cv: f64 = h2
                .iter()
                .map(|a| tau * tau * sig * sig / (tau * tau * a + sig * sig))
                .sum();
            xvar += p * cv / (n * n) as f64;
        }
    }
    let x_mean = Array1::from_iter(xm.iter().map(|z| z.re));
    let x_sd = (xm2 - x_mean.mapv(|v| v * v) + xvar).mapv(f64::sqrt);
    Exact {
        tau: (t, (t2 - t * t).sqrt()),
        sigma: (s, (s2 - s * s).sqrt()),
        x_mean,
        x_sd,
    }
}

fn z(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// 16×16 (258 parameters) in the suite; the 32×32 below.
#[test]
fn latent_prior_scale_and_noise_match_quadrature() {
    check(16);
}

/// 32×32 (1,026 parameters), ~4 minutes: `cargo test --release --test hierarchical_image -- --ignored`.
#[test]
#[ignore]
fn latent_prior_scale_and_noise_match_quadrature_32() {
    check(32);
}

fn check(n: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let h = transfer(n);
    let x = Array2::from_shape_fn((n, n), |_| TAU * z(&mut rng));
    let hx = fft2(
        &(&fft2(&x.mapv(|v| Complex64::new(v, 0.0)), false) * &h.mapv(|a| Complex64::new(a, 0.0))),
        true,
    );
    let y = hx.mapv(|v| v.re + SIGMA * z(&mut rng));
    let dir = tempfile::tempdir().unwrap();
    write_npy(dir.path().join("y.npy"), &y).unwrap();
    write_npy(dir.path().join("h.npy"), &h).unwrap();
    let model = dir.path().join("hier.uq");
    std::fs::write(
        &model,
        format!(
            "data y : real[{n}, {n}] = \"y.npy\"\ndata h : real[{n}, {n}] = \"h.npy\"\n\
             prior tau ~ HalfNormal(1)\nprior x : real[{n}, {n}] ~ Normal(0, tau)\n\
             prior sigma ~ HalfNormal(0.1)\ny ~ Normal(re(ifft(h * fft(x))), sigma)\n"
        ),
    )
    .unwrap();
    let built = load(model.to_str().unwrap(), &[]);
    let ex = exact(&y, &h);
    let mut out = run(&built.posterior, &RunConfig::default(), 41);
    built.posterior.layout().constrain_draws(&mut out.draws);
    let d = uq::infer::Diagnostics::compute(out.draws.view());
    // Layout: tau, x (N²), sigma.
    let mut truth = vec![ex.tau];
    truth.extend(ex.x_mean.iter().zip(&ex.x_sd).map(|(m, s)| (*m, *s)));
    truth.push(ex.sigma);
    let bound = bonferroni_bound(2 * truth.len());
    let (mut worst_m, mut worst_s) = (0.0f64, 0.0f64);
    for (j, (m, s)) in truth.iter().enumerate() {
        let zm = (d.mean[j] - m) / d.mcse_mean[j];
        let zs = (d.sd[j] - s) / d.mcse_sd[j];
        worst_m = worst_m.max(zm.abs());
        worst_s = worst_s.max(zs.abs());
        if j == 0 || j == truth.len() - 1 {
            eprintln!(
                "{}: mean {:.5} (exact {m:.5}, z {zm:+.2}), sd {:.5} (exact {s:.5}, z {zs:+.2}), R̂ {:.4}",
                if j == 0 { "tau" } else { "sigma" },
                d.mean[j],
                d.sd[j],
                d.rhat[j]
            );
        }
    }
    eprintln!(
        "largest |z|: means {worst_m:.2}, sds {worst_s:.2} (bound {bound:.2}); divergences {:?}",
        out.divergences
    );
    assert!(worst_m < bound && worst_s < bound);
    assert!(d.summary().rhat_max < 1.01);
    assert_eq!(out.divergences.iter().sum::<usize>(), 0);
}
