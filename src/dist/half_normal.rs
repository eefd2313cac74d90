//! `HalfNormal(sigma)`: the normal N(0, σ²) folded onto x ≥ 0 (Stan's `normal(0, sigma)` on a `<lower=0>` parameter).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct HalfNormal;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[positive_param("sigma", "the half-normal scale")],
    notes: &[],
}];

/// log √(2/π).
const LOG_SQRT_2_OVER_PI: f64 = -0.225_791_352_644_727_4;

impl Distribution for HalfNormal {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("HalfNormal", like, params, None, rng, |[s], rng| {
            positive_draw("sigma", s)?;
            Ok((s * super::draw::normal(rng)).abs())
        })
    }

    fn name(&self) -> &'static str {
        "HalfNormal"
    }

    fn summary(&self) -> &'static str {
        "N(0, sigma²) folded onto x ≥ 0: a weakly informative prior for a scale (noise level, prior width)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = log √(2/π) − log σ − x²/(2σ²)` for x ≥ 0; `level` is ignored (no closed form).
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("HalfNormal", ["sigma"], x, params, |x, [s]| {
            positive("sigma", s)?;
            if x.is_nan() || x < 0.0 {
                return Err(format!("the value must be >= 0, got {x}"));
            }
            let z = x / s;
            let lp = LOG_SQRT_2_OVER_PI - s.ln() - 0.5 * z * z;
            Ok((lp, -z / s, [(z * z - 1.0) / s]))
        })
    }
}
