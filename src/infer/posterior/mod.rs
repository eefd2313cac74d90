//! The posterior built from a checked model: graph likelihoods + per-latent priors, batched over chains.

mod layout;
mod level;
mod linear;
mod measure;
mod terms;

use terms::{density, masked_density, seed_params};

pub use layout::Layout;
pub use linear::{AffineObs, SupnLatent, SupnLinear};

use super::target::{Eval, EvalError, LinearGaussian, Posterior};
use crate::dist::Call;
use crate::graph::{FftCache, Fusion, Graph, NodeId, Plan, Value, Values};
use crate::score::ScoreModel;
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// An observation: data index, likelihood (a registered distribution over graph nodes), and a
/// description for messages (e.g. `y ~ Normal(…)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub data: usize,
    pub likelihood: Call,
    pub label: String,
    /// `observed = MASK`: the flat indices of the observed elements (`None`: all of them).
    pub observed: Option<Vec<usize>>,
}

/// A prior evaluated through the graph: the latent's node is the variate, its parameters are nodes
/// that may depend on other latents (`prior x ~ Normal(0, tau)`), or its support is constrained.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorTerm {
    /// The latent's graph node.
    pub node: NodeId,
    pub prior: Call,
    /// For messages: `prior tau ~ HalfNormal(…)`.
    pub label: String,
}

/// `π_σ(x | y)` over the flat latent vector: exact likelihood gradients through the graph's VJPs.
///
/// The samplers see two parts: the priors' scores (`priors`, one per latent, annealed with σ) and
/// the "likelihood", which holds the observations and every [`PriorTerm`] (exact at every σ) plus the
/// log-Jacobians of the constrained latents' transforms. A latent with a prior term has a flat
/// placeholder in `priors`.
pub struct GraphPosterior {
    graph: Graph,
    data: Vec<Value>,
    observations: Vec<Observation>,
    prior_terms: Vec<PriorTerm>,
    layout: Layout,
    priors: Vec<Box<dyn ScoreModel>>,
    fft: FftCache,
    /// The graph's types checked once and its latent-free nodes evaluated on `data`.
    plan: Plan,
    grad_evals: AtomicU64,
    has_density: bool,
    /// Per observation, the share of an annealing level's noise its mean carries (`level.rs`),
    /// estimated at the first evaluation at a level above 0.
    level_gains: std::sync::OnceLock<Vec<f64>>,
    /// The real filters fused for [`GraphPosterior::likelihood`] (`graph/filter.rs`), found at its
    /// first call: only the nodes it reads are kept out of fused chains.
    fusion: std::sync::OnceLock<Fusion>,
}

impl GraphPosterior {
    /// `priors[i]` is the prior of latent `i`; its `dim()` must equal that latent's flat length.
    pub fn new(
        graph: Graph,
        data: Vec<Value>,
        observations: Vec<Observation>,
        layout: Layout,
        priors: Vec<Box<dyn ScoreModel>>,
    ) -> Result<Self, String> {
        if priors.len() != layout.slots.len() {
            return Err(format!(
                "{} priors for {} latents",
                priors.len(),
                layout.slots.len()
            ));
        }
        for (i, (p, (ty, _, len))) in priors.iter().zip(&layout.slots).enumerate() {
            if p.dim() != *len {
                return Err(format!(
                    "prior of latent {i} ({ty}) has dimension {} ≠ {len}",
                    p.dim()
                ));
            }
        }
        let fft = FftCache::default();
        let plan = graph
            .plan(&data, &fft)
            .map_err(|e| format!("the model cannot be evaluated on its data: {e}"))?;
        let has_density = priors
            .iter()
            .all(|p| p.log_density(Array2::zeros((1, p.dim())).view(), 0.0).is_some());
        Ok(GraphPosterior {
            graph,
            data,
            observations,
            prior_terms: Vec::new(),
            layout,
            priors,
            fft,
            plan,
            grad_evals: AtomicU64::new(0),
            has_density,
            level_gains: std::sync::OnceLock::new(),
            fusion: std::sync::OnceLock::new(),
        })
    }

    /// The same likelihood with other priors (e.g. an analytic stand-in for a network, to measure a
    /// sampler against a closed form). The priors must fit the latents as in [`GraphPosterior::new`].
    pub fn with_priors(self, priors: Vec<Box<dyn ScoreModel>>) -> Result<Self, String> {
        let terms = self.prior_terms;
        let post = Self::new(self.graph, self.data, self.observations, self.layout, priors)?;
        Ok(post.with_prior_terms(terms))
    }

    /// The same posterior with every prior replaced by `f(prior)` (a view of it that the planned
    /// sampler needs); the first error of `f` is returned.
    pub fn map_priors(
        mut self,
        f: impl FnMut(Box<dyn ScoreModel>) -> Result<Box<dyn ScoreModel>, String>,
    ) -> Result<Self, String> {
        let priors = std::mem::take(&mut self.priors)
            .into_iter()
            .map(f)
            .collect::<Result<Vec<_>, _>>()?;
        self.with_priors(priors)
    }

    /// The same posterior with priors evaluated through the graph (see [`PriorTerm`]).
    pub fn with_prior_terms(mut self, terms: Vec<PriorTerm>) -> Self {
        self.prior_terms = terms;
        self.fusion = std::sync::OnceLock::new();
        self
    }

    /// Whether latent `j`'s prior is a [`PriorTerm`] (not a score model).
    fn is_term(&self, j: usize) -> bool {
        let node = self
            .graph
            .nodes
            .iter()
            .position(|n| n.kind == crate::graph::NodeKind::Latent(j));
        node.is_some_and(|n| self.prior_terms.iter().any(|t| t.node == NodeId(n)))
    }

    /// Where the score-model latent lives in the row (offset, length): the first latent whose prior
    /// is not a graph term; the other coordinates are the Gibbs coordinates.
    pub fn score_slot(&self) -> Option<(usize, usize)> {
        (0..self.layout.slots.len())
            .find(|&j| !self.is_term(j))
            .and_then(|j| self.layout.slots.get(j).map(|(_, off, len)| (*off, *len)))
    }

    /// The observations (likelihood terms).
    pub fn observations(&self) -> &[Observation] {
        &self.observations
    }

    /// The bound data, by data index.
    pub fn data(&self) -> &[Value] {
        &self.data
    }

    /// The priors evaluated through the graph.
    pub fn prior_terms(&self) -> &[PriorTerm] {
        &self.prior_terms
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn priors(&self) -> &[Box<dyn ScoreModel>] {
        &self.priors
    }

    /// Likelihood gradient evaluations so far (one per chain per point).
    pub fn grad_evals(&self) -> u64 {
        self.grad_evals.load(Ordering::Relaxed)
    }

    /// Prior network/analytic score evaluations so far (rows).
    pub fn score_evals(&self) -> u64 {
        self.priors.iter().map(|p| p.evaluations()).sum()
    }

    /// Evaluate every node of the graph at one flat point (unconstrained scale).
    pub fn forward_values(&self, row: ndarray::ArrayView1<f64>) -> Result<Values<'_>, EvalError> {
        self.graph
            .forward_planned(&self.plan, self.latents(row), &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))
    }

    /// The latents' values at one flat point (unconstrained scale).
    fn latents(&self, row: ndarray::ArrayView1<f64>) -> Vec<Value> {
        let x = self.layout.constrain(row);
        self.layout.unflatten(ndarray::ArrayView1::from(x.as_ref()))
    }

    /// Exact log-likelihood and its gradient at one unconstrained point (annealing level `sigma`, the
    /// share of it each observation's mean carries from `level.rs`): the observations, the prior
    /// terms (at level 0) and the transforms' log-Jacobians.
    pub fn likelihood(
        &self,
        row: ndarray::ArrayView1<f64>,
        sigma: f64,
    ) -> Result<(f64, Array1<f64>), EvalError> {
        self.grad_evals.fetch_add(1, Ordering::Relaxed);
        let fusion = self.fusion.get_or_init(|| {
            let obs = self
                .observations
                .iter()
                .flat_map(|o| o.likelihood.params.iter().copied());
            let terms = self.prior_terms.iter();
            let pinned: Vec<NodeId> = obs
                .chain(terms.flat_map(|t| std::iter::once(t.node).chain(t.prior.params.iter().copied())))
                .collect();
            self.graph.fuse(&self.plan, &pinned)
        });
        let values = self
            .graph
            .forward_fused(&self.plan, fusion, self.latents(row), &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        let mut seeds: Vec<(NodeId, Value)> = Vec::new();
        let mut log_lik = 0.0;
        let node = |id: NodeId| {
            values
                .get(id.0)
                .ok_or_else(|| EvalError::Fatal("node out of range".into()))
        };
        let gains = (sigma > 0.0).then(|| self.level_gains.get_or_init(|| level::level_gains(self)));
        for (i, obs) in self.observations.iter().enumerate() {
            let sigma = sigma * gains.and_then(|g| g.get(i)).copied().unwrap_or(1.0);
            let y = self
                .data
                .get(obs.data)
                .ok_or_else(|| EvalError::Fatal("data index out of range".into()))?;
            let d = match &obs.observed {
                None => density(&obs.likelihood, y, &node, sigma, &obs.label)?,
                Some(idx) => masked_density(&obs.likelihood, y, idx, &node, sigma, &obs.label)?,
            };
            log_lik += d.log_p;
            seed_params(&obs.likelihood, d.d_params, &node, &mut seeds)?;
        }
        for term in &self.prior_terms {
            let x = node(term.node)?;
            let d = density(&term.prior, x, &node, 0.0, &term.label)?;
            log_lik += d.log_p;
            if let Some(g) = d.d_x {
                seeds.push((term.node, g));
            }
            seed_params(&term.prior, d.d_params, &node, &mut seeds)?;
        }
        let grads = self
            .graph
            .backward_fused(&self.plan, fusion, &values, &seeds, &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        let mut grad = self.layout.flatten(&grads);
        log_lik += self.layout.chain_rule(row, &mut grad);
        if !log_lik.is_finite() {
            return Err(EvalError::NonFinite("log density".into()));
        }
        if !grad.iter().all(|g| g.is_finite()) {
            return Err(EvalError::NonFinite("likelihood gradient".into()));
        }
        Ok((log_lik, Array1::from(grad)))
    }

    /// Prior scores (and log densities when every prior has one) for a batch, latent by latent.
    fn prior_eval(
        &self,
        xs: ArrayView2<f64>,
        sigma: f64,
        want_density: bool,
    ) -> Result<(Array2<f64>, Option<Array1<f64>>), EvalError> {
        let mut score = Array2::zeros(xs.raw_dim());
        let mut logp = want_density.then(|| Array1::zeros(xs.nrows()));
        for (prior, (_, off, len)) in self.priors.iter().zip(&self.layout.slots) {
            let part = xs.slice(ndarray::s![.., *off..*off + *len]);
            let s = prior
                .score(part, sigma)
                .map_err(|e| EvalError::Fatal(e.to_string()))?;
            score.slice_mut(ndarray::s![.., *off..*off + *len]).assign(&s);
            if let Some(lp) = logp.as_mut() {
                match prior.log_density(part, sigma) {
                    Some(d) => *lp += &d,
                    None => logp = None,
                }
            }
        }
        if !score.iter().all(|v| v.is_finite()) {
            return Err(EvalError::NonFinite("prior score".into()));
        }
        Ok((score, logp))
    }
}

impl Posterior for GraphPosterior {
    fn dim(&self) -> usize {
        self.layout.dim
    }

    fn evaluate(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<Eval, EvalError>> {
        let liks: Vec<Result<(f64, Array1<f64>), EvalError>> = (0..xs.nrows())
            .into_par_iter()
            .map(|i| self.likelihood(xs.row(i), sigma))
            .collect();
        let prior = self.prior_eval(xs, sigma, self.has_prior_density());
        liks.into_iter()
            .enumerate()
            .map(|(i, lik)| {
                let (log_lik, grad_lik) = lik?;
                let (score, logp) = prior.as_ref().map_err(Clone::clone)?;
                Ok(Eval {
                    log_lik,
                    log_prior: logp.as_ref().map(|l| l[i]),
                    grad_lik,
                    score_prior: score.row(i).to_owned(),
                })
            })
            .collect()
    }

    fn prior_score(&self, xs: ArrayView2<f64>, sigma: f64) -> Result<Array2<f64>, EvalError> {
        self.prior_eval(xs, sigma, false).map(|(s, _)| s)
    }

    fn has_prior_density(&self) -> bool {
        self.has_density
    }

    fn prior_score_vjp(
        &self,
        xs: ArrayView2<f64>,
        sigma: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, EvalError> {
        let mut out = Array2::zeros(xs.raw_dim());
        for (prior, (_, off, len)) in self.priors.iter().zip(&self.layout.slots) {
            let cols = ndarray::s![.., *off..*off + *len];
            let g = prior
                .score_vjp(xs.slice(cols), sigma, v.slice(cols))
                .map_err(|e| EvalError::Fatal(e.to_string()))?;
            out.slice_mut(cols).assign(&g);
        }
        if !out.iter().all(|v| v.is_finite()) {
            return Err(EvalError::NonFinite("prior score VJP".into()));
        }
        Ok(out)
    }

    fn linear_gaussian(&self) -> Result<Box<dyn LinearGaussian + '_>, String> {
        Ok(Box::new(self.bound_obs()?))
    }

    fn gibbs_coords(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (j, (_, off, len)) in self.layout.slots.iter().enumerate() {
            if self.is_term(j) {
                out.extend(*off..*off + *len);
            }
        }
        out
    }

    fn log_likelihood(&self, xs: ArrayView2<f64>, sigma: f64) -> Vec<Result<f64, EvalError>> {
        (0..xs.nrows())
            .into_par_iter()
            .map(|i| self.likelihood(xs.row(i), sigma).map(|(l, _)| l))
            .collect()
    }
}
