//! SIMD microkernel for convolution-like operators: a run of output pixels × a block of output channels,
//! accumulated over taps and input channels; AVX-512, AVX2+FMA and portable versions chosen at run time.
//!
//! Activations are channels-last, so for one tap and one input channel the kernel broadcasts an input
//! value per output pixel and multiplies it by a vector of packed weights for the block's output
//! channels (`R` pixels × `J` vectors of accumulators held in registers).

use std::sync::OnceLock;

use rayon::prelude::*;

/// Instruction set of the microkernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Portable,
}

impl Isa {
    /// The best supported set, or `UQ_SIMD=avx512|avx2|portable` when that one is supported.
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            let wanted = match std::env::var("UQ_SIMD").as_deref() {
                Ok("portable") => Some(Isa::Portable),
                Ok("avx2") => Some(Isa::Avx2),
                Ok("avx512") => Some(Isa::Avx512),
                _ => None,
            };
            match wanted {
                Some(isa) if isa.supported() => isa,
                _ => Isa::all()
                    .into_iter()
                    .find(|i| i.supported())
                    .unwrap_or(Isa::Portable),
            }
        })
    }

    /// Every set, best first.
    pub fn all() -> [Isa; 3] {
        [Isa::Avx512, Isa::Avx2, Isa::Portable]
    }

    /// Whether this CPU runs it.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 => false,
            Isa::Portable => true,
        }
    }

    fn lanes(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 | Isa::Portable => 8,
        }
    }

    /// Most accumulator vectors per pixel (register budget).
    fn max_j(self) -> usize {
        match self {
            Isa::Avx512 => 4,
            Isa::Avx2 | Isa::Portable => 2,
        }
    }
}

/// Output channels are padded to a multiple of this in packed weights and biases.
pub const CO_PAD: usize = 16;

/// Packed weights of a convolution-like operator: `w[tap][ci][co]`, `co` padded to `cpad`.
pub struct Packed {
    pub taps: usize,
    pub cin: usize,
    pub cout: usize,
    pub cpad: usize,
    pub w: Vec<f32>,
    /// Padded to `cpad` with zeros.
    pub bias: Option<Vec<f32>>,
    /// The same weights for the few-output-channel kernel (AVX-512), when `cout ≤ 8`.
    pub group: Option<group::Grouped>,
}

impl Packed {
    /// Pack from a weight function `f(tap, ci, co)`.
    pub fn new(
        taps: usize,
        cin: usize,
        cout: usize,
        bias: Option<&[f32]>,
        f: impl Fn(usize, usize, usize) -> f32,
    ) -> Packed {
        let cpad = cout.next_multiple_of(CO_PAD);
        let mut w = vec![0.0; taps * cin * cpad];
        for t in 0..taps {
            for ci in 0..cin {
                for co in 0..cout {
                    w[(t * cin + ci) * cpad + co] = f(t, ci, co);
                }
            }
        }
        let group = group::Grouped::new(taps, cin, cout, bias, &f);
        let bias = bias.map(|b| {
            let mut v = vec![0.0; cpad];
            v[..cout].copy_from_slice(&b[..cout]);
            v
        });
        Packed {
            taps,
            cin,
            cout,
            cpad,
            w,
            bias,
            group,
        }
    }
}

/// One run of `n` output pixels: pixel `p` reads input floats from `x + p·xs + tap offset` and writes
/// output channels at `out + p·os`.
#[derive(Clone, Copy)]
pub struct Run {
    pub x: *const f32,
    pub xs: usize,
    pub out: *mut f32,
    pub os: usize,
    pub n: usize,
}

// SAFETY: runs are built by the callers of `conv` over buffers they hold for the call; distinct items
// write disjoint outputs.
unsafe impl Send for Run {}
unsafe impl Sync for Run {}

struct Ctx<'a> {
    p: &'a Packed,
    offs: &'a [isize],
    accumulate: bool,
}

/// Pixels `p0..p1` of run `run`, output channels `co0..co0 + j·lanes`.
#[derive(Clone, Copy)]
pub(super) struct Item {
    pub run: usize,
    pub p0: usize,
    pub p1: usize,
    pub co0: usize,
    pub j: usize,
}

/// `out (+)= Σ_tap Σ_ci x[p·xs + offs[tap] + ci] · w[tap][ci][co] (+ bias)` for every run.
///
/// # Safety
/// Every run's reads (`x + p·xs + off + ci` for `p < n`, every tap offset, `ci < cin`) and writes
/// (`out + p·os + co` for `co < cout`) must lie inside live buffers, and writes of different pixels
/// or runs must not overlap each other or the reads.
pub unsafe fn conv(isa: Isa, p: &Packed, offs: &[isize], runs: &[Run], accumulate: bool) {
    assert_eq!(offs.len(), p.taps, "one offset per tap");
    let ns: Vec<usize> = runs.iter().map(|r| r.n).collect();
    let ctx = Ctx { p, offs, accumulate };
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx512, Some(g)) = (isa, &p.group) {
        for_items(&plan(&ns, p.cin * p.taps, p.cout, isa.lanes(), 1), |it| {
            // SAFETY: as below; every item covers all (≤ 8) output channels.
            unsafe { group::item(&ctx, g, &runs[it.run], it) }
        });
        return;
    }
    for_items(
        &plan(&ns, p.cin * p.taps, p.cout, isa.lanes(), isa.max_j()),
        |it| {
            let run = &runs[it.run];
            // SAFETY: the caller's contract; the ISA was checked when `isa` was chosen.
            unsafe {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => x86::item_avx512(&ctx, run, it),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => x86::item_avx2(&ctx, run, it),
                    _ => item_portable(&ctx, run, it),
                }
            }
        },
    );
}

/// Work items of one call: runs of `ns[i]` pixels cut into chunks (when the call is worth
/// threading) × blocks of at most `mj` vectors of `l` output channels; `None` chunking runs serially.
pub(super) fn plan(ns: &[usize], depth: usize, cout: usize, l: usize, mj: usize) -> (Vec<Item>, bool) {
    let nv = cout.div_ceil(l);
    let total: usize = ns.iter().sum();
    let flops = 2 * total * cout * depth;
    let threads = rayon::current_num_threads();
    let nblocks = nv.div_ceil(mj);
    let serial = flops < 2_000_000 || threads == 1;
    let chunk = if serial {
        usize::MAX
    } else {
        (total * nblocks)
            .div_ceil(4 * threads)
            .next_multiple_of(48)
            .max(48)
    };
    let mut items = Vec::new();
    for (ri, &n) in ns.iter().enumerate() {
        let mut p0 = 0;
        while p0 < n {
            let p1 = (p0 + chunk.min(n)).min(n);
            for v0 in (0..nv).step_by(mj) {
                items.push(Item {
                    run: ri,
                    p0,
                    p1,
                    co0: v0 * l,
                    j: (nv - v0).min(mj),
                });
            }
            p0 = p1;
        }
    }
    let par = !serial && items.len() > 1;
    (items, par)
}

/// Run `f` on every item, on the rayon pool when `plan` said so.
pub(super) fn for_items(plan: &(Vec<Item>, bool), f: impl Fn(&Item) + Sync + Send) {
    let (items, par) = plan;
    if *par {
        items.par_iter().for_each(f);
    } else {
        items.iter().for_each(f);
    }
}

/// A SIMD vector of f32 lanes.
trait Simd {
    const L: usize;
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    unsafe fn splat(p: *const f32) -> Self::V;
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
}

/// `R` pixels × `J` vectors of output channels starting at `co0`.
#[inline(always)]
unsafe fn tile<S: Simd, const R: usize, const J: usize>(
    c: &Ctx,
    x: *const f32,
    xs: usize,
    out: *mut f32,
    os: usize,
    co0: usize,
) {
    let p = c.p;
    let l = S::L;
    let valid = |j: usize| (p.cout - co0 - j * l).min(l);
    let mut acc = [[S::zero(); J]; R];
    if c.accumulate {
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, a) in row.iter_mut().enumerate() {
                let ptr = out.add(r * os + j * l);
                let n = valid(j);
                *a = if n == l { S::load(ptr) } else { S::load_n(ptr, n) };
            }
        }
    } else if let Some(b) = &p.bias {
        for j in 0..J {
            let bv = S::load(b.as_ptr().add(co0 + j * l));
            for row in acc.iter_mut() {
                row[j] = bv;
            }
        }
    }
    let wbase = p.w.as_ptr().add(co0);
    for (t, &off) in c.offs.iter().enumerate() {
        let xt = x.offset(off);
        let wt = wbase.add(t * p.cin * p.cpad);
        for ci in 0..p.cin {
            let wr = wt.add(ci * p.cpad);
            let mut wv = [S::zero(); J];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = S::load(wr.add(j * l));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let xv = S::splat(xt.add(r * xs + ci));
                for j in 0..J {
                    row[j] = S::fma(xv, wv[j], row[j]);
                }
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            let ptr = out.add(r * os + j * l);
            let n = valid(j);
            if n == l {
                S::store(ptr, *a);
            } else {
                S::store_n(ptr, *a, n);
            }
        }
    }
}

/// Pixels `p0..p1` of a run: full `R`-tiles, then single pixels.
#[inline(always)]
unsafe fn block<S: Simd, const R: usize, const J: usize>(c: &Ctx, run: &Run, it: &Item) {
    let mut p = it.p0;
    let at = |p: usize| (run.x.add(p * run.xs), run.out.add(p * run.os + it.co0));
    while p + R <= it.p1 {
        let (x, o) = at(p);
        tile::<S, R, J>(c, x, run.xs, o, run.os, it.co0);
        p += R;
    }
    while p < it.p1 {
        let (x, o) = at(p);
        tile::<S, 1, J>(c, x, run.xs, o, run.os, it.co0);
        p += 1;
    }
}

/// Portable lanes: plain arrays the compiler may vectorise.
struct Portable;

impl Simd for Portable {
    const L: usize = 8;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        std::ptr::read_unaligned(p as *const [f32; 8])
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> [f32; 8] {
        let mut v = [0.0; 8];
        for (i, x) in v.iter_mut().enumerate().take(n) {
            *x = *p.add(i);
        }
        v
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> [f32; 8] {
        [*p; 8]
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        std::ptr::write_unaligned(p as *mut [f32; 8], v)
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: [f32; 8], n: usize) {
        for (i, x) in v.iter().enumerate().take(n) {
            *p.add(i) = *x;
        }
    }
}

unsafe fn item_portable(c: &Ctx, run: &Run, it: &Item) {
    match it.j {
        1 => block::<Portable, 4, 1>(c, run, it),
        _ => block::<Portable, 4, 2>(c, run, it),
    }
}

mod group;
#[cfg(target_arch = "x86_64")]
mod x86;
