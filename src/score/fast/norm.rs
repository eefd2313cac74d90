//! GroupNorm on padded channels-last activations: statistics, the fused normalise → ReLU → add pass,
//! and the analytic input-VJP.

use rayon::prelude::*;

use super::act::{par_rows, Act, Ptr};
use super::kernel::Isa;

/// A GroupNorm layer's parameters.
pub struct Norm {
    pub groups: usize,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub eps: f64,
}

/// Per-image statistics of one GroupNorm application, as per-channel affine maps `y = a·x + t`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// `[B, G]` group means and reciprocal standard deviations.
    pub mean: Vec<f64>,
    pub rstd: Vec<f64>,
    /// `[B, C]`: `scale = rstd·γ`, `shift = β − mean·scale`.
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

/// `K` per-channel sums over the interior, `[K][B][C]` in f64; `f(n, y, acc)` adds row `y` of image
/// `n` into `acc[k][..C]` (f32 within a row). Rows are summed in order after a parallel map, so the
/// result does not depend on how rayon splits the work (training resumes bit-identically).
fn channel_sums<const K: usize>(
    a: &Act,
    f: impl Fn(usize, usize, &mut [[f32; MAX_C]; K]) + Sync,
) -> Vec<f64> {
    let (b, h, c) = (a.b, a.h, a.c);
    let rows = b * h;
    let row = |i: usize| {
        let mut r = [[0f32; MAX_C]; K];
        f(i / h, i % h, &mut r);
        let mut v = Vec::with_capacity(K * c);
        r.iter().for_each(|rk| v.extend_from_slice(&rk[..c]));
        v
    };
    let per_row: Vec<Vec<f32>> = if b * a.interior() < 1 << 15 {
        (0..rows).map(row).collect()
    } else {
        (0..rows).into_par_iter().map(row).collect()
    };
    let mut acc = vec![0f64; K * b * c];
    for (i, r) in per_row.iter().enumerate() {
        let n = i / h;
        for k in 0..K {
            for ch in 0..c {
                acc[(k * b + n) * c + ch] += f64::from(r[k * c + ch]);
            }
        }
    }
    acc
}

simd_fn! {
    /// `acc[ch] += Σ_px row[px, ch]`.
    fn row_sum(acc: &mut [f32], row: &[f32]) {
        for px in row.chunks_exact(acc.len()) {
            for (s, v) in acc.iter_mut().zip(px) {
                *s += v;
            }
        }
    }
}

simd_fn! {
    /// `s[ch] += Σ_px (row[px, ch] − k[ch])` and `q[ch] += Σ_px (row[px, ch] − k[ch])²`.
    fn row_moments(s: &mut [f32], q: &mut [f32], row: &[f32], k: &[f32]) {
        for px in row.chunks_exact(k.len()) {
            for (((s, q), v), k) in s.iter_mut().zip(q.iter_mut()).zip(px).zip(k) {
                let d = v - k;
                *s += d;
                *q += d * d;
            }
        }
    }
}

simd_fn! {
    /// `dst = src·sc + sh`.
    fn row_norm(dst: &mut [f32], src: &[f32], sc: &[f32], sh: &[f32]) {
        let c = sc.len();
        for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
            for (((d, v), k), t) in d.iter_mut().zip(s).zip(sc).zip(sh) {
                *d = v * k + t;
            }
        }
    }
}

simd_fn! {
    /// `dst = relu(src·sc + sh) + e`.
    fn row_norm_relu_add(dst: &mut [f32], src: &[f32], sc: &[f32], sh: &[f32], e: &[f32]) {
        let c = sc.len();
        for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
            for ((((d, v), k), t), e) in d.iter_mut().zip(s).zip(sc).zip(sh).zip(e) {
                *d = (v * k + t).max(0.0) + e;
            }
        }
    }
}

simd_fn! {
    /// `dst = relu(src·sc + sh + skip)`.
    fn row_norm_add_relu(dst: &mut [f32], src: &[f32], sc: &[f32], sh: &[f32], skip: &[f32]) {
        let c = sc.len();
        for ((d, s), e) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)).zip(skip.chunks_exact(c)) {
            for ((((d, v), k), t), e) in d.iter_mut().zip(s).zip(sc).zip(sh).zip(e) {
                *d = (v * k + t + e).max(0.0);
            }
        }
    }
}

simd_fn! {
    /// VJP sums: `s0[ch] += Σ g'`, `s1[ch] += Σ g'·(a − mean)`, `g' = g·[a·sc + sh > 0]` with `relu`.
    fn row_vjp_sums(s0: &mut [f32], s1: &mut [f32], a: &[f32], g: &[f32], sc: &[f32], sh: &[f32], mean: &[f32], relu: bool) {
        let c = sc.len();
        for (ap, gp) in a.chunks_exact(c).zip(g.chunks_exact(c)) {
            for ((((((s0, s1), av), gv), k), t), m) in s0.iter_mut().zip(s1.iter_mut()).zip(ap).zip(gp).zip(sc).zip(sh).zip(mean) {
                let gv = if relu && av * k + t <= 0.0 { 0.0 } else { *gv };
                *s0 += gv;
                *s1 += gv * (av - m);
            }
        }
    }
}

simd_fn! {
    /// VJP apply: `g = k1·g' + k2·a + k3`, `g'` masked as in `row_vjp_sums`.
    fn row_vjp_apply(g: &mut [f32], a: &[f32], k1: &[f32], k2: &[f32], k3: &[f32], sc: &[f32], sh: &[f32], relu: bool) {
        let c = sc.len();
        for (gp, ap) in g.chunks_exact_mut(c).zip(a.chunks_exact(c)) {
            for ((((((gv, av), k1), k2), k3), k), t) in gp.iter_mut().zip(ap).zip(k1).zip(k2).zip(k3).zip(sc).zip(sh) {
                let gm = if relu && av * k + t <= 0.0 { 0.0 } else { *gv };
                *gv = k1 * gm + k2 * av + k3;
            }
        }
    }
}

/// Largest channel count the norm kernels accept.
pub const MAX_C: usize = 256;

impl Norm {
    /// Statistics of `a` (two passes: mean, then centred variance, as candle computes them).
    pub fn stats(&self, a: &Act, st: &mut Stats) {
        let (b, c, g) = (a.b, a.c, self.groups);
        assert!(c <= MAX_C, "GroupNorm over more than {MAX_C} channels");
        let cg = c / g;
        let npx = (a.h * a.w) as f64;
        let m = npx * cg as f64;
        let w = a.w;
        // One pass: sums of `x − k` and `(x − k)²` with `k` each image's per-channel mean over its
        // first row, near the channel's mean, so the shifted sums do not cancel the way raw second
        // moments can (the combination below is in f64).
        let k: Vec<f32> = (0..b)
            .flat_map(|n| {
                let o = a.at(n, 0, 0);
                let mut first = vec![0f32; c];
                row_sum(&mut first, &a.d[o..o + w * c]);
                first.into_iter().map(move |s| s / w as f32)
            })
            .collect();
        let sums = channel_sums::<2>(a, |n, y, acc| {
            let o = a.at(n, y, 0);
            let [s, q] = acc;
            row_moments(
                &mut s[..c],
                &mut q[..c],
                &a.d[o..o + w * c],
                &k[n * c..(n + 1) * c],
            );
        });
        let (s1, s2) = sums.split_at(b * c);
        st.mean.clear();
        st.rstd.clear();
        st.scale.resize(b * c, 0.0);
        st.shift.resize(b * c, 0.0);
        for n in 0..b {
            for gi in 0..g {
                let chans = n * c + gi * cg..n * c + (gi + 1) * cg;
                let shift = |i: usize| f64::from(k[i]);
                let mean = chans.clone().map(|i| s1[i] + npx * shift(i)).sum::<f64>() / m;
                // Σ (x − μ)² = Σ_ch [Σ (x − k)² + 2 (k − μ) Σ (x − k) + npx (k − μ)²].
                let ss: f64 = chans
                    .clone()
                    .map(|i| {
                        let d = shift(i) - mean;
                        s2[i] + 2.0 * d * s1[i] + npx * d * d
                    })
                    .sum();
                let var = (ss / m).max(0.0);
                let rstd = 1.0 / (var + self.eps).sqrt();
                st.mean.push(mean);
                st.rstd.push(rstd);
                for ch in gi * cg..(gi + 1) * cg {
                    let s = rstd * f64::from(self.gamma[ch]);
                    st.scale[n * c + ch] = s as f32;
                    st.shift[n * c + ch] = (f64::from(self.beta[ch]) - mean * s) as f32;
                }
            }
        }
    }
}

/// Gradients of a GroupNorm's affine parameters.
#[derive(Clone, Debug, Default)]
pub struct NormGrads {
    pub gamma: Vec<f64>,
    pub beta: Vec<f64>,
}

/// Per-image channel sums of the interior, `[B, C]` (f64, deterministic order).
pub fn image_channel_sums(a: &Act) -> Vec<f64> {
    let (c, w) = (a.c, a.w);
    channel_sums::<1>(a, |n, y, acc| {
        let o = a.at(n, y, 0);
        row_sum(&mut acc[0][..c], &a.d[o..o + w * c]);
    })
}

/// What follows the normalisation in the fused pass.
pub enum Then<'a> {
    /// `y = n`.
    Nothing,
    /// `y = relu(n) + e[b, c]` (`e` empty: no addition).
    Relu(&'a [f32]),
    /// `y = relu(n + skip)`.
    AddRelu(&'a Act),
}

/// `out = then(a·scale + shift)` on the interior.
pub fn apply(a: &Act, st: &Stats, then: Then, out: &mut Act) {
    debug_assert!(a.same_shape(out));
    let (c, w) = (a.c, a.w);
    let zeros = vec![0f32; c];
    let op = Ptr(out.d.as_mut_ptr());
    par_rows(a.b, a.h, a.b * a.interior(), |n, y| {
        let o = a.at(n, y, 0);
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dst = unsafe { op.slice(o, w * c) };
        let (sc, sh) = (&st.scale[n * c..(n + 1) * c], &st.shift[n * c..(n + 1) * c]);
        let src = &a.d[o..o + w * c];
        match &then {
            Then::Nothing => row_norm(dst, src, sc, sh),
            Then::Relu([]) => row_norm_relu_add(dst, src, sc, sh, &zeros),
            Then::Relu(e) => row_norm_relu_add(dst, src, sc, sh, &e[n * c..(n + 1) * c]),
            Then::AddRelu(skip) => {
                let so = skip.at(n, y, 0);
                row_norm_add_relu(dst, src, sc, sh, &skip.d[so..so + w * c]);
            }
        }
    });
}

/// Input-VJP of GroupNorm: `g` holds the gradient with respect to the norm's output (or, with
/// `relu_mask`, with respect to `relu(output)`: it is masked by `a·scale + shift > 0` first) and is
/// overwritten by the gradient with respect to its input `a`. Returns the gradients with respect
/// to γ and β (summed over the batch).
pub fn vjp(norm: &Norm, a: &Act, st: &Stats, relu_mask: bool, g: &mut Act) -> NormGrads {
    debug_assert!(a.same_shape(g));
    let (b, c, w, gr) = (a.b, a.c, a.w, norm.groups);
    let cg = c / gr;
    let m = (a.h * a.w * cg) as f64;
    // Per channel: Σ g and Σ g·(a − mean_group).
    let mc: Vec<f32> = (0..b * c)
        .map(|i| st.mean[(i / c) * gr + (i % c) / cg] as f32)
        .collect();
    let gd = &g.d;
    let s = channel_sums::<2>(a, |n, y, acc| {
        let o = a.at(n, y, 0);
        let [s0, s1] = acc;
        let r = n * c..(n + 1) * c;
        row_vjp_sums(
            &mut s0[..c],
            &mut s1[..c],
            &a.d[o..o + w * c],
            &gd[o..o + w * c],
            &st.scale[r.clone()],
            &st.shift[r.clone()],
            &mc[r],
            relu_mask,
        );
    });
    // dγ = Σ g'·(a − mean)·rstd, dβ = Σ g'.
    let mut pg = NormGrads {
        gamma: vec![0.0; c],
        beta: vec![0.0; c],
    };
    for n in 0..b {
        for ch in 0..c {
            let rstd = st.rstd[n * gr + ch / cg];
            pg.beta[ch] += s[n * c + ch];
            pg.gamma[ch] += s[(b + n) * c + ch] * rstd;
        }
    }
    // da = rstd·γ·g − rstd·A − rstd²·B·(a − mean), A = mean(γ g), B = rstd·mean(γ g (a − mean)).
    let mut k1 = vec![0f32; b * c];
    let mut k2 = vec![0f32; b * c];
    let mut k3 = vec![0f32; b * c];
    for n in 0..b {
        for gi in 0..gr {
            let (mut sa, mut sb) = (0f64, 0f64);
            for ch in gi * cg..(gi + 1) * cg {
                let gam = f64::from(norm.gamma[ch]);
                sa += gam * s[n * c + ch];
                sb += gam * s[(b + n) * c + ch];
            }
            let rstd = st.rstd[n * gr + gi];
            let (aa, bb) = (sa / m, rstd * sb / m);
            let mean = st.mean[n * gr + gi];
            for ch in gi * cg..(gi + 1) * cg {
                k1[n * c + ch] = (rstd * f64::from(norm.gamma[ch])) as f32;
                k2[n * c + ch] = (-rstd * rstd * bb) as f32;
                k3[n * c + ch] = (rstd * rstd * bb * mean - rstd * aa) as f32;
            }
        }
    }
    let gp = Ptr(g.d.as_mut_ptr());
    par_rows(b, a.h, b * a.interior(), |n, y| {
        let o = a.at(n, y, 0);
        // SAFETY: row `y` of image `n` is this worker's alone.
        let gr = unsafe { gp.slice(o, w * c) };
        let r = n * c..(n + 1) * c;
        row_vjp_apply(
            gr,
            &a.d[o..o + w * c],
            &k1[r.clone()],
            &k2[r.clone()],
            &k3[r.clone()],
            &st.scale[r.clone()],
            &st.shift[r],
            relu_mask,
        );
    });
    pg
}
