//! The session stage's error: what can stop a prepared run or the writing of its folder.

use crate::infer::{EvalError, RunError};
use crate::output::OutputError;

/// Why a run failed after it was prepared.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The chain runner or a sampler's algorithm.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The posterior could not be evaluated (DPS, prior draws).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The warm start (`init`): an unreadable file, the wrong size, NaN values.
    #[error("{0}")]
    Start(String),
    /// The prior is not of the kind the sampler needs.
    #[error("{0}")]
    Prior(String),
    /// The run would not fit in memory.
    #[error("{0}")]
    TooLarge(String),
    /// Writing the run folder.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Arranging the draws by latent.
    #[error("cannot arrange the draws: {0}")]
    Shape(#[from] ndarray::ShapeError),
    /// An option a sampler reads has no value: a defect of the sampler registry, not of the input.
    #[error("internal error: {0}")]
    Internal(String),
}
