//! `Normal(mu, sigma)`: an iid (or elementwise) Gaussian prior, and the Gaussian likelihood (complex data: re and im each).

use super::elementwise::sum_to;
use super::rules::broadcast_flat;
use super::{
    BuildError, Constraint, Density, DensityError, Distribution, Param, ParamKind, Role, Signature, Support,
};
use crate::graph::Value;
use crate::score::{NormalPrior, ScoreModel};
use ndarray::{Array1, ArrayD};
use num_complex::Complex64;

pub struct Normal;

const SIGMA: ParamKind = ParamKind::Free {
    real: true,
    constraint: Constraint::Positive,
};

const SIGNATURES: &[Signature] = &[
    Signature {
        role: Role::Prior,
        params: &[
            Param {
                name: "mu",
                what: "the prior mean",
                ty: "",
                kind: ParamKind::Free {
                    real: false,
                    constraint: Constraint::Unconstrained,
                },
                default: None,
            },
            Param {
                name: "sigma",
                what: "the prior standard deviation",
                ty: "",
                kind: SIGMA,
                default: None,
            },
        ],
        notes: &[],
    },
    Signature {
        role: Role::Likelihood,
        params: &[
            Param {
                name: "mean",
                what: "the mean",
                ty: "",
                kind: ParamKind::Location,
                default: None,
            },
            Param {
                name: "sigma",
                what: "the noise standard deviation",
                ty: "",
                kind: SIGMA,
                default: None,
            },
        ],
        notes: &[],
    },
];

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

impl Distribution for Normal {
    fn name(&self) -> &'static str {
        "Normal"
    }

    fn summary(&self) -> &'static str {
        "Gaussian; scalars broadcast; complex values: real and imaginary parts each N(·, sigma²)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `x ~ N(mean, sigma² + level²)` elementwise (annealing inflates the variance: the exact
    /// density of x plus N(0, level²) noise); complex values: real and imaginary parts each, a
    /// real mean being the real part's.
    fn log_density(&self, y: &Value, params: &[&Value], level: f64) -> Result<Density, DensityError> {
        let [mean, sigma] = params else {
            return Err(DensityError::NonFinite("Normal takes a mean and a sigma".into()));
        };
        let complex = y.is_complex() || mean.is_complex();
        let k = if complex { 2.0 } else { 1.0 };
        let sig = match sigma {
            Value::Real(s) => s,
            Value::Complex(_) => return Err(DensityError::NonFinite("sigma must be real".into())),
        };
        if let Some(d) = super::normal_fast::scalar_sigma(y, mean, sig, level) {
            return d;
        }
        let n = y.shape().iter().product::<usize>();
        for (name, v) in [("mean", *mean), ("sigma", *sigma)] {
            let len = v.shape().iter().product::<usize>();
            if len != 1 && v.shape() != y.shape() {
                return Err(DensityError::NonFinite(format!(
                    "Normal {name} has shape {:?}: expected a scalar or the variate's shape {:?}",
                    v.shape(),
                    y.shape()
                )));
            }
        }
        // Residual r = y − mean as complex (imaginary part 0 for real values); a scalar mean broadcasts.
        let (yc, mc) = (y.to_complex(), mean.to_complex());
        let scalar_mean = mc.len() == 1;
        let m0 = mc.iter().next().copied().unwrap_or_default();
        let r: ArrayD<Complex64> = if scalar_mean {
            yc.mapv(|v| v - m0)
        } else {
            let diffs = yc.iter().zip(mc.iter()).map(|(a, b)| a - b).collect();
            ArrayD::from_shape_vec(yc.raw_dim(), diffs).map_err(|e| DensityError::NonFinite(e.to_string()))?
        };
        let scalar_sigma = sig.len() == 1;
        let sig_at = |i: usize| -> f64 {
            if scalar_sigma {
                sig.iter().next().copied().unwrap_or(f64::NAN)
            } else {
                sig.as_slice()
                    .and_then(|s| s.get(i).copied())
                    .unwrap_or_else(|| sig.iter().nth(i).copied().unwrap_or(f64::NAN))
            }
        };
        let mut log_p = 0.0;
        let mut d_mean = ArrayD::<Complex64>::zeros(r.raw_dim());
        let mut d_sig_elems = vec![0.0; if scalar_sigma { 1 } else { n }];
        for (i, (ri, dm)) in r.iter().zip(d_mean.iter_mut()).enumerate() {
            let s0 = sig_at(i);
            if s0.is_nan() || s0 <= 0.0 || s0.is_infinite() {
                return Err(DensityError::OutOfSupport(format!(
                    "Normal sigma must be positive, got {s0}"
                )));
            }
            let var = s0 * s0 + level * level;
            let r2 = ri.norm_sqr();
            log_p += -0.5 * r2 / var - 0.5 * k * var.ln() - k * HALF_LOG_2PI;
            *dm = ri / var;
            // d/ds0 of (−r²/(2v) − k/2 log v) with v = s0² + level².
            let dv = 0.5 * r2 / (var * var) - 0.5 * k / var;
            d_sig_elems[if scalar_sigma { 0 } else { i }] += dv * 2.0 * s0;
        }
        if !log_p.is_finite() {
            return Err(DensityError::NonFinite(
                "Normal log-likelihood is not finite".into(),
            ));
        }
        // ∂/∂y = −∂/∂mean.
        let d_x = if y.is_complex() {
            Value::Complex(d_mean.mapv(|z| -z))
        } else {
            Value::Real(d_mean.mapv(|z| -z.re))
        };
        let d_mean = if mean.is_complex() {
            Value::Complex(sum_to(d_mean, mean.shape()))
        } else {
            Value::Real(sum_to(d_mean.mapv(|z| z.re), mean.shape()))
        };
        let d_sigma = ArrayD::from_shape_vec(sig.raw_dim(), d_sig_elems)
            .ok()
            .map(Value::Real);
        Ok(Density {
            log_p,
            d_x: Some(d_x),
            d_params: vec![Some(d_mean), d_sigma],
        })
    }

    /// `mean + sigma·z` elementwise (complex: real and imaginary parts each).
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        super::draw::elementwise("Normal", like, params, Some(0), rng, |[mean, s], rng| {
            if s.is_nan() || s <= 0.0 || s.is_infinite() {
                return Err(format!("sigma must be positive, got {s}"));
            }
            Ok(mean + s * super::draw::normal(rng))
        })
    }

    fn annealable(&self) -> bool {
        true
    }

    fn build_prior(
        &self,
        params: &[Value],
        dim: usize,
        complex: bool,
    ) -> Result<Box<dyn ScoreModel>, BuildError> {
        let [mu, sigma] = params else {
            return Err(BuildError("Normal takes a mean and a sigma".into()));
        };
        let m = broadcast_flat(mu, dim, complex)
            .ok_or_else(|| BuildError("Normal mean does not fit the latent".into()))?;
        let s = broadcast_flat(sigma, dim, complex)
            .ok_or_else(|| BuildError("Normal sd does not fit the latent".into()))?;
        // Complex latent with a real mean: the imaginary parts have mean 0 (as in `log_density`).
        let m = if complex && !mu.is_complex() {
            Array1::from_iter(
                m.iter()
                    .enumerate()
                    .map(|(i, v)| if i % 2 == 0 { *v } else { 0.0 }),
            )
        } else {
            m
        };
        let prior = NormalPrior::new(m, s).map_err(|e| BuildError(e.to_string()))?;
        Ok(Box::new(prior))
    }
}
