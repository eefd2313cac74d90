//! The interface samplers see: a batched posterior on flat real vectors, at a noise level.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Everything a kernel needs at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct Eval {
    /// Exact log-likelihood (summed over observations) at the point.
    pub log_lik: f64,
    /// Exact log prior density when the prior has one; `None` for score-only priors.
    pub log_prior: Option<f64>,
    /// ∇ log-likelihood.
    pub grad_lik: Array1<f64>,
    /// Prior score ∇ log p_σ.
    pub score_prior: Array1<f64>,
}

impl Eval {
    /// ∇ log π = likelihood gradient + prior score.
    pub fn grad(&self) -> Array1<f64> {
        &self.grad_lik + &self.score_prior
    }
}

/// Why a point could not be evaluated. Kernels treat it as a rejection / divergence, never abort.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Outside the support (e.g. a Poisson rate ≤ 0): log π = −∞.
    #[error("outside the support: {0}")]
    OutOfSupport(String),
    /// A NaN or infinity appeared.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// The prior network failed; not recoverable.
    #[error("{0}")]
    Fatal(String),
}

/// A posterior `π_σ(x | y) ∝ p(y | x; σ) p_σ(x)` over flat real vectors, batched over chains.
///
/// `sigma` is the annealing level (0 for the plain posterior). At level σ the likelihood variance is
/// `σ_n² + σ²` and the prior score is `s(x, σ)`.
pub trait Posterior: Sync {
    fn dim(&self) -> usize;
    /// Evaluate every row of `xs`.
    fn evaluate(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<Eval, EvalError>>;
    /// Prior score only, for the points of the score-only path integral (batched).
    fn prior_score(&self, xs: ArrayView2<f64>, sigma: f64) -> Result<ndarray::Array2<f64>, EvalError>;
    /// Whether `Eval::log_prior` is available (exact Metropolis–Hastings possible).
    fn has_prior_density(&self) -> bool;
    /// Coordinates whose prior is exact and not annealed (latent noise levels and scales next to a
    /// score prior): the score samplers update them by Metropolis-within-Gibbs (`gibbs.rs`).
    fn gibbs_coords(&self) -> Vec<usize> {
        Vec::new()
    }
    /// Row-wise `vᵀ ∂s(x, σ)/∂x`, the prior score's vector-Jacobian product: with it the
    /// denoising posterior's covariance σ² (I + σ² ∂s/∂x) (annealed HMC's `denoise = draw`).
    fn prior_score_vjp(
        &self,
        xs: ArrayView2<f64>,
        sigma: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, EvalError> {
        let _ = (xs, sigma, v);
        Err(EvalError::Fatal("this target has no prior score VJP".into()))
    }
    /// The data as one Gaussian observation linear in the whole row, `y ~ Normal(A x + b, σ_n)`:
    /// an error saying why when the model is not of that form.
    fn linear_gaussian(&self) -> Result<Box<dyn LinearGaussian + '_>, String> {
        Err("this target does not expose its likelihood as a linear Gaussian".into())
    }
    /// The log-likelihood alone (no prior score: no network evaluation) of every row.
    fn log_likelihood(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<f64, EvalError>> {
        self.evaluate(xs, sigma)
            .into_iter()
            .map(|e| e.map(|e| e.log_lik))
            .collect()
    }
}

/// A likelihood `y ~ Normal(A x + b, σ_n)` with `A` linear in the whole row `x`, on the observed
/// entries (real-interleaved where complex).
pub trait LinearGaussian: Sync {
    /// σ_n, the same for every entry.
    fn noise(&self) -> f64;
    /// `y − b` on the observed entries.
    fn resid(&self) -> &[f64];
    /// `A x`.
    fn apply(&self, x: ArrayView1<f64>) -> Result<Vec<f64>, EvalError>;
    /// `Aᵀ r` for `r` on the observed entries.
    fn adjoint(&self, r: &[f64]) -> Result<Array1<f64>, EvalError>;
}
