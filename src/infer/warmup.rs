//! Stan's warm-up as an algorithm of its own: it watches the kernel's warm-up transitions and hands
//! the adapted step sizes and inverse metric back to the run loop (BlackJAX's window adaptation).
//!
//! Per chain: Stan's step-size heuristic at the start, dual averaging of the step size after every
//! transition, and (diagonal metric) the windowed variance estimate, after which the step size is
//! searched again from the current point and dual averaging restarts. At the end of warm-up every
//! chain takes its averaged step size `exp(x̄)`.

use ndarray::Array1;
use rand_chacha::ChaCha8Rng;

use super::adapt::{DiagMassAdaptation, DualAveraging};
use super::heuristic::{init_step_size, Spent};
use super::kernels::{ChainState, KernelError, StepInfo};
use super::run_config::{KernelKind, Mass, RunConfig};
use super::target::Posterior;

/// What a kernel is tuned with, per chain.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tuning {
    /// Step size ε (h for MALA).
    pub step_size: Vec<f64>,
    /// Diagonal of `M⁻¹` (ones unless adapted).
    pub inv_mass: Vec<Array1<f64>>,
}

impl Tuning {
    /// Step size `eps` and the identity metric for `chains` chains of dimension `dim`.
    pub fn new(chains: usize, dim: usize, eps: f64) -> Self {
        Self {
            step_size: vec![eps; chains],
            inv_mass: vec![Array1::ones(dim); chains],
        }
    }
}

/// The adaptation state of every chain during warm-up.
pub(crate) struct Warmup {
    iterations: usize,
    dual: Vec<DualAveraging>,
    mass: Option<Vec<DiagMassAdaptation>>,
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
            KernelKind::Hmc {
                mass: Mass::Diagonal, ..
            }
            | KernelKind::Nuts {
                mass: Mass::Diagonal, ..
            } => {
                let dim = tuning.inv_mass.first().map_or(0, Array1::len);
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
            let mut updated = Vec::new();
            for (c, m) in mass.iter_mut().enumerate() {
                if let Some(var) = m.observe(states[c].position.view()) {
                    tuning.inv_mass[c] = var;
                    updated.push(c);
                }
            }
            if !updated.is_empty() {
                spent = init_step_size(
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
