//! `InverseGamma(alpha, beta)`: 1/x ~ Gamma(α, β), i.e. shape α and scale β on x > 0 (Stan's `inv_gamma`).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::special::{digamma, ln_gamma};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct InverseGamma;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        positive_param("alpha", "the inverse-gamma shape"),
        positive_param("beta", "the inverse-gamma scale"),
    ],
    notes: &[],
}];

impl Distribution for InverseGamma {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("InverseGamma", like, params, None, rng, |[a, b], rng| {
            positive_draw("alpha", a)?;
            positive_draw("beta", b)?;
            let g = rand_distr::Gamma::new(a, 1.0 / b).map_err(|e| e.to_string())?;
            Ok(1.0 / rand_distr::Distribution::<f64>::sample(&g, rng))
        })
    }

    fn name(&self) -> &'static str {
        "InverseGamma"
    }

    fn summary(&self) -> &'static str {
        "1/x ~ Gamma(alpha, beta): the conjugate prior of a Gaussian variance"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = α log β − log Γ(α) − (α + 1) log x − β/x` for x > 0; `level` is ignored.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("InverseGamma", ["alpha", "beta"], x, params, |x, [a, b]| {
            positive("alpha", a)?;
            positive("beta", b)?;
            if x.is_nan() || x <= 0.0 {
                return Err(format!("the value must be > 0, got {x}"));
            }
            let lx = x.ln();
            let lp = a * b.ln() - ln_gamma(a) - (a + 1.0) * lx - b / x;
            let d_x = -(a + 1.0) / x + b / (x * x);
            Ok((lp, d_x, [b.ln() - digamma(a) - lx, a / b - 1.0 / x]))
        })
    }
}
