//! Circular 2-D convolution with a centred kernel, by direct summation or by FFT (whichever is
//! cheaper for the sizes), and its VJPs with respect to the image and the kernel.
//!
//! `y[i, j] = Σ_{a,b} k[a, b] · x[(i − a + kh/2) mod H, (j − b + kw/2) mod W]`, batched over the
//! leading axes of `x`. The kernel embedded in an `H × W` plane at `((a − kh/2) mod H, (b − kw/2) mod W)`
//! turns this into the plain circular convolution `x ⊛ kp`, whose orthonormal DFT is
//! `√(HW) · X ⊙ KP`. The VJPs are the correlations `ḡx = Kᴴ g` and `ḡk[a, b] = Σ g · conj(x shifted)`.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{coin, plane_of, plane_shape, Domain, Inputs};
use super::tensor::{build, complex_vec, reduce_to, row_major, Elem, Planes};
use super::types::{plane, promote};
use super::{Op, OpError};
use crate::graph::fft::FftCache;
use crate::graph::value::{Ty, Value};
use num_complex::Complex64 as C;
use rand::Rng;

pub static CONV: OpDef = OpDef {
    name: "conv",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "conv(T[..., h, w], real[kh, kw]) -> T[..., h, w] (circular, kernel centred)",
        "conv(T[..., h, w], complex[kh, kw]) -> complex[..., h, w]",
    ],
    doc: "Circular 2-D convolution of the last two axes with a kernel centred at `(kh/2, kw/2)`.",
    linear: false,
    rule: Rule::Binary {
        ty: conv_type,
        forward: |_, x, k, cache| forward(x, k, cache),
        vjp: |_, x, k, _, g, cache, n| vjp(x, k, g, cache, n),
    },
    inputs: |r| {
        let shape = plane_shape(r, 7);
        let (h, w) = plane_of(&shape);
        let (kh, kw) = (r.random_range(1..8).min(h), r.random_range(1..8).min(w));
        Inputs::of([(shape, coin(r), Domain::Any), (vec![kh, kw], coin(r), Domain::Any)])
    },
};

fn conv_type(op: &Op, x: &Ty, k: &Ty) -> Result<Ty, String> {
    let (h, w) = plane(op, x)?;
    let [kh, kw] = k.shape[..] else {
        return Err(format!("`conv` needs a 2-D kernel, got {k}"));
    };
    if kh == 0 || kw == 0 {
        return Err(format!("`conv` needs a non-empty kernel, got {k}"));
    }
    if kh > h || kw > w {
        return Err(format!(
            "`conv`: the kernel {k} is larger than the image planes of {x}"
        ));
    }
    Ok(Ty {
        elem: promote(x.elem, k.elem),
        shape: x.shape.clone(),
    })
}

/// Image plane geometry plus kernel size.
#[derive(Clone, Copy, Debug)]
struct Geom {
    p: Planes,
    kh: usize,
    kw: usize,
}

impl Geom {
    fn of(x: &Value, k: &Value) -> Result<Geom, OpError> {
        let p = Planes::of(x.shape(), "conv")?;
        match *k.shape() {
            [kh, kw] if kh >= 1 && kw >= 1 && kh <= p.h && kw <= p.w => Ok(Geom { p, kh, kw }),
            _ => Err(OpError::Shape(format!(
                "`conv`: kernel of shape {:?} does not fit image planes of shape {:?}",
                k.shape(),
                x.shape()
            ))),
        }
    }

    /// Row and column offsets of tap `(a, b)`: the source of output `(i, j)` is
    /// `((i + di) mod H, (j + dj) mod W)`; for the adjoint the tap's shift is reversed.
    fn offsets(&self, a: usize, b: usize, adjoint: bool) -> (usize, usize) {
        let (h, w, ch, cw) = (self.p.h, self.p.w, self.kh / 2, self.kw / 2);
        if adjoint {
            ((a + h - ch) % h, (b + w - cw) % w)
        } else {
            ((ch + h - a) % h, (cw + w - b) % w)
        }
    }

    /// Position of tap `(a, b)` in the kernel embedded in an `H × W` plane.
    fn embed_index(&self, a: usize, b: usize) -> usize {
        let (h, w, ch, cw) = (self.p.h, self.p.w, self.kh / 2, self.kw / 2);
        ((a + h - ch) % h) * w + (b + w - cw) % w
    }

    /// Direct summation costs `taps` multiply-adds per pixel, the FFT route about `c · log2(HW)`
    /// (three transforms, complex arithmetic), so direct wins for small kernels.
    fn direct_is_cheaper(&self, all_real: bool) -> bool {
        let n = self.p.size().max(2);
        let log2 = (usize::BITS - (n - 1).leading_zeros()) as usize;
        let per_log = if all_real { 4 } else { 2 };
        self.kh * self.kw <= per_log * log2
    }
}

/// `out = K x` (or `Kᴴ x` when `adjoint`) by direct summation, every plane.
fn direct<T: Elem>(x: &[T], k: &[T], g: Geom, adjoint: bool) -> Vec<T> {
    let (h, w) = (g.p.h, g.p.w);
    let mut out = vec![T::default(); x.len()];
    for (xp, op) in x.chunks_exact(g.p.size()).zip(out.chunks_exact_mut(g.p.size())) {
        for (a, krow) in k.chunks_exact(g.kw).enumerate() {
            for (b, &kv) in krow.iter().enumerate() {
                let kv = if adjoint { kv.conj() } else { kv };
                let (di, dj) = g.offsets(a, b, adjoint);
                for (i, orow) in op.chunks_exact_mut(w).enumerate() {
                    let src = (i + di) % h;
                    let xrow = &xp[src * w..(src + 1) * w];
                    let (first, second) = orow.split_at_mut(w - dj);
                    for (o, &v) in first.iter_mut().zip(&xrow[dj..]) {
                        *o += kv * v;
                    }
                    for (o, &v) in second.iter_mut().zip(&xrow[..dj]) {
                        *o += kv * v;
                    }
                }
            }
        }
    }
    out
}

/// `ḡk[a, b] = Σ_{planes, i, j} g[i, j] · conj(x[(i + di) mod H, (j + dj) mod W])` by direct summation.
fn direct_kernel_grad<T: Elem>(x: &[T], gv: &[T], g: Geom) -> Vec<T> {
    let (h, w) = (g.p.h, g.p.w);
    let mut gk = vec![T::default(); g.kh * g.kw];
    for (xp, gp) in x.chunks_exact(g.p.size()).zip(gv.chunks_exact(g.p.size())) {
        for (idx, acc) in gk.iter_mut().enumerate() {
            let (di, dj) = g.offsets(idx / g.kw, idx % g.kw, false);
            for (i, grow) in gp.chunks_exact(w).enumerate() {
                let src = (i + di) % h;
                let xrow = &xp[src * w..(src + 1) * w];
                let (first, second) = grow.split_at(w - dj);
                for (&gg, &v) in first.iter().zip(&xrow[dj..]) {
                    *acc += gg * v.conj();
                }
                for (&gg, &v) in second.iter().zip(&xrow[..dj]) {
                    *acc += gg * v.conj();
                }
            }
        }
    }
    gk
}

/// Orthonormal DFT of the kernel embedded in one plane (cached: kernels are usually constants).
fn kernel_spectrum(k: &Value, g: Geom, cache: &FftCache) -> std::sync::Arc<Vec<C>> {
    let taps = complex_vec(k);
    cache.kernel_spectrum(&taps, (g.kh, g.kw), (g.p.h, g.p.w), || {
        let mut kp = vec![C::default(); g.p.size()];
        for (idx, &kv) in taps.iter().enumerate() {
            if let Some(slot) = kp.get_mut(g.embed_index(idx / g.kw, idx % g.kw)) {
                *slot = kv;
            }
        }
        cache.fft2(&mut kp, g.p.h, g.p.w, false);
        kp
    })
}

/// `ifft(√N · fft(v) ⊙ spec)` plane by plane, with `spec` conjugated when `adjoint`: with the
/// unnormalised transforms, `F⁻¹(F v ⊙ spec / √N)`, the scaling folded into the product.
fn spectral_apply(v: &Value, spec: &[C], g: Geom, adjoint: bool, cache: &FftCache) -> Vec<C> {
    let s = 1.0 / (g.p.size() as f64).sqrt();
    let mut data = complex_vec(v);
    cache.fft2_unnormalised(&mut data, g.p.h, g.p.w, false);
    for plane in data.chunks_exact_mut(g.p.size()) {
        for (z, &kz) in plane.iter_mut().zip(spec) {
            let kz = if adjoint { kz.conj() } else { kz };
            *z *= kz * s;
        }
    }
    cache.fft2_unnormalised(&mut data, g.p.h, g.p.w, true);
    data
}

/// A complex result as a value of the promoted type (real when every input was real).
fn finish(shape: &[usize], data: Vec<C>, real: bool) -> Result<Value, OpError> {
    if real {
        Ok(Value::Real(build(
            shape,
            data.into_iter().map(|z| z.re).collect(),
        )?))
    } else {
        Ok(Value::Complex(build(shape, data)?))
    }
}

fn forward(x: &Value, k: &Value, cache: &FftCache) -> Result<Value, OpError> {
    let g = Geom::of(x, k)?;
    let all_real = !x.is_complex() && !k.is_complex();
    if g.direct_is_cheaper(all_real) {
        match (x, k) {
            (Value::Real(xa), Value::Real(ka)) => Ok(Value::Real(build(
                x.shape(),
                direct(&row_major(xa), &row_major(ka), g, false),
            )?)),
            _ => finish(
                x.shape(),
                direct(&complex_vec(x), &complex_vec(k), g, false),
                false,
            ),
        }
    } else {
        let spec = kernel_spectrum(k, g, cache);
        finish(x.shape(), spectral_apply(x, &spec, g, false, cache), all_real)
    }
}

fn vjp(x: &Value, k: &Value, gv: &Value, cache: &FftCache, need: [bool; 2]) -> Result<[Option<Value>; 2], OpError> {
    let g = Geom::of(x, k)?;
    let all_real = !x.is_complex() && !k.is_complex();
    if g.direct_is_cheaper(all_real) {
        if let (Value::Real(xa), Value::Real(ka), Value::Real(ga)) = (x, k, gv) {
            let (xs, gs) = (row_major(xa), row_major(ga));
            let gx = need[0]
                .then(|| build(x.shape(), direct(&gs, &row_major(ka), g, true)).map(Value::Real))
                .transpose()?;
            let gk = need[1]
                .then(|| build(k.shape(), direct_kernel_grad(&xs, &gs, g)).map(Value::Real))
                .transpose()?;
            return Ok([gx, gk]);
        }
        let (xs, gs) = (complex_vec(x), complex_vec(gv));
        let gx = need[0]
            .then(|| build(x.shape(), direct(&gs, &complex_vec(k), g, true)))
            .transpose()?;
        let gk = need[1]
            .then(|| build(k.shape(), direct_kernel_grad(&xs, &gs, g)))
            .transpose()?;
        return Ok([
            gx.map(|v| reduce_to(Value::Complex(v), x)),
            gk.map(|v| reduce_to(Value::Complex(v), k)),
        ]);
    }
    let gx = if need[0] {
        let spec = kernel_spectrum(k, g, cache);
        Some(reduce_to(
            finish(x.shape(), spectral_apply(gv, &spec, g, true, cache), all_real)?,
            x,
        ))
    } else {
        None
    };
    let gk = need[1]
        .then(|| build(k.shape(), spectral_kernel_grad(x, gv, g, cache)))
        .transpose()?
        .map(|v| reduce_to(Value::Complex(v), k));
    Ok([gx, gk])
}

/// `ḡkp = ifft(√N Σ_planes conj(X) ⊙ G)`, read back at the embedded tap positions: with the
/// unnormalised transforms, `F⁻¹(Σ conj(F x) ⊙ F g) / N`, the scaling folded into the sum.
fn spectral_kernel_grad(x: &Value, gv: &Value, g: Geom, cache: &FftCache) -> Vec<C> {
    let s = 1.0 / g.p.size() as f64;
    let mut xf = complex_vec(x);
    let mut gf = complex_vec(gv);
    cache.fft2_unnormalised(&mut xf, g.p.h, g.p.w, false);
    cache.fft2_unnormalised(&mut gf, g.p.h, g.p.w, false);
    let mut acc = vec![C::default(); g.p.size()];
    for (xp, gp) in xf.chunks_exact(g.p.size()).zip(gf.chunks_exact(g.p.size())) {
        for ((a, &xz), &gz) in acc.iter_mut().zip(xp).zip(gp) {
            *a += xz.conj() * gz * s;
        }
    }
    cache.fft2_unnormalised(&mut acc, g.p.h, g.p.w, true);
    (0..g.kh * g.kw)
        .map(|idx| {
            acc.get(g.embed_index(idx / g.kw, idx % g.kw))
                .copied()
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn cvalue(shape: &[usize], seed: u64) -> Value {
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|i| {
                let t = (i as f64 + 1.0) * 0.7 + seed as f64;
                C::new(t.sin(), (1.3 * t).cos())
            })
            .collect();
        Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
    }

    fn max_diff(a: &[C], b: &[C]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max)
    }

    /// The FFT route and direct summation agree for every kernel size up to the image size,
    /// odd and even, in the forward map and both VJPs.
    #[test]
    fn fft_route_matches_direct() {
        let cache = FftCache::new();
        for &(h, w) in &[(5, 6), (4, 4), (7, 3)] {
            for kh in 1..=h {
                for kw in 1..=w {
                    let x = cvalue(&[2, h, w], 1);
                    let k = cvalue(&[kh, kw], 2);
                    let gv = cvalue(&[2, h, w], 3);
                    let g = Geom::of(&x, &k).unwrap();
                    let (xs, ks, gs) = (complex_vec(&x), complex_vec(&k), complex_vec(&gv));
                    let spec = kernel_spectrum(&k, g, &cache);
                    let y_fft = spectral_apply(&x, &spec, g, false, &cache);
                    assert!(max_diff(&y_fft, &direct(&xs, &ks, g, false)) < 1e-12);
                    let gx_fft = spectral_apply(&gv, &spec, g, true, &cache);
                    assert!(max_diff(&gx_fft, &direct(&gs, &ks, g, true)) < 1e-12);
                    let gk_fft = spectral_kernel_grad(&x, &gv, g, &cache);
                    assert!(max_diff(&gk_fft, &direct_kernel_grad(&xs, &gs, g)) < 1e-12);
                }
            }
        }
    }
}
