//! `Laplace(mu, b)`: the double exponential (Stan's `double_exponential`), prior or likelihood.

use super::elementwise::{density_parts, finite, location_param, positive, positive_param, real_param};
use super::{Density, DensityError, Distribution, Role, Signature, Support};
use crate::graph::Value;

pub struct Laplace;

const SIGNATURES: &[Signature] = &[
    Signature {
        role: Role::Prior,
        params: &[
            real_param("mu", "the location"),
            positive_param("b", "the Laplace scale"),
        ],
        notes: &[],
    },
    Signature {
        role: Role::Likelihood,
        params: &[
            location_param("mu", "the location"),
            positive_param("b", "the noise scale"),
        ],
        notes: &[],
    },
];

impl Distribution for Laplace {
    fn name(&self) -> &'static str {
        "Laplace"
    }

    fn summary(&self) -> &'static str {
        "exp(−abs(x − mu)/b)/(2b): sparsity-promoting prior, robust ℓ1 likelihood; complex values: real and imaginary parts each"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `log p = −log 2b − |x − μ|/b`, complex values: real and imaginary parts each (a real mu is
    /// the real part's); the derivative in x at x = μ is taken as 0
    /// (the subgradient's midpoint). `level` is ignored (no closed form).
    /// `mu − b·sign(u)·ln(1 − 2|u|)`, u uniform on (−½, ½) (complex data: parts each).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Laplace", like, params, Some(0), rng, |[mu, b], rng| {
            if b.is_nan() || b <= 0.0 {
                return Err(format!("b must be positive, got {b}"));
            }
            let u = super::draw::uniform(rng) - 0.5;
            Ok(mu - b * u.signum() * (1.0 - 2.0 * u.abs()).ln())
        })
    }

    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        density_parts("Laplace", ["mu", "b"], [true, false], x, params, |x, [mu, b]| {
            finite("mu", mu)?;
            positive("b", b)?;
            finite("the value", x)?;
            let r = x - mu;
            let sign = if r > 0.0 {
                1.0
            } else if r < 0.0 {
                -1.0
            } else {
                0.0
            };
            let lp = -(2.0 * b).ln() - r.abs() / b;
            Ok((lp, -sign / b, [sign / b, -1.0 / b + r.abs() / (b * b)]))
        })
    }
}
