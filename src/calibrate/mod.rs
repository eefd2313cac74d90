//! Simulation-based calibration (`uq calibrate`): truths drawn from the model, data simulated from
//! its likelihood, ranks of the truth among the posterior draws, and their analysis.

mod analysis;
mod batch;
mod conformal;
mod exact;
mod gmm;
mod linalg;
mod ranks;
mod run;
mod stats;
mod truth;
mod verdict;

pub use analysis::{analyse, chosen_params, Analysis, Chosen, CoveragePoint, Region};
pub use conformal::{conformal, IntervalScale, GUARANTEE};
pub use exact::{with_mixture_prior, Comparison, Reference};
pub use gmm::{fit as fit_gmm, Gmm};
pub use ranks::{rep_stats, RepStats, LEVELS};
pub use run::{batched, calibrate, prior_truths, rep_seed, CalibrateError, Outcome, RepRun, Spec};
pub use stats::{chi_square_p, histogram, hotelling_p};
pub use truth::{draw_truth, simulate_data, TruthError};
