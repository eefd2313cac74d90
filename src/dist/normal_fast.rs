//! `Normal`'s log density with a scalar sigma on contiguous tensors: one pass, one logarithm.

use super::{Density, DensityError};
use crate::graph::Value;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

/// The elements of a tensor as a slice, with their kind.
enum Flat<'a> {
    Real(&'a [f64]),
    Complex(&'a [Complex64]),
}

fn flat(v: &Value) -> Option<Flat<'_>> {
    match v {
        Value::Real(a) => a.as_slice().map(Flat::Real),
        Value::Complex(a) => a.as_slice().map(Flat::Complex),
    }
}

/// `y ~ N(mean, s0² + level²)` elementwise for a one-element `sigma = s0`, `y` and `mean` of one kind (both real
/// or both complex) with `mean` a scalar or of `y`'s shape, both contiguous; `None` when the
/// arguments are of another form (the general path handles them). Same values as the general path:
/// with `v = s0² + level²` and `R = Σ|rᵢ|²`, `log p = −R/(2v) − (kN/2)·ln v − kN·½ln 2π`,
/// `∂/∂mean = r/v`, `∂/∂s0 = s0·(R/v² − kN/v)` (`k = 2` for complex values).
pub(super) fn scalar_sigma(
    y: &Value,
    mean: &Value,
    sigma: &ArrayD<f64>,
    level: f64,
) -> Option<Result<Density, DensityError>> {
    let s0 = *sigma.as_slice().filter(|s| s.len() == 1)?.first()?;
    if s0.is_nan() || s0 <= 0.0 || s0.is_infinite() {
        return Some(Err(DensityError::OutOfSupport(format!(
            "Normal sigma must be positive, got {s0}"
        ))));
    }
    let var = s0 * s0 + level * level;
    let scalar_mean = mean.shape().iter().product::<usize>() == 1;
    if !scalar_mean && mean.shape() != y.shape() {
        return None;
    }
    let (log_p_core, n, k, d_x, d_mean) = match (flat(y)?, flat(mean)?) {
        (Flat::Real(ys), Flat::Real(ms)) => {
            let (r2, g) = residuals(ys, ms, scalar_mean, var);
            let d_mean = mean_grad(&g, scalar_mean, mean.shape(), |a, b| a + b)?;
            let d_x = g.iter().map(|v| -v).collect::<Vec<_>>();
            let d_x = Value::Real(ArrayD::from_shape_vec(IxDyn(y.shape()), d_x).ok()?);
            (r2, ys.len(), 1.0, d_x, Value::Real(d_mean))
        }
        (Flat::Complex(ys), Flat::Complex(ms)) => {
            let (r2, g) = residuals(ys, ms, scalar_mean, var);
            let d_mean = mean_grad(&g, scalar_mean, mean.shape(), |a, b| a + b)?;
            let d_x = g.iter().map(|v| -v).collect::<Vec<_>>();
            let d_x = Value::Complex(ArrayD::from_shape_vec(IxDyn(y.shape()), d_x).ok()?);
            (r2, ys.len(), 2.0, d_x, Value::Complex(d_mean))
        }
        _ => return None,
    };
    let kn = k * n as f64;
    let log_p = -0.5 * log_p_core / var - 0.5 * kn * var.ln() - kn * HALF_LOG_2PI;
    if !log_p.is_finite() {
        return Some(Err(DensityError::NonFinite(
            "Normal log-likelihood is not finite".into(),
        )));
    }
    let d_sigma = s0 * (log_p_core / (var * var) - kn / var);
    Some(Ok(Density {
        log_p,
        d_x: Some(d_x),
        d_params: vec![
            Some(d_mean),
            Some(Value::Real(ArrayD::from_elem(sigma.raw_dim(), d_sigma))),
        ],
    }))
}

/// `Σ|yᵢ − mᵢ|²` and `(yᵢ − mᵢ)/var` (a scalar mean broadcasts).
fn residuals<T>(ys: &[T], ms: &[T], scalar_mean: bool, var: f64) -> (f64, Vec<T>)
where
    T: Copy + std::ops::Sub<Output = T> + std::ops::Div<f64, Output = T> + Norm2,
{
    let mut r2 = 0.0;
    let g = if scalar_mean {
        let m = ms[0];
        ys.iter()
            .map(|&y| {
                let r = y - m;
                r2 += r.norm2();
                r / var
            })
            .collect()
    } else {
        ys.iter()
            .zip(ms)
            .map(|(&y, &m)| {
                let r = y - m;
                r2 += r.norm2();
                r / var
            })
            .collect()
    };
    (r2, g)
}

/// The mean's gradient: `g` itself, or its sum for a scalar mean.
fn mean_grad<T: Copy + Default>(
    g: &[T],
    scalar_mean: bool,
    shape: &[usize],
    add: impl Fn(T, T) -> T,
) -> Option<ArrayD<T>> {
    if scalar_mean {
        let total = g.iter().fold(T::default(), |a, &b| add(a, b));
        Some(ArrayD::from_elem(IxDyn(shape), total))
    } else {
        ArrayD::from_shape_vec(IxDyn(shape), g.to_vec()).ok()
    }
}

/// `|x|²`.
trait Norm2 {
    fn norm2(self) -> f64;
}

impl Norm2 for f64 {
    fn norm2(self) -> f64 {
        self * self
    }
}

impl Norm2 for Complex64 {
    fn norm2(self) -> f64 {
        self.norm_sqr()
    }
}
