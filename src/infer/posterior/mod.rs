//! The posterior built from a checked model: graph likelihoods + per-latent priors, batched over chains.

mod layout;
mod measure;

pub use layout::Layout;

use super::target::{Eval, EvalError, Posterior};
use crate::dist::{Call, DensityError};
use crate::graph::{FftCache, Graph, NodeId, Value};
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
}

/// `π_σ(x | y)` over the flat latent vector: exact likelihood gradients through the graph's VJPs.
pub struct GraphPosterior {
    graph: Graph,
    data: Vec<Value>,
    observations: Vec<Observation>,
    layout: Layout,
    priors: Vec<Box<dyn ScoreModel>>,
    fft: FftCache,
    grad_evals: AtomicU64,
    has_density: bool,
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
        let has_density = priors
            .iter()
            .all(|p| p.log_density(Array2::zeros((1, p.dim())).view(), 0.0).is_some());
        Ok(GraphPosterior {
            graph,
            data,
            observations,
            layout,
            priors,
            fft: FftCache::default(),
            grad_evals: AtomicU64::new(0),
            has_density,
        })
    }

    /// The same likelihood with other priors (e.g. an analytic stand-in for a network, to measure a
    /// sampler against a closed form). The priors must fit the latents as in [`GraphPosterior::new`].
    pub fn with_priors(self, priors: Vec<Box<dyn ScoreModel>>) -> Result<Self, String> {
        Self::new(self.graph, self.data, self.observations, self.layout, priors)
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

    /// Evaluate every node of the graph at one flat point.
    pub fn forward_values(&self, row: ndarray::ArrayView1<f64>) -> Result<Vec<Value>, EvalError> {
        let latents = self.layout.unflatten(row);
        self.graph
            .forward(&latents, &self.data, &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))
    }

    /// Exact log-likelihood and its gradient at one point (annealing level `sigma`).
    pub fn likelihood(
        &self,
        row: ndarray::ArrayView1<f64>,
        sigma: f64,
    ) -> Result<(f64, Array1<f64>), EvalError> {
        self.grad_evals.fetch_add(1, Ordering::Relaxed);
        let values = self.forward_values(row)?;
        let mut seeds: Vec<(NodeId, Value)> = Vec::new();
        let mut log_lik = 0.0;
        for obs in &self.observations {
            let y = self
                .data
                .get(obs.data)
                .ok_or_else(|| EvalError::Fatal("data index out of range".into()))?;
            let node = |id: NodeId| {
                values
                    .get(id.0)
                    .ok_or_else(|| EvalError::Fatal("node out of range".into()))
            };
            let call = &obs.likelihood;
            let params = call
                .params
                .iter()
                .map(|&id| node(id))
                .collect::<Result<Vec<_>, _>>()?;
            match call.dist.log_density(y, &params, sigma) {
                Ok(d) => {
                    log_lik += d.log_p;
                    let grads = call.params.iter().zip(d.d_params);
                    seeds.extend(grads.filter_map(|(&id, g)| g.map(|g| (id, g))));
                }
                Err(DensityError::OutOfSupport(m)) => {
                    return Err(EvalError::OutOfSupport(format!("{}: {m}", obs.label)))
                }
                Err(DensityError::NonFinite(m)) => {
                    return Err(EvalError::NonFinite(format!("{}: {m}", obs.label)))
                }
                Err(e @ DensityError::Unavailable(_)) => {
                    return Err(EvalError::Fatal(format!("{}: {e}", obs.label)))
                }
            }
        }
        let grads = self
            .graph
            .backward(&values, &seeds, &self.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        let grad = Array1::from(self.layout.flatten(&grads));
        if !grad.iter().all(|g| g.is_finite()) {
            return Err(EvalError::NonFinite("likelihood gradient".into()));
        }
        Ok((log_lik, grad))
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
}
