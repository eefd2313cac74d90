//! What a chain run is configured with: the kernel, its mass matrix, Metropolis mode and warm-up.

use super::kernels::{KernelError, MhMode};
use super::run::RunError;
use super::target::Posterior;

/// Stan's default warm-up and kept draws per chain.
pub const STAN_WARMUP: u64 = 1000;
pub const STAN_DRAWS: u64 = 1000;
/// The acceptance rate step-size adaptation aims at: Stan's 0.8 for HMC, 0.574 for MALA (Roberts &
/// Rosenthal's optimal rate).
pub const HMC_TARGET_ACCEPT: f64 = 0.8;
pub const MALA_TARGET_ACCEPT: f64 = 0.574;

/// Mass matrix of HMC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mass {
    Identity,
    /// Diagonal, estimated in Stan's warm-up windows.
    Diagonal,
    /// Diagonal from the windows plus, at every window's end, a low-rank correction from Lanczos
    /// on the scaled Hessian at the chain's point (`infer/lowrank.rs`).
    LowRank,
}

impl Mass {
    /// Whether the metric is estimated in Stan's warm-up windows.
    pub fn windowed(self) -> bool {
        matches!(self, Mass::Diagonal | Mass::LowRank)
    }
}

/// Which kernel to run.
#[derive(Clone, Debug, PartialEq)]
pub enum KernelKind {
    Mala,
    /// Static HMC with `steps` leapfrog steps per transition.
    Hmc {
        steps: usize,
        mass: Mass,
    },
    /// The No-U-Turn sampler (Stan's multinomial NUTS); needs exact Metropolis–Hastings.
    Nuts {
        max_depth: usize,
        mass: Mass,
    },
}

impl KernelKind {
    /// The kernel's name in `summary.json`: `nuts`, `static_hmc` or `mala`.
    pub fn name(&self) -> &'static str {
        match self {
            KernelKind::Mala => "mala",
            KernelKind::Hmc { .. } => "static_hmc",
            KernelKind::Nuts { .. } => "nuts",
        }
    }

    /// Stan's defaults: NUTS, tree depth ≤ 10, diagonal mass adapted in warm-up.
    pub const NUTS: KernelKind = KernelKind::Nuts {
        max_depth: 10,
        mass: Mass::Diagonal,
    };
}

/// Everything about a run except the target, the initial points and the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    pub kernel: KernelKind,
    pub mh: MhMode,
    pub warmup: usize,
    pub draws: usize,
    /// Initial step size (ε for HMC, h for MALA); with adaptation Stan's heuristic refines it first.
    pub step_size: f64,
    /// Dual-averaging target; `None` is Stan's 0.8 for HMC and 0.574 for MALA.
    pub target_accept: Option<f64>,
    /// Adapt step size (and the diagonal mass) during warm-up. Ignored with MH off.
    pub adapt: bool,
    /// Each transition uses `ε·(1 + j·U(−1, 1))` (Stan's `stepsize_jitter`); 0 disables it.
    pub step_jitter: f64,
    /// Noise level σ of the target.
    pub sigma: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            kernel: KernelKind::NUTS,
            mh: MhMode::Exact,
            warmup: STAN_WARMUP as usize,
            draws: STAN_DRAWS as usize,
            step_size: 1.0,
            target_accept: None,
            adapt: true,
            step_jitter: 0.0,
            sigma: 0.0,
        }
    }
}

impl RunConfig {
    pub fn target_accept(&self) -> f64 {
        self.target_accept.unwrap_or(match self.kernel {
            KernelKind::Mala => MALA_TARGET_ACCEPT,
            KernelKind::Hmc { .. } | KernelKind::Nuts { .. } => HMC_TARGET_ACCEPT,
        })
    }

    pub(super) fn validate(&self, target: &dyn Posterior) -> Result<(), RunError> {
        let bad = |m: &str| Err(RunError::Config(m.to_string()));
        if !(self.step_size.is_finite() && self.step_size > 0.0) {
            return bad("the step size must be positive");
        }
        if let KernelKind::Hmc { steps: 0, .. } = self.kernel {
            return bad("HMC needs at least one leapfrog step");
        }
        if let KernelKind::Nuts { max_depth, .. } = self.kernel {
            if max_depth == 0 || max_depth > 30 {
                return bad("the NUTS tree depth must be in 1..=30");
            }
            if self.mh != MhMode::Exact {
                return bad(
                    "NUTS needs exact Metropolis–Hastings; use static HMC with the score-only correction",
                );
            }
        }
        if let MhMode::ScoreOnly { points: 0 } = self.mh {
            return bad("the score-only correction needs at least one integration interval");
        }
        if !(0.0..1.0).contains(&self.step_jitter) {
            return bad("step jitter must be in [0, 1)");
        }
        if !(self.target_accept() > 0.0 && self.target_accept() < 1.0) {
            return bad("the target acceptance must be in (0, 1)");
        }
        if self.mh == MhMode::Exact && !target.has_prior_density() {
            return Err(RunError::Kernel(KernelError::NoPriorDensity));
        }
        Ok(())
    }
}
