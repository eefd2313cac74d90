//! `Gamma(alpha, beta)`: shape α and rate β on x > 0 (Stan's `gamma`).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::special::{digamma, ln_gamma};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct Gamma;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        positive_param("alpha", "the gamma shape"),
        positive_param("beta", "the gamma rate"),
    ],
    notes: &[],
}];

impl Distribution for Gamma {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Gamma", like, params, None, rng, |[a, b], rng| {
            positive_draw("alpha", a)?;
            positive_draw("beta", b)?;
            let g = rand_distr::Gamma::new(a, 1.0 / b).map_err(|e| e.to_string())?;
            Ok(rand_distr::Distribution::<f64>::sample(&g, rng))
        })
    }

    fn name(&self) -> &'static str {
        "Gamma"
    }

    fn summary(&self) -> &'static str {
        "shape alpha, rate beta (mean alpha/beta) on x > 0"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = α log β − log Γ(α) + (α − 1) log x − βx` for x > 0; `level` is ignored.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("Gamma", ["alpha", "beta"], x, params, |x, [a, b]| {
            positive("alpha", a)?;
            positive("beta", b)?;
            if x.is_nan() || x <= 0.0 {
                return Err(format!("the value must be > 0, got {x}"));
            }
            let lx = x.ln();
            let lp = a * b.ln() - ln_gamma(a) + (a - 1.0) * lx - b * x;
            let d_a = b.ln() - digamma(a) + lx;
            Ok((lp, (a - 1.0) / x - b, [d_a, a / b - x]))
        })
    }
}
