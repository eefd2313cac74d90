//! Weight gradients of the fast path's linear operators (3×3 and 1×1 conv, 2×2 transposed conv, dense
//! layers) as GEMMs over padded channels-last activations, in a fixed summation order.
//!
//! Work is split over (tap, output-channel block) tasks that each own a disjoint part of the weight
//! gradient and sum over every image in order, so the result does not depend on the thread count.

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use super::act::{Act, Ptr};
use super::norm::image_channel_sums;

/// Output channels per task.
const CO_BLOCK: usize = 16;

/// `(tap, first output channel, count)` tasks.
fn tasks(taps: usize, cout: usize) -> Vec<(usize, usize, usize)> {
    (0..taps)
        .flat_map(|t| {
            (0..cout)
                .step_by(CO_BLOCK)
                .map(move |c0| (t, c0, CO_BLOCK.min(cout - c0)))
        })
        .collect()
}

/// `db[co] += Σ_{b, pixels} g[.., c0 + co]` for `co < db.len()`.
pub fn bias_grad(g: &Act, c0: usize, db: &mut [f32]) {
    let s = image_channel_sums(g);
    for n in 0..g.b {
        for (co, d) in db.iter_mut().enumerate() {
            *d += s[n * g.c + c0 + co] as f32;
        }
    }
}

/// Gradient of a `k × k` "same" conv's weights, candle layout `[cout, cin, k, k]`, accumulated into
/// `dw`: `dw[co, ci, t] += Σ_b Σ_p x[b, p + off_t, ci] · g[b, p, co]`. Every border pixel of `x` and `g`
/// must be zero (the `Act` invariant): the runs then pass over the border columns harmlessly.
pub fn conv_wgrad(k: usize, x: &Act, g: &Act, dw: &mut [f32]) {
    assert!(x.b == g.b && x.h == g.h && x.w == g.w, "conv gradient shapes");
    let (cin, cout, kk) = (x.c, g.c, k * k);
    assert_eq!(dw.len(), cout * cin * kk, "conv weight gradient size");
    let (wp, r) = (x.wp() as isize, (k / 2) as isize);
    let offs: Vec<isize> = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy * wp + dx) * cin as isize))
        .collect();
    let npix = x.h * x.wp() - 2;
    let dp = Ptr(dw.as_mut_ptr());
    tasks(kk, cout).into_par_iter().for_each(|(t, c0, nc)| {
        for b in 0..x.b {
            let xp = x.d.as_ptr().wrapping_offset(x.at(b, 0, 0) as isize + offs[t]);
            let gp = g.d[g.at(b, 0, 0) + c0..].as_ptr();
            // SAFETY: for pixel p < npix of image b, `x.at(b, 0, 0) + p·cin + offs[t]` stays inside
            // image b's padded rows (the tap reaches one padded row/column further) and `g`'s
            // pixels likewise; `dst` addresses dw[co, ci, t] for this task's co block only, which no
            // other task writes.
            unsafe {
                gemm(
                    cin,
                    nc,
                    npix,
                    dp.get().add(c0 * cin * kk + t),
                    (cin * kk) as isize,
                    kk as isize,
                    true,
                    xp,
                    cin as isize,
                    1,
                    gp,
                    1,
                    cout as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        }
    });
}

/// Gradient of a 2×2 stride-2 transposed conv's weights, candle layout `[cin, cout, 2, 2]`, from its
/// input `x` and the gradient `g[.., c0..c0+cout]` of its output (twice `x`'s size), accumulated.
pub fn upconv_wgrad(x: &Act, g: &Act, c0: usize, dw: &mut [f32]) {
    let cin = x.c;
    let cout = dw.len() / (4 * cin);
    assert_eq!(dw.len(), cin * cout * 4, "transposed conv weight gradient size");
    assert!(g.b == x.b && g.h == 2 * x.h && g.w == 2 * x.w && g.c >= c0 + cout);
    let dp = Ptr(dw.as_mut_ptr());
    tasks(4, cout).into_par_iter().for_each(|(t, o0, nc)| {
        let (a, bb) = (t / 2, t % 2);
        for n in 0..x.b {
            for y in 0..x.h {
                let xp = x.d[x.at(n, y, 0)..].as_ptr();
                let gp = g.d[g.at(n, 2 * y + a, bb) + c0 + o0..].as_ptr();
                // SAFETY: row y of image n holds x.w pixels of `cin`; the output row 2y+a holds
                // pixels 2·px + bb < g.w; `dst` addresses dw[ci, co, t] for this task's co block.
                unsafe {
                    gemm(
                        cin,
                        nc,
                        x.w,
                        dp.get().add(o0 * 4 + t),
                        4,
                        (cout * 4) as isize,
                        true,
                        xp,
                        cin as isize,
                        1,
                        gp,
                        1,
                        (2 * g.c) as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
        }
    });
}

/// Backward of `y = W x + b` over rows (`x: [B, inp]`, `gy: [B, out]`): accumulates `dw` (`[out, inp]`)
/// and `db`, returns `gx = gy W`.
pub fn dense_backward(
    w: &[f32],
    inp: usize,
    x: &[f32],
    gy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
) -> Vec<f32> {
    let out = db.len();
    let mut gx = vec![0f32; x.len()];
    for ((xr, gr), gxr) in x
        .chunks_exact(inp)
        .zip(gy.chunks_exact(out))
        .zip(gx.chunks_exact_mut(inp))
    {
        for (o, &go) in gr.iter().enumerate() {
            if go == 0.0 {
                continue;
            }
            db[o] += go;
            let wr = &w[o * inp..(o + 1) * inp];
            for ((d, &xv), (gv, &wv)) in dw[o * inp..(o + 1) * inp]
                .iter_mut()
                .zip(xr)
                .zip(gxr.iter_mut().zip(wr))
            {
                *d += go * xv;
                *gv += go * wv;
            }
        }
    }
    gx
}
