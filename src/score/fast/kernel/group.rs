//! The AVX-512 microkernel for convolutions with few output channels (≤ 8): one FMA covers G adjacent
//! input channels × 16/G output channels, where the plain kernel leaves at least half its 16 lanes idle.
//!
//! Activations are channels-last, so the G inputs `x[p][q·G..q·G + G]` of a pixel are adjacent: one
//! broadcast of those G floats to every G-lane group, times a weight vector whose lane `k·G + r` holds
//! `w[q·G + r][k]`, accumulates the partial products of output channel k in lanes `k·G..k·G + G`;
//! their sum is taken once per pixel at the end.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::{Ctx, Item, Run};

/// Lanes of the vectors this kernel is packed for (AVX-512, f32).
const LANES: usize = 16;

/// Weights packed for the grouped kernel, per tap: `full = cin / g` vectors of 16 lanes (lane `k·g +
/// r` ↔ output channel k, input channel `q·g + r`), then `cin % g` vectors for the remaining input
/// channels one at a time (their weight in lane `k·g`, zeros elsewhere).
pub struct Grouped {
    pub g: usize,
    pub full: usize,
    pub rem: usize,
    pub w: Vec<f32>,
    /// The bias in lanes `0..cout` (zeros elsewhere).
    pub bias: Option<[f32; LANES]>,
}

impl Grouped {
    /// The packing for `cout ≤ 8` output channels and at least 2 input channels (else `None`: the
    /// plain kernel fills its lanes as well).
    pub fn new(
        taps: usize,
        cin: usize,
        cout: usize,
        bias: Option<&[f32]>,
        f: &impl Fn(usize, usize, usize) -> f32,
    ) -> Option<Grouped> {
        if cout == 0 || cout > LANES / 2 || cin < 2 {
            return None;
        }
        // 16 / g slots hold the output channels; g is at most 8 and at most cin.
        let largest_pow2_in = 1usize << (usize::BITS - 1 - cin.leading_zeros());
        let g = (LANES / cout.next_power_of_two()).min(8).min(largest_pow2_in);
        let (full, rem) = (cin / g, cin % g);
        let per_tap = full + rem;
        let mut w = vec![0.0; taps * per_tap * LANES];
        for t in 0..taps {
            for q in 0..full {
                let v = &mut w[(t * per_tap + q) * LANES..][..LANES];
                for k in 0..cout {
                    for r in 0..g {
                        v[k * g + r] = f(t, q * g + r, k);
                    }
                }
            }
            for s in 0..rem {
                let v = &mut w[(t * per_tap + full + s) * LANES..][..LANES];
                for k in 0..cout {
                    v[k * g] = f(t, full * g + s, k);
                }
            }
        }
        let bias = bias.map(|b| {
            let mut v = [0.0; LANES];
            v[..cout].copy_from_slice(&b[..cout]);
            v
        });
        Some(Grouped {
            g,
            full,
            rem,
            w,
            bias,
        })
    }
}

/// Lane permutations, row j of each: `XOR[j][i] = i ^ 2^j` swaps lane groups 2^j apart;
/// `COMPACT[j][i] = i·2^(j+1) mod 16` brings the sum in lane k·g (g = 2^(j+1)) to lane k.
#[cfg(target_arch = "x86_64")]
const fn lane_tables(compact: bool) -> [[i32; LANES]; 3] {
    let mut t = [[0; LANES]; 3];
    let mut j = 0;
    while j < 3 {
        let mut i = 0;
        while i < LANES {
            t[j][i] = if compact {
                ((i << (j + 1)) % LANES) as i32
            } else {
                (i ^ (1 << j)) as i32
            };
            i += 1;
        }
        j += 1;
    }
    t
}

#[cfg(target_arch = "x86_64")]
static XOR: [[i32; LANES]; 3] = lane_tables(false);
#[cfg(target_arch = "x86_64")]
static COMPACT: [[i32; LANES]; 3] = lane_tables(true);

/// Pixels `it.p0..it.p1` of `run` (the item covers every output channel).
///
/// # Safety
/// As [`super::conv`]'s; the CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn item(c: &Ctx, gp: &Grouped, run: &Run, it: &Item) {
    // A compile-time pixel stride (the channel counts of the networks' top scale) frees the registers
    // that would hold one input pointer per pixel of the tile.
    match (gp.g, run.xs) {
        (2, 8) => block::<2, 8>(c, gp, run, it),
        (2, 16) => block::<2, 16>(c, gp, run, it),
        (2, _) => block::<2, 0>(c, gp, run, it),
        (4, _) => block::<4, 0>(c, gp, run, it),
        (8, 8) => block::<8, 8>(c, gp, run, it),
        _ => block::<8, 0>(c, gp, run, it),
    }
}

/// Tiles of R pixels, then single pixels; `XS` is the run's pixel stride when not 0.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block<const G: usize, const XS: usize>(c: &Ctx, gp: &Grouped, run: &Run, it: &Item) {
    const R: usize = 16;
    let mut p = it.p0;
    while p + R <= it.p1 {
        tile::<G, R, XS>(
            c,
            gp,
            run.x.add(p * run.xs),
            run.xs,
            run.out.add(p * run.os),
            run.os,
        );
        p += R;
    }
    while p < it.p1 {
        tile::<G, 1, XS>(
            c,
            gp,
            run.x.add(p * run.xs),
            run.xs,
            run.out.add(p * run.os),
            run.os,
        );
        p += 1;
    }
}

/// G adjacent floats at `p`, repeated across the 16 lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn broadcast<const G: usize>(p: *const f32) -> __m512 {
    match G {
        2 => _mm512_castpd_ps(_mm512_set1_pd(std::ptr::read_unaligned(p as *const f64))),
        4 => _mm512_broadcast_f32x4(_mm_loadu_ps(p)),
        _ => _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(p)))),
    }
}

/// `R` consecutive pixels: accumulate over taps and input channels, reduce each G-lane group, then
/// write output channels `0..cout` (adding the bias, or the output already there with `accumulate`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile<const G: usize, const R: usize, const XS: usize>(
    c: &Ctx,
    gp: &Grouped,
    x: *const f32,
    xs: usize,
    out: *mut f32,
    os: usize,
) {
    let xs = if XS > 0 { XS } else { xs };
    let mut acc = [_mm512_setzero_ps(); R];
    let per_tap = gp.full + gp.rem;
    for (t, &off) in c.offs.iter().enumerate() {
        let xt = x.offset(off);
        let wt = gp.w.as_ptr().add(t * per_tap * LANES);
        for q in 0..gp.full {
            let wv = _mm512_loadu_ps(wt.add(q * LANES));
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(broadcast::<G>(xt.add(r * xs + q * G)), wv, *a);
            }
        }
        for s in 0..gp.rem {
            let wv = _mm512_loadu_ps(wt.add((gp.full + s) * LANES));
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(*xt.add(r * xs + gp.full * G + s)), wv, *a);
            }
        }
    }
    let steps = G.trailing_zeros() as usize;
    let compact = _mm512_loadu_si512(COMPACT[steps - 1].as_ptr() as *const _);
    let mask: __mmask16 = ((1u32 << c.p.cout) - 1) as u16;
    let bias = match &gp.bias {
        Some(b) if !c.accumulate => _mm512_loadu_ps(b.as_ptr()),
        _ => _mm512_setzero_ps(),
    };
    for (r, a) in acc.iter().enumerate() {
        let mut s = *a;
        for xor in XOR.iter().take(steps) {
            let idx = _mm512_loadu_si512(xor.as_ptr() as *const _);
            s = _mm512_add_ps(s, _mm512_permutexvar_ps(idx, s));
        }
        let mut v = _mm512_permutexvar_ps(compact, s);
        let o = out.add(r * os);
        v = if c.accumulate {
            _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, o))
        } else {
            _mm512_add_ps(v, bias)
        };
        _mm512_mask_storeu_ps(o, mask, v);
    }
}
