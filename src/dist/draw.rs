//! Drawing replicates elementwise (posterior predictive checks): parameters broadcast over the data
//! (scalar or its shape); complex data drawn part by part with a location's real and imaginary parts.

use super::DensityError;
use crate::graph::Value;
use ndarray::ArrayD;
use num_complex::Complex64;

/// A draw shaped and typed like `like`; `draw(θ, rng)` draws one real element given the parameters
/// at that element, with the parameter `location` (if any) replaced by the real or imaginary part.
pub fn elementwise<const N: usize>(
    dist: &str,
    like: &Value,
    params: &[&Value],
    location: Option<usize>,
    rng: &mut dyn rand::RngCore,
    draw: impl Fn([f64; N], &mut dyn rand::RngCore) -> Result<f64, String>,
) -> Result<Value, DensityError> {
    if params.len() != N {
        return Err(DensityError::NonFinite(format!("{dist} takes {N} parameters")));
    }
    let n: usize = like.shape().iter().product();
    let cols: Vec<ArrayD<Complex64>> = params.iter().map(|p| p.to_complex()).collect();
    for c in &cols {
        if c.len() != 1 && c.len() != n {
            return Err(DensityError::NonFinite(format!(
                "{dist}: a parameter of shape {:?} for data of shape {:?}",
                c.shape(),
                like.shape()
            )));
        }
    }
    let flat: Vec<Vec<Complex64>> = cols.iter().map(|c| c.iter().copied().collect()).collect();
    let at = |i: usize, j: usize| {
        if flat[i].len() == 1 {
            flat[i][0]
        } else {
            flat[i][j]
        }
    };
    let err = |m: String| DensityError::OutOfSupport(format!("{dist}: {m}"));
    let part = |j: usize, imag: bool, rng: &mut dyn rand::RngCore| -> Result<f64, DensityError> {
        let theta: [f64; N] = std::array::from_fn(|i| {
            let z = at(i, j);
            match (Some(i) == location, imag) {
                (true, true) => z.im,
                _ => z.re,
            }
        });
        draw(theta, rng).map_err(err)
    };
    if like.is_complex() {
        let v = (0..n)
            .map(|j| Ok(Complex64::new(part(j, false, rng)?, part(j, true, rng)?)))
            .collect::<Result<Vec<_>, DensityError>>()?;
        ArrayD::from_shape_vec(like.shape(), v)
            .map(Value::Complex)
            .map_err(|e| DensityError::NonFinite(e.to_string()))
    } else {
        let v = (0..n)
            .map(|j| part(j, false, rng))
            .collect::<Result<Vec<_>, DensityError>>()?;
        ArrayD::from_shape_vec(like.shape(), v)
            .map(Value::Real)
            .map_err(|e| DensityError::NonFinite(e.to_string()))
    }
}

/// A standard normal draw.
pub fn normal(rng: &mut dyn rand::RngCore) -> f64 {
    rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng)
}

/// A uniform draw on (0, 1).
pub fn uniform(rng: &mut dyn rand::RngCore) -> f64 {
    rand_distr::Distribution::<f64>::sample(&rand_distr::Open01, rng)
}

/// A positive, finite parameter of a draw, or the message naming it.
pub fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be positive and finite, got {v}"))
    }
}
