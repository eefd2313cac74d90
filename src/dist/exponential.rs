//! `Exponential(rate)`: p(x) = λ e^(−λx) on x ≥ 0 (Stan's `exponential(beta)`, a rate).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct Exponential;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[positive_param("rate", "the exponential rate")],
    notes: &[],
}];

impl Distribution for Exponential {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Exponential", like, params, None, rng, |[rate], rng| {
            positive_draw("rate", rate)?;
            Ok(-super::draw::uniform(rng).ln() / rate)
        })
    }

    fn name(&self) -> &'static str {
        "Exponential"
    }

    fn summary(&self) -> &'static str {
        "rate · exp(−rate · x) on x ≥ 0 (mean 1/rate)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = log λ − λx` for x ≥ 0; `level` is ignored (no closed form).
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("Exponential", ["rate"], x, params, |x, [rate]| {
            positive("rate", rate)?;
            if x.is_nan() || x < 0.0 {
                return Err(format!("the value must be >= 0, got {x}"));
            }
            Ok((rate.ln() - rate * x, -rate, [1.0 / rate - x]))
        })
    }
}
