//! The network's linear operators on padded activations, each with weights packed once for its forward
//! and for its transpose: 3×3 "same" conv, 1×1 conv, 2×2 stride-2 transposed conv.
//!
//! A 3×3 or 1×1 conv over one image is a single run over its interior in padded raster order (the
//! border columns in between get junk, zeroed afterwards); the transposed conv and its adjoint run row
//! by row with a pixel stride of 2.

use super::act::Act;
use super::kernel::{conv, Isa, Packed, Run};

/// A 3×3 (`k = 3`) or 1×1 (`k = 1`) convolution: forward weights and the transposed (input-VJP) ones.
pub struct Conv {
    pub k: usize,
    pub fwd: Packed,
    pub adj: Packed,
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
        }
    }

    pub fn cin(&self) -> usize {
        self.fwd.cin
    }

    pub fn cout(&self) -> usize {
        self.fwd.cout
    }

    /// `out = conv(x)` (or `out += conv(x)` with `accumulate`, then without bias).
    pub fn forward(&self, isa: Isa, x: &Act, out: &mut Act, accumulate: bool) {
        run_same(isa, self.k, &self.fwd, x, out, accumulate);
    }

    /// `gx (+)= convᵀ(g)`.
    pub fn adjoint(&self, isa: Isa, g: &Act, gx: &mut Act, accumulate: bool) {
        run_same(isa, self.k, &self.adj, g, gx, accumulate);
    }
}

/// A "same" conv over padded buffers: one run per image over the interior in raster order.
fn run_same(isa: Isa, k: usize, p: &Packed, x: &Act, out: &mut Act, accumulate: bool) {
    assert!(x.b == out.b && x.h == out.h && x.w == out.w, "conv shapes");
    assert!(x.c == p.cin && out.c == p.cout, "conv channels");
    let (wp, c) = (x.wp() as isize, x.c as isize);
    let r = (k / 2) as isize;
    let offs: Vec<isize> = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy * wp + dx) * c))
        .collect();
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

/// A 2×2 stride-2 transposed convolution (candle weights `[in, out, 2, 2]`).
pub struct UpConv {
    /// Forward weights per output phase `(a, b)`: one tap each.
    pub fwd: [Packed; 4],
    /// Adjoint: a 2×2 stride-2 conv, taps `(a, b)`.
    pub adj: Packed,
}

impl UpConv {
    pub fn new(cin: usize, cout: usize, w: &[f32], bias: Option<&[f32]>) -> UpConv {
        assert_eq!(w.len(), cin * cout * 4, "transposed conv weight size");
        let at = |ci: usize, co: usize, t: usize| w[(ci * cout + co) * 4 + t];
        UpConv {
            fwd: std::array::from_fn(|t| Packed::new(1, cin, cout, bias, |_, ci, co| at(ci, co, t))),
            adj: Packed::new(4, cout, cin, None, |t, co, ci| at(ci, co, t)),
        }
    }

    /// `out[.., 2y+a, 2x+b, c0..c0+cout] = Σ_ci x[y, x, ci] w[ci, co, a, b] + bias`.
    pub fn forward(&self, isa: Isa, x: &Act, out: &mut Act, c0: usize) {
        let p = &self.fwd[0];
        assert!(x.c == p.cin && out.c >= c0 + p.cout && out.h == 2 * x.h && out.w == 2 * x.w);
        let op = out.d.as_mut_ptr();
        for (t, p) in self.fwd.iter().enumerate() {
            let (a, b) = (t / 2, t % 2);
            let runs: Vec<Run> = (0..x.b * x.h)
                .map(|i| {
                    let (n, y) = (i / x.h, i % x.h);
                    Run {
                        x: x.d[x.at(n, y, 0)..].as_ptr(),
                        xs: x.c,
                        out: op.wrapping_add(out.at(n, 2 * y + a, b) + c0),
                        os: 2 * out.c,
                        n: x.w,
                    }
                })
                .collect();
            // SAFETY: run i reads row y of image n and writes pixels (2y+a, 2x+b) of the same image,
            // channels c0..c0+cout (checked above); different phases are different pixels.
            unsafe { conv(isa, p, &[0], &runs, false) };
        }
    }

    /// `gx = upconvᵀ(g[.., c0..c0+cout])`, a 2×2 stride-2 conv.
    pub fn adjoint(&self, isa: Isa, g: &Act, c0: usize, gx: &mut Act) {
        let p = &self.adj;
        assert!(gx.c == p.cout && g.c >= c0 + p.cin && g.h == 2 * gx.h && g.w == 2 * gx.w);
        let (wp, c) = (g.wp() as isize, g.c as isize);
        let offs = [0, c, wp * c, (wp + 1) * c];
        let op = gx.d.as_mut_ptr();
        let runs: Vec<Run> = (0..gx.b * gx.h)
            .map(|i| {
                let (n, y) = (i / gx.h, i % gx.h);
                Run {
                    x: g.d[g.at(n, 2 * y, 0) + c0..].as_ptr(),
                    xs: 2 * g.c,
                    out: op.wrapping_add(gx.at(n, y, 0)),
                    os: gx.c,
                    n: gx.w,
                }
            })
            .collect();
        // SAFETY: run i reads rows 2y, 2y+1 (interior) of image n and writes row y of gx.
        unsafe { conv(isa, p, &offs, &runs, false) };
    }
}
