//! Real Fourier filters fused at plan time: `re(ifft(C * fft(a)))` over a real `a` with a constant
//! `C` runs as one real-to-real filter on half spectra, two rows per complex FFT.
//!
//! For real `a`, `re(F⁻¹ C F a) = F⁻¹ Cₕ F a` with `Cₕ(m, k) = (C(m, k) + conj(C(−m, −k)))/2`, which is
//! Hermitian, so the result is real and only the columns `k ≤ w/2` of the spectrum are needed. Rows
//! `2r` and `2r + 1` of a plane are transformed together as `a₂ᵣ + i a₂ᵣ₊₁` and separated by
//! Hermitian symmetry (written straight into the transposed half spectrum), the columns are
//! transformed there, multiplied, transformed back, and two output rows come out of one inverse row
//! transform as its real and imaginary parts. Against the four ops it replaces: half the 1-D FFTs,
//! no full-plane transposes, one output buffer. The map is real-linear with adjoint
//! `re(F⁻¹ conj(C) F g)`, the same filter with `conj(Cₕ)`.

use super::eval::{Graph, NodeId, NodeKind};
use super::fft::FftCache;
use super::ops::tensor::row_major;
use super::value::Value;
use ndarray::ArrayD;
use num_complex::Complex64;
use std::cell::RefCell;

/// One fused `re(ifft(C * fft(a)))`.
#[derive(Clone, Debug)]
pub(super) struct RealFilter {
    /// The node of `a`.
    pub input: NodeId,
    h: usize,
    w: usize,
    /// `Cₕ / (h·w)` on the half spectrum, column-frequency major: `[plane][k ≤ w/2][m < h]` (one
    /// plane when `C` is shared by every plane of `a`).
    spec: Vec<Complex64>,
    shared: bool,
}

/// The fused filters of a graph and the nodes they make unnecessary.
#[derive(Clone, Debug, Default)]
pub struct Fusion {
    /// Per node: the filter that computes it.
    pub(super) filters: Vec<Option<RealFilter>>,
    /// Per node: not evaluated (an intermediate of a fused filter).
    pub(super) skip: Vec<bool>,
}

impl Fusion {
    /// Number of fused filters.
    pub fn len(&self) -> usize {
        self.filters.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Graph {
    /// Find the `re(ifft(C * fft(a)))` chains whose intermediates nothing else reads: no other op
    /// argument and none of `pinned` (nodes the caller reads). `constant(i)` is node `i`'s value when
    /// it depends on no latent. A chain fuses when `a` is real with an even number of rows, and `C`
    /// is one plane `[h, w]`, `a`'s whole shape or a scalar.
    pub(super) fn find_filters<'a>(
        &self,
        live: &[bool],
        constant: impl Fn(usize) -> Option<&'a Value>,
        pinned: &[NodeId],
    ) -> Fusion {
        let n = self.nodes.len();
        let mut uses = vec![0usize; n];
        for node in &self.nodes {
            if let NodeKind::Op(_, ids) = &node.kind {
                ids.iter().filter(|id| id.0 < n).for_each(|id| uses[id.0] += 1);
            }
        }
        pinned.iter().filter(|id| id.0 < n).for_each(|id| uses[id.0] += 2);
        let op = |i: usize, name: &str| match &self.nodes.get(i)?.kind {
            NodeKind::Op(o, ids) if o.name() == name && ids.iter().all(|id| id.0 < i) => Some(ids),
            _ => None,
        };
        let only = |i: usize| uses.get(i) == Some(&1) && live.get(i) == Some(&true);
        let mut fusion = Fusion {
            filters: vec![None; n],
            skip: vec![false; n],
        };
        for r in 0..n {
            let chain = (|| {
                let [i] = op(r, "re")?.as_slice() else { return None };
                let [m] = op(i.0, "ifft")?.as_slice() else {
                    return None;
                };
                let [p, q] = op(m.0, "mul")?.as_slice() else {
                    return None;
                };
                let (f, c) = if op(p.0, "fft").is_some() {
                    (*p, *q)
                } else {
                    (*q, *p)
                };
                let [a] = op(f.0, "fft")?.as_slice() else {
                    return None;
                };
                let ok = [i.0, m.0, f.0].iter().all(|&k| only(k) && !fusion.skip[k]);
                let same = self.nodes.get(r)?.ty.shape == self.nodes.get(a.0)?.ty.shape;
                let varies = live.get(r) == Some(&true) && live.get(c.0) == Some(&false);
                (ok && same && varies).then_some(())?;
                let filter = RealFilter::new(self.nodes.get(a.0)?, *a, constant(c.0)?)?;
                Some((filter, [i.0, m.0, f.0]))
            })();
            if let Some((filter, inner)) = chain {
                inner.iter().for_each(|&k| fusion.skip[k] = true);
                fusion.filters[r] = Some(filter);
            }
        }
        fusion
    }
}

impl RealFilter {
    fn new(a: &super::eval::Node, input: NodeId, c: &Value) -> Option<RealFilter> {
        let shape = &a.ty.shape;
        let [lead @ .., h, w] = shape.as_slice() else {
            return None;
        };
        let (h, w) = (*h, *w);
        if a.ty.is_complex() || h < 2 || h % 2 != 0 || w == 0 {
            return None;
        }
        let planes: usize = lead.iter().product();
        // `C` without leading axes of length 1: a scalar, one plane, or one per plane of `a`.
        let dims: Vec<usize> = c.shape().iter().copied().skip_while(|&d| d == 1).collect();
        let shared = match dims.as_slice() {
            [] => true,
            [ch, cw] if (*ch, *cw) == (h, w) => true,
            d if d == shape.as_slice() && planes > 1 => false,
            _ => return None,
        };
        let mut c: Vec<Complex64> = match c {
            Value::Real(x) => x.iter().map(|&v| Complex64::new(v, 0.0)).collect(),
            Value::Complex(z) => z.iter().copied().collect(),
        };
        if c.len() == 1 {
            c = vec![c[0]; h * w];
        }
        let (w2, scale) = (w / 2 + 1, 1.0 / (h * w) as f64);
        let mut spec = Vec::with_capacity(c.len() / (h * w) * w2 * h);
        for plane in c.chunks_exact(h * w) {
            for k in 0..w2 {
                for m in 0..h {
                    let mirror = plane[(h - m) % h * w + (w - k) % w].conj();
                    spec.push((plane[m * w + k] + mirror) * (0.5 * scale));
                }
            }
        }
        Some(RealFilter {
            input,
            h,
            w,
            spec,
            shared,
        })
    }

    /// The filter of `x` (real, `a`'s shape), or with `adjoint` its transpose (the VJP).
    pub(super) fn apply_array(&self, x: &ArrayD<f64>, adjoint: bool, fft: &FftCache) -> ArrayD<f64> {
        let out = self.apply(&row_major(x), adjoint, fft);
        ArrayD::from_shape_vec(x.raw_dim(), out).unwrap_or_else(|_| ArrayD::zeros(x.raw_dim()))
    }

    /// [`RealFilter::apply_array`] on row-major elements.
    fn apply(&self, x: &[f64], adjoint: bool, fft: &FftCache) -> Vec<f64> {
        let (h, w) = (self.h, self.w);
        let (hp, w2, n) = (h / 2, w / 2 + 1, h * w);
        let mut out = vec![0.0; x.len()];
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.resize(hp * w + w2 * h, Complex64::default());
            let (p, t) = buf.split_at_mut(hp * w);
            for (i, (xin, o)) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)).enumerate() {
                let s = if self.shared { 0 } else { i * w2 * h };
                let spec = &self.spec[s..s + w2 * h];
                for (r, row) in p.chunks_exact_mut(w).enumerate() {
                    let (even, odd) = xin[2 * r * w..(2 * r + 2) * w].split_at(w);
                    for ((z, &re), &im) in row.iter_mut().zip(even).zip(odd) {
                        *z = Complex64::new(re, im);
                    }
                }
                fft.rows(p, w, false);
                // Row pair r: Z = A₂ᵣ + i A₂ᵣ₊₁, so A₂ᵣ(k) = (Z(k) + Z̄(−k))/2, A₂ᵣ₊₁(k) = (Z(k) − Z̄(−k))/2i.
                for (k, col) in t.chunks_exact_mut(h).enumerate() {
                    let kc = if k == 0 { 0 } else { w - k };
                    for (pair, row) in col.chunks_exact_mut(2).zip(p.chunks_exact(w)) {
                        let (z, c) = (row[k], row[kc]);
                        pair[0] = Complex64::new(0.5 * (z.re + c.re), 0.5 * (z.im - c.im));
                        pair[1] = Complex64::new(0.5 * (z.im + c.im), 0.5 * (c.re - z.re));
                    }
                }
                fft.rows(t, h, false);
                if adjoint {
                    t.iter_mut().zip(spec).for_each(|(z, s)| *z *= s.conj());
                } else {
                    t.iter_mut().zip(spec).for_each(|(z, s)| *z *= s);
                }
                fft.rows(t, h, true);
                // Output rows 2r, 2r + 1 as one complex row B₂ᵣ + i B₂ᵣ₊₁, with B(k) = B̄(w − k) past w/2.
                for (r, row) in p.chunks_exact_mut(w).enumerate() {
                    let (lo, hi) = row.split_at_mut(w2);
                    for (k, z) in lo.iter_mut().enumerate() {
                        let (b0, b1) = (t[k * h + 2 * r], t[k * h + 2 * r + 1]);
                        *z = Complex64::new(b0.re - b1.im, b0.im + b1.re);
                    }
                    for (j, z) in hi.iter_mut().enumerate() {
                        let s = (w - w2 - j) * h + 2 * r;
                        let (b0, b1) = (t[s], t[s + 1]);
                        *z = Complex64::new(b0.re + b1.im, b1.re - b0.im);
                    }
                }
                fft.rows(p, w, true);
                for (r, row) in p.chunks_exact(w).enumerate() {
                    let (even, odd) = o[2 * r * w..(2 * r + 2) * w].split_at_mut(w);
                    for ((z, e), d) in row.iter().zip(even).zip(odd) {
                        (*e, *d) = (z.re, z.im);
                    }
                }
            }
        });
        out
    }
}

thread_local! {
    /// Per-thread packed rows and half spectrum, grown to the largest plane used.
    static BUF: RefCell<Vec<Complex64>> = const { RefCell::new(Vec::new()) };
}
