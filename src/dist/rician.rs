//! `Rician(nu, sigma)`: the law of a magnitude |s + ε|, ε complex Gaussian with σ per component (magnitude MRI), ν = |s|.

use super::elementwise::{density, finite, location_param, positive, positive_param};
use super::special::{bessel_ratio, i0e};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct Rician;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Likelihood,
    params: &[
        location_param("nu", "the signal magnitude"),
        positive_param("sigma", "the noise standard deviation per component"),
    ],
    notes: &["data >= 0"],
}];

impl Distribution for Rician {
    fn name(&self) -> &'static str {
        "Rician"
    }

    fn summary(&self) -> &'static str {
        "magnitude of a complex Gaussian: y/sigma² exp(−(y² + nu²)/(2 sigma²)) I₀(y nu/sigma²), y > 0 (magnitude MRI)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `log p = log y − 2 log σ − (y² + ν²)/(2σ²) + log I₀(yν/σ²)` for y > 0, with log I₀ and
    /// I₁/I₀ from exponentially scaled Bessel functions (finite for any argument). The density is
    /// even in ν, so a negative ν is |ν|. y = 0 has density 0: out of the support. `level` is
    /// ignored (no closed form).
    /// `|nu + sigma·(z₁ + i z₂)|`: the magnitude of a complex Gaussian around `nu`.
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Rician", like, params, None, rng, |[nu, s], rng| {
            if s.is_nan() || s <= 0.0 {
                return Err(format!("sigma must be positive, got {s}"));
            }
            Ok((nu + s * super::draw::normal(rng)).hypot(s * super::draw::normal(rng)))
        })
    }

    fn log_density(&self, y: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density("Rician", ["nu", "sigma"], y, params, |y, [nu, s]| {
            finite("nu", nu)?;
            positive("sigma", s)?;
            if !(y > 0.0 && y.is_finite()) {
                return Err(format!(
                    "the data must be > 0 and finite (density 0 at 0), got {y}"
                ));
            }
            let s2 = s * s;
            let z = y * nu / s2;
            let r = bessel_ratio(z);
            // −(y² + ν²)/(2σ²) + log I₀(z) = −(y − |ν|)²/(2σ²) + log(e^(−|z|) I₀(z)): no cancellation.
            let gap = y - nu.abs();
            let lp = y.ln() - 2.0 * s.ln() - gap * gap / (2.0 * s2) + i0e(z).ln();
            let d_y = 1.0 / y - y / s2 + r * nu / s2;
            let d_nu = (r * y - nu) / s2;
            let d_s = -2.0 / s + (y * y + nu * nu) / (s2 * s) - 2.0 * r * z / s;
            Ok((lp, d_y, [d_nu, d_s]))
        })
    }
}
