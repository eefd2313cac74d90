//! x86-64 lanes for the microkernel: AVX-512 (16 × f32) and AVX2+FMA (8 × f32), and their entry points.

use std::arch::x86_64::*;

use super::{block, Ctx, Item, Run, Simd};

pub struct Avx512;

impl Simd for Avx512 {
    const L: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
        _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p)
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m512 {
        _mm512_set1_ps(*p)
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
        _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, v)
    }
}

pub struct Avx2;

static MASK: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

#[inline(always)]
unsafe fn mask(n: usize) -> __m256i {
    _mm256_loadu_si256(MASK.as_ptr().add(8 - n) as *const __m256i)
}

impl Simd for Avx2 {
    const L: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        _mm256_maskload_ps(p, mask(n))
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m256 {
        _mm256_broadcast_ss(&*p)
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        _mm256_maskstore_ps(p, mask(n), v)
    }
}

#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn item_avx512(c: &Ctx, run: &Run, it: &Item) {
    match it.j {
        1 => block::<Avx512, 16, 1>(c, run, it),
        2 => block::<Avx512, 12, 2>(c, run, it),
        3 => block::<Avx512, 8, 3>(c, run, it),
        _ => block::<Avx512, 6, 4>(c, run, it),
    }
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn item_avx2(c: &Ctx, run: &Run, it: &Item) {
    match it.j {
        1 => block::<Avx2, 12, 1>(c, run, it),
        _ => block::<Avx2, 6, 2>(c, run, it),
    }
}
