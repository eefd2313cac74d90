//! From a checked model and bound data to a posterior: priors built by their registry entries or loaded from score files.

// Diagnostics are returned by value on this cold path (once per run), as everywhere in the checker.
#![allow(clippy::result_large_err)]

use super::{PlanInput, SessionError};
use crate::check::{CheckError, Model, PriorSpec};
use crate::diagnostics::Diagnostic;
use crate::graph::{FftCache, Value};
use crate::infer::{GraphPosterior, Layout, Observation};
use crate::score::{NetworkPrior, ScoreModel};
use crate::source::Span;

/// A prior that cannot be built at run time (E0604).
fn prior_error(span: Span, message: String, help: Option<&str>) -> Diagnostic {
    CheckError::PriorUnbuildable {
        message,
        help: help.map(String::from),
        span,
    }
    .diagnostic()
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
    Ok(match spec {
        PriorSpec::Dist(call) => {
            let values = call
                .params
                .iter()
                .map(|&id| konst(id))
                .collect::<Result<Vec<_>, _>>()?;
            call.dist
                .build_prior(&values, dim, complex)
                .map_err(|e| err(e.to_string()))?
        }
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
            Observation {
                data: o.data,
                likelihood: o.likelihood.clone(),
                label: format!("{name} ~ {}(…)", o.likelihood.name()),
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
