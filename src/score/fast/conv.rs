//! The network's linear operators on padded activations, each with weights packed once for its forward
//! and for its transpose: 3×3 "same" conv, 1×1 conv, 2×2 stride-2 transposed conv.
//!
//! A 3×3 or 1×1 conv over one image is a single run over its interior in padded raster order (the
//! border columns in between get junk, zeroed afterwards); the transposed conv and its adjoint run row
//! by row with a pixel stride of 2.

use super::act::Act;
use super::bf16::{conv_bf16, convert, with_scratch, PackedBf16, Run16};
use super::kernel::{conv, Isa, Packed, Run};

/// A 3×3 (`k = 3`) or 1×1 (`k = 1`) convolution: forward weights and the transposed (input-VJP) ones.
pub struct Conv {
    pub k: usize,
    pub fwd: Packed,
    pub adj: Packed,
    /// Bf16 copies of `fwd` and `adj`, used instead of them when present.
    pub bf16: Option<[PackedBf16; 2]>,
}

impl Conv {
    /// From candle's `[out, in, k, k]` weights (row-major) and optional bias.
    pub fn new(k: usize, cout: usize, cin: usize, w: &[f32], bias: Option<&[f32]>) -> Conv {
        assert_eq!(w.len(), cout * cin * k * k, "conv weight size");
        let kk = k * k;
        let at = |co: usize, ci: usize, t: usize| w[(co * cin + ci) * kk + t];
        Conv {
            k,
            fwd: Packed::new(kk, cin, cout, bias, |t, ci, co| at(co, ci, t)),
            // The adjoint of a "same" correlation is the correlation with the flipped kernel, in ↔ out.
            adj: Packed::new(kk, cout, cin, None, |t, co, ci| at(co, ci, kk - 1 - t)),
            bf16: None,
        }
    }

    /// Run in bf16 from now on (the caller checked `bf16_supported()`).
    pub fn use_bf16(&mut self) {
        self.bf16 = Some([PackedBf16::new(&self.fwd), PackedBf16::new(&self.adj)]);
    }

    pub fn cin(&self) -> usize {
        self.fwd.cin
    }

    pub fn cout(&self) -> usize {
        self.fwd.cout
    }

    /// `out = conv(x)` (or `out += conv(x)` with `accumulate`, then without bias).
    pub fn forward(&self, isa: Isa, x: &Act, out: &mut Act, accumulate: bool) {
        match &self.bf16 {
            Some([f, _]) => run_same16(self.k, f, x, out, accumulate),
            None => run_same(isa, self.k, &self.fwd, x, out, accumulate),
        }
    }

    /// `gx (+)= convᵀ(g)`.
    pub fn adjoint(&self, isa: Isa, g: &Act, gx: &mut Act, accumulate: bool) {
        match &self.bf16 {
            Some([_, a]) => run_same16(self.k, a, g, gx, accumulate),
            None => run_same(isa, self.k, &self.adj, g, gx, accumulate),
        }
    }
}

/// Tap offsets of a `k × k` "same" conv over padded rows of `wp` pixels of `c` elements.
fn same_offsets(k: usize, wp: usize, c: usize) -> Vec<isize> {
    let (wp, c, r) = (wp as isize, c as isize, (k / 2) as isize);
    (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy * wp + dx) * c))
        .collect()
}

/// A "same" conv over padded buffers: one run per image over the interior in raster order.
fn run_same(isa: Isa, k: usize, p: &Packed, x: &Act, out: &mut Act, accumulate: bool) {
    assert!(x.b == out.b && x.h == out.h && x.w == out.w, "conv shapes");
    assert!(x.c == p.cin && out.c == p.cout, "conv channels");
    let offs = same_offsets(k, x.wp(), x.c);
    let n = x.h * x.wp() - 2;
    let op = out.d.as_mut_ptr();
    let runs: Vec<Run> = (0..x.b)
        .map(|b| Run {
            x: x.d[x.at(b, 0, 0)..].as_ptr(),
            xs: x.c,
            out: op.wrapping_add(out.at(b, 0, 0)),
            os: out.c,
            n,
        })
        .collect();
    // SAFETY: for `p < n` the pixel `at(b, 0, 0) + p` stays inside image b's padded rows 1..=h, and the
    // taps reach at most one padded row and column further, still inside image b; `x` and `out` are
    // distinct buffers.
    unsafe { conv(isa, p, &offs, &runs, accumulate) };
    out.zero_borders();
}

/// `run_same` in bf16: `x` rounded into this thread's scratch buffer (channels padded to even).
fn run_same16(k: usize, p: &PackedBf16, x: &Act, out: &mut Act, accumulate: bool) {
    assert!(x.b == out.b && x.h == out.h && x.w == out.w, "conv shapes");
    assert!(x.c.div_ceil(2) == p.pairs && out.c == p.cout, "conv channels");
    with_scratch(|buf| {
        let dc = convert(&x.d, x.c, 0, x.c, buf);
        let offs = same_offsets(k, x.wp(), dc);
        let n = x.h * x.wp() - 2;
        let op = out.d.as_mut_ptr();
        let runs: Vec<Run16> = (0..x.b)
            .map(|b| Run16 {
                x: buf[x.at(b, 0, 0) / x.c * dc..].as_ptr(),
                xs: dc,
                out: op.wrapping_add(out.at(b, 0, 0)),
                os: out.c,
                n,
            })
            .collect();
        // SAFETY: as in `run_same`, on the bf16 copy with the same pixel layout; `Conv::use_bf16`'s
        // caller checked the CPU.
        unsafe { conv_bf16(p, &offs, &runs, accumulate) };
    });
    out.zero_borders();
}

/// A 2×2 stride-2 transposed convolution (candle weights `[in, out, 2, 2]`).
pub struct UpConv {
    /// Forward weights per output phase `(a, b)`: one tap each.
    pub fwd: [Packed; 4],
    /// Adjoint: a 2×2 stride-2 conv, taps `(a, b)`.
    pub adj: Packed,
    /// Bf16 copies of `fwd` and `adj`, used instead of them when present.
    pub bf16: Option<([PackedBf16; 4], PackedBf16)>,
}

impl UpConv {
    pub fn new(cin: usize, cout: usize, w: &[f32], bias: Option<&[f32]>) -> UpConv {
        assert_eq!(w.len(), cin * cout * 4, "transposed conv weight size");
        let at = |ci: usize, co: usize, t: usize| w[(ci * cout + co) * 4 + t];
        UpConv {
            fwd: std::array::from_fn(|t| Packed::new(1, cin, cout, bias, |_, ci, co| at(ci, co, t))),
            adj: Packed::new(4, cout, cin, None, |t, co, ci| at(ci, co, t)),
            bf16: None,
        }
    }

    /// Run in bf16 from now on (the caller checked `bf16_supported()`).
    pub fn use_bf16(&mut self) {
        let fwd = std::array::from_fn(|t| PackedBf16::new(&self.fwd[t]));
        self.bf16 = Some((fwd, PackedBf16::new(&self.adj)));
    }

    /// `out[.., 2y+a, 2x+b, c0..c0+cout] = Σ_ci x[y, x, ci] w[ci, co, a, b] + bias`.
    pub fn forward(&self, isa: Isa, x: &Act, out: &mut Act, c0: usize) {
        let p = &self.fwd[0];
        assert!(x.c == p.cin && out.c >= c0 + p.cout && out.h == 2 * x.h && out.w == 2 * x.w);
        let op = out.d.as_mut_ptr();
        let out: &Act = out;
        // Run i reads row y of image n (pixels of `xc` elements from `base`) and writes pixels
        // (2y+a, 2x+b) of the same image, channels c0..c0+cout (checked above); different phases
        // are different pixels.
        let runs = |t: usize, xc: usize| {
            let (a, b) = (t / 2, t % 2);
            (0..x.b * x.h).map(move |i| {
                let (n, y) = (i / x.h, i % x.h);
                (
                    x.at(n, y, 0) / x.c * xc,
                    xc,
                    op.wrapping_add(out.at(n, 2 * y + a, b) + c0),
                    2 * out.c,
                    x.w,
                )
            })
        };
        match &self.bf16 {
            Some((fwd, _)) => with_scratch(|buf| {
                let xc = convert(&x.d, x.c, 0, x.c, buf);
                for (t, p) in fwd.iter().enumerate() {
                    let r: Vec<Run16> = runs(t, xc)
                        .map(|(o, xs, out, os, n)| Run16 {
                            x: buf[o..].as_ptr(),
                            xs,
                            out,
                            os,
                            n,
                        })
                        .collect();
                    // SAFETY: see `runs`; the bf16 copy has `x`'s pixel layout.
                    unsafe { conv_bf16(p, &[0], &r, false) };
                }
            }),
            None => {
                for (t, p) in self.fwd.iter().enumerate() {
                    let r: Vec<Run> = runs(t, x.c)
                        .map(|(o, xs, out, os, n)| Run {
                            x: x.d[o..].as_ptr(),
                            xs,
                            out,
                            os,
                            n,
                        })
                        .collect();
                    // SAFETY: see `runs`.
                    unsafe { conv(isa, p, &[0], &r, false) };
                }
            }
        }
    }

    /// `gx = upconvᵀ(g[.., c0..c0+cout])`, a 2×2 stride-2 conv.
    pub fn adjoint(&self, isa: Isa, g: &Act, c0: usize, gx: &mut Act) {
        let p = &self.adj;
        assert!(gx.c == p.cout && g.c >= c0 + p.cin && g.h == 2 * gx.h && g.w == 2 * gx.w);
        let op = gx.d.as_mut_ptr();
        let gx: &Act = gx;
        // Run i reads rows 2y, 2y+1 (interior) of image n, pixels of `gc` elements from `base`, and
        // writes row y of gx.
        let runs = |gc: usize| {
            (0..gx.b * gx.h).map(move |i| {
                let (n, y) = (i / gx.h, i % gx.h);
                (
                    g.at(n, 2 * y, 0) / g.c * gc,
                    2 * gc,
                    op.wrapping_add(gx.at(n, y, 0)),
                    gx.c,
                    gx.w,
                )
            })
        };
        let offs = |gc: usize| {
            let (wp, c) = (g.wp() as isize, gc as isize);
            [0, c, wp * c, (wp + 1) * c]
        };
        match &self.bf16 {
            Some((_, adj)) => with_scratch(|buf| {
                let gc = convert(&g.d, g.c, c0, p.cin, buf);
                let r: Vec<Run16> = runs(gc)
                    .map(|(o, xs, out, os, n)| Run16 {
                        x: buf[o..].as_ptr(),
                        xs,
                        out,
                        os,
                        n,
                    })
                    .collect();
                // SAFETY: see `runs`; the bf16 copy holds channels c0..c0+cin of every pixel of `g`.
                unsafe { conv_bf16(adj, &offs(gc), &r, false) };
            }),
            None => {
                let r: Vec<Run> = runs(g.c)
                    .map(|(o, xs, out, os, n)| Run {
                        x: g.d[o + c0..].as_ptr(),
                        xs,
                        out,
                        os,
                        n,
                    })
                    .collect();
                // SAFETY: see `runs`.
                unsafe { conv(isa, p, &offs(g.c), &r, false) };
            }
        }
    }
}
