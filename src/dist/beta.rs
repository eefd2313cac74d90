//! `Beta(a, b)`: the beta distribution on 0 < x < 1 (Stan's `beta`).

use super::draw::positive as positive_draw;
use super::elementwise::{density, positive, positive_param};
use super::special::{digamma, ln_gamma};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct Beta;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        positive_param("a", "the first beta shape"),
        positive_param("b", "the second beta shape"),
    ],
    notes: &[],
}];

impl Distribution for Beta {
    /// One draw per element (prior draws for `uq calibrate`).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Beta", like, params, None, rng, |[a, b], rng| {
            positive_draw("a", a)?;
            positive_draw("b", b)?;
            let d = rand_distr::Beta::new(a, b).map_err(|e| e.to_string())?;
            Ok(rand_distr::Distribution::<f64>::sample(&d, rng))
        })
    }

    fn name(&self) -> &'static str {
        "Beta"
    }

    fn summary(&self) -> &'static str {
        "x^(a−1) (1 − x)^(b−1) / B(a, b) on 0 < x < 1: probabilities and fractions"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Interval { lo: 0.0, hi: 1.0 }
    }

    /// `log p = log Γ(a+b) − log Γ(a) − log Γ(b) + (a−1) log x + (b−1) log(1−x)` for 0 < x < 1;
    /// `level` is ignored.
    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("Beta", ["a", "b"], x, params, |x, [a, b]| {
            positive("a", a)?;
            positive("b", b)?;
            if !(x > 0.0 && x < 1.0) {
                return Err(format!("the value must lie in (0, 1), got {x}"));
            }
            let (lx, l1x) = (x.ln(), (-x).ln_1p());
            let lp = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + (a - 1.0) * lx + (b - 1.0) * l1x;
            let d_x = (a - 1.0) / x - (b - 1.0) / (1.0 - x);
            let dab = digamma(a + b);
            Ok((lp, d_x, [dab - digamma(a) + lx, dab - digamma(b) + l1x]))
        })
    }
}
