//! Annealed HMC's `denoise = draw` step against closed forms: on the 8×8 deblurring model with a
//! Gaussian prior of per-pixel scales, noisy draws of p(x | y) go back to exact draws of p(x | y)
//! (where the EDS mean is measurably too narrow), and annealed HMC with the step gives its closed
//! form; the draw is the default where the model allows it.

mod kernels_util;
mod model_util;
mod net_util;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use kernels_util::{
    blur_matrix, bonferroni_bound, cholesky, gaussian_posterior, normal_vector, rng, spd_inverse,
};
use model_util::{load, CHAINS};
use ndarray::{Array1, Array2, Axis};
use ndarray_npy::write_npy;
use net_util::{tiny_network, QUICK_ANNEALED};
use rand::Rng;
use uq::infer::{
    annealed_hmc, denoise_draw, AnnealedConfig, Denoise, DrawStats, GraphPosterior, MhMode, Posterior,
};
use uq::score::{HeaderKind, NetKind, NormalPrior};

const SIDE: usize = 8;
const NOISE: f64 = 0.2;

/// The blur model with prior `x_j ~ N(0, τ_j²)`, τ from 0.2 to 2 (log-spaced), its data, and the
/// exact posterior.
struct Case {
    post: GraphPosterior,
    y: Array1<f64>,
    mean: Array1<f64>,
    cov: Array2<f64>,
}

fn tau() -> Array1<f64> {
    let d = SIDE * SIDE;
    Array1::from_shape_fn(d, |j| 0.2 * 10f64.powf(((j * 37) % d) as f64 / (d - 1) as f64))
}

fn case() -> Case {
    let (b, d, tau) = (blur_matrix(SIDE), SIDE * SIDE, tau());
    let mut r = rng(2026);
    let x = normal_vector(&mut r, d, 1.0) * &tau;
    let y = b.dot(&x) + normal_vector(&mut r, d, NOISE);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("denoise_draw");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "y_{}_{:?}.npy",
        std::process::id(),
        std::thread::current().id()
    ));
    write_npy(&path, &y.clone().into_shape_with_order((SIDE, SIDE)).unwrap()).unwrap();
    let built = load("blur8.uq", &[("y".to_string(), path.clone())]);
    let _ = std::fs::remove_file(&path);
    let prior = NormalPrior::new(Array1::zeros(d), tau.clone()).unwrap();
    let post = built.posterior.with_priors(vec![Box::new(prior)]).unwrap();
    let (mean, cov) = gaussian_posterior(&b, &y, NOISE, &Array1::zeros(d), &tau);
    Case { post, y, mean, cov }
}

/// z-scores of iid draws' means and variances against N(mean, cov), per pixel: the largest |z| of
/// each (the variance's standard error from the fourth moment of a normal, √(2/n) σ²).
fn z_max(draws: &Array2<f64>, mean: &Array1<f64>, cov: &Array2<f64>) -> (f64, f64) {
    let n = draws.nrows() as f64;
    let m = draws.mean_axis(Axis(0)).unwrap();
    let v = draws.var_axis(Axis(0), 1.0);
    let (mut zm, mut zv) = (0.0f64, 0.0f64);
    for j in 0..mean.len() {
        let s2 = cov[[j, j]];
        zm = zm.max(((m[j] - mean[j]) / (s2 / n).sqrt()).abs());
        zv = zv.max(((v[j] - s2) / (s2 * (2.0 / n).sqrt())).abs());
    }
    (zm, zv)
}

/// Given x_σ = x + σ n with x an exact draw of p(x | y), the step's draws are exact draws of
/// p(x | y) at a large σ (0.3, beside a noise of 0.2 and prior scales 0.2–2); EDS's x̂ alone is not.
#[test]
fn the_draw_step_takes_noisy_posterior_draws_back_to_the_posterior() {
    let c = case();
    let (d, n, sigma) = (SIDE * SIDE, 4000, 0.3);
    let l = cholesky(&c.cov);
    let mut r = rng(7);
    let xs = Array2::from_shape_fn((n, d), |_| r.sample::<f64, _>(rand_distr::StandardNormal));
    let xs = xs.dot(&l.t()) + &c.mean;
    let noisy =
        &xs + &(Array2::from_shape_fn((n, d), |_| r.sample::<f64, _>(rand_distr::StandardNormal)) * sigma);
    // The exact draws themselves pass the test at this n.
    let bound = bonferroni_bound(d);
    let (zm, zv) = z_max(&xs, &c.mean, &c.cov);
    assert!(zm < bound && zv < bound, "exact draws: max |z| {zm:.2}, {zv:.2}");
    let lg = c.post.linear_gaussian().unwrap();
    let z = Array2::from_shape_fn((n, d), |_| r.sample::<f64, _>(rand_distr::StandardNormal));
    let e = Array2::from_shape_fn((n, lg.resid().len()), |_| {
        r.sample::<f64, _>(rand_distr::StandardNormal)
    });
    let mut stats = DrawStats::default();
    let out = denoise_draw(&c.post, lg.as_ref(), noisy.view(), sigma, (&z, &e), &mut stats).unwrap();
    let (zm, zv) = z_max(&out, &c.mean, &c.cov);
    eprintln!(
        "denoise draw, σ {sigma}: max |z| mean {zm:.2}, variance {zv:.2} (bound {bound:.2}); CG {} iterations, residual {:.1e}",
        stats.cg_iterations, stats.cg_residual
    );
    assert!(zm < bound, "a pixel mean beyond the Bonferroni bound ({zm:.2})");
    assert!(
        zv < bound,
        "a pixel variance beyond the Bonferroni bound ({zv:.2})"
    );
    assert!(stats.cg_residual <= 1e-5);
    // The EDS mean x̂ of the same points is measurably off p(x | y).
    let eds = &noisy + &(c.post.prior_score(noisy.view(), sigma).unwrap() * (sigma * sigma));
    let (_, zv_eds) = z_max(&eds, &c.mean, &c.cov);
    eprintln!("EDS mean: max |z| variance {zv_eds:.2}");
    assert!(
        zv_eds > 3.0 * bound,
        "the EDS mean passes too ({zv_eds:.2}): the test cannot tell"
    );
}

/// What annealed HMC with `Denoise::Draw` gives on this model in closed form: x_σ from the last
/// level's posterior N(m′, V′) (prior N(0, τ² + σ²), likelihood variance σ_n² + g σ²), then
/// x | x_σ ~ N(G x_σ + h, Σ) with x̂ = K x_σ, C = σ² K, K = τ²/(τ² + σ²), Σ = (C⁻¹ + BᵀB/σ_n²)⁻¹,
/// G = Σ C⁻¹ K, h = Σ Bᵀy/σ_n²: N(G m′ + h, G V′ Gᵀ + Σ).
fn draw_step_law(c: &Case, sigma: f64) -> (Array1<f64>, Array2<f64>) {
    let (b, d, tau, s2) = (blur_matrix(SIDE), SIDE * SIDE, tau(), sigma * sigma);
    // The level's likelihood variance is σ_n² + g σ², g the mean of diag(B Bᵀ) (`level.rs`).
    let g = b.mapv(|v| v * v).sum() / d as f64;
    let (m1, v1) = gaussian_posterior(
        &b,
        &c.y,
        (NOISE * NOISE + g * s2).sqrt(),
        &Array1::zeros(d),
        &tau.mapv(|t| (t * t + s2).sqrt()),
    );
    let k = tau.mapv(|t| t * t / (t * t + s2));
    let mut prec = b.t().dot(&b) / (NOISE * NOISE);
    for j in 0..d {
        prec[[j, j]] += 1.0 / (s2 * k[j]);
    }
    let cov = spd_inverse(&prec);
    // C⁻¹ K = I/σ².
    let gm = &cov / s2;
    let h = cov.dot(&b.t().dot(&c.y)) / (NOISE * NOISE);
    (gm.dot(&m1) + h, gm.dot(&v1).dot(&gm.t()) + cov)
}

/// Annealed HMC with `Denoise::Draw` (independent rounds, σ_min 0.1) gives the law above; p(x | y)
/// differs from it by the last level's approximation (its likelihood N(y; B x_σ, σ_n² + g σ²) is not
/// the smoothed posterior's), less than the EDS mean of the same draws does.
#[test]
fn annealed_hmc_with_the_draw_step_gives_its_closed_form() {
    let c = case();
    let cfg = AnnealedConfig {
        sigma0: 1.0,
        sigma_min: 0.1,
        gamma: 0.98,
        steps: 4,
        eps: None,
        mh: MhMode::ScoreOnly { points: 4 },
        rounds: 250,
        batch: 64,
        warmup: 30,
        target_accept: None,
        level_adapt: 0.0,
        draws: 1,
        denoise: Denoise::Draw,
        correct: 0,
    };
    let mut r = rng(17);
    let start = c.post.adjoint_estimate().unwrap();
    let init = Array2::from_shape_fn((CHAINS * cfg.rounds, start.len()), |(_, j)| {
        start[j] + r.random_range(-1.0..1.0)
    });
    let out = annealed_hmc(&c.post, &cfg, init, 17, &|_| {}, &AtomicBool::new(false)).unwrap();
    let d = SIDE * SIDE;
    let flat = |a: &ndarray::Array3<f64>| a.to_shape((CHAINS * cfg.rounds, d)).unwrap().to_owned();
    let (draws, raw) = (flat(&out.draws), flat(&out.raw));
    let stats = out.denoise.expect("the draw step ran");
    let (mean, cov) = draw_step_law(&c, cfg.sigma_min);
    let (zm, zv) = z_max(&draws, &mean, &cov);
    let bound = bonferroni_bound(d);
    let s2 = cfg.sigma_min * cfg.sigma_min;
    let eds = &raw + &(c.post.prior_score(raw.view(), cfg.sigma_min).unwrap() * s2);
    let (pm, pv) = z_max(&draws, &c.mean, &c.cov);
    let (em, ev) = z_max(&eds, &c.mean, &c.cov);
    eprintln!(
        "annealed HMC + draw: max |z| against its law: mean {zm:.2}, variance {zv:.2} (bound {bound:.2}); \
         against p(x | y): {pm:.2}, {pv:.2} (EDS mean of the same draws: {em:.2}, {ev:.2}); CG {} iterations",
        stats.cg_iterations
    );
    assert!(zm < bound, "a pixel mean beyond the Bonferroni bound ({zm:.2})");
    assert!(
        zv < bound,
        "a pixel variance beyond the Bonferroni bound ({zv:.2})"
    );
    assert!(pm.max(pv) < em.max(ev), "the EDS mean is as close to p(x | y)");
}

/// On a likelihood the step cannot condition on (Poisson), annealed HMC with `Denoise::Draw` stops
/// before annealing, with an error that names the requirement and the alternative.
#[test]
fn the_draw_step_refuses_a_poisson_likelihood_before_the_run() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("denoise_draw");
    std::fs::create_dir_all(&dir).unwrap();
    let tag = format!("{}_{:?}", std::process::id(), std::thread::current().id());
    let (a, y) = (dir.join(format!("a_{tag}.npy")), dir.join(format!("y_{tag}.npy")));
    write_npy(&a, &Array2::<f64>::eye(4)).unwrap();
    write_npy(&y, &Array1::from_elem(4, 5.0)).unwrap();
    let built = load(
        "poisson4.uq",
        &[("A".to_string(), a.clone()), ("y".to_string(), y.clone())],
    );
    let (_, _) = (std::fs::remove_file(&a), std::fs::remove_file(&y));
    let cfg = AnnealedConfig {
        sigma0: 1.0,
        sigma_min: 0.1,
        gamma: 0.9,
        steps: 2,
        eps: None,
        mh: MhMode::ScoreOnly { points: 4 },
        rounds: 1,
        batch: 4,
        warmup: 0,
        target_accept: None,
        level_adapt: 0.0,
        draws: 1,
        denoise: Denoise::Draw,
        correct: 0,
    };
    let init = Array2::zeros((CHAINS, 4));
    let err = annealed_hmc(&built.posterior, &cfg, init, 1, &|_| {}, &AtomicBool::new(false)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("denoise = draw") && msg.contains("Poisson") && msg.contains("denoise = mean"),
        "{msg}"
    );
}

/// Annealed HMC's last step by default: the draw where the model is one Normal observation linear
/// in one score-prior image with a constant σ, the EDS mean where σ is a latent, and the mean on
/// request; the summary says which (a tiny seeded VE network, 8×8).
#[test]
fn the_draw_is_the_default_last_step_where_the_model_allows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ve = HeaderKind::Ve {
        sigma_min: 0.05,
        sigma_max: 3.0,
    };
    tiny_network(&tmp.path().join("ve.safetensors"), 1, NetKind::Ve, ve, 7);
    let y = Array2::<f64>::from_shape_fn((SIDE, SIDE), |(i, j)| 0.1 * ((2 * i + 3 * j) % 7) as f64 - 0.3);
    write_npy(tmp.path().join("y.npy"), &y).unwrap();
    let run = |name: &str, likelihood: &str, extra: &[&str]| -> serde_json::Value {
        let model = tmp.path().join(format!("{name}.uq"));
        let text = format!(
            "data y : real[8, 8] = \"y.npy\"\nprior x : real[8, 8] ~ score(\"ve.safetensors\")\n{likelihood}\n"
        );
        std::fs::write(&model, text).unwrap();
        let out = tmp.path().join(name);
        assert_cmd::Command::cargo_bin("uq")
            .unwrap()
            .arg("sample")
            .arg(&model)
            .args([
                "--quiet",
                "--seed",
                "1",
                "--sampler",
                "annealed-hmc",
                "--rounds",
                "1",
                "--out",
            ])
            .arg(&out)
            .args(QUICK_ANNEALED)
            .args(extra)
            .assert()
            .success();
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let s = run("known", "y ~ Normal(x, 0.1)", &[]);
    assert_eq!(s["extra"]["schedule"]["denoise"], "draw", "{}", s["extra"]);
    assert!(
        s["extra"]["denoise_draw"]["cg_iterations"].as_u64().is_some(),
        "{}",
        s["extra"]
    );
    let s = run("asked", "y ~ Normal(x, 0.1)", &["--denoise", "mean"]);
    assert_eq!(s["extra"]["schedule"]["denoise"], "mean", "{}", s["extra"]);
    assert!(s["extra"].get("denoise_draw").is_none(), "{}", s["extra"]);
    let s = run(
        "unknown",
        "prior sigma ~ HalfNormal(0.1)\ny ~ Normal(x, sigma)",
        &[],
    );
    assert_eq!(s["extra"]["schedule"]["denoise"], "mean", "{}", s["extra"]);
}
