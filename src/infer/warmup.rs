//! Stan's warm-up as an algorithm of its own: it watches the kernel's warm-up transitions and hands
//! the adapted step sizes and inverse metric back to the run loop (BlackJAX's window adaptation).
//!
//! Per chain: Stan's step-size heuristic at the start, dual averaging of the step size after every
//! transition, and (diagonal metric) the windowed variance estimate, after which the step size is
//! searched again from the current point and dual averaging restarts. With the low-rank metric
//! the Hessian's correction (`lowrank.rs`) is added at every window's end, at the mean of the
//! window's points, and once early in the initial buffer, after its first 20 transitions, on the
//! identity diagonal at the mean of their second half (a posterior conditioned like a deblurring one
//! otherwise spends Stan's whole initial buffer of 75, at trees of depth 10, on the identity metric). Not at the initial points, nor at the chain's last point: on posteriordb's
//! sblrc-blr with σ unknown, a Hessian taken at Stan's random initial point (log σ = −2 makes the
//! coefficients' curvature 50× the posterior's) or at one warm-up point left one or two of 4 chains
//! with a step near 3e-4 and divergences at seeds 1, 2 and 31; from the window's mean every chain is
//! sound (`tests/refpost_sigma.rs`). At the end of warm-up every chain takes its averaged step size
//! `exp(x̄)`.

use ndarray::Array1;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::adapt::{DiagMassAdaptation, DualAveraging, WindowEvent};
use super::heuristic::{init_step_size, Spent};
use super::kernels::{ChainState, KernelError, Metric, StepInfo};
use super::lowrank::{low_rank_metric, MAX_RANK};

/// A warm-up window's variances and the mean of its points.
type Window = (Array1<f64>, Array1<f64>);
use super::run_config::{KernelKind, Mass, RunConfig};
use super::target::Posterior;

/// What a kernel is tuned with, per chain.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tuning {
    /// Step size ε (h for MALA).
    pub step_size: Vec<f64>,
    /// The inverse metric `M⁻¹` (the identity unless adapted).
    pub inv_mass: Vec<Metric>,
}

impl Tuning {
    /// Step size `eps` and the identity metric for `chains` chains of dimension `dim`.
    pub fn new(chains: usize, dim: usize, eps: f64) -> Self {
        Self {
            step_size: vec![eps; chains],
            inv_mass: vec![Metric::identity(dim); chains],
        }
    }
}

/// The adaptation state of every chain during warm-up.
pub(crate) struct Warmup {
    iterations: usize,
    dual: Vec<DualAveraging>,
    mass: Option<Vec<DiagMassAdaptation>>,
    /// Add the low-rank part to the metric at every window's end.
    low_rank: bool,
}

impl Warmup {
    /// Whether `cfg` adapts at all: warm-up iterations, adaptation on, and a Metropolis correction
    /// to adapt to.
    pub fn applies(cfg: &RunConfig) -> bool {
        cfg.adapt && cfg.warmup > 0 && cfg.mh != super::kernels::MhMode::Off
    }

    /// Start adapting from `states`: Stan's step-size heuristic for every chain (advancing its RNG
    /// stream), then dual averaging towards the target acceptance from the step size found.
    pub fn start(
        cfg: &RunConfig,
        target: &dyn Posterior,
        states: &[ChainState],
        rngs: &mut [ChaCha8Rng],
        tuning: &mut Tuning,
    ) -> Result<(Self, Spent), KernelError> {
        let chains = states.len();
        let all: Vec<usize> = (0..chains).collect();
        let low_rank = matches!(
            cfg.kernel,
            KernelKind::Hmc {
                mass: Mass::LowRank,
                ..
            } | KernelKind::Nuts {
                mass: Mass::LowRank,
                ..
            }
        );
        let spent = init_step_size(
            &cfg.kernel,
            rngs,
            states,
            target,
            &mut tuning.step_size,
            &tuning.inv_mass,
            &all,
            cfg.mh,
            cfg.sigma,
        )?;
        let delta = cfg.target_accept();
        let dual = tuning
            .step_size
            .iter()
            .map(|&e| DualAveraging::new(delta, e))
            .collect();
        let mass = match cfg.kernel {
            KernelKind::Hmc { mass, .. } | KernelKind::Nuts { mass, .. } if mass.windowed() => {
                let dim = tuning.inv_mass.first().map_or(0, Metric::len);
                Some(
                    (0..chains)
                        .map(|_| DiagMassAdaptation::new(dim, cfg.warmup))
                        .collect(),
                )
            }
            _ => None,
        };
        Ok((
            Self {
                iterations: cfg.warmup,
                dual,
                mass,
                low_rank,
            },
            spent,
        ))
    }

    /// Observe warm-up transition `it` (from 0) with its `infos` and the chains' new `states`; updates
    /// `tuning`. At a metric window's end the step size of the chains concerned is searched again
    /// (advancing their RNG streams); after the last warm-up transition every chain takes its
    /// averaged step size.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        it: usize,
        infos: &[StepInfo],
        cfg: &RunConfig,
        target: &dyn Posterior,
        states: &[ChainState],
        rngs: &mut [ChaCha8Rng],
        tuning: &mut Tuning,
    ) -> Result<Spent, KernelError> {
        for ((e, d), info) in tuning.step_size.iter_mut().zip(&mut self.dual).zip(infos) {
            *e = d.update(info.accept_prob);
        }
        let mut spent = Spent::default();
        if let Some(mass) = self.mass.as_mut() {
            // (chain, the new diagonal, the point the Hessian is taken at); the diagonal is the
            // identity after the early points.
            let mut windows: Vec<(usize, Window)> = Vec::new();
            for (c, m) in mass.iter_mut().enumerate() {
                match m.observe_window(states[c].position.view()) {
                    WindowEvent::WindowEnd(var, mean) => windows.push((c, (var, mean))),
                    WindowEvent::Early(mean) if self.low_rank => {
                        windows.push((c, (Array1::ones(mean.len()), mean)));
                    }
                    _ => {}
                }
            }
            let updated: Vec<usize> = windows.iter().map(|(c, _)| *c).collect();
            if self.low_rank && !windows.is_empty() {
                // Each chain from its own point and on its own stream, the chains in parallel.
                let mut jobs: Vec<(usize, Window, &mut ChaCha8Rng)> = Vec::new();
                let mut windows = windows.into_iter().peekable();
                for (c, rng) in rngs.iter_mut().enumerate() {
                    if let Some((_, var)) = windows.next_if(|(w, _)| *w == c) {
                        jobs.push((c, var, rng));
                    }
                }
                let found: Vec<Result<(usize, Metric, u64), KernelError>> = jobs
                    .into_par_iter()
                    .map(|(c, (var, mean), rng)| {
                        low_rank_metric(target, &mean, var, cfg.sigma, rng, MAX_RANK).map(|(m, n)| (c, m, n))
                    })
                    .collect();
                for f in found {
                    let (c, m, n) = f?;
                    tuning.inv_mass[c] = m;
                    spent.grad += n;
                }
            } else {
                for (c, (var, _)) in windows {
                    tuning.inv_mass[c] = var.into();
                }
            }
            if !updated.is_empty() {
                let s = init_step_size(
                    &cfg.kernel,
                    rngs,
                    states,
                    target,
                    &mut tuning.step_size,
                    &tuning.inv_mass,
                    &updated,
                    cfg.mh,
                    cfg.sigma,
                )?;
                (spent.grad, spent.score) = (spent.grad + s.grad, spent.score + s.score);
                for &c in &updated {
                    self.dual[c].restart(tuning.step_size[c]);
                }
            }
        }
        if it + 1 == self.iterations {
            for (e, d) in tuning.step_size.iter_mut().zip(&self.dual) {
                *e = d.final_step_size();
            }
        }
        Ok(spent)
    }
}
