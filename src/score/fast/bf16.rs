//! bf16 convolutions (AVX512-BF16 `vdpbf16ps`, or AMX tiles where present): weights and activations
//! rounded to bf16, products accumulated in f32; the precision switch (`UQ_SCORE_PRECISION`, bf16 by
//! default where AMX runs it) and its CPU check.
//!
//! `vdpbf16ps` adds `a₂ᵢ·b₂ᵢ + a₂ᵢ₊₁·b₂ᵢ₊₁` into f32 lane `i`, so the reduction runs over pairs of
//! input channels: packed weights are `w[tap][ci/2][co][2]`, and a channels-last bf16 activation gives
//! the pair `(x[ci], x[ci+1])` of a pixel as one 32-bit broadcast.

use std::cell::Cell;

use rayon::prelude::*;

use super::kernel::{for_items, plan, Isa, Packed};

/// Arithmetic of the fast path's convolutions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout (the default without AMX tiles).
    #[default]
    F32,
    /// Convolution operands rounded to bf16, accumulated in f32; norms and the rest stay f32.
    Bf16,
}

impl Precision {
    /// From `UQ_SCORE_PRECISION=f32|bf16`; unset, [`Precision::best_for`] a U-Net with these
    /// `channels` per scale. Unknown values and bf16 on a CPU without AVX512-BF16 give f32 with a
    /// warning on stderr.
    pub fn from_env(channels: &[usize]) -> Precision {
        match std::env::var("UQ_SCORE_PRECISION").as_deref() {
            Err(_) | Ok("") => Precision::best_for(channels),
            Ok("f32") => Precision::F32,
            Ok("bf16") => Precision::Bf16.or_f32(),
            Ok(other) => {
                eprintln!("warning: UQ_SCORE_PRECISION={other:?} is not f32 or bf16; using f32");
                Precision::F32
            }
        }
    }

    /// bf16 where the convolutions run on AMX tiles: the CPU has them and every scale's channel count
    /// is a multiple of 32, so all but the first and last convolutions fit the tiles ([32, 64, 128]:
    /// 1.7× faster than f32, the MRI examples' gain and coverage unchanged: `benches/README.md`);
    /// f32 elsewhere (bf16 on AVX512-BF16 alone is 1.4–1.5× slower than f32 on the host measured,
    /// so [8, 16, 32] networks, mostly off the tiles, stay f32).
    pub fn best_for(channels: &[usize]) -> Precision {
        let tiles = !channels.is_empty() && channels.iter().all(|c| c.is_multiple_of(32));
        if tiles && bf16_supported() && amx_enabled() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    /// This precision if the CPU runs it, else f32 with a warning on stderr.
    pub fn or_f32(self) -> Precision {
        if self == Precision::Bf16 && !bf16_supported() {
            eprintln!("warning: this CPU lacks AVX512-BF16; the score network runs in f32");
            return Precision::F32;
        }
        self
    }
}

/// Whether this CPU has the AVX512-BF16 dot-product instructions.
pub fn bf16_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// f32 → bf16 bits, rounding to nearest even (as `vcvtneps2bf16`), NaN kept quiet.
#[inline(always)]
pub fn to_bf16(v: f32) -> u16 {
    let b = v.to_bits();
    if v.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// bf16 bits → f32 (exact).
#[cfg(test)]
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Bf16 weights of a `Packed` operator: `w[tap][ci/2][co][2]`, `ci` padded to even, `co` to `cpad`.
pub struct PackedBf16 {
    pub taps: usize,
    /// Input-channel pairs.
    pub pairs: usize,
    pub cout: usize,
    pub cpad: usize,
    pub w: Vec<u16>,
    pub bias: Option<Vec<f32>>,
    /// The same weights per block of 16 output channels, `w[co/16][tap][ci/2][co%16][2]`: each AMX
    /// weight tile is 1 KB of consecutive memory (empty for operators that do not fit the tiles).
    pub tiles: Vec<u16>,
}

impl PackedBf16 {
    pub fn new(p: &Packed) -> PackedBf16 {
        let pairs = p.cin.div_ceil(2);
        let mut w = vec![0u16; p.taps * pairs * p.cpad * 2];
        for t in 0..p.taps {
            for ci in 0..p.cin {
                for co in 0..p.cout {
                    let v = p.w[(t * p.cin + ci) * p.cpad + co];
                    w[((t * pairs + ci / 2) * p.cpad + co) * 2 + ci % 2] = to_bf16(v);
                }
            }
        }
        let mut tiles = Vec::new();
        if pairs.is_multiple_of(16) && p.cout.is_multiple_of(16) && pairs > 0 {
            tiles = vec![0u16; p.taps * pairs * p.cout * 2];
            for (i, t) in tiles.iter_mut().enumerate() {
                let (k, co16) = (i % 2, i / 2 % 16);
                let pair = i / 32 % pairs;
                let tap = i / (32 * pairs) % p.taps;
                let cb = i / (32 * pairs * p.taps);
                *t = w[((tap * pairs + pair) * p.cpad + cb * 16 + co16) * 2 + k];
            }
        }
        PackedBf16 {
            taps: p.taps,
            pairs,
            cout: p.cout,
            cpad: p.cpad,
            w,
            bias: p.bias.clone(),
            tiles,
        }
    }
}

simd_fn! {
    /// Channels `s0..s0 + n` of every `sc`-channel pixel of `src` → `dst` pixels of `dc` channels
    /// (`dc ≥ n`, the rest zero).
    fn convert_rows(src: &[f32], sc: usize, s0: usize, n: usize, dst: &mut [u16], dc: usize) {
        for (d, s) in dst.chunks_exact_mut(dc).zip(src.chunks_exact(sc)) {
            for (o, v) in d.iter_mut().zip(&s[s0..s0 + n]) {
                *o = to_bf16(*v);
            }
            d[n..].fill(0);
        }
    }
}

/// `convert_rows` by `vcvtneps2bf16`, 16 channels at a time (the same rounding; denormal inputs
/// become zero).
///
/// # Safety
/// `bf16_supported()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn convert_rows_vcvt(src: &[f32], sc: usize, s0: usize, n: usize, dst: &mut [u16], dc: usize) {
    use std::arch::x86_64::*;
    let full = n / 16 * 16;
    for (d, s) in dst.chunks_exact_mut(dc).zip(src.chunks_exact(sc)) {
        let s = &s[s0..s0 + n];
        for c in (0..full).step_by(16) {
            let v = _mm512_loadu_ps(s.as_ptr().add(c));
            let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
            _mm256_storeu_si256(d.as_mut_ptr().add(c) as *mut __m256i, h);
        }
        for (o, v) in d[full..n].iter_mut().zip(&s[full..]) {
            *o = to_bf16(*v);
        }
        d[n..].fill(0);
    }
}

/// `convert_rows` by the fastest route this CPU has.
fn convert_any(src: &[f32], sc: usize, s0: usize, n: usize, dst: &mut [u16], dc: usize) {
    #[cfg(target_arch = "x86_64")]
    if n >= 16 && bf16_supported() {
        // SAFETY: checked just above.
        return unsafe { convert_rows_vcvt(src, sc, s0, n, dst, dc) };
    }
    convert_rows(src, sc, s0, n, dst, dc)
}

/// `dst = bf16(src[.., s0..s0 + n])` with `dc = n` rounded up to even channels per pixel, over every
/// pixel (borders included); `dst` is resized, not reallocated once large enough.
pub fn convert(src: &[f32], sc: usize, s0: usize, n: usize, dst: &mut Vec<u16>) -> usize {
    let dc = n.next_multiple_of(2);
    let px = src.len() / sc;
    dst.resize(px * dc, 0);
    let rows = 256;
    if px * n < 1 << 15 {
        convert_any(src, sc, s0, n, dst, dc);
    } else {
        dst.par_chunks_mut(rows * dc)
            .zip(src.par_chunks(rows * sc))
            .for_each(|(d, s)| convert_any(s, sc, s0, n, d, dc));
    }
    dc
}

thread_local! {
    /// Bf16 copy of the current convolution's input (one per calling thread, kept between calls).
    static SCRATCH: Cell<Vec<u16>> = const { Cell::new(Vec::new()) };
}

/// Call `f` with this thread's bf16 scratch buffer. The buffer is taken out for the call, so a nested
/// call on the same thread (rayon may run another job here while `f` waits) gets a fresh one instead
/// of aliasing it; the larger of the two is kept.
pub fn with_scratch<T>(f: impl FnOnce(&mut Vec<u16>) -> T) -> T {
    let mut buf = SCRATCH.with(Cell::take);
    let r = f(&mut buf);
    SCRATCH.with(|s| {
        let other = s.take();
        s.set(if other.capacity() > buf.capacity() {
            other
        } else {
            buf
        });
    });
    r
}

/// One run of `n` output pixels over a bf16 input: pixel `p` reads the channel pairs at
/// `x + p·xs + tap offset` (in bf16 elements) and writes f32 output channels at `out + p·os`.
#[derive(Clone, Copy)]
pub struct Run16 {
    pub x: *const u16,
    pub xs: usize,
    pub out: *mut f32,
    pub os: usize,
    pub n: usize,
}

// SAFETY: as for `kernel::Run`: distinct items write disjoint outputs of buffers the caller holds.
unsafe impl Send for Run16 {}
unsafe impl Sync for Run16 {}

/// Most accumulator vectors per pixel, as for the f32 AVX-512 kernel.
const MAX_J: usize = 4;

/// `out (+)= Σ_tap Σ_ci x[p·xs + offs[tap] + ci] · w[tap][ci][co] (+ bias)` in bf16 × bf16 → f32.
///
/// # Safety
/// `bf16_supported()`; every run's reads (`x + p·xs + off + ci` for `p < n`, every tap offset,
/// `ci < 2·pairs`) and writes (`out + p·os + co`, `co < cout`) lie inside live buffers, and writes
/// of different pixels or runs do not overlap each other.
pub unsafe fn conv_bf16(p: &PackedBf16, offs: &[isize], runs: &[Run16], accumulate: bool) {
    conv_bf16_on(p, offs, runs, accumulate, amx_enabled())
}

/// Whether the bf16 convolutions run on AMX tiles where an operator fits them (CPU, kernel and
/// `UQ_AMX` checked once).
pub fn amx_enabled() -> bool {
    #[cfg(target_arch = "x86_64")]
    return amx::enabled();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `conv_bf16` with AMX tiles for operators that fit them when `amx` (which needs `amx_enabled()`).
///
/// # Safety
/// As `conv_bf16`.
pub(super) unsafe fn conv_bf16_on(
    p: &PackedBf16,
    offs: &[isize],
    runs: &[Run16],
    accumulate: bool,
    amx: bool,
) {
    assert_eq!(offs.len(), p.taps, "one offset per tap");
    assert!(!amx || amx_enabled(), "AMX asked for where it is not enabled");
    let ns: Vec<usize> = runs.iter().map(|r| r.n).collect();
    let work = plan(&ns, 2 * p.pairs * p.taps, p.cout, 16, MAX_J);
    #[cfg(target_arch = "x86_64")]
    let tiles = amx && amx::fits(p);
    for_items(&work, |it| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller's contract; `tiles` checked the CPU and the operator for AMX.
        unsafe {
            if tiles {
                amx::item(p, offs, accumulate, &runs[it.run], it)
            } else {
                x86::item(p, offs, accumulate, &runs[it.run], it)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (offs, accumulate, runs, it);
            unreachable!("bf16 convolutions need AVX512-BF16")
        }
    });
}

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod x86;
