//! Sampler tests on closed-form posteriors: MALA and HMC with exact and score-only MH, a Gaussian
//! mixture prior, integrator invariants, determinism and divergence handling.

mod kernels_util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use kernels_util::*;
use ndarray::{array, s, Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use uq::infer::{
    hmc_step, mala_step, run_chains, score_path_delta, ChainState, Eval, EvalError, HmcParams, KernelError,
    KernelKind, MalaParams, Mass, Metric, MhMode, Posterior, RunConfig, RunError, RunOutput,
};
use uq::score::{GaussianMixturePrior, NormalPrior, ScoreModel};

const CHAINS: usize = 4;

fn run(target: &dyn Posterior, cfg: &RunConfig, seed: u64) -> RunOutput {
    let init = Array2::zeros((CHAINS, target.dim()));
    run_chains(target, cfg, init, seed, &|_| {}, &AtomicBool::new(false)).unwrap()
}

/// A 20-dimensional linear-Gaussian problem with 30 noisy observations and its exact posterior.
fn linear_gaussian() -> (LinGauss<NormalPrior>, Array1<f64>, Array2<f64>) {
    let (dim, m) = (20, 30);
    let mut r = rng(11);
    let a = normal_matrix(&mut r, m, dim, 1.0 / (dim as f64).sqrt());
    let mu = Array1::from_elem(dim, 0.3);
    let tau = Array1::from_shape_fn(dim, |i| 0.5 + 0.05 * i as f64);
    let x_true = &mu + &(&normal_vector(&mut r, dim, 1.0) * &tau);
    let noise = 0.4;
    let y = a.dot(&x_true) + normal_vector(&mut r, m, noise);
    let (mean, cov) = gaussian_posterior(&a, &y, noise, &mu, &tau);
    let prior = NormalPrior::new(mu, tau).unwrap();
    (LinGauss { a, y, noise, prior }, mean, cov)
}

fn cfg(kernel: KernelKind, mh: MhMode, warmup: usize, draws: usize) -> RunConfig {
    RunConfig {
        kernel,
        mh,
        warmup,
        draws,
        ..RunConfig::default()
    }
}

fn check_linear_gaussian(label: &str, c: &RunConfig, seed: u64) {
    let (target, mean, cov) = linear_gaussian();
    let out = run(&target, c, seed);
    eprintln!(
        "{label}: accept {:?}, step {:?}, divergences {:?}, grads {}, scores {}, {:.2}s",
        out.acceptance_rate,
        out.step_size,
        out.divergences,
        out.grad_evals,
        out.score_evals,
        out.wall_seconds
    );
    assert_eq!(out.divergences.iter().sum::<usize>(), 0);
    check_moments(label, &out.draws, &mean, &cov.diag().to_owned());
}

#[test]
fn mala_exact_matches_linear_gaussian_posterior() {
    check_linear_gaussian("MALA exact", &cfg(KernelKind::Mala, MhMode::Exact, 1000, 5000), 1);
}

#[test]
fn mala_score_only_matches_linear_gaussian_posterior() {
    let out_cfg = cfg(KernelKind::Mala, MhMode::score_only(), 1000, 5000);
    check_linear_gaussian("MALA score-only", &out_cfg, 2);
}

#[test]
fn hmc_exact_matches_linear_gaussian_posterior() {
    let k = KernelKind::Hmc {
        steps: 8,
        mass: Mass::Diagonal,
    };
    check_linear_gaussian(
        "HMC exact",
        &RunConfig {
            step_jitter: 0.2,
            ..cfg(k, MhMode::Exact, 500, 1000)
        },
        3,
    );
}

#[test]
fn nuts_low_rank_metric_matches_linear_gaussian_posterior() {
    // The Hessian's correction changes the efficiency only: the moments stay exact.
    let (target, mean, cov) = linear_gaussian();
    let k = KernelKind::Nuts {
        max_depth: 10,
        mass: Mass::LowRank,
    };
    let out = run(&target, &cfg(k, MhMode::Exact, 300, 1000), 6);
    assert!(
        out.metric_rank.iter().all(|&r| r > 0),
        "ranks {:?}",
        out.metric_rank
    );
    assert_eq!(out.divergences.iter().sum::<usize>(), 0);
    check_moments("NUTS low-rank", &out.draws, &mean, &cov.diag().to_owned());
}

#[test]
fn hmc_score_only_matches_linear_gaussian_posterior() {
    let k = KernelKind::Hmc {
        steps: 8,
        mass: Mass::Identity,
    };
    check_linear_gaussian(
        "HMC score-only",
        &RunConfig {
            step_jitter: 0.2,
            ..cfg(k, MhMode::score_only(), 500, 1000)
        },
        4,
    );
}

/// Gaussian-mixture prior with a linear-Gaussian likelihood: the posterior is a mixture of Gaussians.
struct MixtureCase {
    target: LinGauss<GaussianMixturePrior>,
    weights: Array1<f64>,
    means: Vec<Array1<f64>>,
    covs: Vec<Array2<f64>>,
}

fn mixture_case() -> MixtureCase {
    let (dim, m, noise) = (5, 3, 0.5);
    let mut r = rng(21);
    let a = normal_matrix(&mut r, m, dim, 1.0 / (dim as f64).sqrt());
    let comp_means = array![
        [1.2, 0.0, -0.5, 0.3, 0.0],
        [-1.0, 0.8, 0.4, -0.6, 0.5],
        [0.2, -1.2, 0.9, 0.6, -0.7]
    ];
    let w: Array1<f64> = array![0.3, 0.45, 0.25];
    let sig = array![0.6, 0.7, 0.8];
    let x_true = comp_means.row(1).to_owned() + normal_vector(&mut r, dim, 0.7);
    let y = a.dot(&x_true) + normal_vector(&mut r, m, noise);
    let mut logw = Vec::new();
    let (mut means, mut covs) = (Vec::new(), Vec::new());
    for k in 0..3 {
        let mk = comp_means.row(k).to_owned();
        let (pm, pc) = gaussian_posterior(&a, &y, noise, &mk, &Array1::from_elem(dim, sig[k]));
        let mut cy = a.dot(&a.t()) * sig[k] * sig[k];
        for i in 0..m {
            cy[[i, i]] += noise * noise;
        }
        logw.push(w[k].ln() + gauss_logpdf(y.view(), &a.dot(&mk), &cy));
        means.push(pm);
        covs.push(pc);
    }
    let mx = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let un: Array1<f64> = logw.iter().map(|l| (l - mx).exp()).collect();
    let weights = &un / un.sum();
    let prior = GaussianMixturePrior::new(w, comp_means, sig).unwrap();
    MixtureCase {
        target: LinGauss { a, y, noise, prior },
        weights,
        means,
        covs,
    }
}

fn check_mixture(label: &str, c: &RunConfig, seed: u64) -> RunOutput {
    let case = mixture_case();
    let out = run(&case.target, c, seed);
    let dim = case.target.dim();
    let mean: Array1<f64> = (0..3)
        .map(|k| &case.means[k] * case.weights[k])
        .fold(Array1::zeros(dim), |a, b| a + b);
    let second: Array1<f64> = (0..3)
        .map(|k| (&case.covs[k].diag() + &case.means[k].mapv(|v| v * v)) * case.weights[k])
        .fold(Array1::zeros(dim), |a, b| a + b);
    let var = &second - &mean.mapv(|v| v * v);
    eprintln!(
        "{label}: posterior mode weights {:.3}, accept {:?}",
        case.weights, out.acceptance_rate
    );
    check_moments(label, &out.draws, &mean, &var);
    // Mode weights via the posterior responsibilities r_k(x), whose posterior mean is exactly π_k.
    let (chains, n, _) = out.draws.dim();
    let mut resp = ndarray::Array3::<f64>::zeros((3, chains, n));
    for c in 0..chains {
        for t in 0..n {
            let x = out.draws.slice(s![c, t, ..]);
            let l: Vec<f64> = (0..3)
                .map(|k| case.weights[k].ln() + gauss_logpdf(x, &case.means[k], &case.covs[k]))
                .collect();
            let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let tot: f64 = l.iter().map(|v| (v - mx).exp()).sum();
            for k in 0..3 {
                resp[[k, c, t]] = (l[k] - mx).exp() / tot;
            }
        }
    }
    let bound = bonferroni_bound(3);
    for k in 0..3 {
        let (z, e) = z_mean(resp.index_axis(Axis(0), k), case.weights[k]);
        eprintln!(
            "{label}: weight {k}: est {:.4} truth {:.4} z {z:.2} ess {e:.0}",
            resp.index_axis(Axis(0), k).mean().unwrap(),
            case.weights[k]
        );
        assert!(z.abs() < bound, "{label}: mode weight {k} z = {z:.2}");
    }
    out
}

#[test]
fn hmc_exact_matches_mixture_posterior() {
    let k = KernelKind::Hmc {
        steps: 8,
        mass: Mass::Diagonal,
    };
    check_mixture(
        "mixture HMC exact",
        &RunConfig {
            step_jitter: 0.2,
            ..cfg(k, MhMode::Exact, 500, 3000)
        },
        5,
    );
}

#[test]
fn hmc_score_only_matches_mixture_posterior_and_path_integral_is_accurate() {
    let k = KernelKind::Hmc {
        steps: 8,
        mass: Mass::Diagonal,
    };
    let c = RunConfig {
        step_jitter: 0.2,
        ..cfg(k, MhMode::score_only(), 500, 3000)
    };
    let out = check_mixture("mixture HMC score-only", &c, 6);
    let case = mixture_case();
    let moves = accepted_moves(&out);
    let worst_rel = path_integral_errors("HMC trajectories", &case, &moves, 4).max_rel;
    // The whole trajectory is one straight segment of length ~2.6 (several component widths): the
    // 4-interval rule is too coarse there; refining it must converge (checks the implementation).
    let fine_rel = path_integral_errors("HMC trajectories", &case, &moves, 64).max_rel;
    assert!(
        fine_rel < worst_rel / 100.0 && fine_rel < 1e-4,
        "no convergence: {fine_rel:.2e}"
    );
}

/// Pairs of consecutive distinct draws (the accepted moves), rows of two matrices.
fn accepted_moves(out: &RunOutput) -> (Array2<f64>, Array2<f64>) {
    let (chains, n, dim) = out.draws.dim();
    let (mut x0, mut x1) = (Vec::new(), Vec::new());
    for c in 0..chains {
        for t in 0..n - 1 {
            if out.draws.slice(s![c, t, ..]) != out.draws.slice(s![c, t + 1, ..]) {
                x0.push(out.draws.slice(s![c, t, ..]).to_owned());
                x1.push(out.draws.slice(s![c, t + 1, ..]).to_owned());
            }
        }
    }
    let stack = |v: &[Array1<f64>]| Array2::from_shape_fn((v.len(), dim), |(i, j)| v[i][j]);
    (stack(&x0), stack(&x1))
}

/// Errors of the score-only prior ΔlogP against the exact prior difference on a set of moves.
struct PathErrors {
    /// Max and median relative error over moves with |Δ| ≥ 0.1.
    max_rel: f64,
    median_rel: f64,
    /// Max absolute error over moves with |Δ| < 0.1.
    max_abs: f64,
}

fn path_integral_errors(
    label: &str,
    case: &MixtureCase,
    moves: &(Array2<f64>, Array2<f64>),
    points: usize,
) -> PathErrors {
    let prior = &case.target.prior;
    let (x0, x1) = moves;
    let exact = prior.log_density(x1.view(), 0.0).unwrap() - prior.log_density(x0.view(), 0.0).unwrap();
    let s0 = prior.score(x0.view(), 0.0).unwrap();
    let s1 = prior.score(x1.view(), 0.0).unwrap();
    let approx = score_path_delta(
        &case.target,
        x0.view(),
        x1.view(),
        s0.view(),
        s1.view(),
        points,
        0.0,
    )
    .unwrap();
    let lengths: Vec<f64> = (x1 - x0).rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
    let mean_len = lengths.iter().sum::<f64>() / lengths.len() as f64;
    let mut rel: Vec<f64> = Vec::new();
    let mut worst_abs = 0.0f64;
    for (e, a) in exact.iter().zip(&approx) {
        if e.abs() >= 0.1 {
            rel.push((a - e).abs() / e.abs());
        } else {
            worst_abs = worst_abs.max((a - e).abs());
        }
    }
    rel.sort_by(f64::total_cmp);
    let worst_rel = rel.last().copied().unwrap_or(0.0);
    eprintln!(
        "{label}, {points} intervals: {} moves (mean length {mean_len:.2}); |Δ| ≥ 0.1 ({}): rel err max {worst_rel:.2e}, 99% {:.2e}, median {:.2e}; |Δ| < 0.1: abs err max {worst_abs:.2e}",
        exact.len(),
        rel.len(),
        rel[rel.len() * 99 / 100],
        rel[rel.len() / 2]
    );
    assert!(rel.len() > 500);
    PathErrors {
        max_rel: worst_rel,
        median_rel: rel[rel.len() / 2],
        max_abs: worst_abs,
    }
}

#[test]
fn score_only_delta_on_mala_steps_matches_the_exact_difference() {
    let case = mixture_case();
    let out = run(
        &case.target,
        &cfg(KernelKind::Mala, MhMode::score_only(), 500, 1000),
        12,
    );
    let moves = accepted_moves(&out);
    // The paper's 4-interval rule: accurate for the typical step, not for the worst one (a step that
    // crosses between mixture components, where the responsibilities switch along the segment).
    let median = path_integral_errors("MALA steps", &case, &moves, 4).median_rel;
    assert!(
        median < 1e-3,
        "median relative error {median:.2e} with 4 intervals"
    );
    // 16 intervals meet the bound on every step the sampler took.
    let PathErrors {
        max_rel: worst,
        max_abs: abs,
        ..
    } = path_integral_errors("MALA steps", &case, &moves, 16);
    assert!(
        worst < 1e-3 && abs < 1e-4,
        "score-only ΔlogP: relative error {worst:.2e}, absolute {abs:.2e}"
    );
    let hmc1 = KernelKind::Hmc {
        steps: 1,
        mass: Mass::Diagonal,
    };
    let out = run(&case.target, &cfg(hmc1, MhMode::score_only(), 500, 1000), 13);
    path_integral_errors("HMC single leapfrog steps", &case, &accepted_moves(&out), 4);
}

fn state_at(target: &dyn Posterior, x: Array1<f64>) -> ChainState {
    let xs = x.clone().insert_axis(Axis(0));
    let eval = target.evaluate(xs.view(), 0.0).pop().unwrap().unwrap();
    ChainState { position: x, eval }
}

#[test]
fn hmc_energy_error_is_second_order_in_the_step() {
    let (target, mean, cov) = linear_gaussian();
    let dim = target.dim();
    let sd_min = cov.diag().iter().cloned().fold(f64::INFINITY, f64::min).sqrt();
    let starts: Vec<ChainState> = (0..8)
        .map(|c| state_at(&target, &mean + &normal_vector(&mut rng(100 + c), dim, sd_min)))
        .collect();
    let mut errors = Vec::new();
    for level in 0..3 {
        let eps = 0.2 * sd_min / 2f64.powi(level);
        let steps = 4 * 2usize.pow(level as u32);
        let params: Vec<HmcParams> = (0..8)
            .map(|_| HmcParams {
                step_size: eps,
                steps,
                inv_mass: Metric::identity(dim),
            })
            .collect();
        let mut rngs: Vec<ChaCha8Rng> = (0..8).map(|c| ChaCha8Rng::seed_from_u64(7 + c)).collect();
        let mut states = starts.clone();
        let infos = hmc_step(&mut rngs, &mut states, &target, &params, MhMode::Exact, 0.0).unwrap();
        errors.push(infos.iter().map(|i| i.energy_error.abs()).sum::<f64>() / 8.0);
    }
    let ratios = [errors[0] / errors[1], errors[1] / errors[2]];
    eprintln!("mean |ΔH| at ε, ε/2, ε/4 (same integration time): {errors:?}, ratios {ratios:.3?}");
    for r in ratios {
        assert!(
            (3.6..4.4).contains(&r),
            "halving ε should quarter the energy error, ratio {r}"
        );
    }
}

#[test]
fn mala_acceptance_tends_to_one_as_the_step_shrinks() {
    let (target, mean, _) = linear_gaussian();
    let dim = target.dim();
    let n = 64;
    let starts: Vec<ChainState> = (0..n)
        .map(|c| {
            state_at(
                &target,
                &mean + &normal_vector(&mut rng(200 + c as u64), dim, 0.2),
            )
        })
        .collect();
    let mut rejection = Vec::new();
    for h in [1e-2, 1e-3, 1e-4, 1e-5] {
        let params = vec![MalaParams { step_size: h }; n];
        let mut rngs: Vec<ChaCha8Rng> = (0..n as u64)
            .map(|c| ChaCha8Rng::seed_from_u64(300 + c))
            .collect();
        let mut states = starts.clone();
        let infos = mala_step(&mut rngs, &mut states, &target, &params, MhMode::Exact, 0.0).unwrap();
        rejection.push(1.0 - infos.iter().map(|i| i.accept_prob).sum::<f64>() / n as f64);
    }
    eprintln!("MALA mean rejection probability at h = 1e-2..1e-5: {rejection:?}");
    // 1 − E[α] = O(h^{3/2}): each tenfold decrease of h divides it by about 31.
    for w in rejection.windows(2) {
        assert!(w[1] < w[0] / 10.0, "{rejection:?}");
    }
    assert!(rejection[3] < 1e-4);
}

#[test]
fn same_seed_gives_identical_draws() {
    let (target, _, _) = linear_gaussian();
    let k = KernelKind::Hmc {
        steps: 5,
        mass: Mass::Diagonal,
    };
    let c = RunConfig {
        step_jitter: 0.3,
        ..cfg(k, MhMode::score_only(), 150, 50)
    };
    let a = run(&target, &c, 42);
    let b = run(&target, &c, 42);
    let other = run(&target, &c, 43);
    assert_eq!(a.draws, b.draws);
    assert_eq!(a.step_size, b.step_size);
    assert_eq!(a.inv_mass, b.inv_mass);
    assert_ne!(a.draws, other.draws);
    let m = cfg(KernelKind::Mala, MhMode::Exact, 50, 50);
    assert_eq!(run(&target, &m, 9).draws, run(&target, &m, 9).draws);
}

/// Standard normal in 2-D whose evaluation fails (NaN) where x₀ > 1, or fatally after a budget.
struct Holey {
    fatal_after: Option<usize>,
    calls: AtomicUsize,
}

impl Posterior for Holey {
    fn dim(&self) -> usize {
        2
    }

    fn evaluate(&self, xs: ArrayView2<f64>, _sigma: f64) -> Vec<Result<Eval, EvalError>> {
        let calls = self.calls.fetch_add(1, Ordering::Relaxed);
        xs.rows()
            .into_iter()
            .map(|x| {
                if self.fatal_after.is_some_and(|f| calls >= f) {
                    return Err(EvalError::Fatal("network exploded".into()));
                }
                if x[0] > 1.0 {
                    return Ok(Eval {
                        log_lik: f64::NAN,
                        log_prior: Some(0.0),
                        grad_lik: x.to_owned(),
                        score_prior: -&x,
                    });
                }
                Ok(Eval {
                    log_lik: 0.0,
                    log_prior: Some(-0.5 * x.dot(&x)),
                    grad_lik: Array1::zeros(2),
                    score_prior: -&x,
                })
            })
            .collect()
    }

    fn prior_score(&self, xs: ArrayView2<f64>, _sigma: f64) -> Result<Array2<f64>, EvalError> {
        Ok(-&xs)
    }

    fn has_prior_density(&self) -> bool {
        true
    }
}

#[test]
fn nan_region_gives_divergences_and_fatal_errors_abort() {
    let target = Holey {
        fatal_after: None,
        calls: AtomicUsize::new(0),
    };
    let k = KernelKind::Hmc {
        steps: 4,
        mass: Mass::Diagonal,
    };
    let out = run(&target, &cfg(k.clone(), MhMode::Exact, 200, 500), 8);
    let total: usize = out.divergences.iter().chain(&out.warmup_divergences).sum();
    eprintln!(
        "divergences per chain {:?} (warm-up {:?})",
        out.divergences, out.warmup_divergences
    );
    assert!(total > 0);
    assert!(out.draws.index_axis(Axis(2), 0).iter().all(|&v| v <= 1.0));
    assert_eq!(out.draws.dim(), (CHAINS, 500, 2));
    let fatal = Holey {
        fatal_after: Some(30),
        calls: AtomicUsize::new(0),
    };
    let err = run_chains(
        &fatal,
        &cfg(k, MhMode::Exact, 100, 100),
        Array2::zeros((CHAINS, 2)),
        1,
        &|_| {},
        &AtomicBool::new(false),
    );
    assert!(
        matches!(err, Err(RunError::Kernel(KernelError::Fatal(_)))),
        "{err:?}"
    );
}

#[test]
fn stop_flag_returns_partial_draws() {
    let (target, _, _) = linear_gaussian();
    let stop = AtomicBool::new(false);
    let c = cfg(KernelKind::Mala, MhMode::Exact, 100, 1000);
    let out = run_chains(
        &target,
        &c,
        Array2::zeros((CHAINS, target.dim())),
        3,
        &|p| {
            if p.iteration == 130 {
                stop.store(true, Ordering::Relaxed);
            }
        },
        &stop,
    )
    .unwrap();
    assert!(out.partial);
    assert_eq!(out.draws.dim(), (CHAINS, 30, target.dim()));
}
