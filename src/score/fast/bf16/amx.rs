//! AMX tiles (AMX-BF16 `tdpbf16ps`) for the bf16 convolutions: per tap and per 32 input channels, a
//! tile of 16 pixels × 32 channels times a tile of 16 channel pairs × 16 output channels, accumulated in
//! f32 tiles of 16 pixels × 16 output channels; the CPU and kernel check (Linux `arch_prctl`).
//!
//! A `tdpbf16ps` right operand is pair-interleaved ("VNNI"), as the packed bf16 weights are; they are
//! kept once more per block of 16 output channels (`PackedBf16::tiles`) so that each weight tile is
//! 1 KB of consecutive memory. A channels-last bf16 activation is the left operand as it is, with the
//! pixel stride as the row stride. Operators whose input channels are not a multiple of 32 or whose
//! output channels are not a multiple of 16 (the network's first and last convolutions), and items
//! shorter than 16 pixels, stay on the AVX512-BF16 kernel; an item's last < 16 pixels are the
//! 16-pixel block ending there, computed into a scratch tile.

use std::arch::asm;
use std::sync::OnceLock;

use super::{PackedBf16, Run16};
use crate::score::fast::kernel::Item;

/// Whether the bf16 convolutions use AMX tiles: the CPU has AMX-TILE and AMX-BF16, the kernel grants
/// the tile state to this process, and `UQ_AMX` is not `off` (checked once).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = matches!(std::env::var("UQ_AMX").as_deref(), Ok("off" | "0"));
        !off && cpu_has_amx() && request_tile_state()
    })
}

/// Whether `p` runs on tiles: 32 input channels per step and 16 output channels per tile, exactly.
pub fn fits(p: &PackedBf16) -> bool {
    !p.tiles.is_empty()
}

/// AMX-TILE and AMX-BF16 (CPUID leaf 7), and a tile palette 1 with at least 8 tiles of 16 rows of
/// 64 bytes (leaf 0x1D), the configuration `CONFIG` loads.
fn cpu_has_amx() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    if __cpuid(0).eax < 0x1d {
        return false;
    }
    let edx = __cpuid_count(7, 0).edx;
    if edx & (1 << 22) == 0 || edx & (1 << 24) == 0 || __cpuid_count(0x1d, 0).eax < 1 {
        return false;
    }
    let palette = __cpuid_count(0x1d, 1);
    let (bytes_per_row, names, rows) = (palette.ebx & 0xffff, palette.ebx >> 16, palette.ecx & 0xffff);
    bytes_per_row >= 64 && names >= 8 && rows >= 16
}

/// Ask Linux for the AMX tile data state (`ARCH_REQ_XCOMP_PERM`, `XFEATURE_XTILEDATA`): without it
/// the first tile instruction faults. Other systems: no AMX.
fn request_tile_state() -> bool {
    #[cfg(target_os = "linux")]
    {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a plain system call with integer arguments; it only changes this process's
        // permitted extended state.
        unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Palette 1, tiles 0–7 all 16 rows × 64 bytes: C (f32 accumulators) in 0–3, A (pixels) in 4–5,
/// B (weights) in 6–7.
#[repr(C, align(64))]
struct Config([u8; 64]);

static CONFIG: Config = {
    let mut c = [0u8; 64];
    c[0] = 1;
    let mut t = 0;
    while t < 8 {
        c[16 + 2 * t] = 64;
        c[48 + t] = 16;
        t += 1;
    }
    Config(c)
};

macro_rules! tile_load {
    ($t:literal, $ptr:expr, $stride:expr) => {
        asm!(concat!("tileloadd tmm", $t, ", [{0} + {1}*1]"), in(reg) $ptr, in(reg) $stride,
             options(nostack, readonly))
    };
}

/// Load tile `t` (a literal after inlining) from `ptr` with a row stride of `stride` bytes.
#[inline(always)]
unsafe fn load(t: usize, ptr: *const u8, stride: usize) {
    match t {
        0 => tile_load!("0", ptr, stride),
        1 => tile_load!("1", ptr, stride),
        2 => tile_load!("2", ptr, stride),
        3 => tile_load!("3", ptr, stride),
        4 => tile_load!("4", ptr, stride),
        5 => tile_load!("5", ptr, stride),
        6 => tile_load!("6", ptr, stride),
        _ => tile_load!("7", ptr, stride),
    }
}

macro_rules! tile_store {
    ($t:literal, $ptr:expr, $stride:expr) => {
        asm!(concat!("tilestored [{0} + {1}*1], tmm", $t), in(reg) $ptr, in(reg) $stride,
             options(nostack))
    };
}

/// Store accumulator tile `t` (0–3) to `ptr`, rows `stride` bytes apart.
#[inline(always)]
unsafe fn store(t: usize, ptr: *mut u8, stride: usize) {
    match t {
        0 => tile_store!("0", ptr, stride),
        1 => tile_store!("1", ptr, stride),
        2 => tile_store!("2", ptr, stride),
        _ => tile_store!("3", ptr, stride),
    }
}

/// Zero accumulator tile `t` (0–3).
#[inline(always)]
unsafe fn zero(t: usize) {
    match t {
        0 => asm!("tilezero tmm0", options(nomem, nostack)),
        1 => asm!("tilezero tmm1", options(nomem, nostack)),
        2 => asm!("tilezero tmm2", options(nomem, nostack)),
        _ => asm!("tilezero tmm3", options(nomem, nostack)),
    }
}

/// Accumulator `r·2 + j` += A tile `4 + r` · B tile `6 + j`.
#[inline(always)]
unsafe fn dot(r: usize, j: usize) {
    match (r, j) {
        (0, 0) => asm!("tdpbf16ps tmm0, tmm4, tmm6", options(nomem, nostack)),
        (0, _) => asm!("tdpbf16ps tmm1, tmm4, tmm7", options(nomem, nostack)),
        (_, 0) => asm!("tdpbf16ps tmm2, tmm5, tmm6", options(nomem, nostack)),
        _ => asm!("tdpbf16ps tmm3, tmm5, tmm7", options(nomem, nostack)),
    }
}

/// Pixels per chunk of a work item (a multiple of 32).
const CHUNK: usize = 256;

/// What the accumulator tiles start from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Init {
    /// The output's current values (`accumulate`).
    Out,
    /// The bias, or zero without one.
    Bias,
    Zero,
}

/// `R` blocks of 16 pixels from `px` of `run`'s input × `J` blocks of 16 output channels from `co0`,
/// written to `out` (pixel `px`, channel `co0`) with `ros` floats per pixel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const R: usize, const J: usize>(
    p: &PackedBf16,
    offs: &[isize],
    init: Init,
    run: &Run16,
    px: usize,
    co0: usize,
    out: *mut f32,
    ros: usize,
) {
    let os = ros * 4;
    for r in 0..R {
        for j in 0..J {
            match (init, &p.bias) {
                (Init::Out, _) => load(r * 2 + j, out.add(r * 16 * ros + j * 16) as *const u8, os),
                // Stride 0: every row of the tile is the bias.
                (Init::Bias, Some(b)) => load(r * 2 + j, b.as_ptr().add(co0 + j * 16) as *const u8, 0),
                (Init::Bias, None) | (Init::Zero, _) => zero(r * 2 + j),
            }
        }
    }
    let xs = run.xs * 2;
    // One block of 16 output channels: taps × pairs rows of 64 bytes.
    let cb = p.taps * p.pairs * 32;
    let x = run.x.add(px * run.xs);
    for (t, &off) in offs.iter().enumerate() {
        let xt = x.offset(off);
        let wt = p.tiles.as_ptr().add(co0 / 16 * cb + t * p.pairs * 32);
        for k in 0..p.pairs / 16 {
            // Each load just before the first product that needs it, so loads overlap products.
            let wk = wt.add(16 * k * 32);
            load(4, xt.add(32 * k) as *const u8, xs);
            for j in 0..J {
                load(6 + j, wk.add(j * cb) as *const u8, 64);
                dot(0, j);
            }
            for r in 1..R {
                load(4 + r, xt.add(r * 16 * run.xs + 32 * k) as *const u8, xs);
                for j in 0..J {
                    dot(r, j);
                }
            }
        }
    }
    for r in 0..R {
        for j in 0..J {
            store(r * 2 + j, out.add(r * 16 * ros + j * 16) as *mut u8, os);
        }
    }
}

/// The last `p1 − px` (< 16) pixels of an item of at least 16: the 16-pixel block ending at `p1`
/// (reading only pixels of the item) computed into a scratch tile, of which only the rows from `px` on
/// are added to `out` (or to the bias).
#[inline(always)]
unsafe fn tail(p: &PackedBf16, offs: &[isize], accumulate: bool, run: &Run16, it: &Item, px: usize) {
    let start = it.p1 - 16;
    let mut buf = [[0f32; 32]; 16];
    for j in (0..it.j).step_by(2) {
        let co0 = it.co0 + j * 16;
        let nj = (it.j - j).min(2);
        let b = buf.as_mut_ptr().cast::<f32>();
        if nj == 2 {
            block::<1, 2>(p, offs, Init::Zero, run, start, co0, b, 32);
        } else {
            block::<1, 1>(p, offs, Init::Zero, run, start, co0, b, 32);
        }
        for q in px..it.p1 {
            let row = &buf[q - start];
            let o = run.out.add(q * run.os + co0);
            for c in 0..nj * 16 {
                let base = match (&p.bias, accumulate) {
                    (_, true) => *o.add(c),
                    (Some(b), false) => b[co0 + c],
                    (None, false) => 0.0,
                };
                *o.add(c) = base + row[c];
            }
        }
    }
}

/// One work item: blocks of 32 (then 16) pixels × pairs of 16-channel output blocks on tiles; the
/// last < 16 pixels by `tail`, or all of an item shorter than 16 pixels on the AVX512-BF16 kernel.
///
/// # Safety
/// As `conv_bf16`, with `enabled()` and `fits(p)` true.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn item(p: &PackedBf16, offs: &[isize], accumulate: bool, run: &Run16, it: &Item) {
    if it.p1 - it.p0 < 16 {
        return super::x86::item(p, offs, accumulate, run, it);
    }
    asm!("ldtilecfg [{0}]", in(reg) CONFIG.0.as_ptr(), options(nostack, readonly));
    let init = if accumulate { Init::Out } else { Init::Bias };
    // Chunks of pixels, and within a chunk one pair of output blocks at a time over all its pixels:
    // the weights of a pair (≤ 9 · 128 · 32 bf16 = 74 KB) are read once per chunk from L2, not
    // once per 32 pixels.
    let full = it.p0 + (it.p1 - it.p0) / 16 * 16;
    for c0 in (it.p0..full).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(full);
        for j in (0..it.j).step_by(2) {
            let co0 = it.co0 + j * 16;
            let two_j = it.j - j >= 2;
            let mut px = c0;
            while px < c1 {
                let two = px + 32 <= c1;
                let o = run.out.add(px * run.os + co0);
                match (two, two_j) {
                    (true, true) => block::<2, 2>(p, offs, init, run, px, co0, o, run.os),
                    (true, false) => block::<2, 1>(p, offs, init, run, px, co0, o, run.os),
                    (false, true) => block::<1, 2>(p, offs, init, run, px, co0, o, run.os),
                    (false, false) => block::<1, 1>(p, offs, init, run, px, co0, o, run.os),
                }
                px += if two { 32 } else { 16 };
            }
        }
    }
    let px = full;
    if px < it.p1 {
        tail(p, offs, accumulate, run, it, px);
    }
    asm!("tilerelease", options(nomem, nostack));
}
