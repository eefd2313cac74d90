//! One term of the log density through the graph: a distribution's density at node values (parameters
//! broadcast to the variate, or gathered at an observation mask) and its gradients as cotangent seeds.

use crate::dist::{Call, Density, DensityError};
use crate::graph::{NodeId, Value};
use crate::infer::target::EvalError;

/// `call`'s log density at `x`, with its parameters' values from the forward pass.
pub(super) fn density<'v>(
    call: &Call,
    x: &Value,
    node: &impl Fn(NodeId) -> Result<&'v Value, EvalError>,
    level: f64,
    label: &str,
) -> Result<Density, EvalError> {
    let mut params = call
        .params
        .iter()
        .map(|&id| node(id).map(std::borrow::Cow::Borrowed))
        .collect::<Result<Vec<_>, _>>()?;
    // Parameters that broadcast (numpy's rules) other than as scalars are stretched to the variate.
    for p in params.iter_mut().filter(|_| call.dist.broadcasts_params()) {
        let numel: usize = p.shape().iter().product();
        if numel != 1 && p.shape() != x.shape() {
            let b = p.broadcast_to(x.shape()).ok_or_else(|| {
                EvalError::Fatal(format!(
                    "{label}: a parameter of shape {:?} does not broadcast to {:?}",
                    p.shape(),
                    x.shape()
                ))
            })?;
            *p = std::borrow::Cow::Owned(b);
        }
    }
    let params: Vec<&Value> = params.iter().map(|p| p.as_ref()).collect();
    call.dist
        .log_density(x, &params, level)
        .map_err(|e| eval_error(e, label))
}

/// [`density`] on the observed elements only: the data and every parameter (stretched to the data's
/// shape) gathered at `idx`, the parameters' gradients scattered back (zero where unobserved).
pub(super) fn masked_density<'v>(
    call: &Call,
    y: &Value,
    idx: &[usize],
    node: &impl Fn(NodeId) -> Result<&'v Value, EvalError>,
    level: f64,
    label: &str,
) -> Result<Density, EvalError> {
    let shape = y.shape().to_vec();
    let gather = |v: &Value| -> Result<Value, EvalError> {
        let numel: usize = v.shape().iter().product();
        if numel == 1 {
            return Ok(v.clone());
        }
        let full = v.broadcast_to(&shape).ok_or_else(|| {
            EvalError::Fatal(format!("{label}: a parameter does not broadcast to the data"))
        })?;
        Ok(match full {
            Value::Real(a) => {
                let flat: Vec<f64> = a.iter().copied().collect();
                Value::Real(
                    ndarray::ArrayD::from_shape_vec(
                        ndarray::IxDyn(&[idx.len()]),
                        idx.iter().map(|&i| flat[i]).collect(),
                    )
                    .map_err(|e| EvalError::Fatal(e.to_string()))?,
                )
            }
            Value::Complex(a) => {
                let flat: Vec<num_complex::Complex64> = a.iter().copied().collect();
                Value::Complex(
                    ndarray::ArrayD::from_shape_vec(
                        ndarray::IxDyn(&[idx.len()]),
                        idx.iter().map(|&i| flat[i]).collect(),
                    )
                    .map_err(|e| EvalError::Fatal(e.to_string()))?,
                )
            }
        })
    };
    let ys = gather(y)?;
    let values = call
        .params
        .iter()
        .map(|&id| node(id).and_then(gather))
        .collect::<Result<Vec<_>, _>>()?;
    let params: Vec<&Value> = values.iter().collect();
    let mut d = call
        .dist
        .log_density(&ys, &params, level)
        .map_err(|e| eval_error(e, label))?;
    let scatter = |g: Value| -> Value {
        match g {
            Value::Real(a) if a.len() == idx.len() && a.ndim() == 1 => {
                let mut out = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&shape));
                if let Some(o) = out.as_slice_mut() {
                    idx.iter().zip(a.iter()).for_each(|(&i, v)| o[i] = *v);
                }
                Value::Real(out)
            }
            Value::Complex(a) if a.len() == idx.len() && a.ndim() == 1 => {
                let mut out = ndarray::ArrayD::<num_complex::Complex64>::zeros(ndarray::IxDyn(&shape));
                if let Some(o) = out.as_slice_mut() {
                    idx.iter().zip(a.iter()).for_each(|(&i, v)| o[i] = *v);
                }
                Value::Complex(out)
            }
            g => g,
        }
    };
    d.d_params = d.d_params.into_iter().map(|g| g.map(scatter)).collect();
    d.d_x = d.d_x.map(scatter);
    Ok(d)
}

/// The parameters' gradients as cotangent seeds on their nodes; a gradient over the variate's shape
/// for a parameter that broadcast (a scalar, or a real parameter of a complex variate) is reduced to
/// the parameter's type.
pub(super) fn seed_params<'v>(
    call: &Call,
    grads: Vec<Option<Value>>,
    node: &impl Fn(NodeId) -> Result<&'v Value, EvalError>,
    seeds: &mut Vec<(NodeId, Value)>,
) -> Result<(), EvalError> {
    for (&id, g) in call.params.iter().zip(grads) {
        let Some(g) = g else { continue };
        let p = node(id)?;
        let g = match (p, g) {
            (Value::Real(_), Value::Complex(c)) => Value::Real(c.mapv(|z| z.re)),
            (_, g) => g,
        };
        if g.shape() == p.shape() {
            seeds.push((id, g));
            continue;
        }
        let total = g.sum_to(p.shape()).ok_or_else(|| {
            EvalError::Fatal(format!(
                "{}: a parameter gradient of shape {:?} for a parameter of shape {:?}",
                call.name(),
                g.shape(),
                p.shape()
            ))
        })?;
        seeds.push((id, total));
    }
    Ok(())
}

/// A density's failure as the posterior's, prefixed with the term's label.
fn eval_error(e: DensityError, label: &str) -> EvalError {
    match e {
        DensityError::OutOfSupport(m) => EvalError::OutOfSupport(format!("{label}: {m}")),
        DensityError::NonFinite(m) => EvalError::NonFinite(format!("{label}: {m}")),
        e @ DensityError::Unavailable(_) => EvalError::Fatal(format!("{label}: {e}")),
    }
}
