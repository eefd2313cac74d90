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
    let (y_shape, m_shape) = (y.shape(), mean.shape());
    let (log_p_core, n, k, d_x, d_mean) = match (flat(y)?, flat(mean)?) {
        (Flat::Real(ys), Flat::Real(ms)) => {
            let (r2, d_x, d_mean) = gradients(ys, ms, scalar_mean, var, y_shape, m_shape)?;
            (r2, ys.len(), 1.0, Value::Real(d_x), Value::Real(d_mean))
        }
        (Flat::Complex(ys), Flat::Complex(ms)) => {
            let (r2, d_x, d_mean) = gradients(ys, ms, scalar_mean, var, y_shape, m_shape)?;
            (r2, ys.len(), 2.0, Value::Complex(d_x), Value::Complex(d_mean))
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

/// `R = Σ|yᵢ − mᵢ|²` (a scalar mean broadcasts), `∂/∂y = −(y − m)/var` shaped like `y`, and
/// `∂/∂mean = (y − m)/var` shaped like the mean (summed for a scalar mean).
fn gradients<T>(
    ys: &[T],
    ms: &[T],
    scalar_mean: bool,
    var: f64,
    y_shape: &[usize],
    m_shape: &[usize],
) -> Option<(f64, ArrayD<T>, ArrayD<T>)>
where
    T: Copy + Default + std::ops::Add<Output = T> + std::ops::Sub<Output = T> + std::ops::Neg<Output = T>,
    T: std::ops::Div<f64, Output = T> + Norm2,
{
    let mut r2 = 0.0;
    let mut step = |y: T, m: T| {
        let r = y - m;
        r2 += r.norm2();
        r / var
    };
    let g: Vec<T> = match (scalar_mean, ms.first()) {
        (true, Some(&m)) => ys.iter().map(|&y| step(y, m)).collect(),
        _ => ys.iter().zip(ms).map(|(&y, &m)| step(y, m)).collect(),
    };
    let d_x = ArrayD::from_shape_vec(IxDyn(y_shape), g.iter().map(|&v| -v).collect()).ok()?;
    let d_mean = if scalar_mean {
        ArrayD::from_elem(IxDyn(m_shape), g.iter().fold(T::default(), |a, &b| a + b))
    } else {
        ArrayD::from_shape_vec(IxDyn(m_shape), g).ok()?
    };
    Some((r2, d_x, d_mean))
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

#[cfg(test)]
mod tests {
    use super::super::{normal::Normal, Distribution};
    use crate::graph::Value;
    use ndarray::{ArrayD, IxDyn};
    use num_complex::Complex64;

    fn real(shape: &[usize], f: impl Fn(usize) -> f64) -> Value {
        let n = shape.iter().product();
        Value::Real(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap())
    }

    fn complex(shape: &[usize], f: impl Fn(usize) -> Complex64) -> Value {
        let n = shape.iter().product();
        Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap())
    }

    /// The one-pass path (one-element sigma) equals the general elementwise path (sigma given per
    /// element, its gradient summed) in the log density and every gradient, real and complex, for a
    /// scalar and a full mean, at level 0 and while annealing.
    #[test]
    fn one_pass_equals_the_elementwise_path() {
        let shape = [3, 4];
        let ys = [
            real(&shape, |i| (i as f64 * 0.7).sin()),
            complex(&shape, |i| Complex64::new((i as f64).cos(), 0.3 * i as f64)),
        ];
        for y in &ys {
            let c = y.is_complex();
            let full = if c {
                complex(&shape, |i| Complex64::new(0.1 * i as f64, -0.2))
            } else {
                real(&shape, |i| 0.1 * i as f64)
            };
            let scalar = if c {
                complex(&[], |_| Complex64::new(0.2, 0.1))
            } else {
                Value::scalar(0.2)
            };
            for mean in [&full, &scalar] {
                for level in [0.0, 0.3] {
                    let s0 = 0.45;
                    let fast = Normal.log_density(y, &[mean, &Value::scalar(s0)], level).unwrap();
                    let each = real(&shape, |_| s0);
                    let slow = Normal.log_density(y, &[mean, &each], level).unwrap();
                    assert!((fast.log_p - slow.log_p).abs() < 1e-12 * slow.log_p.abs().max(1.0));
                    let close = |a: &Value, b: &Value| {
                        let (a, b) = (a.interleaved(), b.interleaved());
                        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12)
                    };
                    assert!(close(fast.d_x.as_ref().unwrap(), slow.d_x.as_ref().unwrap()));
                    assert!(close(
                        fast.d_params[0].as_ref().unwrap(),
                        slow.d_params[0].as_ref().unwrap()
                    ));
                    let ds_fast = fast.d_params[1].as_ref().unwrap().interleaved()[0];
                    let ds_slow: f64 = slow.d_params[1].as_ref().unwrap().interleaved().iter().sum();
                    assert!(
                        (ds_fast - ds_slow).abs() < 1e-10 * ds_slow.abs().max(1.0),
                        "{ds_fast} vs {ds_slow}"
                    );
                }
            }
        }
    }
}
