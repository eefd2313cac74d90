//! `LogNormal(mu, sigma)`: log x ~ N(μ, σ²), x > 0 (Stan's `lognormal`).

use super::draw::positive as positive_draw;
use super::elementwise::{density, finite, positive, positive_param, real_param};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct LogNormal;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        real_param("mu", "the mean of log x"),
        positive_param("sigma", "the standard deviation of log x"),
    ],
    notes: &[],
}];

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

impl Distribution for LogNormal {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("LogNormal", like, params, None, rng, |[mu, s], rng| {
            positive_draw("sigma", s)?;
            Ok((mu + s * super::draw::normal(rng)).exp())
        })
    }

    fn name(&self) -> &'static str {
        "LogNormal"
    }

    fn summary(&self) -> &'static str {
        "log x ~ N(mu, sigma²): positive quantities known up to a factor"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = −log x − log σ − ½ log 2π − (log x − μ)²/(2σ²)` for x > 0; `level` is ignored.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("LogNormal", ["mu", "sigma"], x, params, |x, [mu, s]| {
            finite("mu", mu)?;
            positive("sigma", s)?;
            if x.is_nan() || x <= 0.0 {
                return Err(format!("the value must be > 0, got {x}"));
            }
            let z = (x.ln() - mu) / s;
            let lp = -x.ln() - s.ln() - HALF_LOG_2PI - 0.5 * z * z;
            Ok((lp, -(1.0 + z / s) / x, [z / s, (z * z - 1.0) / s]))
        })
    }
}
