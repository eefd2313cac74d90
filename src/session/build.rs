//! From a checked model and bound data to a posterior: priors built from constants or score files.

// Diagnostics are returned by value on this cold path (once per run), as everywhere in the checker.
#![allow(clippy::result_large_err)]

use super::{PlanInput, SessionError};
use crate::check::{CheckError, Likelihood, Model, PriorSpec};
use crate::diagnostics::Diagnostic;
use crate::graph::{FftCache, Value};
use crate::infer::{GraphPosterior, Layout, Observation, Term};
use crate::score::{FlatPrior, GaussianMixturePrior, NetworkPrior, NormalPrior, ScoreModel};
use crate::source::Span;
use ndarray::{Array1, Array2};

/// A prior that cannot be built at run time (E0604).
fn prior_error(span: Span, message: String, help: Option<&str>) -> Diagnostic {
    CheckError::PriorUnbuildable {
        message,
        help: help.map(String::from),
        span,
    }
    .diagnostic()
}

fn flat_real(v: &Value) -> Vec<f64> {
    match v {
        Value::Real(a) => a.iter().copied().collect(),
        Value::Complex(a) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
    }
}

/// A parameter as a flat vector of length `dim` (a scalar broadcasts).
fn broadcast(v: &Value, dim: usize, complex_latent: bool) -> Option<Array1<f64>> {
    let flat = flat_real(v);
    match flat.len() {
        1 if !v.is_complex() => Some(Array1::from_elem(dim, flat[0])),
        n if n == dim => Some(Array1::from(flat)),
        // A real parameter with one value per complex element: the same for re and im.
        n if complex_latent && !v.is_complex() && 2 * n == dim => {
            Some(Array1::from_iter(flat.iter().flat_map(|x| [*x, *x])))
        }
        _ => None,
    }
}

/// Build one latent's prior.
fn prior_for(
    model: &Model,
    data: &[Value],
    fft: &FftCache,
    spec: &PriorSpec,
    dim: usize,
    complex: bool,
    span: Span,
) -> Result<Box<dyn ScoreModel>, Diagnostic> {
    let err = |m: String| prior_error(span, m, None);
    let konst = |id| {
        model
            .graph
            .eval_const(id, data, fft)
            .map_err(|e| err(e.message.clone()))
    };
    let score_err = |e: crate::score::ScoreError| err(e.to_string());
    Ok(match spec {
        PriorSpec::Normal { mu, sigma } => {
            let (mu, sigma) = (konst(*mu)?, konst(*sigma)?);
            let m = broadcast(&mu, dim, complex)
                .ok_or_else(|| err("Normal mean does not fit the latent".into()))?;
            let s = broadcast(&sigma, dim, complex)
                .ok_or_else(|| err("Normal sd does not fit the latent".into()))?;
            // Complex latent with a real mean: the imaginary parts have mean 0.
            let m = if complex && !mu.is_complex() && flat_real(&mu).len() * 2 != dim {
                Array1::from_iter(
                    m.iter()
                        .enumerate()
                        .map(|(i, v)| if i % 2 == 0 { *v } else { 0.0 }),
                )
            } else {
                m
            };
            Box::new(NormalPrior::new(m, s).map_err(score_err)?)
        }
        PriorSpec::GaussianMixture {
            weights,
            means,
            sigmas,
        } => {
            let w = Array1::from(flat_real(&konst(*weights)?));
            let s = Array1::from(flat_real(&konst(*sigmas)?));
            let k = w.len();
            let mv = flat_real(&konst(*means)?);
            let means = if mv.len() == k {
                Array2::from_shape_fn((k, dim), |(i, _)| mv[i])
            } else if mv.len() == k * dim {
                Array2::from_shape_vec((k, dim), mv).map_err(|e| err(e.to_string()))?
            } else {
                return Err(err(format!(
                    "mixture means have {} values, expected {k} or {}",
                    mv.len(),
                    k * dim
                )));
            };
            Box::new(GaussianMixturePrior::new(w, means, s).map_err(score_err)?)
        }
        PriorSpec::Flat => Box::new(FlatPrior::new(dim)),
        PriorSpec::Score { path, span, .. } => {
            let net = NetworkPrior::load(path).map_err(|e| {
                prior_error(
                    *span,
                    format!("cannot load the score prior: {e}"),
                    Some("train one with `uq train`, or check the path (relative to the model file, then models/)"),
                )
            })?;
            if net.dim() != dim {
                return Err(prior_error(
                    *span,
                    format!(
                        "the network has {} values per sample, the latent {dim}",
                        net.dim()
                    ),
                    None,
                ));
            }
            Box::new(net)
        }
    })
}

/// Everything a run needs: the posterior and what the planner looks at.
pub struct Built {
    pub posterior: GraphPosterior,
    pub plan_input: PlanInput,
}

impl Built {
    /// The first latent's prior (the score samplers sample one latent).
    pub fn first_prior(&self) -> Result<&dyn ScoreModel, SessionError> {
        self.posterior
            .priors()
            .first()
            .map(|p| p.as_ref())
            .ok_or_else(|| SessionError::Prior("the model has no latent".into()))
    }
}

/// Build the posterior of a checked model with its data bound.
pub fn build(model: &Model, data: Vec<Value>, has_init: bool) -> Result<Built, Vec<Diagnostic>> {
    let fft = FftCache::default();
    let types: Vec<_> = model.latents.iter().map(|l| l.ty.clone()).collect();
    let layout = Layout::new(&types);
    let mut priors = Vec::new();
    let mut diags = Vec::new();
    for (l, (_, _, len)) in model.latents.iter().zip(&layout.slots) {
        match prior_for(model, &data, &fft, &l.prior, *len, l.ty.is_complex(), l.span) {
            Ok(p) => priors.push(p),
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let plan_input = PlanInput {
        priors: model
            .latents
            .iter()
            .zip(&priors)
            .map(|(l, p)| (l.name.clone(), p.noise_kind()))
            .collect(),
        differentiable: true,
        has_init,
        has_observations: !model.observations.is_empty(),
    };
    let observations = model
        .observations
        .iter()
        .map(|o| {
            let name = model.data.get(o.data).map(|d| d.name.as_str()).unwrap_or("?");
            let (term, what) = match &o.likelihood {
                Likelihood::Normal { mean, sigma } => (
                    Term::Normal {
                        mean: *mean,
                        sigma: *sigma,
                    },
                    "Normal",
                ),
                Likelihood::Poisson { rate } => (Term::Poisson { rate: *rate }, "Poisson"),
            };
            Observation {
                data: o.data,
                term,
                label: format!("{name} ~ {what}(…)"),
            }
        })
        .collect();
    let posterior =
        GraphPosterior::new(model.graph.clone(), data, observations, layout, priors).map_err(|m| {
            vec![prior_error(
                model.latents.first().map(|l| l.span).unwrap_or_default(),
                m,
                None,
            )]
        })?;
    Ok(Built {
        posterior,
        plan_input,
    })
}
