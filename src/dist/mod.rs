//! The distribution registry: every distribution right of `~` is one file implementing [`Distribution`].
//!
//! The checker (arity, parameter kinds, shapes, constraints, messages), the posterior (log densities
//! and their gradients), the prior construction, the REPL (completion, `:type`, `:help`) and
//! `docs/distributions.md` all read [`REGISTRY`]. Adding a distribution is one file here, one line in
//! [`REGISTRY`], a closed-form case in `tests.rs` and the regenerated docs table (tests demand both).
//!
//! This module sits below the checker: it knows types ([`Ty`]), values ([`Value`]) and graph node ids,
//! and builds priors as [`ScoreModel`]s; it never sees the syntax tree or the checker.

mod beta;
mod draw;
mod elementwise;
mod exponential;
mod flat;
mod gamma;
mod half_cauchy;
mod half_normal;
mod inverse_gamma;
mod laplace;
mod lognormal;
mod mixture;
mod normal;
mod normal_fast;
mod poisson;
mod rician;
mod rules;
mod score;
mod special;
mod student_t;
mod supn;
mod support;
#[cfg(test)]
mod tests;
mod text;
mod uniform;

pub use crate::graph::broadcast_shapes;
pub use special::ln_gamma;
pub use supn::{bind as bind_supn, BoundSupn, NAME as SUPN};
pub use support::{Support, Transform};
pub use text::{docs_table, join_and, names, signatures, usages};

use crate::graph::{NodeId, Ty, Value};
use crate::score::ScoreModel;
use ndarray::ArrayD;
use std::fmt;
use std::sync::LazyLock;

/// Every distribution, in the order lists and messages show them.
pub static REGISTRY: &[&dyn Distribution] = &[
    &normal::Normal,
    &half_normal::HalfNormal,
    &lognormal::LogNormal,
    &exponential::Exponential,
    &gamma::Gamma,
    &inverse_gamma::InverseGamma,
    &student_t::StudentT,
    &half_cauchy::HalfCauchy,
    &laplace::Laplace,
    &uniform::Uniform,
    &beta::Beta,
    &poisson::Poisson,
    &rician::Rician,
    &mixture::GaussianMixture,
    &flat::Flat,
    &score::Score,
    &supn::Supn,
];

/// The registered names (valid only right of `~`).
pub static DISTRIBUTIONS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| REGISTRY.iter().map(|d| d.name()).collect());

/// The registered distribution called `name`.
pub fn find(name: &str) -> Option<&'static dyn Distribution> {
    REGISTRY.iter().copied().find(|d| d.name() == name)
}

/// Where a distribution stands: right of `prior NAME ~` or of `DATA ~`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Prior,
    Likelihood,
}

impl Role {
    pub fn describe(self) -> &'static str {
        match self {
            Role::Prior => "prior",
            Role::Likelihood => "likelihood",
        }
    }
}

/// A value constraint on a fixed parameter, checked on constants and stated in signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    Unconstrained,
    /// Every element > 0 (standard deviations).
    Positive,
    /// Non-negative, summing to 1 (mixture weights).
    Simplex,
}

/// What a parameter may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// The variate's location (a likelihood's mean or rate): any expression, latents included; it has
    /// exactly the observed data's type.
    Location,
    /// Fixed: data, constants and `let`s of them, never a latent (bounds, mixture components).
    /// `real` forbids complex values.
    Fixed { real: bool, constraint: Constraint },
    /// Free: any expression, latents included (`Normal(0, tau)` with `tau` a latent). A constant is
    /// checked against `constraint` statically; a latent value outside it is rejected at run time
    /// ([`DensityError::OutOfSupport`], the sampler's proposal is refused).
    Free { real: bool, constraint: Constraint },
    /// A `.safetensors` file name, a string literal (the `score` prior).
    ScoreFile,
}

/// One parameter of a signature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    /// How messages refer to it ("the noise standard deviation").
    pub what: &'static str,
    /// Its type as shown in signatures ("real[K]"); empty when the shape rule says it all.
    pub ty: &'static str,
    pub kind: ParamKind,
    /// The value taken when the argument is omitted (only keyword-or-trailing optional parameters,
    /// e.g. `Flat(lower = 0)` leaves `upper` at +∞); `None`: required.
    pub default: Option<f64>,
}

/// A distribution's form in one role.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signature {
    pub role: Role,
    pub params: &'static [Param],
    /// Conditions the parameters do not state ("the latent's type must be declared").
    pub notes: &'static [&'static str],
}

/// A log density and its gradients (complex values in the `∂/∂re + i ∂/∂im` convention).
#[derive(Clone, Debug, PartialEq)]
pub struct Density {
    pub log_p: f64,
    /// `∂ log p / ∂ x`, shaped like `x`; `None` for a discrete support.
    pub d_x: Option<Value>,
    /// `∂ log p / ∂ θ_i` for each parameter in signature order, shaped like it.
    pub d_params: Vec<Option<Value>>,
}

/// Why a log density could not be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DensityError {
    /// A parameter or the variate left the support (e.g. a Poisson rate ≤ 0): log p = −∞.
    #[error("{0}")]
    OutOfSupport(String),
    #[error("{0}")]
    NonFinite(String),
    /// The distribution has no pointwise density in this form (its prior is a score model).
    #[error("`{0}` has no log density here")]
    Unavailable(&'static str),
}

/// A shape rule that parameters' types broke; the checker adds the place and the code.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// Wrong parameter shapes; `arg` is the parameter to point at (`None`: the whole call).
    #[error("{detail}")]
    Shape { arg: Option<usize>, detail: String },
    /// The type of the latent cannot come from the parameters (`Flat()`).
    #[error("the latent's type must be declared")]
    NeedsDeclaredType,
}

/// A prior that cannot be built from its parameters' values.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// A distribution: name, signatures, support, type rules, density and prior construction.
pub trait Distribution: Send + Sync {
    /// The name written in models.
    fn name(&self) -> &'static str;
    /// One line for the docs.
    fn summary(&self) -> &'static str;
    /// Its signatures, at most one per role; a role without one is not allowed.
    fn signatures(&self) -> &'static [Signature];
    /// The values the variate (latent or observed data) takes.
    fn support(&self) -> Support;

    /// The signature for `role`, if the distribution may stand there.
    fn signature(&self, role: Role) -> Option<&'static Signature> {
        self.signatures().iter().find(|s| s.role == role)
    }

    /// The support given the parameters' values, for distributions whose support depends on them
    /// (`Uniform(lo, hi)`, `Flat(lower = 0)`); the default is [`Distribution::support`].
    fn support_for(&self, params: &[&Value]) -> Result<Support, DensityError> {
        let _ = params;
        Ok(self.support())
    }

    /// Whether parameters of another shape than the variate are stretched to it before
    /// [`Distribution::log_density`] (numpy's broadcasting); `false` where a parameter has its own
    /// shape (`supn`'s latent z).
    fn broadcasts_params(&self) -> bool {
        true
    }

    /// The transform that maps the support to the real line, for latents (Stan's: identity, log,
    /// logit); `None` for a discrete support. Where the support depends on the parameters use
    /// `support_for(params)?.transform()`.
    fn transform(&self) -> Option<Transform> {
        self.support().transform()
    }

    /// The support as the docs show it (parameter-dependent ones say so: `lower < x < upper`).
    fn support_text(&self) -> String {
        self.support().describe()
    }

    /// The latent transform as the docs show it (`None`: no prior, or a discrete support).
    fn transform_text(&self) -> Option<String> {
        self.transform().map(|t| t.describe().to_string())
    }

    /// The type of a latent with this prior, from the parameters' types and the declared type.
    /// `given[i]` is false where parameter `i` was omitted and took its default. The default is
    /// elementwise: scalars broadcast, to the declared shape too; a real-valued distribution
    /// (support without complex values) refuses a complex latent.
    fn prior_type(&self, params: &[Ty], given: &[bool], declared: Option<&Ty>) -> Result<Ty, RuleError> {
        let _ = given;
        let ty = rules::elementwise(params, declared)?;
        if self.support().allows_complex() {
            Ok(ty)
        } else {
            rules::real_only(self.name(), ty)
        }
    }

    /// `log p(x | θ)` with its gradients in `x` and every parameter (scalar parameters broadcast
    /// over `x`; each gradient has its parameter's shape), normalising constants included. `level`
    /// (annealing) inflates the variance by `level²` where that has a closed form (Normal); the
    /// others ignore it and say so. Required for likelihoods and for priors evaluated as graph
    /// terms (latent parameters, or no `build_prior`).
    fn log_density(&self, x: &Value, params: &[&Value], level: f64) -> Result<Density, DensityError> {
        let _ = (x, params, level);
        Err(DensityError::Unavailable(self.name()))
    }

    /// One draw of the variate given the parameters' values, shaped and typed like `like` (the observed
    /// data): posterior predictive replicates. Required for likelihoods.
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        let _ = (params, like, rng);
        Err(DensityError::Unavailable(self.name()))
    }

    /// True when [`Distribution::build_prior`] gives a score model exact at every noise level for
    /// constant parameters (Normal, GaussianMixture, unbounded Flat): such a prior is annealed by the
    /// score samplers. Other priors, and these with latent parameters, are evaluated through
    /// [`Distribution::log_density`] at noise level 0, on the unconstrained scale of their support.
    fn annealable(&self) -> bool {
        false
    }

    /// The prior of a latent of `dim` flat values (complex: interleaved re, im) from its
    /// parameters' values: a score model exact at every noise level. Required for priors.
    fn build_prior(
        &self,
        params: &[Value],
        dim: usize,
        complex: bool,
    ) -> Result<Box<dyn ScoreModel>, BuildError> {
        let _ = (params, dim, complex);
        Err(BuildError(match self.signature(Role::Prior) {
            Some(_) => format!(
                "`{}` has no score-model form: its prior is a log-density term",
                self.name()
            ),
            None => format!("`{}` cannot be a prior", self.name()),
        }))
    }

    /// Weights Λ of the DPS data-consistency norm `‖y − A(x)‖_Λ` (`None`: the plain ℓ2 norm).
    fn dps_weights(&self, y: &Value) -> Option<ArrayD<f64>> {
        let _ = y;
        None
    }

    /// The loaded SUPN model of a bound `supn(file, z)` prior (its sampler needs the decoder itself).
    fn supn_model(&self) -> Option<&crate::supn::SupnModel> {
        None
    }

    /// A short description for `uq check`'s summary from the parameters' types (`None`: list them).
    fn describe(&self, role: Role, params: &[Ty]) -> Option<String> {
        let _ = (role, params);
        None
    }
}

/// A registered distribution applied to graph nodes in one role: `Normal(mean, sigma)`.
#[derive(Clone)]
pub struct Call {
    pub dist: &'static dyn Distribution,
    pub role: Role,
    /// One node per parameter of the role's signature, in order.
    pub params: Vec<NodeId>,
}

impl Call {
    pub fn name(&self) -> &'static str {
        self.dist.name()
    }

    /// The role's signature's parameters.
    pub fn signature_params(&self) -> &'static [Param] {
        self.dist.signature(self.role).map_or(&[], |s| s.params)
    }

    /// The node of the parameter called `name`.
    pub fn param(&self, name: &str) -> Option<NodeId> {
        let i = self.signature_params().iter().position(|p| p.name == name)?;
        self.params.get(i).copied()
    }

    /// The node of the location parameter (a likelihood's mean or rate).
    pub fn location(&self) -> Option<NodeId> {
        let i = self
            .signature_params()
            .iter()
            .position(|p| p.kind == ParamKind::Location)?;
        self.params.get(i).copied()
    }

    /// The same call with every node renumbered by `f`.
    pub fn map_nodes(&self, f: impl Fn(NodeId) -> NodeId) -> Call {
        Call {
            dist: self.dist,
            role: self.role,
            params: self.params.iter().map(|&id| f(id)).collect(),
        }
    }
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.dist.name() == other.dist.name() && self.role == other.role && self.params == other.params
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("dist", &self.dist.name())
            .field("role", &self.role)
            .field("params", &self.params)
            .finish()
    }
}
