//! AMX tiles against the AVX512-BF16 kernel on the same bf16 operands: every tile shape, pixel tails,
//! bias, accumulation, threaded calls (skipped where the CPU or kernel has no AMX).
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bf16::{amx_enabled, conv_bf16_on, to_bf16, PackedBf16, Run16};
use super::kernel::Packed;

/// `taps` taps reading consecutive pixels, `runs` runs of `n` pixels (a gap of `taps` pixels between
/// runs' inputs), outputs `os ≥ cout` floats per pixel starting from random values; AMX and the
/// AVX512-BF16 kernel must agree to f32 rounding of the sums (the products are exact in f32).
#[allow(clippy::too_many_arguments)]
fn case(
    rng: &mut ChaCha8Rng,
    taps: usize,
    cin: usize,
    cout: usize,
    n: usize,
    runs: usize,
    bias: bool,
    accumulate: bool,
) {
    let b: Vec<f32> = (0..cout).map(|_| rng.random_range(-1.0..1.0)).collect();
    let w: Vec<f32> = (0..taps * cin * cout)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let packed = Packed::new(taps, cin, cout, bias.then_some(&b[..]), |t, ci, co| {
        w[(t * cin + ci) * cout + co]
    });
    let p = PackedBf16::new(&packed);
    let stride = n + taps;
    let x: Vec<u16> = (0..runs * stride * cin)
        .map(|_| to_bf16(rng.random_range(-1.0..1.0)))
        .collect();
    let os = cout + 3;
    let init: Vec<f32> = (0..runs * n * os).map(|_| rng.random_range(-1.0..1.0)).collect();
    let offs: Vec<isize> = (0..taps as isize).map(|t| t * cin as isize).collect();
    let go = |amx: bool| {
        let mut out = init.clone();
        let rs: Vec<Run16> = (0..runs)
            .map(|r| Run16 {
                x: x[r * stride * cin..].as_ptr(),
                xs: cin,
                out: out[r * n * os..].as_mut_ptr(),
                os,
                n,
            })
            .collect();
        // SAFETY: run r reads pixels r·stride + p + t < (r + 1)·stride of cin channels and writes
        // its own n pixels of `out`.
        unsafe { conv_bf16_on(&p, &offs, &rs, accumulate, amx) };
        out
    };
    let (tiles, avx) = (go(true), go(false));
    let what = format!("{taps} taps, {cin}→{cout}, {runs}×{n} px, bias {bias}, accumulate {accumulate}");
    for (i, (a, v)) in tiles.iter().zip(&avx).enumerate() {
        let scale = (taps * cin) as f32 + 2.0;
        assert!(
            (a - v).abs() <= 4.0 * scale * f32::EPSILON,
            "{what}: [{i}] AMX {a} vs AVX {v}"
        );
        if i % os >= cout {
            assert_eq!(*a, init[i], "{what}: channel {} past cout written", i % os);
        }
    }
}

#[test]
fn amx_tiles_agree_with_the_avx512_bf16_kernel() {
    if !amx_enabled() {
        eprintln!("skipped: no AMX tiles here (CPU, kernel or UQ_AMX=off)");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for &n in &[1, 15, 16, 17, 31, 32, 33, 47, 48, 100] {
        for &(cin, cout) in &[(32, 16), (32, 32), (64, 48), (96, 64), (32, 80)] {
            for (bias, acc) in [(false, false), (true, false), (true, true)] {
                case(&mut rng, 3, cin, cout, n, 2, bias, acc);
            }
        }
    }
    // Threaded calls (work items cut inside runs) and the network's shapes.
    case(&mut rng, 9, 64, 64, 3000, 3, true, false);
    case(&mut rng, 9, 128, 128, 1000, 2, true, true);
    case(&mut rng, 1, 256, 128, 4222, 2, true, false);
    // Operators that do not fit tiles (odd input or output channels) take the AVX512-BF16 kernel.
    case(&mut rng, 9, 2, 32, 500, 2, true, false);
    case(&mut rng, 9, 32, 1, 500, 2, true, false);
}

/// bf16 by default only where the tiles run the network: [8, 16, 32] stays f32 everywhere (bf16 off
/// the tiles is slower than f32), [32, 64, 128] is bf16 exactly where AMX is enabled.
#[test]
fn default_precision_follows_the_tiles() {
    use super::bf16::{bf16_supported, Precision};
    assert_eq!(Precision::best_for(&[8, 16, 32]), Precision::F32);
    assert_eq!(Precision::best_for(&[]), Precision::F32);
    let tiles = amx_enabled() && bf16_supported();
    let want = if tiles { Precision::Bf16 } else { Precision::F32 };
    assert_eq!(Precision::best_for(&[32, 64, 128]), want);
}
