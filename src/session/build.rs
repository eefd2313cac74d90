//! From a checked model and bound data to a posterior: priors built by their registry entries or loaded from score files.

// Diagnostics are returned by value on this cold path (once per run), as everywhere in the checker.
#![allow(clippy::result_large_err)]

use super::{PlanInput, SessionError, SupnFit};
use crate::check::{CheckError, Model, PriorSpec};
use crate::diagnostics::Diagnostic;
use crate::dist::Transform;
use crate::graph::{FftCache, Value};
use crate::infer::{GraphPosterior, Layout, Observation, PriorTerm, SupnLatent};
use crate::score::{load_prior, FlatPrior, ScoreModel};
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

/// How one latent's prior is evaluated.
enum LatentPrior {
    /// A score model (annealed by the score samplers): networks and annealable analytic priors.
    Score(Box<dyn ScoreModel>),
    /// Through the graph (latent parameters, constrained supports, no exact score model): a flat
    /// placeholder score, the density as a [`PriorTerm`], and the support's transform.
    Term(Transform),
}

/// Parameters stretched to the latent's shape where they broadcast other than as scalars.
fn stretch(values: Vec<Value>, shape: &[usize]) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| {
            let numel: usize = v.shape().iter().product();
            if numel == 1 || v.shape() == shape {
                v
            } else {
                v.broadcast_to(shape).unwrap_or(v)
            }
        })
        .collect()
}

/// Build one latent's prior.
#[allow(clippy::too_many_arguments)]
fn prior_for(
    model: &Model,
    data: &[Value],
    fft: &FftCache,
    spec: &PriorSpec,
    shape: &[usize],
    dim: usize,
    complex: bool,
    span: Span,
) -> Result<LatentPrior, Diagnostic> {
    let err = |m: String| prior_error(span, m, None);
    Ok(match spec {
        PriorSpec::Dist(call) => {
            // Parameters that do not depend on a latent, as values (`None` for those that do).
            let values = call
                .params
                .iter()
                .map(|&id| {
                    if model.graph.depends_on_latent(id) {
                        Ok(None)
                    } else {
                        model
                            .graph
                            .eval_const(id, data, fft)
                            .map(Some)
                            .map_err(|e| err(e.message.clone()))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let constants: Option<Vec<Value>> = values.iter().cloned().collect();
            let support = match &constants {
                Some(v) => call.dist.support_for(&v.iter().collect::<Vec<_>>()),
                None => Ok(call.dist.support()),
            }
            .map_err(|e| err(e.to_string()))?;
            let transform = support.transform().ok_or_else(|| {
                err(format!(
                    "`{}` has a discrete support: a latent cannot take it",
                    call.name()
                ))
            })?;
            match constants {
                Some(v) if call.dist.annealable() && transform == Transform::Identity => LatentPrior::Score(
                    call.dist
                        .build_prior(&stretch(v, shape), dim, complex)
                        .map_err(|e| err(e.to_string()))?,
                ),
                _ if complex && transform != Transform::Identity => {
                    return Err(err(format!(
                        "`{}` has a constrained support ({}): the latent must be real",
                        call.name(),
                        support.describe()
                    )))
                }
                _ => LatentPrior::Term(transform),
            }
        }
        PriorSpec::Score { path, span, .. } => {
            let net = load_prior(path).map_err(|e| {
                prior_error(
                    *span,
                    format!("cannot load the score prior: {e}"),
                    Some("train one with `uq train`, give a diffusers `UNet2DModel` folder, or check the path (relative to the model file, then models/)"),
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
            LatentPrior::Score(net)
        }
    })
}

/// Everything a run needs: the posterior and what the planner looks at.
pub struct Built {
    pub posterior: GraphPosterior,
    pub plan_input: PlanInput,
    /// `output` quantities, evaluated at every draw.
    pub outputs: Vec<crate::check::Derived>,
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
    let mut priors: Vec<Box<dyn ScoreModel>> = Vec::new();
    let mut transforms = Vec::new();
    let mut terms = Vec::new();
    let mut term_notes = Vec::new();
    let mut diags = Vec::new();
    for (l, (_, _, len)) in model.latents.iter().zip(&layout.slots) {
        match prior_for(
            model,
            &data,
            &fft,
            &l.prior,
            &l.ty.shape,
            *len,
            l.ty.is_complex(),
            l.span,
        ) {
            Ok(LatentPrior::Score(p)) => {
                priors.push(p);
                transforms.push(Transform::Identity);
            }
            Ok(LatentPrior::Term(t)) => {
                priors.push(Box::new(FlatPrior::new(*len)));
                transforms.push(t);
                if let PriorSpec::Dist(call) = &l.prior {
                    let how = match t {
                        Transform::Identity => format!("{} prior", call.name()),
                        Transform::Log => format!("{} prior, sampled as log {}", call.name(), l.name),
                        t => format!(
                            "{} prior, sampled through the {} transform",
                            call.name(),
                            t.describe()
                        ),
                    };
                    let latent_params = call.params.iter().any(|&id| model.graph.depends_on_latent(id));
                    let how = if latent_params {
                        format!("{how}, whose parameters are latents")
                    } else {
                        how
                    };
                    term_notes.push((l.name.clone(), how));
                    terms.push(PriorTerm {
                        node: l.node,
                        prior: call.clone(),
                        label: format!("prior {} ~ {}(…)", l.name, call.name()),
                    });
                }
            }
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let layout = layout.with_transforms(transforms);
    let mut plan_input = PlanInput {
        priors: model
            .latents
            .iter()
            .zip(&priors)
            .map(|(l, p)| (l.name.clone(), p.noise_kind()))
            .collect(),
        differentiable: true,
        has_init,
        has_observations: !model.observations.is_empty(),
        terms: term_notes,
        supn: None,
        complex: (model.latents.iter())
            .filter(|l| l.ty.is_complex())
            .map(|l| l.name.clone())
            .collect(),
    };
    let mut observations = Vec::new();
    for o in &model.observations {
        let decl = model.data.get(o.data);
        let name = decl.map(|d| d.name.as_str()).unwrap_or("?");
        let observed = match o.observed {
            None => None,
            Some(id) => {
                let shape = decl.map(|d| d.ty.shape.clone()).unwrap_or_default();
                let mask = model
                    .graph
                    .eval_const(id, &data, &fft)
                    .ok()
                    .and_then(|v| v.broadcast_to(&shape));
                let Some(Value::Real(mask)) = mask else {
                    return Err(vec![prior_error(
                        o.span,
                        format!("the observation mask of `{name}` cannot be evaluated"),
                        None,
                    )]);
                };
                Some(
                    mask.iter()
                        .enumerate()
                        .filter(|(_, m)| **m != 0.0)
                        .map(|(i, _)| i)
                        .collect(),
                )
            }
        };
        observations.push(Observation {
            data: o.data,
            likelihood: o.likelihood.clone(),
            label: format!("{name} ~ {}(…)", o.likelihood.name()),
            observed,
        });
    }
    let posterior = GraphPosterior::new(model.graph.clone(), data, observations, layout, priors)
        .map_err(|m| {
            vec![prior_error(
                model.latents.first().map(|l| l.span).unwrap_or_default(),
                m,
                None,
            )]
        })?
        .with_prior_terms(terms);
    plan_input.supn = supn_fit(model, &posterior);
    Ok(Built {
        posterior,
        plan_input,
        outputs: model.outputs.clone(),
    })
}

/// The model's `supn` prior as the planner sees it: its latents, and whether the exact Gaussian
/// conditional applies (checked on the posterior: one Normal observation linear in x).
fn supn_fit(model: &Model, post: &GraphPosterior) -> Option<SupnFit> {
    let name_at = |offset: usize| {
        let j = post
            .layout()
            .slots
            .iter()
            .position(|(_, off, _)| *off == offset)?;
        model.latents.get(j).map(|l| l.name.clone())
    };
    let linear = post.supn_linear()?;
    let x_name = || {
        // The latent whose prior is the supn call.
        model
            .latents
            .iter()
            .find(|l| matches!(&l.prior, PriorSpec::Dist(c) if c.dist.supn_model().is_some()))
            .map(|l| l.name.clone())
            .unwrap_or_else(|| "x".into())
    };
    Some(match linear {
        Ok(lin) => SupnFit {
            x: name_at(lin.obs.x.0).unwrap_or_else(x_name),
            z: match &lin.z {
                SupnLatent::Latent { offset, .. } => name_at(*offset),
                SupnLatent::Fixed(_) => None,
            },
            linear: Ok(()),
        },
        Err(why) => SupnFit {
            x: x_name(),
            z: None,
            linear: Err(why),
        },
    })
}
