//! `GaussianMixture(weights, means, sigmas)`: a prior Σ_k w_k N(means[k], sigmas[k]² I), exact at every noise level.

use super::rules::flat_real;
use super::{BuildError, Constraint, Distribution, Param, ParamKind, Role, RuleError, Signature, Support};
use crate::graph::{Ty, Value};
use crate::score::{GaussianMixturePrior, ScoreModel};
use ndarray::{Array1, Array2};

pub struct GaussianMixture;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        Param {
            name: "weights",
            what: "the mixture weights",
            ty: "real[K]",
            kind: ParamKind::Fixed {
                real: true,
                constraint: Constraint::Simplex,
            },
            default: None,
        },
        Param {
            name: "means",
            what: "the mixture means",
            ty: "real[K, ...]",
            kind: ParamKind::Fixed {
                real: false,
                constraint: Constraint::Unconstrained,
            },
            default: None,
        },
        Param {
            name: "sigmas",
            what: "the mixture standard deviations",
            ty: "real[K]",
            kind: ParamKind::Fixed {
                real: true,
                constraint: Constraint::Positive,
            },
            default: None,
        },
    ],
    notes: &[],
}];

impl Distribution for GaussianMixture {
    fn name(&self) -> &'static str {
        "GaussianMixture"
    }

    fn summary(&self) -> &'static str {
        "K isotropic Gaussians; means real[K] are scalar per component, real[K, ...] give the latent's shape"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// K from the weights; the latent has the means' shape without their first axis.
    fn prior_type(&self, params: &[Ty], _given: &[bool], declared: Option<&Ty>) -> Result<Ty, RuleError> {
        let [wt, mt, st] = params else {
            let detail = format!("3 parameters expected, found {}", params.len());
            return Err(RuleError::Shape { arg: None, detail });
        };
        let shape = |arg, detail| RuleError::Shape {
            arg: Some(arg),
            detail,
        };
        let k = match wt.shape.as_slice() {
            [k] => *k,
            _ => {
                return Err(shape(
                    0,
                    format!("the weights must be a vector real[K], found {wt}"),
                ))
            }
        };
        if mt.shape.first() != Some(&k) {
            let detail = format!("{k} weights but the means are {mt} (expected [{k}] or [{k}, ...])");
            return Err(shape(1, detail));
        }
        if st.shape != [k] {
            let detail = format!("{k} weights but the standard deviations are {st} (expected real[{k}])");
            return Err(shape(2, detail));
        }
        let ty = Ty {
            elem: mt.elem,
            shape: mt.shape[1..].to_vec(),
        };
        Ok(match declared {
            Some(d) if d.shape == ty.shape && d.is_complex() => d.clone(),
            _ => ty,
        })
    }

    fn annealable(&self) -> bool {
        true
    }

    fn build_prior(
        &self,
        params: &[Value],
        dim: usize,
        _complex: bool,
    ) -> Result<Box<dyn ScoreModel>, BuildError> {
        let [weights, means, sigmas] = params else {
            return Err(BuildError(
                "GaussianMixture takes weights, means and sigmas".into(),
            ));
        };
        let w = Array1::from(flat_real(weights));
        let s = Array1::from(flat_real(sigmas));
        let k = w.len();
        let mv = flat_real(means);
        let means = if mv.len() == k {
            Array2::from_shape_fn((k, dim), |(i, _)| mv[i])
        } else if mv.len() == k * dim {
            Array2::from_shape_vec((k, dim), mv).map_err(|e| BuildError(e.to_string()))?
        } else {
            return Err(BuildError(format!(
                "mixture means have {} values, expected {k} or {}",
                mv.len(),
                k * dim
            )));
        };
        let prior = GaussianMixturePrior::new(w, means, s).map_err(|e| BuildError(e.to_string()))?;
        Ok(Box::new(prior))
    }

    fn describe(&self, _role: Role, params: &[Ty]) -> Option<String> {
        let k = params.first().and_then(|t| t.shape.first().copied()).unwrap_or(0);
        Some(format!("GaussianMixture({k} components)"))
    }
}
