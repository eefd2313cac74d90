//! The AVX512-BF16 microkernel: `R` pixels × `J` vectors of 16 output channels in f32 registers,
//! one `vdpbf16ps` per (pixel, vector) for each pair of input channels.

use std::arch::x86_64::*;

use super::{PackedBf16, Run16};
use crate::score::fast::kernel::Item;

/// The operator and its tap offsets, shared by every tile of a call.
struct Ctx<'a> {
    p: &'a PackedBf16,
    offs: &'a [isize],
    accumulate: bool,
}

#[inline(always)]
unsafe fn mask(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// `R` pixels × `J` vectors of output channels starting at `co0`.
#[inline(always)]
unsafe fn tile<const R: usize, const J: usize>(
    c: &Ctx,
    x: *const u16,
    xs: usize,
    out: *mut f32,
    os: usize,
    co0: usize,
) {
    let p = c.p;
    let valid = |j: usize| (p.cout - co0 - j * 16).min(16);
    let mut acc = [[_mm512_setzero_ps(); J]; R];
    if c.accumulate {
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, a) in row.iter_mut().enumerate() {
                *a = _mm512_maskz_loadu_ps(mask(valid(j)), out.add(r * os + j * 16));
            }
        }
    } else if let Some(b) = &p.bias {
        for j in 0..J {
            let bv = _mm512_loadu_ps(b.as_ptr().add(co0 + j * 16));
            for row in acc.iter_mut() {
                row[j] = bv;
            }
        }
    }
    let step = p.cpad * 2;
    let wbase = p.w.as_ptr().add(co0 * 2);
    for (t, &off) in c.offs.iter().enumerate() {
        let xt = x.offset(off);
        let wt = wbase.add(t * p.pairs * step);
        for i in 0..p.pairs {
            let wr = wt.add(i * step);
            let mut wv = [_mm512_setzero_ps(); J];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(wr.add(j * 32) as *const f32);
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let pair = std::ptr::read_unaligned(xt.add(r * xs + 2 * i) as *const i32);
                let xv: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                for j in 0..J {
                    row[j] = _mm512_dpbf16_ps(row[j], xv, std::mem::transmute::<__m512, __m512bh>(wv[j]));
                }
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            let ptr = out.add(r * os + j * 16);
            let n = valid(j);
            if n == 16 {
                _mm512_storeu_ps(ptr, *a);
            } else {
                _mm512_mask_storeu_ps(ptr, mask(n), *a);
            }
        }
    }
}

/// Pixels `p0..p1` of a run: full `R`-tiles, then single pixels.
#[inline(always)]
unsafe fn block<const R: usize, const J: usize>(c: &Ctx, run: &Run16, it: &Item) {
    let mut p = it.p0;
    let at = |p: usize| (run.x.add(p * run.xs), run.out.add(p * run.os + it.co0));
    while p + R <= it.p1 {
        let (x, o) = at(p);
        tile::<R, J>(c, x, run.xs, o, run.os, it.co0);
        p += R;
    }
    while p < it.p1 {
        let (x, o) = at(p);
        tile::<1, J>(c, x, run.xs, o, run.os, it.co0);
        p += 1;
    }
}

/// One work item.
///
/// # Safety
/// As `conv_bf16`.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn item(p: &PackedBf16, offs: &[isize], accumulate: bool, run: &Run16, it: &Item) {
    let c = Ctx { p, offs, accumulate };
    match it.j {
        1 => block::<16, 1>(&c, run, it),
        2 => block::<12, 2>(&c, run, it),
        3 => block::<8, 3>(&c, run, it),
        _ => block::<6, 4>(&c, run, it),
    }
}
