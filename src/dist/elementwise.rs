//! Real elementwise densities: parameters broadcast over the variate (scalar or its shape), the
//! pointwise log densities summed, their parameter gradients summed back to each parameter's shape.

use super::{Constraint, Density, DensityError, Param, ParamKind};
use crate::graph::Value;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;
use std::ops::Add;

/// One element's log density, `∂/∂x` and `∂/∂θ_i`.
pub type Point<const N: usize> = (f64, f64, [f64; N]);

/// `Σ_j log p(x_j | θ_j)` over the elements of a real `x`, each parameter a scalar or shaped like
/// `x`. `point` gives one element's log density and partials, or why it is outside the support
/// (reported as `OutOfSupport`, prefixed with `dist`). `names` name the parameters in messages.
pub fn density<const N: usize>(
    dist: &str,
    names: [&str; N],
    x: &Value,
    params: &[&Value],
    point: impl Fn(f64, [f64; N]) -> Result<Point<N>, String>,
) -> Result<Density, DensityError> {
    if params.len() != N {
        return Err(DensityError::NonFinite(format!(
            "{dist} takes {N} parameters ({}), found {}",
            names.join(", "),
            params.len()
        )));
    }
    let Value::Real(xs) = x else {
        return Err(DensityError::OutOfSupport(format!(
            "{dist} is real-valued: a complex value has no density under it"
        )));
    };
    let n = xs.len();
    let mut columns: Vec<(Vec<f64>, bool)> = Vec::with_capacity(N);
    for (name, p) in names.iter().zip(params) {
        let Value::Real(a) = p else {
            return Err(DensityError::OutOfSupport(format!(
                "{dist} {name} must be real, found a complex value"
            )));
        };
        let scalar = a.len() == 1;
        if !scalar && a.shape() != xs.shape() {
            return Err(DensityError::NonFinite(format!(
                "{dist} {name} has shape {:?}: expected a scalar or the variate's shape {:?}",
                a.shape(),
                xs.shape()
            )));
        }
        columns.push((a.iter().copied().collect(), scalar));
    }
    let mut log_p = 0.0;
    let mut d_x = Vec::with_capacity(n);
    let mut d_params: Vec<Vec<f64>> = columns
        .iter()
        .map(|(v, scalar)| vec![0.0; if *scalar { 1 } else { v.len() }])
        .collect();
    for (j, &xj) in xs.iter().enumerate() {
        let theta: [f64; N] = std::array::from_fn(|i| {
            let (v, scalar) = &columns[i];
            v[if *scalar { 0 } else { j }]
        });
        let (lp, dx, dp) =
            point(xj, theta).map_err(|m| DensityError::OutOfSupport(format!("{dist}: {m}")))?;
        log_p += lp;
        d_x.push(dx);
        for (i, g) in dp.iter().enumerate() {
            let k = if columns[i].1 { 0 } else { j };
            d_params[i][k] += g;
        }
    }
    if !log_p.is_finite() {
        return Err(DensityError::NonFinite(format!(
            "{dist} log density is not finite ({log_p})"
        )));
    }
    let d_x =
        ArrayD::from_shape_vec(xs.raw_dim(), d_x).map_err(|e| DensityError::NonFinite(e.to_string()))?;
    let d_params = params
        .iter()
        .zip(d_params)
        .map(|(p, g)| ArrayD::from_shape_vec(IxDyn(p.shape()), g).ok().map(Value::Real))
        .collect();
    Ok(Density {
        log_p,
        d_x: Some(Value::Real(d_x)),
        d_params,
    })
}

/// A gradient shaped like the variate, summed to `shape` when the parameter was a broadcast scalar.
pub fn sum_to<T: Clone + Default + Add<Output = T>>(g: ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    if g.shape() == shape {
        g
    } else {
        let total = g.iter().fold(T::default(), |a, b| a + b.clone());
        ArrayD::from_elem(IxDyn(shape), total)
    }
}

/// `Ok` when `v` is a positive finite number, else the message naming the parameter.
pub fn positive(name: &str, v: f64) -> Result<(), String> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} must be positive and finite, got {v}"))
    }
}

/// `Ok` when `v` is finite, else the message naming the parameter.
pub fn finite(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} must be finite, got {v}"))
    }
}

/// A positive real parameter that may be a latent (a scale, a shape, a rate).
pub const fn positive_param(name: &'static str, what: &'static str) -> Param {
    Param {
        name,
        what,
        ty: "",
        kind: ParamKind::Free {
            real: true,
            constraint: Constraint::Positive,
        },
        default: None,
    }
}

/// A real parameter that may be a latent (a prior's location).
pub const fn real_param(name: &'static str, what: &'static str) -> Param {
    Param {
        name,
        what,
        ty: "",
        kind: ParamKind::Free {
            real: true,
            constraint: Constraint::Unconstrained,
        },
        default: None,
    }
}

/// A likelihood's location: any expression with exactly the data's type.
pub const fn location_param(name: &'static str, what: &'static str) -> Param {
    Param {
        name,
        what,
        ty: "",
        kind: ParamKind::Location,
        default: None,
    }
}

/// [`density`] for a distribution on the real line that takes complex values as independent real
/// and imaginary parts (like `Normal`): the parts are the variate's interleaved elements, a
/// location parameter (`locations[i]`) gives the real part's location and, when complex, the
/// imaginary part's (a real one: 0), other parameters apply to both parts. Real values go straight
/// to [`density`].
pub fn density_parts<const N: usize>(
    dist: &str,
    names: [&str; N],
    locations: [bool; N],
    x: &Value,
    params: &[&Value],
    point: impl Fn(f64, [f64; N]) -> Result<Point<N>, String>,
) -> Result<Density, DensityError> {
    let Value::Complex(xs) = x else {
        return density(dist, names, x, params, point);
    };
    let n = xs.len();
    let parts = |it: &mut dyn Iterator<Item = Complex64>| -> Value {
        let v: Vec<f64> = it.flat_map(|z| [z.re, z.im]).collect();
        Value::Real(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap_or_default())
    };
    let mut split = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let len = p.shape().iter().product::<usize>();
        let location = locations.get(i).copied().unwrap_or(false);
        split.push(match p {
            Value::Complex(a) if location && len == 1 => {
                let z = a.iter().next().copied().unwrap_or_default();
                parts(&mut std::iter::repeat_n(z, n))
            }
            Value::Complex(a) if location && a.shape() == xs.shape() => parts(&mut a.iter().copied()),
            Value::Real(a) if location && len == 1 => {
                let m = a.iter().next().copied().unwrap_or(f64::NAN);
                parts(&mut std::iter::repeat_n(Complex64::new(m, 0.0), n))
            }
            Value::Real(a) if location && a.shape() == xs.shape() => {
                parts(&mut a.iter().map(|&m| Complex64::new(m, 0.0)))
            }
            Value::Real(a) if len != 1 && a.shape() == xs.shape() => {
                let v: Vec<f64> = a.iter().flat_map(|&s| [s, s]).collect();
                Value::Real(ArrayD::from_shape_vec(IxDyn(&[2 * n]), v).unwrap_or_default())
            }
            // Scalars (non-location) stay scalars; other shapes and complex scales fail in `density`.
            other => (*other).clone(),
        });
    }
    let xr = parts(&mut xs.iter().copied());
    let refs: Vec<&Value> = split.iter().collect();
    let d = density(dist, names, &xr, &refs, point)?;
    let pairs = |g: &Option<Value>| -> Vec<Complex64> {
        match g {
            Some(Value::Real(a)) => {
                let v: Vec<f64> = a.iter().copied().collect();
                v.chunks(2)
                    .map(|c| Complex64::new(c[0], c.get(1).copied().unwrap_or(0.0)))
                    .collect()
            }
            _ => Vec::new(),
        }
    };
    let shaped = |v: Vec<Complex64>, shape: &[usize]| {
        ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| DensityError::NonFinite(e.to_string()))
    };
    let d_x = Value::Complex(shaped(pairs(&d.d_x), xs.shape())?);
    let mut d_params = Vec::with_capacity(params.len());
    for (i, (p, g)) in params.iter().zip(&d.d_params).enumerate() {
        let len = p.shape().iter().product::<usize>();
        let location = locations.get(i).copied().unwrap_or(false);
        d_params.push(Some(match p {
            _ if len == 1 && !location => g.clone().unwrap_or_else(|| (*p).clone()),
            Value::Complex(_) => {
                let z = sum_to(shaped(pairs(g), xs.shape())?, p.shape());
                Value::Complex(z)
            }
            // A real location moves the real parts only; a real scale acts on both parts.
            Value::Real(_) => {
                let take = |z: &Complex64| if location { z.re } else { z.re + z.im };
                let v: Vec<f64> = pairs(g).iter().map(take).collect();
                let a = ArrayD::from_shape_vec(IxDyn(xs.shape()), v)
                    .map_err(|e| DensityError::NonFinite(e.to_string()))?;
                Value::Real(sum_to(a, p.shape()))
            }
        }));
    }
    Ok(Density {
        log_p: d.log_p,
        d_x: Some(d_x),
        d_params,
    })
}
