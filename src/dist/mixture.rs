//! `GaussianMixture(weights, means, sigmas)`: a prior Σ_k w_k N(means[k], sigmas[k]² I), exact at every noise level.

use super::rules::flat_real;
use super::{
    BuildError, Constraint, DensityError, Distribution, Param, ParamKind, Role, RuleError, Signature, Support,
};
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

    /// A component by its weight, then its mean plus σ_k times a standard normal per real component.
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        let [weights, means, sigmas] = params else {
            return Err(DensityError::NonFinite(
                "GaussianMixture takes weights, means and sigmas".into(),
            ));
        };
        let w = flat_real(weights);
        let s = flat_real(sigmas);
        let total: f64 = w.iter().sum();
        if w.len() != s.len()
            || total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            || w.iter().chain(&s).any(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(DensityError::OutOfSupport(
                "GaussianMixture: weights must be non-negative with a positive sum, one σ > 0 per weight"
                    .into(),
            ));
        }
        let mut u = super::draw::uniform(rng) * total;
        let k = w.iter().position(|&wk| {
            u -= wk;
            u <= 0.0
        });
        let k = k.unwrap_or(w.len() - 1);
        let n: usize = like.shape().iter().product();
        let m: Vec<num_complex::Complex64> = means.to_complex().iter().copied().collect();
        let mean_at = |j: usize| {
            if m.len() == w.len() {
                m.get(k)
            } else {
                m.get(k * n + j)
            }
        };
        let sk = s[k];
        let mut values = Vec::with_capacity(n);
        for j in 0..n {
            let mu = *mean_at(j).ok_or_else(|| {
                DensityError::NonFinite(format!(
                    "GaussianMixture: the means do not give {n} values per component"
                ))
            })?;
            values.push(num_complex::Complex64::new(
                mu.re + sk * super::draw::normal(rng),
                if like.is_complex() {
                    mu.im + sk * super::draw::normal(rng)
                } else {
                    0.0
                },
            ));
        }
        let shape = like.shape().to_vec();
        let err = |e: ndarray::ShapeError| DensityError::NonFinite(e.to_string());
        Ok(if like.is_complex() {
            Value::Complex(ndarray::ArrayD::from_shape_vec(shape, values).map_err(err)?)
        } else {
            Value::Real(
                ndarray::ArrayD::from_shape_vec(shape, values.iter().map(|z| z.re).collect()).map_err(err)?,
            )
        })
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
