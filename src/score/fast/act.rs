//! Zero-padded channels-last activations `[B, H+2, W+2, C]` and the element-wise ops on their interiors
//! (ReLU masks, sums, channel copies, 2×2 average pooling and its adjoint).
//!
//! Invariant: between ops every border pixel is zero, so a 3×3 "same" convolution reads its padding
//! straight from the buffer.

use rayon::prelude::*;

/// Below this many floats an element-wise op runs on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// A padded channels-last activation.
#[derive(Clone, Debug)]
pub struct Act {
    pub b: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub d: Vec<f32>,
}

/// A raw pointer shared by the row workers (each writes rows no other worker touches).
#[derive(Clone, Copy)]
pub(crate) struct Ptr(pub *mut f32);
// SAFETY: only used by `par_rows` closures, which write disjoint rows.
unsafe impl Send for Ptr {}
unsafe impl Sync for Ptr {}

impl Ptr {
    /// The pointer (a method, so closures capture the `Send + Sync` wrapper, not the raw field).
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }

    /// # Safety
    /// `off..off + len` must be inside the buffer and no other live reference may overlap it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice<'a>(self, off: usize, len: usize) -> &'a mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(off), len)
    }
}

/// Call `f(n, y)` for every image `n < b` and interior row `y < h`, in parallel when `work` is large.
pub(crate) fn par_rows(b: usize, h: usize, work: usize, f: impl Fn(usize, usize) + Sync + Send) {
    if work < PAR_MIN {
        (0..b * h).for_each(|i| f(i / h, i % h));
    } else {
        (0..b * h).into_par_iter().for_each(|i| f(i / h, i % h));
    }
}

impl Act {
    pub fn new(b: usize, h: usize, w: usize, c: usize) -> Act {
        Act {
            b,
            h,
            w,
            c,
            d: vec![0.0; b * (h + 2) * (w + 2) * c],
        }
    }

    /// Padded row length in pixels.
    pub fn wp(&self) -> usize {
        self.w + 2
    }

    /// Float index of interior pixel `(y, x)` (from 0) of image `n`, channel 0.
    pub fn at(&self, n: usize, y: usize, x: usize) -> usize {
        ((n * (self.h + 2) + y + 1) * self.wp() + x + 1) * self.c
    }

    /// Interior floats of one image.
    pub fn interior(&self) -> usize {
        self.h * self.w * self.c
    }

    pub fn same_shape(&self, o: &Act) -> bool {
        (self.b, self.h, self.w, self.c) == (o.b, o.h, o.w, o.c)
    }

    /// Zero the left and right border columns (where 1×1/3×3 runs write junk).
    pub fn zero_borders(&mut self) {
        let (c, wp) = (self.c, self.wp());
        for n in 0..self.b {
            for y in 0..self.h {
                let row = self.at(n, y, 0) - c;
                self.d[row..row + c].fill(0.0);
                self.d[row + (wp - 1) * c..row + wp * c].fill(0.0);
            }
        }
    }

    /// Copy an unpadded `[B, H, W, cs]` slice into channels `c0..c0 + cs`.
    pub fn fill_from(&mut self, src: &[f32], cs: usize, c0: usize) {
        let (c, w) = (self.c, self.w);
        for n in 0..self.b {
            for y in 0..self.h {
                let o = self.at(n, y, 0);
                let s = ((n * self.h + y) * w) * cs;
                for x in 0..w {
                    self.d[o + x * c + c0..o + x * c + c0 + cs]
                        .copy_from_slice(&src[s + x * cs..s + (x + 1) * cs]);
                }
            }
        }
    }

    /// The interior as unpadded `[B, H, W, C]`.
    pub fn to_dense(&self) -> Vec<f32> {
        let (c, w) = (self.c, self.w);
        let mut v = Vec::with_capacity(self.b * self.interior());
        for n in 0..self.b {
            for y in 0..self.h {
                let o = self.at(n, y, 0);
                v.extend_from_slice(&self.d[o..o + w * c]);
            }
        }
        v
    }
}

/// `g ← g · [y > 0]` on the interior.
pub fn relu_mask(g: &mut Act, y: &Act) {
    debug_assert!(g.same_shape(y));
    let len = g.w * g.c;
    let gp = Ptr(g.d.as_mut_ptr());
    par_rows(g.b, g.h, g.b * g.interior(), |n, yy| {
        let o = g.at(n, yy, 0);
        // SAFETY: row `yy` of image `n` is this worker's alone.
        let gr = unsafe { gp.slice(o, len) };
        for (gv, &yv) in gr.iter_mut().zip(&y.d[o..o + len]) {
            if yv <= 0.0 {
                *gv = 0.0;
            }
        }
    });
}

/// `dst[.., d0..d0+c] += src[.., s0..s0+c]` on the interior (`c` channels; same B, H, W).
pub fn add_channels(dst: &mut Act, d0: usize, src: &Act, s0: usize, c: usize) {
    let (dc, sc, w) = (dst.c, src.c, dst.w);
    let dp = Ptr(dst.d.as_mut_ptr());
    par_rows(dst.b, dst.h, dst.b * dst.h * w * c, |n, y| {
        let (o, so) = (dst.at(n, y, 0), src.at(n, y, 0));
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dr = unsafe { dp.slice(o, w * dc) };
        for x in 0..w {
            let s = &src.d[so + x * sc + s0..so + x * sc + s0 + c];
            for (a, b) in dr[x * dc + d0..x * dc + d0 + c].iter_mut().zip(s) {
                *a += b;
            }
        }
    });
}

/// `dst[.., d0..d0+src.c] = src` on the interior.
pub fn copy_channels(dst: &mut Act, d0: usize, src: &Act) {
    let (dc, sc, w) = (dst.c, src.c, dst.w);
    let dp = Ptr(dst.d.as_mut_ptr());
    par_rows(dst.b, dst.h, dst.b * dst.h * w * sc, |n, y| {
        let (o, so) = (dst.at(n, y, 0), src.at(n, y, 0));
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dr = unsafe { dp.slice(o, w * dc) };
        for x in 0..w {
            dr[x * dc + d0..x * dc + d0 + sc].copy_from_slice(&src.d[so + x * sc..so + (x + 1) * sc]);
        }
    });
}

/// 2×2 average pooling: `dst` has half the height and width of `src`.
pub fn avg_pool(src: &Act, dst: &mut Act) {
    let (c, w) = (dst.c, dst.w);
    let dp = Ptr(dst.d.as_mut_ptr());
    par_rows(dst.b, dst.h, dst.b * dst.interior(), |n, y| {
        let o = dst.at(n, y, 0);
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dr = unsafe { dp.slice(o, w * c) };
        let (r0, r1) = (src.at(n, 2 * y, 0), src.at(n, 2 * y + 1, 0));
        for x in 0..w {
            for k in 0..c {
                let (a, b) = (r0 + 2 * x * c + k, r1 + 2 * x * c + k);
                dr[x * c + k] = (src.d[a] + src.d[a + c] + src.d[b] + src.d[b + c]) * 0.25;
            }
        }
    });
}

/// Adjoint of `avg_pool`: `dst[2y+a, 2x+b] = src[y, x] / 4` (overwrites `dst`'s interior).
pub fn avg_pool_adjoint(src: &Act, dst: &mut Act) {
    let (c, w) = (dst.c, dst.w);
    let dp = Ptr(dst.d.as_mut_ptr());
    par_rows(dst.b, dst.h, dst.b * dst.interior(), |n, y| {
        let o = dst.at(n, y, 0);
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dr = unsafe { dp.slice(o, w * c) };
        let s = src.at(n, y / 2, 0);
        for x in 0..w {
            for k in 0..c {
                dr[x * c + k] = src.d[s + (x / 2) * c + k] * 0.25;
            }
        }
    });
}
