//! Linear ops: 2-D DFTs, the plane maps (fftshift, crop, pad, down/upsampling) and matmul,
//! each with its adjoint as the VJP.

use super::tensor::{build, complex_vec, reduce_to, row_major, Elem, Planes};
use super::{Op, OpError};
use crate::graph::fft::FftCache;
use crate::graph::value::Value;
use ndarray::{ArrayD, ArrayView1, ArrayView2, Ix1, Ix2, LinalgScalar};

/// Orthonormal 2-D DFT (or its inverse) over the last two axes; always complex.
pub(super) fn fft(x: &Value, inverse: bool, cache: &FftCache) -> Result<Value, OpError> {
    let p = Planes::of(x.shape(), if inverse { "ifft" } else { "fft" })?;
    let mut data = complex_vec(x);
    cache.fft2(&mut data, p.h, p.w, inverse);
    Ok(Value::Complex(build(x.shape(), data)?))
}

/// The DFT is unitary, so the VJP of `fft` is `ifft` (and vice versa); real inputs keep Re.
pub(super) fn fft_vjp(x: &Value, g: &Value, inverse: bool, cache: &FftCache) -> Result<Value, OpError> {
    Ok(reduce_to(fft(g, !inverse, cache)?, x))
}

/// A linear map of each plane (last two axes) onto a plane of another size.
#[derive(Clone, Copy, Debug)]
enum PlaneMap {
    /// `out[i, j] = x[(i − sh) mod H, (j − sw) mod W]` (numpy `roll`).
    Roll { inverse: bool },
    /// `out[i, j] = x[i + (H − h)/2, j + (W − w)/2]`.
    Crop { h: usize, w: usize },
    /// The adjoint of `Crop`: zero padding with the same centring.
    Pad { h: usize, w: usize },
    /// `out[i, j] = scale · Σ_{a,b<f} x[f i + a, f j + b]`.
    Pool { f: usize, scale: f64 },
    /// `out[p, q] = scale · x[p / f, q / f]`.
    Repeat { f: usize, scale: f64 },
}

impl PlaneMap {
    fn out_size(&self, h: usize, w: usize) -> (usize, usize) {
        match *self {
            PlaneMap::Roll { .. } => (h, w),
            PlaneMap::Crop { h, w } | PlaneMap::Pad { h, w } => (h, w),
            PlaneMap::Pool { f, .. } => (h / f.max(1), w / f.max(1)),
            PlaneMap::Repeat { f, .. } => (h * f, w * f),
        }
    }

    /// Apply to every plane of a row-major tensor `x` of the given shape (checked by the caller).
    fn apply<T: Elem>(&self, x: &[T], shape: &[usize]) -> Result<(Vec<T>, Vec<usize>), OpError> {
        let p = Planes::of(shape, "plane map")?;
        let (oh, ow) = self.out_size(p.h, p.w);
        let out_shape = Planes::shape_with(shape, oh, ow);
        let (h, w) = (p.h, p.w);
        let mut out = Vec::with_capacity(p.batch * oh * ow);
        if p.size() == 0 || oh * ow == 0 || x.len() != p.batch * p.size() {
            out.resize(p.batch * oh * ow, T::default());
            return Ok((out, out_shape));
        }
        for plane in x.chunks_exact(p.size()) {
            match *self {
                PlaneMap::Roll { inverse } => {
                    let (sh, sw) = if inverse { (h - h / 2, w - w / 2) } else { (h / 2, w / 2) };
                    for i in 0..h {
                        let src = (i + h - sh) % h;
                        let row = &plane[src * w..(src + 1) * w];
                        out.extend_from_slice(&row[w - sw..]);
                        out.extend_from_slice(&row[..w - sw]);
                    }
                }
                PlaneMap::Crop { .. } => {
                    let (r0, c0) = ((h - oh) / 2, (w - ow) / 2);
                    for i in 0..oh {
                        let start = (r0 + i) * w + c0;
                        out.extend_from_slice(&plane[start..start + ow]);
                    }
                }
                PlaneMap::Pad { .. } => {
                    let (r0, c0) = ((oh - h) / 2, (ow - w) / 2);
                    let base = out.len();
                    out.resize(base + oh * ow, T::default());
                    for (i, row) in plane.chunks_exact(w).enumerate() {
                        let start = base + (r0 + i) * ow + c0;
                        out[start..start + w].copy_from_slice(row);
                    }
                }
                PlaneMap::Pool { f, scale } => {
                    for i in 0..oh {
                        for j in 0..ow {
                            let mut acc = T::default();
                            for a in 0..f {
                                let row = &plane[(f * i + a) * w + f * j..][..f];
                                for &v in row {
                                    acc += v;
                                }
                            }
                            out.push(acc.scale(scale));
                        }
                    }
                }
                PlaneMap::Repeat { f, scale } => {
                    for row in plane.chunks_exact(w) {
                        let start = out.len();
                        for &v in row {
                            let v = v.scale(scale);
                            out.extend(std::iter::repeat_n(v, f));
                        }
                        for _ in 1..f {
                            out.extend_from_within(start..start + ow);
                        }
                    }
                }
            }
        }
        Ok((out, out_shape))
    }

    fn apply_value(&self, v: &Value) -> Result<Value, OpError> {
        Ok(match v {
            Value::Real(a) => {
                let (data, shape) = self.apply(&row_major(a), a.shape())?;
                Value::Real(build(&shape, data)?)
            }
            Value::Complex(a) => {
                let (data, shape) = self.apply(&row_major(a), a.shape())?;
                Value::Complex(build(&shape, data)?)
            }
        })
    }
}

fn as_map(op: &Op, shape: &[usize], adjoint: bool) -> Result<PlaneMap, OpError> {
    let p = Planes::of(shape, op.name())?;
    Ok(match (op, adjoint) {
        (Op::FftShift, false) | (Op::IfftShift, true) => PlaneMap::Roll { inverse: false },
        (Op::FftShift, true) | (Op::IfftShift, false) => PlaneMap::Roll { inverse: true },
        (Op::Crop(h, w), false) => PlaneMap::Crop { h: *h, w: *w },
        (Op::Crop(..), true) => PlaneMap::Pad { h: p.h, w: p.w },
        (Op::Pad(h, w), false) => PlaneMap::Pad { h: *h, w: *w },
        (Op::Pad(..), true) => PlaneMap::Crop { h: p.h, w: p.w },
        (Op::Downsample(f), false) => PlaneMap::Pool {
            f: *f,
            scale: 1.0 / (f * f) as f64,
        },
        (Op::Downsample(f), true) => PlaneMap::Repeat {
            f: *f,
            scale: 1.0 / (f * f) as f64,
        },
        (Op::Upsample(f), false) => PlaneMap::Repeat { f: *f, scale: 1.0 },
        (Op::Upsample(f), true) => PlaneMap::Pool { f: *f, scale: 1.0 },
        _ => return Err(OpError::Shape(format!("`{}` is not a plane map", op.name()))),
    })
}

pub(super) fn plane_forward(op: &Op, x: &Value) -> Result<Value, OpError> {
    as_map(op, x.shape(), false)?.apply_value(x)
}

/// The adjoint plane map applied to the cotangent (shapes from the argument `x`).
pub(super) fn plane_vjp(op: &Op, x: &Value, g: &Value) -> Result<Value, OpError> {
    as_map(op, x.shape(), true)?.apply_value(g)
}

fn shape_err(e: ndarray::ShapeError) -> OpError {
    OpError::Shape(format!("internal error in `@`: {e}"))
}

/// `a @ x` for a matrix `a` and a vector or matrix `x`.
fn mm<T: LinalgScalar>(a: ArrayView2<T>, x: &ArrayD<T>) -> Result<ArrayD<T>, OpError> {
    if x.ndim() == 1 {
        let v: ArrayView1<T> = x.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        Ok(a.dot(&v).into_dyn())
    } else {
        let m: ArrayView2<T> = x.view().into_dimensionality::<Ix2>().map_err(shape_err)?;
        Ok(a.dot(&m).into_dyn())
    }
}

fn view2<T>(a: &ArrayD<T>) -> Result<ArrayView2<'_, T>, OpError> {
    a.view().into_dimensionality::<Ix2>().map_err(shape_err)
}

pub(super) fn matmul_forward(a: &Value, x: &Value) -> Result<Value, OpError> {
    match (a, x) {
        (Value::Real(a), Value::Real(x)) => Ok(Value::Real(mm(view2(a)?, x)?)),
        _ => Ok(Value::Complex(mm(view2(&a.to_complex())?, &x.to_complex())?)),
    }
}

/// `y = A x`: `ḡA = g xᴴ`, `ḡx = Aᴴ g`.
pub(super) fn matmul_vjp(a: &Value, x: &Value, g: &Value) -> Result<Vec<Value>, OpError> {
    match (a, x, g) {
        (Value::Real(am), Value::Real(xm), Value::Real(gm)) => {
            let (ga, gx) = matmul_adjoint(view2(am)?, xm, gm)?;
            Ok(vec![Value::Real(ga), Value::Real(gx)])
        }
        _ => {
            let ac = a.to_complex().mapv(|z| z.conj());
            let xc = x.to_complex().mapv(|z| z.conj());
            let (ga, gx) = matmul_adjoint(view2(&ac)?, &xc, &g.to_complex())?;
            Ok(vec![reduce_to(Value::Complex(ga), a), reduce_to(Value::Complex(gx), x)])
        }
    }
}

/// With `a`, `x` already conjugated: `(g ⊗ x, aᵀ g)` for vectors, `(g xᵀ, aᵀ g)` for matrices.
fn matmul_adjoint<T: LinalgScalar>(
    a: ArrayView2<T>,
    x: &ArrayD<T>,
    g: &ArrayD<T>,
) -> Result<(ArrayD<T>, ArrayD<T>), OpError> {
    let gx = mm(a.t(), g)?;
    let ga = if x.ndim() == 1 {
        let gv = g.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        let xv = x.view().into_dimensionality::<Ix1>().map_err(shape_err)?;
        let col = gv.insert_axis(ndarray::Axis(1));
        let row = xv.insert_axis(ndarray::Axis(0));
        col.dot(&row).into_dyn()
    } else {
        view2(g)?.dot(&view2(x)?.t()).into_dyn()
    };
    Ok((ga, gx))
}
