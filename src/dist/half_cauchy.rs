//! `HalfCauchy(sigma)`: Cauchy(0, σ) folded onto x ≥ 0 (Stan's `cauchy(0, sigma)` on a `<lower=0>` parameter).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;
use std::f64::consts::PI;

pub struct HalfCauchy;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[positive_param("sigma", "the half-Cauchy scale")],
    notes: &[],
}];

impl Distribution for HalfCauchy {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("HalfCauchy", like, params, None, rng, |[s], rng| {
            positive_draw("sigma", s)?;
            Ok((s * (std::f64::consts::PI * (super::draw::uniform(rng) - 0.5)).tan()).abs())
        })
    }

    fn name(&self) -> &'static str {
        "HalfCauchy"
    }

    fn summary(&self) -> &'static str {
        "Cauchy(0, sigma) folded onto x ≥ 0: a heavy-tailed prior for a scale (hierarchical sds)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = log(2/π) − log σ − log(1 + (x/σ)²)` for x ≥ 0; `level` is ignored (no closed form).
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("HalfCauchy", ["sigma"], x, params, |x, [s]| {
            positive("sigma", s)?;
            if !(x >= 0.0 && x.is_finite()) {
                return Err(format!("the value must be >= 0 and finite, got {x}"));
            }
            let (x2, s2) = (x * x, s * s);
            let lp = (2.0 / PI).ln() - s.ln() - (x2 / s2).ln_1p();
            Ok((lp, -2.0 * x / (s2 + x2), [(x2 - s2) / (s * (s2 + x2))]))
        })
    }
}
