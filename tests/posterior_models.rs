//! Model-level statistical tests through the real pipeline (`.uq` text → check → bind → build →
//! sampler): an 8×8 Gaussian-blur deblurring model against its closed-form posterior, for MALA,
//! HMC, NUTS and annealed HMC. The posteriordb regressions are in `refpost_models.rs`.

mod kernels_util;
mod model_util;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use kernels_util::{bonferroni_bound, gaussian_posterior, normal_vector, rng};
use model_util::*;
use ndarray::{Array1, Array2};
use ndarray_npy::write_npy;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uq::infer::{
    annealed_hmc, AnnealedConfig, Denoise, KernelKind, Mass, MhMode, Posterior, RunConfig, RunOutput,
};
use uq::session::Built;

// ---------------------------------------------------------------------------------------------
// Linear-Gaussian deblurring
// ---------------------------------------------------------------------------------------------

const SIDE: usize = 8;
const KSIZE: usize = 5;
const KWIDTH: f64 = 1.0;
const NOISE: f64 = 0.2;

/// The normalised `n × n` Gaussian kernel of width `s`, centred at `(n − 1)/2`.
fn gaussian_kernel(n: usize, s: f64) -> Array2<f64> {
    let c = (n as f64 - 1.0) / 2.0;
    let k = Array2::from_shape_fn((n, n), |(i, j)| {
        let (a, b) = (i as f64 - c, j as f64 - c);
        (-(a * a + b * b) / (2.0 * s * s)).exp()
    });
    let total = k.sum();
    k / total
}

/// Dense matrix of the circular blur on row-major `SIDE × SIDE` images:
/// `y[i, j] = Σ_{a,b} k[a, b] · x[(i − a + n/2) mod H, (j − b + n/2) mod W]`.
fn blur_matrix() -> Array2<f64> {
    let k = gaussian_kernel(KSIZE, KWIDTH);
    let h = KSIZE / 2;
    let d = SIDE * SIDE;
    let mut b = Array2::zeros((d, d));
    for i in 0..SIDE {
        for j in 0..SIDE {
            for ((a, c), kv) in k.indexed_iter() {
                let p = (i + SIDE + h - a) % SIDE;
                let q = (j + SIDE + h - c) % SIDE;
                b[[i * SIDE + j, p * SIDE + q]] += kv;
            }
        }
    }
    b
}

/// Condition number of the posterior precision `I + BᵀB/σ²`: `B` is circulant and symmetric, its
/// eigenvalues are the DFT of the centred kernel.
fn precision_condition_number() -> f64 {
    let k = gaussian_kernel(KSIZE, KWIDTH);
    let c = (KSIZE / 2) as f64;
    let n = SIDE as f64;
    let mut eig = Vec::new();
    for u in 0..SIDE {
        for v in 0..SIDE {
            let l: f64 = k
                .indexed_iter()
                .map(|((a, b), kv)| {
                    let phase =
                        2.0 * std::f64::consts::PI * (u as f64 * (a as f64 - c) + v as f64 * (b as f64 - c))
                            / n;
                    kv * phase.cos()
                })
                .sum();
            eig.push(1.0 + l * l / (NOISE * NOISE));
        }
    }
    max_of(&eig) / min_of(&eig)
}

struct BlurCase {
    built: Built,
    b: Array2<f64>,
    y: Array1<f64>,
    mean: Array1<f64>,
    cov: Array2<f64>,
}

/// Synthetic data from a standard normal image, written to `.npy` and bound to the model's `y`.
fn blur_case() -> BlurCase {
    let b = blur_matrix();
    let d = SIDE * SIDE;
    let mut r = rng(2024);
    let x_true = normal_vector(&mut r, d, 1.0);
    let y = b.dot(&x_true) + normal_vector(&mut r, d, NOISE);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("posterior_models");
    std::fs::create_dir_all(&dir).unwrap();
    // Unique per process and thread: the tests run in parallel and each writes the same content.
    let path = dir.join(format!(
        "blur8_y_{}_{:?}.npy",
        std::process::id(),
        std::thread::current().id()
    ));
    let y_img = y.clone().into_shape_with_order((SIDE, SIDE)).unwrap();
    write_npy(&path, &y_img).unwrap();
    let built = load("blur8.uq", &[("y".to_string(), path.clone())]);
    let _ = std::fs::remove_file(&path);
    let (mean, cov) = gaussian_posterior(&b, &y, NOISE, &Array1::zeros(d), &Array1::ones(d));
    BlurCase {
        built,
        b,
        y,
        mean,
        cov,
    }
}

/// The built posterior evaluates the same likelihood and prior as the dense model (so the dense
/// matrix, and with it the closed-form posterior, is the model's).
#[test]
fn blur_model_matches_the_dense_operator() {
    let c = blur_case();
    let mut r = rng(5);
    let xs = Array2::from_shape_fn((3, SIDE * SIDE), |_| r.random_range(-2.0..2.0));
    let evals = c.built.posterior.evaluate(xs.view(), 0.0);
    for (x, e) in xs.rows().into_iter().zip(evals) {
        let e = e.unwrap();
        let res = &c.y - &c.b.dot(&x);
        let log_lik = -0.5 * res.dot(&res) / (NOISE * NOISE);
        let grad = c.b.t().dot(&res) / (NOISE * NOISE);
        // The graph's log-likelihood includes the Gaussian normalising constant.
        let log_lik = log_lik - res.len() as f64 * (NOISE * (2.0 * std::f64::consts::PI).sqrt()).ln();
        let gerr = (&e.grad_lik - &grad)
            .mapv(f64::abs)
            .fold(0.0f64, |m, v| m.max(*v));
        assert!(
            gerr < 1e-9 * grad.mapv(f64::abs).sum(),
            "likelihood gradient differs by {gerr}"
        );
        assert!(
            (e.log_lik - log_lik).abs() < 1e-9 * log_lik.abs(),
            "log-likelihood {} vs dense {log_lik}",
            e.log_lik
        );
        assert!((&e.score_prior + &x).mapv(f64::abs).iter().all(|v| *v < 1e-12));
    }
    let kappa = precision_condition_number();
    eprintln!("posterior precision condition number {kappa:.1} (σ_n = {NOISE})");
}

/// The power-iteration operator norm of the blur (what DPS divides ζ by) is its largest DFT
/// magnitude, 1 for a normalised positive kernel; the scaled adjoint fits y by least squares.
#[test]
fn operator_norm_and_adjoint_of_the_blur() {
    let c = blur_case();
    let norm = c.built.posterior.operator_norm().unwrap();
    assert!((norm - 1.0).abs() < 1e-6, "‖B‖ = {norm}");
    let g = c.b.t().dot(&c.y);
    let bg = c.b.dot(&g);
    let alpha = bg.dot(&c.y) / bg.dot(&bg);
    let x = c.built.posterior.adjoint_estimate().unwrap();
    assert!((&x - &(g * alpha)).iter().all(|e| e.abs() < 1e-9));
}

/// Run `cfg` on the blur model; assert the χ² band on the mean squared z-score (means and sds)
/// and the Bonferroni bound on every pixel.
fn check_blur(label: &str, cfg: &RunConfig, seed: u64) {
    let c = blur_case();
    let out = run(&c.built.posterior, cfg, seed);
    check_draws(label, &out, &c.mean, &c.cov);
}

/// The χ² band and Bonferroni checks of `out`'s draws against the Gaussian `N(mean, cov)`.
fn check_draws(label: &str, out: &RunOutput, mean: &Array1<f64>, cov: &Array2<f64>) {
    let c = (mean, cov);
    let sd = c.1.diag().mapv(f64::sqrt);
    let z = z_scores(out, c.0, &sd);
    report(label, out, &z);
    let d = c.0.len();
    // The pixels' Monte-Carlo errors are correlated like the posterior (mean errors ∝ R, sd errors
    // ∝ R∘R for a Gaussian), so Σz²/d is a weighted sum of χ²₁ with mean 1 and variance
    // 2·tr(R²)/d²: compare it with the moment-matched χ²_ν/ν, ν = d²/tr(R²) (ν = d if independent).
    let corr = Array2::from_shape_fn((d, d), |(i, j)| c.1[[i, j]] / (sd[i] * sd[j]));
    let nu_mean = (d * d) as f64 / corr.iter().map(|r| r * r).sum::<f64>();
    let nu_sd = (d * d) as f64 / corr.iter().map(|r| r.powi(4)).sum::<f64>();
    let band = |nu: f64| {
        let n = nu.round().max(1.0) as usize;
        (
            chi2_quantile(n, 0.005) / n as f64,
            chi2_quantile(n, 0.995) / n as f64,
        )
    };
    let bound = bonferroni_bound(d);
    let msq = |v: &[f64]| v.iter().map(|z| z * z).sum::<f64>() / v.len() as f64;
    let (mm, ms) = (msq(&z.mean), msq(&z.sd));
    let ((lm, hm), (ls, hs)) = (band(nu_mean), band(nu_sd));
    eprintln!(
        "{label}: mean z² means {mm:.3} (ν {nu_mean:.1}, 99% band [{lm:.3}, {hm:.3}]), sds {ms:.3} \
         (ν {nu_sd:.1}, [{ls:.3}, {hs:.3}]); Bonferroni bound {bound:.2}"
    );
    assert_eq!(out.divergences.iter().sum::<usize>(), 0, "{label}: divergences");
    assert!(
        min_of(&z.diag.ess_mean) > 100.0,
        "{label}: ESS too small for the MCSE test"
    );
    assert!(
        (lm..hm).contains(&mm),
        "{label}: mean z² of the means {mm:.3} outside [{lm:.3}, {hm:.3}]"
    );
    assert!(
        (ls..hs).contains(&ms),
        "{label}: mean z² of the sds {ms:.3} outside [{ls:.3}, {hs:.3}]"
    );
    assert!(
        max_abs(&z.mean) < bound,
        "{label}: a pixel mean beyond the Bonferroni bound"
    );
    assert!(
        max_abs(&z.sd) < bound,
        "{label}: a pixel sd beyond the Bonferroni bound"
    );
}

fn blur_cfg(kernel: KernelKind, mh: MhMode, draws: usize) -> RunConfig {
    let hmc = matches!(kernel, KernelKind::Hmc { .. });
    RunConfig {
        kernel,
        mh,
        warmup: 1000,
        draws,
        // Static HMC on a Gaussian can resonate with a fixed step; jitter as in tests/kernels.rs.
        step_jitter: if hmc { 0.2 } else { 0.0 },
        ..RunConfig::default()
    }
}

const SCORE_ONLY: MhMode = MhMode::ScoreOnly { points: 4 };

fn hmc() -> KernelKind {
    KernelKind::Hmc {
        steps: 10,
        mass: Mass::Diagonal,
    }
}

#[test]
fn blur_mala_exact_matches_closed_form() {
    check_blur(
        "blur MALA exact",
        &blur_cfg(KernelKind::Mala, MhMode::Exact, 20000),
        11,
    );
}

#[test]
fn blur_mala_score_only_matches_closed_form() {
    check_blur(
        "blur MALA score-only",
        &blur_cfg(KernelKind::Mala, SCORE_ONLY, 20000),
        12,
    );
}

#[test]
fn blur_hmc_exact_matches_closed_form() {
    check_blur("blur HMC exact", &blur_cfg(hmc(), MhMode::Exact, 1000), 13);
}

/// Annealed HMC (score-only correction) on the blur model: its draws at the last level match that
/// level's exact posterior (prior N(0, 1 + σ²), likelihood variance σ_n² + σ²).
#[test]
fn annealed_hmc_matches_the_last_level_posterior() {
    let c = blur_case();
    let cfg = AnnealedConfig {
        sigma0: 1.0,
        sigma_min: 0.05,
        gamma: 0.98,
        steps: 4,
        eps: None,
        mh: SCORE_ONLY,
        rounds: 1,
        batch: 64,
        warmup: 500,
        target_accept: None,
        level_adapt: 0.0,
        draws: 1000,
        denoise: Denoise::Mean,
        correct: 0,
    };
    let mut r = ChaCha8Rng::seed_from_u64(16);
    let start = c.built.posterior.adjoint_estimate().unwrap();
    let init = Array2::from_shape_fn((CHAINS, start.len()), |(_, j)| {
        start[j] + r.random_range(-1.0..1.0)
    });
    let out = annealed_hmc(
        &c.built.posterior,
        &cfg,
        init,
        16,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let acc = out.level_accept.iter().sum::<f64>() / out.level_accept.len() as f64;
    eprintln!(
        "annealed HMC: {} levels, ε {:.3?}, mean level acceptance {acc:.3}",
        out.sigmas.len(),
        out.eps
    );
    let s2 = cfg.sigma_min * cfg.sigma_min;
    let d = SIDE * SIDE;
    let (mean, cov) = gaussian_posterior(
        &c.b,
        &c.y,
        (NOISE * NOISE + s2).sqrt(),
        &Array1::zeros(d),
        &Array1::from_elem(d, (1.0 + s2).sqrt()),
    );
    let last = out.last.expect("the run was not stopped");
    assert_eq!(last.draws, out.raw);
    check_draws("annealed HMC, last level", &last, &mean, &cov);
    // EDS moves every draw by σ_min² s(x, σ_min) = −σ_min² x/(1 + σ_min²) under this prior.
    let moved = &out.draws - &out.raw;
    let want = out.raw.mapv(|x| -s2 * x / (1.0 + s2));
    assert!((moved - want).iter().all(|e| e.abs() < 1e-12));
}

/// Annealed HMC in the paper's scheme of independent runs: 250 rounds per chain, each annealed
/// afresh (batched 64 runs at a time), a short warm-up at σ_min and one draw. The 1,000 independent
/// draws match the last level's exact posterior, as the long chains above do.
#[test]
fn annealed_hmc_rounds_give_independent_last_level_draws() {
    independent_rounds(0.0, "annealed HMC, independent rounds");
}

/// The same with the per-run step adapted across the levels (`level_adapt`): still the last
/// level's exact posterior.
#[test]
fn annealed_hmc_level_adapted_rounds_give_independent_last_level_draws() {
    independent_rounds(0.1, "annealed HMC, level-adapted rounds");
}

fn independent_rounds(level_adapt: f64, what: &str) {
    let c = blur_case();
    let cfg = AnnealedConfig {
        sigma0: 1.0,
        sigma_min: 0.05,
        gamma: 0.98,
        steps: 4,
        eps: None,
        mh: SCORE_ONLY,
        rounds: 250,
        batch: 64,
        warmup: 30,
        target_accept: None,
        level_adapt,
        draws: 1,
        denoise: Denoise::Mean,
        correct: 0,
    };
    let mut r = ChaCha8Rng::seed_from_u64(17);
    let start = c.built.posterior.adjoint_estimate().unwrap();
    let init = Array2::from_shape_fn((CHAINS * cfg.rounds, start.len()), |(_, j)| {
        start[j] + r.random_range(-1.0..1.0)
    });
    let out = annealed_hmc(
        &c.built.posterior,
        &cfg,
        init,
        17,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let s2 = cfg.sigma_min * cfg.sigma_min;
    let d = SIDE * SIDE;
    let (mean, cov) = gaussian_posterior(
        &c.b,
        &c.y,
        (NOISE * NOISE + s2).sqrt(),
        &Array1::zeros(d),
        &Array1::from_elem(d, (1.0 + s2).sqrt()),
    );
    let last = out.last.expect("the run was not stopped");
    assert_eq!(last.draws.dim(), (CHAINS, cfg.rounds, d));
    assert_eq!(last.draws, out.raw);
    check_draws(what, &last, &mean, &cov);
}

/// The default kernel for models with exact densities: NUTS with a diagonal mass.
#[test]
fn blur_nuts_matches_closed_form() {
    check_blur("blur NUTS", &blur_cfg(KernelKind::NUTS, MhMode::Exact, 1000), 15);
}

#[test]
fn blur_hmc_score_only_matches_closed_form() {
    check_blur("blur HMC score-only", &blur_cfg(hmc(), SCORE_ONLY, 1000), 14);
}
