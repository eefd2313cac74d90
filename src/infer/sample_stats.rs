//! Per-draw sampler statistics of a chain run, `[chains, draws]` each, named as ArviZ's `sample_stats`.

use ndarray::{s, Array2};

use super::kernels::{ChainState, StepInfo};

/// One value per kept draw of every chain (Stan's `lp__`, `accept_stat__`, `stepsize__`,
/// `treedepth__`, `n_leapfrog__`, `divergent__`, `energy__`). A statistic that the sampler does not
/// define is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleStats {
    /// `log π(x)` of the draw, up to a constant; `None` without a prior log density (score priors).
    pub lp: Option<Array2<f64>>,
    /// The acceptance statistic: min(1, MH ratio) for HMC and MALA, the mean Metropolis probability
    /// over the trajectory for NUTS (what step-size adaptation targets); 0 for a divergence.
    pub acceptance_rate: Array2<f64>,
    /// The step size used for the transition (jitter included).
    pub step_size: Array2<f64>,
    /// NUTS only: the tree depth (the trajectory has up to `2^depth` leapfrog steps).
    pub tree_depth: Option<Array2<i64>>,
    /// Leapfrog steps (gradient evaluations) of the transition; 1 for MALA.
    pub n_steps: Array2<i64>,
    pub diverging: Array2<bool>,
    /// HMC and NUTS with a log density: the Hamiltonian at the draw (the input of E-BFMI).
    pub energy: Option<Array2<f64>>,
}

impl SampleStats {
    /// Room for `draws` draws of `chains` chains; `lp`, `energy` and `tree_depth` are kept when asked.
    pub fn new(chains: usize, draws: usize, lp: bool, energy: bool, tree_depth: bool) -> Self {
        let f = || Array2::from_elem((chains, draws), f64::NAN);
        Self {
            lp: lp.then(f),
            acceptance_rate: f(),
            step_size: f(),
            tree_depth: tree_depth.then(|| Array2::zeros((chains, draws))),
            n_steps: Array2::zeros((chains, draws)),
            diverging: Array2::from_elem((chains, draws), false),
            energy: energy.then(f),
        }
    }

    /// Chains and draws.
    pub fn dim(&self) -> (usize, usize) {
        self.acceptance_rate.dim()
    }

    /// Record draw `k` of every chain: the transitions' `infos`, the chains' new `states` and the step
    /// sizes `used`.
    pub fn record(&mut self, k: usize, infos: &[StepInfo], states: &[ChainState], used: &[f64]) {
        for (c, ((info, state), &eps)) in infos.iter().zip(states).zip(used).enumerate() {
            if let Some(lp) = self.lp.as_mut() {
                lp[[c, k]] = state.log_density().unwrap_or(f64::NAN);
            }
            self.acceptance_rate[[c, k]] = info.accept_prob;
            self.step_size[[c, k]] = eps;
            if let Some(d) = self.tree_depth.as_mut() {
                d[[c, k]] = info.tree_depth as i64;
            }
            self.n_steps[[c, k]] = info.n_grad as i64;
            self.diverging[[c, k]] = info.divergent;
            if let Some(e) = self.energy.as_mut() {
                e[[c, k]] = info.energy;
            }
        }
    }

    /// The first `kept` draws of every chain.
    pub fn truncated(&self, kept: usize) -> Self {
        let cut = |a: &Array2<f64>| a.slice(s![.., ..kept]).to_owned();
        Self {
            lp: self.lp.as_ref().map(cut),
            acceptance_rate: cut(&self.acceptance_rate),
            step_size: cut(&self.step_size),
            tree_depth: self
                .tree_depth
                .as_ref()
                .map(|a| a.slice(s![.., ..kept]).to_owned()),
            n_steps: self.n_steps.slice(s![.., ..kept]).to_owned(),
            diverging: self.diverging.slice(s![.., ..kept]).to_owned(),
            energy: self.energy.as_ref().map(cut),
        }
    }
}
