//! Kernel plumbing shared by the ops: the element trait over `f64`/`Complex64`, row-major slices,
//! array construction and plane (last-two-axes) geometry.

use super::{Op, OpError};
use crate::graph::value::{broadcast_shapes, Value};
use ndarray::{ArrayD, IxDyn, Zip};
use num_complex::Complex64;
use std::borrow::Cow;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// An element type of a tensor: `f64` or `Complex64`.
pub(crate) trait Elem:
    Copy
    + Default
    + PartialEq
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + Send
    + Sync
    + 'static
{
    fn conj(self) -> Self;
    fn scale(self, s: f64) -> Self;
}

impl Elem for f64 {
    fn conj(self) -> Self {
        self
    }
    fn scale(self, s: f64) -> Self {
        self * s
    }
}

impl Elem for Complex64 {
    fn conj(self) -> Self {
        Complex64::conj(&self)
    }
    fn scale(self, s: f64) -> Self {
        self * s
    }
}

/// The elements in row-major order, borrowed when the array is already in standard layout.
pub(crate) fn row_major<T: Clone>(a: &ArrayD<T>) -> Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().cloned().collect()),
    }
}

/// The elements of a value as complex numbers in row-major order (always a fresh buffer).
pub(crate) fn complex_vec(v: &Value) -> Vec<Complex64> {
    complex_vec_times(v, 1.0)
}

/// [`complex_vec`] with every element multiplied by `scale` on the way (a scaling folded into the
/// copy; `1.0` leaves the bits as they are).
pub(crate) fn complex_vec_times(v: &Value, scale: f64) -> Vec<Complex64> {
    match v {
        Value::Real(a) => match a.as_slice() {
            Some(s) => s.iter().map(|&x| Complex64::new(x * scale, 0.0)).collect(),
            None => a.iter().map(|&x| Complex64::new(x * scale, 0.0)).collect(),
        },
        Value::Complex(a) => match a.as_slice() {
            Some(s) => s.iter().map(|&z| z * scale).collect(),
            None => a.iter().map(|&z| z * scale).collect(),
        },
    }
}

/// An array from a row-major buffer (lengths are computed by the kernels from checked shapes).
pub(crate) fn build<T>(shape: &[usize], data: Vec<T>) -> Result<ArrayD<T>, OpError> {
    ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| OpError::Shape(format!("internal error: tensor of shape {shape:?}: {e}")))
}

/// The only element of a scalar (0-d) array.
pub(crate) fn scalar_of<T: Copy>(a: &ArrayD<T>) -> Result<T, OpError> {
    a.iter()
        .next()
        .copied()
        .ok_or_else(|| OpError::Shape("internal error: empty scalar".into()))
}

/// Geometry of the last two axes: `(batch, h, w)` where `batch` is the product of leading dims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Planes {
    pub batch: usize,
    pub h: usize,
    pub w: usize,
}

impl Planes {
    pub fn of(shape: &[usize], op: &str) -> Result<Planes, OpError> {
        match shape {
            [lead @ .., h, w] => Ok(Planes {
                batch: lead.iter().product(),
                h: *h,
                w: *w,
            }),
            _ => Err(OpError::Shape(format!(
                "`{op}` needs at least 2 dimensions, got shape {shape:?}"
            ))),
        }
    }

    /// Elements per plane.
    pub fn size(&self) -> usize {
        self.h * self.w
    }

    /// The same leading dims with the last two replaced.
    pub fn shape_with(shape: &[usize], h: usize, w: usize) -> Vec<usize> {
        let mut out = shape.to_vec();
        let n = out.len();
        if n >= 2 {
            out[n - 2] = h;
            out[n - 1] = w;
        }
        out
    }
}

/// Bring a cotangent to the type of the argument it belongs to: axes that broadcasting added or
/// stretched are summed back, real arguments keep the real part (a complex one gets a real
/// cotangent promoted).
pub(crate) fn reduce_to(v: Value, arg: &Value) -> Value {
    let v = if arg.shape() != v.shape() {
        v.sum_to(arg.shape()).unwrap_or(v)
    } else {
        v
    };
    match (arg, v) {
        (Value::Real(_), Value::Complex(z)) => Value::Real(z.mapv(|c| c.re)),
        (Value::Complex(_), Value::Real(r)) => Value::Complex(r.mapv(|x| Complex64::new(x, 0.0))),
        (_, v) => v,
    }
}

/// `f(a, b)` elementwise with numpy's broadcasting (trailing axes align, an axis of length 1
/// stretches); a scalar side and equal shapes take the direct paths.
pub(crate) fn zip_with<A: Copy, B: Copy, O>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> O,
) -> Result<ArrayD<O>, OpError> {
    if a.ndim() == 0 {
        let x = scalar_of(a)?;
        Ok(b.mapv(|y| f(x, y)))
    } else if b.ndim() == 0 {
        let y = scalar_of(b)?;
        Ok(a.mapv(|x| f(x, y)))
    } else if a.shape() == b.shape() {
        Ok(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)))
    } else {
        let views = broadcast_shapes(a.shape(), b.shape())
            .and_then(|s| Some((a.broadcast(IxDyn(&s))?, b.broadcast(IxDyn(&s))?)));
        match views {
            Some((x, y)) => Ok(Zip::from(&x).and(&y).map_collect(|&x, &y| f(x, y))),
            None => Err(OpError::Shape(format!(
                "shapes {:?} and {:?} do not broadcast (trailing dimensions must be equal or 1)",
                a.shape(),
                b.shape()
            ))),
        }
    }
}

/// The error of a VJP given an argument or cotangent of a kind its op never produces.
pub(crate) fn no_gradient(op: &Op, x: &Value, g: &Value) -> OpError {
    OpError::Shape(format!(
        "`{}`: no gradient for argument {} with cotangent {}",
        op.name(),
        x.ty(),
        g.ty()
    ))
}
