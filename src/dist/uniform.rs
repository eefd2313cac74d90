//! `Uniform(lower, upper)`: the uniform prior on lower < x < upper, bounds fixed scalars (as in Stan).

use super::elementwise::density;
use super::{
    Constraint, Density, DensityError, Distribution, Param, ParamKind, Role, RuleError, Signature, Support,
};
use crate::graph::{Ty, Value};

pub struct Uniform;

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
            ty: "real",
            kind: BOUND,
            default: None,
        },
        Param {
            name: "upper",
            what: "the upper bound",
            ty: "real",
            kind: BOUND,
            default: None,
        },
    ],
    notes: &["finite lower < upper"],
}];

/// The scalar bounds `(lower, upper)`, checked: finite and ordered.
fn bounds(dist: &str, params: &[&Value]) -> Result<(f64, f64), DensityError> {
    let scalar = |v: &Value| match v {
        Value::Real(a) if a.len() == 1 => a.iter().next().copied(),
        _ => None,
    };
    match params {
        [lo, hi] => match (scalar(lo), scalar(hi)) {
            (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() && lo < hi => Ok((lo, hi)),
            (Some(lo), Some(hi)) => Err(DensityError::OutOfSupport(format!(
                "{dist} needs finite bounds with lower < upper, got lower = {lo}, upper = {hi}"
            ))),
            _ => Err(DensityError::NonFinite(format!(
                "{dist} bounds must be real scalars"
            ))),
        },
        _ => Err(DensityError::NonFinite(format!("{dist} takes lower and upper"))),
    }
}

impl Distribution for Uniform {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Uniform", like, params, None, rng, |[lo, hi], rng| {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(format!("need finite lower < upper, got {lo}, {hi}"));
            }
            Ok(lo + (hi - lo) * super::draw::uniform(rng))
        })
    }

    fn name(&self) -> &'static str {
        "Uniform"
    }

    fn summary(&self) -> &'static str {
        "constant density 1/(upper − lower) between two fixed scalar bounds"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    /// The support for the docs and the checker (real values, an interval); the bounds are in
    /// [`Distribution::support_for`].
    fn support(&self) -> Support {
        Support::Interval {
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        }
    }

    fn support_for(&self, params: &[&Value]) -> Result<Support, DensityError> {
        let (lo, hi) = bounds("Uniform", params)?;
        Ok(Support::Interval { lo, hi })
    }

    fn support_text(&self) -> String {
        "lower < x < upper".into()
    }

    fn transform_text(&self) -> Option<String> {
        Some("logit".into())
    }

    /// Scalar bounds; the latent is a scalar or has the declared shape.
    fn prior_type(&self, params: &[Ty], _given: &[bool], declared: Option<&Ty>) -> Result<Ty, RuleError> {
        if let Some(i) = params.iter().position(|t| !t.is_scalar()) {
            let detail = format!("the bounds must be scalars, found {}", params[i]);
            return Err(RuleError::Shape { arg: Some(i), detail });
        }
        super::rules::elementwise(params, declared).and_then(|t| super::rules::real_only("Uniform", t))
    }

    /// `log p = −log(upper − lower)` inside the bounds (included); `level` is ignored.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        bounds("Uniform", params)?;
        density("Uniform", ["lower", "upper"], x, params, |x, [lo, hi]| {
            if !(lo..=hi).contains(&x) {
                return Err(format!("the value {x} is outside [{lo}, {hi}]"));
            }
            let w = hi - lo;
            Ok((-w.ln(), 0.0, [1.0 / w, -1.0 / w]))
        })
    }
}
