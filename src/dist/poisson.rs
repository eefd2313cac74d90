//! `Poisson(rate)`: the count likelihood; log p = Σ y log λ − λ − log Γ(y + 1), −∞ where λ ≤ 0.

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
        let [Value::Real(lam)] = params else {
            return Err(DensityError::NonFinite("Poisson rate must be real".into()));
        };
        let mut out = ArrayD::<f64>::zeros(like.shape());
        for (o, &l) in out.iter_mut().zip(lam.iter()) {
            if !(l > 0.0 && l.is_finite()) {
                return Err(DensityError::OutOfSupport(format!(
                    "Poisson rate must be positive, got {l}"
                )));
            }
            let d = rand_distr::Poisson::new(l).map_err(|e| DensityError::NonFinite(e.to_string()))?;
            *o = rand_distr::Distribution::<f64>::sample(&d, rng);
        }
        Ok(Value::Real(out))
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

/// log Γ(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-13 on the positive axis).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..20 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-10, "n = {n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn a_non_positive_rate_is_outside_the_support() {
        let y = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, 2.0]).unwrap_or_default());
        let r = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, -0.5]).unwrap_or_default());
        let d = Poisson.log_density(&y, &[&r], 0.0);
        assert!(matches!(d, Err(DensityError::OutOfSupport(_))), "{d:?}");
    }
}
