//! `Flat(lower = -inf, upper = inf)`: the improper uniform prior (log density 0) on the real line or
//! between optional fixed scalar bounds; unbounded, the latent's type must be declared.

use super::rules::{elementwise, real_only};
use super::{
    BuildError, Constraint, Density, DensityError, Distribution, Param, ParamKind, Role, RuleError,
    Signature, Support,
};
use crate::graph::{Ty, Value};
use crate::score::{FlatPrior, ScoreModel};
use ndarray::ArrayD;

pub struct Flat;

const BOUND: ParamKind = ParamKind::Fixed {
    real: true,
    constraint: Constraint::Unconstrained,
};

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        Param {
            name: "lower",
            what: "the lower bound",
            ty: "",
            kind: BOUND,
            default: Some(f64::NEG_INFINITY),
        },
        Param {
            name: "upper",
            what: "the upper bound",
            ty: "",
            kind: BOUND,
            default: Some(f64::INFINITY),
        },
    ],
    notes: &[
        "scalar bounds, lower < upper",
        "without bounds the latent's type must be declared",
    ],
}];

/// The bounds from the parameters' values (missing ones take their defaults).
fn bounds(params: &[&Value]) -> Result<(f64, f64), DensityError> {
    let mut b = [f64::NEG_INFINITY, f64::INFINITY];
    for (i, (p, v)) in SIGNATURES[0].params.iter().zip(params).enumerate() {
        b[i] = match v {
            Value::Real(a) if a.len() == 1 => a.iter().next().copied().unwrap_or(f64::NAN),
            _ => {
                return Err(DensityError::NonFinite(format!(
                    "Flat {} must be a real scalar, found shape {:?}",
                    p.name,
                    v.shape()
                )))
            }
        };
    }
    let [lo, hi] = b;
    if lo.is_nan() || hi.is_nan() || lo >= hi || lo == f64::INFINITY || hi == f64::NEG_INFINITY {
        return Err(DensityError::OutOfSupport(format!(
            "Flat needs lower < upper, got lower = {lo}, upper = {hi}"
        )));
    }
    Ok((lo, hi))
}

impl Distribution for Flat {
    fn name(&self) -> &'static str {
        "Flat"
    }

    fn summary(&self) -> &'static str {
        "improper uniform prior: the posterior is the likelihood (restricted to the bounds, if any)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    /// Without bounds; [`Distribution::support_for`] gives the bounded forms.
    fn support(&self) -> Support {
        Support::Real
    }

    fn support_for(&self, params: &[&Value]) -> Result<Support, DensityError> {
        let (lo, hi) = bounds(params)?;
        Ok(Support::bounded(lo, hi))
    }

    fn annealable(&self) -> bool {
        true
    }

    fn support_text(&self) -> String {
        "real (or complex) without bounds; lower < x < upper with them".into()
    }

    fn transform_text(&self) -> Option<String> {
        Some("identity; log(x - lower), log(upper - x) or logit with bounds".into())
    }

    /// The declared type; without one, a scalar when a bound was given (bounded latents are real).
    fn prior_type(&self, params: &[Ty], given: &[bool], declared: Option<&Ty>) -> Result<Ty, RuleError> {
        if let Some(i) = params.iter().position(|t| !t.is_scalar()) {
            let detail = format!("the bounds must be scalars, found {}", params[i]);
            return Err(RuleError::Shape { arg: Some(i), detail });
        }
        let bounded = given.iter().any(|g| *g);
        let ty = match declared {
            Some(d) => d.clone(),
            None if bounded => elementwise(params, None)?,
            None => return Err(RuleError::NeedsDeclaredType),
        };
        if bounded {
            real_only(self.name(), ty)
        } else {
            Ok(ty)
        }
    }

    /// 0 inside the support (bounds included), out of the support outside; gradients 0. `level` is
    /// ignored. Complex values only without bounds.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        let support = self.support_for(params)?;
        let inside = match x {
            Value::Real(a) => a.iter().position(|v| !support.contains(*v)),
            Value::Complex(_) if support == Support::Real => None,
            Value::Complex(_) => {
                return Err(DensityError::OutOfSupport(
                    "Flat with bounds is real-valued: a complex value has no density under it".into(),
                ))
            }
        };
        if let Some(i) = inside {
            let v = match x {
                Value::Real(a) => a.iter().nth(i).copied().unwrap_or(f64::NAN),
                Value::Complex(_) => f64::NAN,
            };
            return Err(DensityError::OutOfSupport(format!(
                "Flat: the value {v} (element {i}) is outside {}",
                support.describe()
            )));
        }
        let d_x = match x {
            Value::Real(a) => Value::Real(ArrayD::zeros(a.raw_dim())),
            Value::Complex(a) => Value::Complex(ArrayD::zeros(a.raw_dim())),
        };
        let d_params = params
            .iter()
            .map(|p| Some(Value::Real(ArrayD::zeros(p.shape()))))
            .collect();
        Ok(Density {
            log_p: 0.0,
            d_x: Some(d_x),
            d_params,
        })
    }

    /// The unbounded prior only; a bounded `Flat` is evaluated through its log density.
    fn build_prior(
        &self,
        params: &[Value],
        dim: usize,
        _complex: bool,
    ) -> Result<Box<dyn ScoreModel>, BuildError> {
        let refs: Vec<&Value> = params.iter().collect();
        match self.support_for(&refs) {
            Ok(Support::Real) => Ok(Box::new(FlatPrior::new(dim))),
            Ok(s) => Err(BuildError(format!(
                "Flat on {} has no score model: it is a log-density term with a transform",
                s.describe()
            ))),
            Err(e) => Err(BuildError(e.to_string())),
        }
    }
}
