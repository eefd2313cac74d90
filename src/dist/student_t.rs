//! `StudentT(nu, mu, sigma)`: the location–scale Student t with ν degrees of freedom (Stan's `student_t`), prior or likelihood.

use super::elementwise::{density_parts, finite, location_param, positive, positive_param, real_param};
use super::special::{digamma, ln_gamma};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;
use std::f64::consts::PI;

pub struct StudentT;

const SIGNATURES: &[Signature] = &[
    Signature {
        role: Role::Prior,
        params: &[
            positive_param("nu", "the degrees of freedom"),
            real_param("mu", "the location"),
            positive_param("sigma", "the scale"),
        ],
        notes: &[],
    },
    Signature {
        role: Role::Likelihood,
        params: &[
            positive_param("nu", "the degrees of freedom"),
            location_param("mu", "the location"),
            positive_param("sigma", "the noise scale"),
        ],
        notes: &[],
    },
];

impl Distribution for StudentT {
    fn name(&self) -> &'static str {
        "StudentT"
    }

    fn summary(&self) -> &'static str {
        "heavy-tailed location–scale law (nu degrees of freedom), robust to outliers; complex values: real and imaginary parts each"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `log p = log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − log σ − (ν+1)/2 · log(1 + z²/ν)`,
    /// z = (x − μ)/σ; complex values: real and imaginary parts each (a real mu is the real part's).
    /// `level` is ignored (the t convolved with a Gaussian has no closed form).
    /// `mu + sigma·t_nu` per element (complex data: real and imaginary parts each).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("StudentT", like, params, Some(1), rng, |[nu, mu, s], rng| {
            if nu.is_nan() || s.is_nan() || nu <= 0.0 || s <= 0.0 {
                return Err(format!("nu and sigma must be positive, got {nu}, {s}"));
            }
            let t = rand_distr::StudentT::new(nu).map_err(|e| e.to_string())?;
            Ok(mu + s * rand_distr::Distribution::<f64>::sample(&t, rng))
        })
    }

    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density_parts(
            "StudentT",
            ["nu", "mu", "sigma"],
            [false, true, false],
            x,
            params,
            |x, [nu, mu, s]| {
                positive("nu", nu)?;
                finite("mu", mu)?;
                positive("sigma", s)?;
                finite("the value", x)?;
                let z = (x - mu) / s;
                let t = 1.0 + z * z / nu;
                let half = 0.5 * (nu + 1.0);
                let lp = ln_gamma(half) - ln_gamma(0.5 * nu) - 0.5 * (nu * PI).ln() - s.ln() - half * t.ln();
                let d_x = -(nu + 1.0) * z / (nu * s * t);
                let d_s = -1.0 / s + (nu + 1.0) * z * z / (nu * s * t);
                let d_nu = 0.5 * (digamma(half) - digamma(0.5 * nu)) - 0.5 / nu - 0.5 * t.ln()
                    + half * z * z / (nu * nu * t);
                Ok((lp, d_x, [d_nu, -d_x, d_s]))
            },
        )
    }
}
