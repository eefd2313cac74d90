//! GroupNorm on padded channels-last activations: statistics, the fused normalise → ReLU → add pass,
//! and the analytic input-VJP.

use rayon::prelude::*;

use super::act::{par_rows, Act, Ptr};

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

/// `K` per-channel sums `Σ_pixels f(n, k, x-index)` over the interior, `[K][B][C]` in f64.
fn channel_sums<const K: usize>(a: &Act, f: impl Fn(usize, usize, &mut [[f32; 256]; K]) + Sync) -> Vec<f64> {
    let (b, h, c) = (a.b, a.h, a.c);
    let rows = b * h;
    let fold = |mut acc: Vec<f64>, i: usize| {
        let mut row = [[0f32; 256]; K];
        f(i / h, i % h, &mut row);
        let n = i / h;
        for (k, r) in row.iter().enumerate() {
            for ch in 0..c {
                acc[(k * b + n) * c + ch] += f64::from(r[ch]);
            }
        }
        acc
    };
    let zero = || vec![0f64; K * b * c];
    if b * a.interior() < 1 << 15 {
        (0..rows).fold(zero(), fold)
    } else {
        (0..rows)
            .into_par_iter()
            .fold(zero, fold)
            .reduce(zero, |mut x, y| {
                x.iter_mut().zip(&y).for_each(|(x, y)| *x += y);
                x
            })
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
        let m = (a.h * a.w * cg) as f64;
        let w = a.w;
        let s1 = channel_sums::<1>(a, |n, y, acc| {
            let o = a.at(n, y, 0);
            for px in a.d[o..o + w * c].chunks_exact(c) {
                for (s, v) in acc[0].iter_mut().zip(px) {
                    *s += v;
                }
            }
        });
        st.mean.clear();
        st.rstd.clear();
        let mut mc = vec![0f32; b * c];
        for n in 0..b {
            for gi in 0..g {
                let mean = s1[n * c + gi * cg..n * c + (gi + 1) * cg].iter().sum::<f64>() / m;
                st.mean.push(mean);
                mc[n * c + gi * cg..n * c + (gi + 1) * cg].fill(mean as f32);
            }
        }
        let s2 = channel_sums::<1>(a, |n, y, acc| {
            let o = a.at(n, y, 0);
            let mr = &mc[n * c..(n + 1) * c];
            for px in a.d[o..o + w * c].chunks_exact(c) {
                for ((s, v), mu) in acc[0].iter_mut().zip(px).zip(mr) {
                    let d = v - mu;
                    *s += d * d;
                }
            }
        });
        st.scale.resize(b * c, 0.0);
        st.shift.resize(b * c, 0.0);
        for n in 0..b {
            for gi in 0..g {
                let var = s2[n * c + gi * cg..n * c + (gi + 1) * cg].iter().sum::<f64>() / m;
                let rstd = 1.0 / (var + self.eps).sqrt();
                st.rstd.push(rstd);
                let mean = st.mean[n * g + gi];
                for ch in gi * cg..(gi + 1) * cg {
                    let s = rstd * f64::from(self.gamma[ch]);
                    st.scale[n * c + ch] = s as f32;
                    st.shift[n * c + ch] = (f64::from(self.beta[ch]) - mean * s) as f32;
                }
            }
        }
    }
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
    let op = Ptr(out.d.as_mut_ptr());
    par_rows(a.b, a.h, a.b * a.interior(), |n, y| {
        let o = a.at(n, y, 0);
        // SAFETY: row `y` of image `n` is this worker's alone.
        let dr = unsafe { op.slice(o, w * c) };
        let (sc, sh) = (&st.scale[n * c..(n + 1) * c], &st.shift[n * c..(n + 1) * c]);
        let src = &a.d[o..o + w * c];
        for (px, (dst, s)) in dr.chunks_exact_mut(c).zip(src.chunks_exact(c)).enumerate() {
            match &then {
                Then::Nothing => {
                    for (((d, v), k), t) in dst.iter_mut().zip(s).zip(sc).zip(sh) {
                        *d = v * k + t;
                    }
                }
                Then::Relu(e) if e.is_empty() => {
                    for (((d, v), k), t) in dst.iter_mut().zip(s).zip(sc).zip(sh) {
                        *d = (v * k + t).max(0.0);
                    }
                }
                Then::Relu(e) => {
                    let e = &e[n * c..(n + 1) * c];
                    for ((((d, v), k), t), e) in dst.iter_mut().zip(s).zip(sc).zip(sh).zip(e) {
                        *d = (v * k + t).max(0.0) + e;
                    }
                }
                Then::AddRelu(skip) => {
                    let so = skip.at(n, y, px);
                    let sk = &skip.d[so..so + c];
                    for ((((d, v), k), t), e) in dst.iter_mut().zip(s).zip(sc).zip(sh).zip(sk) {
                        *d = (v * k + t + e).max(0.0);
                    }
                }
            }
        }
    });
}

/// Input-VJP of GroupNorm: `g` holds the gradient with respect to the norm's output (or, with
/// `relu_mask`, with respect to `relu(output)`: it is masked by `a·scale + shift > 0` first) and is
/// overwritten by the gradient with respect to its input `a`.
pub fn vjp(norm: &Norm, a: &Act, st: &Stats, relu_mask: bool, g: &mut Act) {
    debug_assert!(a.same_shape(g));
    let (b, c, w, gr) = (a.b, a.c, a.w, norm.groups);
    let cg = c / gr;
    let m = (a.h * a.w * cg) as f64;
    let gpr = &*g;
    let masked = |n: usize, o: usize, px: usize, ch: usize| -> f32 {
        let gv = gpr.d[o + px * c + ch];
        if relu_mask && a.d[o + px * c + ch] * st.scale[n * c + ch] + st.shift[n * c + ch] <= 0.0 {
            0.0
        } else {
            gv
        }
    };
    // Per channel: Σ g and Σ g·(a − mean_group).
    let mc: Vec<f32> = (0..b * c)
        .map(|i| st.mean[(i / c) * gr + (i % c) / cg] as f32)
        .collect();
    let s = channel_sums::<2>(a, |n, y, acc| {
        let o = a.at(n, y, 0);
        let [s0, s1] = acc;
        for px in 0..w {
            for ch in 0..c {
                let gv = masked(n, o, px, ch);
                s0[ch] += gv;
                s1[ch] += gv * (a.d[o + px * c + ch] - mc[n * c + ch]);
            }
        }
    });
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
        // SAFETY: row `y` of image `n` is this worker's alone; `masked` reads only this row.
        let gr = unsafe { gp.slice(o, w * c) };
        for px in 0..w {
            for ch in 0..c {
                let i = n * c + ch;
                let gv = if relu_mask && a.d[o + px * c + ch] * st.scale[i] + st.shift[i] <= 0.0 {
                    0.0
                } else {
                    gr[px * c + ch]
                };
                gr[px * c + ch] = k1[i] * gv + k2[i] * a.d[o + px * c + ch] + k3[i];
            }
        }
    });
}
