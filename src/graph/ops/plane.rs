//! Linear maps of each plane (the last two axes) onto a plane of another size: the kernels of
//! fftshift, crop, pad and down/upsampling, whose adjoints are maps of the same family.

use super::tensor::{build, row_major, Elem, Planes};
use super::OpError;
use crate::graph::value::Value;

/// A linear map of each plane (last two axes) onto a plane of another size.
#[derive(Clone, Copy, Debug)]
pub(super) enum PlaneMap {
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
                    let (sh, sw) = if inverse {
                        (h - h / 2, w - w / 2)
                    } else {
                        (h / 2, w / 2)
                    };
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

    pub(super) fn apply_value(&self, v: &Value) -> Result<Value, OpError> {
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
