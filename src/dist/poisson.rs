//! `Poisson(rate)`: the count likelihood; log p = Σ y log λ − λ − log Γ(y + 1), −∞ where λ ≤ 0.

use super::special::ln_gamma;
use super::{Density, DensityError, Distribution, Param, ParamKind, Role, Signature, Support};
use crate::graph::Value;
use ndarray::{ArrayD, Zip};

pub struct Poisson;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Likelihood,
    params: &[Param {
        name: "rate",
        what: "the rate",
        ty: "",
        kind: ParamKind::Location,
        default: None,
    }],
    notes: &[],
}];

impl Distribution for Poisson {
    fn name(&self) -> &'static str {
        "Poisson"
    }

    fn summary(&self) -> &'static str {
        "photon or event counts with expected value `rate` (> 0 at every point)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Counts
    }

    /// Counts are not annealed: `level` is ignored.
    /// Counts drawn at each rate.
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        if params.iter().any(|p| p.is_complex()) {
            return Err(DensityError::NonFinite("Poisson rate must be real".into()));
        }
        super::draw::elementwise("Poisson", like, params, None, rng, |[l], rng| {
            let d = rand_distr::Poisson::new(l).map_err(|_| format!("rate must be positive, got {l}"))?;
            Ok(rand_distr::Distribution::<f64>::sample(&d, rng))
        })
    }

    fn log_density(&self, y: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        let (Value::Real(y), [Value::Real(lam)]) = (y, params) else {
            return Err(DensityError::NonFinite(
                "Poisson data and rate must be real".into(),
            ));
        };
        let mut log_p = 0.0;
        let mut grad = ArrayD::<f64>::zeros(lam.raw_dim());
        let mut bad = None;
        Zip::from(&mut grad).and(y).and(lam).for_each(|g, &yi, &li| {
            if li <= 0.0 || !li.is_finite() {
                bad.get_or_insert(li);
                return;
            }
            log_p += yi * li.ln() - li - ln_gamma(yi + 1.0);
            *g = yi / li - 1.0;
        });
        if let Some(li) = bad {
            return Err(DensityError::OutOfSupport(format!(
                "Poisson rate must be positive, got {li}"
            )));
        }
        if !log_p.is_finite() {
            return Err(DensityError::NonFinite(
                "Poisson log-likelihood is not finite".into(),
            ));
        }
        Ok(Density {
            log_p,
            d_x: None,
            d_params: vec![Some(Value::Real(grad))],
        })
    }

    /// Λ_jj = 1/(2 max(y_j, 1)): the inverse Poisson variance ≈ 1/y, halved as in DPS (Chung et al.);
    /// the `max` keeps empty pixels finite.
    fn dps_weights(&self, y: &Value) -> Option<ArrayD<f64>> {
        Some(y.to_complex().mapv(|v| 1.0 / (2.0 * v.re.max(1.0))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_positive_rate_is_outside_the_support() {
        let y = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, 2.0]).unwrap_or_default());
        let r = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, -0.5]).unwrap_or_default());
        let d = Poisson.log_density(&y, &[&r], 0.0);
        assert!(matches!(d, Err(DensityError::OutOfSupport(_))), "{d:?}");
    }
}
