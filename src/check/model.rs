//! The checked model: latents with priors, data declarations, likelihood terms, all over one graph.

use crate::diagnostics::Diagnostic;
use crate::dist::Call;
use crate::graph::{Graph, NodeId, Ty};
use crate::score::ScoreHeader;
use crate::source::Span;
use crate::syntax::ast::Ident;
use std::path::PathBuf;

/// A checked model, lowered to an operator graph. Node ids below index `graph`.
#[derive(Clone, Debug)]
pub struct Model {
    /// The model file's stem (`mri_gauss` for `models/mri_gauss.uq`).
    pub name: String,
    pub graph: Graph,
    pub latents: Vec<Latent>,
    pub data: Vec<DataDecl>,
    pub observations: Vec<Observation>,
    /// `output NAME`: derived quantities written like latents.
    pub outputs: Vec<Derived>,
    pub infer: Option<InferSpec>,
    /// Non-fatal diagnostics (e.g. a score file that cannot be read yet but whose type was declared).
    pub warnings: Vec<Diagnostic>,
}

/// A `prior NAME [: TYPE] ~ DIST` statement.
#[derive(Clone, Debug)]
pub struct Latent {
    pub name: String,
    pub ty: Ty,
    pub prior: PriorSpec,
    /// The whole `prior` statement.
    pub span: Span,
    /// The graph node standing for this latent (`NodeKind::Latent(i)`).
    pub node: NodeId,
}

/// A prior distribution; parameter nodes never depend on a latent.
#[derive(Clone, Debug, PartialEq)]
pub enum PriorSpec {
    /// A registered distribution (`Normal`, `GaussianMixture`, `Flat`, …) with its parameter nodes.
    Dist(Call),
    /// A learned score network read from a `.safetensors` file (the registry's `score`).
    Score {
        /// Resolved path (relative to the model file, or found under `models/`).
        path: PathBuf,
        /// The file's metadata when it could be read at check time.
        header: Option<ScoreHeader>,
        /// The `score(...)` call.
        span: Span,
    },
}

/// A `let` named in an `output` statement: a function of the latents, evaluated at every draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    pub name: String,
    pub ty: Ty,
    pub node: NodeId,
    /// The name in the `output` statement.
    pub span: Span,
}

/// A `data NAME : TYPE [= "default.npy"]` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDecl {
    pub name: String,
    pub ty: Ty,
    /// The default file, resolved relative to the model file's folder.
    pub default: Option<PathBuf>,
    /// The whole declaration.
    pub span: Span,
}

/// An observation `NAME ~ DIST` of the `data`-th data tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub data: usize,
    /// The likelihood: a registered distribution in its likelihood role, over graph nodes.
    pub likelihood: Call,
    /// `observed = MASK`: only the elements where the (constant) mask is non-zero are observed.
    pub observed: Option<NodeId>,
    pub span: Span,
}

/// `infer SAMPLER(key = value, ...)`; the sampler and its keys are validated against the sampler
/// registry by `session::infer_diagnostics`.
#[derive(Clone, Debug, PartialEq)]
pub struct InferSpec {
    pub sampler: Ident,
    pub args: Vec<(Ident, InferValue)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InferValue {
    Num(f64),
    Str(String),
}

impl Model {
    /// Index of the data declaration called `name`.
    pub fn data_index(&self, name: &str) -> Option<usize> {
        self.data.iter().position(|d| d.name == name)
    }

    /// True when no data is observed: running it samples the prior.
    pub fn is_prior_only(&self) -> bool {
        self.observations.is_empty()
    }
}
