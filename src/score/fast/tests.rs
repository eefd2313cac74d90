//! Every fast op against candle's reference op (forward, and input-VJP by candle autograd) on random
//! shapes for each supported instruction set, and the whole network against the candle `UNet`.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Module, Tensor, Var};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::act::{avg_pool, avg_pool_adjoint, Act};
use super::conv::{Conv, UpConv};
use super::kernel::Isa;
use super::norm::{apply, vjp as norm_vjp, Norm, Stats, Then};

const TOL: f32 = 1e-4;

pub(super) fn isas() -> Vec<Isa> {
    Isa::all().into_iter().filter(|i| i.supported()).collect()
}

pub(super) fn rand_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

pub(super) fn rand_t(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    Tensor::from_vec(rand_vec(rng, shape.iter().product()), shape, &Device::Cpu).unwrap()
}

/// `[B, C, H, W]` tensor → padded channels-last buffer.
pub(super) fn to_act(t: &Tensor) -> Act {
    let (b, c, h, w) = t.dims4().unwrap();
    let dense: Vec<f32> = t
        .permute((0, 2, 3, 1))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let mut a = Act::new(b, h, w, c);
    a.fill_from(&dense, c, 0);
    a
}

pub(super) fn from_act(a: &Act) -> Tensor {
    Tensor::from_vec(a.to_dense(), (a.b, a.h, a.w, a.c), &Device::Cpu)
        .unwrap()
        .permute((0, 3, 1, 2))
        .unwrap()
}

/// max |a − b| / max |b|, asserting every border pixel of the buffer is still zero.
fn rel_err(fast: &Act, reference: &Tensor) -> f32 {
    let (hp, wp, c) = (fast.h + 2, fast.wp(), fast.c);
    for n in 0..fast.b {
        for y in 0..hp {
            for x in 0..wp {
                if y == 0 || x == 0 || y == hp - 1 || x == wp - 1 {
                    let o = ((n * hp + y) * wp + x) * c;
                    assert!(
                        fast.d[o..o + c].iter().all(|v| *v == 0.0),
                        "border ({y}, {x}) not zero"
                    );
                }
            }
        }
    }
    let d = (from_act(fast) - reference)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap();
    let m = reference
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    d.to_scalar::<f32>().unwrap() / m.max(1e-12)
}

/// Input gradient of `Σ g · f(x)` by candle autograd.
pub(super) fn autograd(x: &Tensor, g: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
    let xv = Var::from_tensor(x).unwrap();
    let grads = (f(xv.as_tensor()) * g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    grads.get(xv.as_tensor()).unwrap().clone()
}

fn conv_case(k: usize, b: usize, cin: usize, cout: usize, h: usize, w: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = rand_t(&mut rng, &[b, cin, h, w]);
    let wt = rand_t(&mut rng, &[cout, cin, k, k]);
    let bias = rand_vec(&mut rng, cout);
    let g = rand_t(&mut rng, &[b, cout, h, w]);
    let bt = Tensor::from_vec(bias.clone(), (1, cout, 1, 1), &Device::Cpu).unwrap();
    let reference = |x: &Tensor| x.conv2d(&wt, k / 2, 1, 1, 1).unwrap().broadcast_add(&bt).unwrap();
    let y_ref = reference(&x);
    let gx_ref = autograd(&x, &g, reference);
    let conv = Conv::new(
        k,
        cout,
        cin,
        &wt.flatten_all().unwrap().to_vec1().unwrap(),
        Some(&bias),
    );
    for isa in isas() {
        let (xa, ga) = (to_act(&x), to_act(&g));
        let mut y = Act::new(b, h, w, cout);
        conv.forward(isa, &xa, &mut y, false);
        let e = rel_err(&y, &y_ref);
        assert!(
            e < TOL,
            "{isa:?} {k}×{k} conv {b}×{cin}→{cout}×{h}×{w}: forward error {e}"
        );
        let mut gx = Act::new(b, h, w, cin);
        conv.adjoint(isa, &ga, &mut gx, false);
        let e = rel_err(&gx, &gx_ref);
        assert!(
            e < TOL,
            "{isa:?} {k}×{k} conv {b}×{cin}→{cout}×{h}×{w}: VJP error {e}"
        );
        // Accumulating adds to what is there.
        conv.adjoint(isa, &ga, &mut gx, true);
        let e = rel_err(&gx, &(&gx_ref * 2.0).unwrap());
        assert!(e < TOL, "{isa:?} accumulate: error {e}");
    }
}

fn upconv_case(b: usize, cin: usize, cout: usize, h: usize, w: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = rand_t(&mut rng, &[b, cin, h, w]);
    let wt = rand_t(&mut rng, &[cin, cout, 2, 2]);
    let bias = rand_vec(&mut rng, cout);
    let g = rand_t(&mut rng, &[b, cout, 2 * h, 2 * w]);
    let bt = Tensor::from_vec(bias.clone(), (1, cout, 1, 1), &Device::Cpu).unwrap();
    let reference = |x: &Tensor| {
        x.conv_transpose2d(&wt, 0, 0, 2, 1)
            .unwrap()
            .broadcast_add(&bt)
            .unwrap()
    };
    let y_ref = reference(&x);
    let gx_ref = autograd(&x, &g, reference);
    let up = UpConv::new(
        cin,
        cout,
        &wt.flatten_all().unwrap().to_vec1().unwrap(),
        Some(&bias),
    );
    for isa in isas() {
        // Written into the upper channels of a wider buffer, as the U-Net's concatenation does.
        let mut y = Act::new(b, 2 * h, 2 * w, cout + 3);
        up.forward(isa, &to_act(&x), &mut y, 3);
        let yt = from_act(&y).narrow(1, 3, cout).unwrap();
        let mut y_only = Act::new(b, 2 * h, 2 * w, cout);
        y_only.fill_from(
            &yt.permute((0, 2, 3, 1))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap(),
            cout,
            0,
        );
        let e = rel_err(&y_only, &y_ref);
        assert!(
            e < TOL,
            "{isa:?} upconv {b}×{cin}→{cout}×{h}×{w}: forward error {e}"
        );
        let mut gwide = Act::new(b, 2 * h, 2 * w, cout + 3);
        gwide.fill_from(&to_act(&g).to_dense(), cout, 3);
        let mut gx = Act::new(b, h, w, cin);
        up.adjoint(isa, &gwide, 3, &mut gx);
        let e = rel_err(&gx, &gx_ref);
        assert!(e < TOL, "{isa:?} upconv {b}×{cin}→{cout}×{h}×{w}: VJP error {e}");
    }
}

fn norm_case(b: usize, groups: usize, cg: usize, h: usize, w: usize, seed: u64) {
    let c = groups * cg;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // An offset, as conv outputs have: the two-pass statistics must not lose it.
    let x = rand_t(&mut rng, &[b, c, h, w]).affine(3.0, 2.0).unwrap();
    let gamma = rand_vec(&mut rng, c);
    let beta = rand_vec(&mut rng, c);
    let g = rand_t(&mut rng, &[b, c, h, w]);
    let gn = candle_nn::GroupNorm::new(
        Tensor::new(gamma.as_slice(), &Device::Cpu).unwrap(),
        Tensor::new(beta.as_slice(), &Device::Cpu).unwrap(),
        c,
        groups,
        1e-5,
    )
    .unwrap();
    let norm = Norm {
        groups,
        gamma,
        beta,
        eps: 1e-5,
    };
    let xa = to_act(&x);
    let mut st = Stats::default();
    norm.stats(&xa, &mut st);
    for relu in [false, true] {
        let reference = |x: &Tensor| {
            let y = gn.forward(x).unwrap();
            if relu {
                y.relu().unwrap()
            } else {
                y
            }
        };
        let mut y = Act::new(b, h, w, c);
        apply(
            &xa,
            &st,
            if relu { Then::Relu(&[]) } else { Then::Nothing },
            &mut y,
        );
        let e = rel_err(&y, &reference(&x));
        assert!(
            e < TOL,
            "GroupNorm({groups}) {b}×{c}×{h}×{w} relu {relu}: forward error {e}"
        );
        let mut ga = to_act(&g);
        norm_vjp(&norm, &xa, &st, relu, &mut ga);
        let e = rel_err(&ga, &autograd(&x, &g, reference));
        assert!(
            e < TOL,
            "GroupNorm({groups}) {b}×{c}×{h}×{w} relu {relu}: VJP error {e}"
        );
    }
}

fn pool_case(b: usize, c: usize, h: usize, w: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = rand_t(&mut rng, &[b, c, 2 * h, 2 * w]);
    let g = rand_t(&mut rng, &[b, c, h, w]);
    let reference = |x: &Tensor| x.avg_pool2d(2).unwrap();
    let mut y = Act::new(b, h, w, c);
    avg_pool(&to_act(&x), &mut y);
    assert!(rel_err(&y, &reference(&x)) < TOL, "avg pool forward");
    let mut gx = Act::new(b, 2 * h, 2 * w, c);
    avg_pool_adjoint(&to_act(&g), &mut gx);
    assert!(rel_err(&gx, &autograd(&x, &g, reference)) < TOL, "avg pool VJP");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn conv3_matches_candle(b in 1usize..3, cin in 1usize..20, cout in 1usize..70, h in 1usize..9, w in 1usize..9, seed: u64) {
        conv_case(3, b, cin, cout, h, w, seed);
    }

    #[test]
    fn conv1_matches_candle(b in 1usize..3, cin in 1usize..40, cout in 1usize..40, h in 1usize..7, w in 1usize..7, seed: u64) {
        conv_case(1, b, cin, cout, h, w, seed);
    }

    #[test]
    fn upconv_matches_candle(b in 1usize..3, cin in 1usize..24, cout in 1usize..40, h in 1usize..6, w in 1usize..6, seed: u64) {
        upconv_case(b, cin, cout, h, w, seed);
    }

    /// Groups of at least 16 values, as in the network (≥ 4 channels per group, ≥ 2×2 pixels): with
    /// only a few values per group the input gradient is nearly zero and its relative error is noise.
    #[test]
    fn group_norm_matches_candle(b in 1usize..3, groups in 1usize..5, cg in 4usize..9, h in 2usize..8, w in 2usize..8, seed: u64) {
        norm_case(b, groups, cg, h, w, seed);
    }

    #[test]
    fn avg_pool_matches_candle(b in 1usize..3, c in 1usize..20, h in 1usize..6, w in 1usize..6, seed: u64) {
        pool_case(b, c, h, w, seed);
    }
}

/// The network's real shapes, once each (long runs cross the threading threshold).
#[test]
fn ops_at_network_shapes_match_candle() {
    conv_case(3, 2, 32, 32, 32, 32, 1);
    conv_case(3, 1, 64, 128, 16, 16, 2);
    conv_case(3, 1, 3, 32, 16, 16, 3);
    conv_case(1, 2, 128, 64, 16, 16, 4);
    upconv_case(2, 128, 64, 8, 8, 5);
    norm_case(2, 8, 16, 32, 32, 6);
}

/// Few output channels (the grouped AVX-512 kernel, forward or VJP): every group width (8 outputs →
/// pairs of inputs, 3–4 → fours, 1–2 → eights), input counts with and without a remainder, both
/// kernel sizes; and the shipped priors' top scale ([8, 16, 32]: 8 → 8, 16 → 8, 8 → 1, 2 → 8) at
/// 64×64, where the call is threaded.
#[test]
fn few_output_channels_match_candle() {
    let mut seed = 10;
    for k in [1, 3] {
        for cout in [1, 2, 3, 5, 8] {
            for cin in [2, 3, 7, 8, 9, 16] {
                conv_case(k, 2, cin, cout, 5, 7, seed);
                seed += 1;
            }
        }
    }
    conv_case(3, 1, 8, 8, 64, 64, 7);
    conv_case(3, 1, 16, 8, 64, 64, 8);
    conv_case(3, 1, 8, 1, 64, 64, 9);
    conv_case(3, 1, 2, 8, 64, 64, 10);
}

/// GroupNorm's one-pass statistics against f64 sums over the same f32 values, with per-channel
/// offsets 10³–10⁴ times the spread (shifted sums in f32 must not cancel them away), with groups of
/// several channels and of one.
#[test]
fn group_norm_stats_keep_large_offsets() {
    for (groups, cg) in [(3, 4), (12, 1)] {
        stats_case(groups, cg);
    }
}

fn stats_case(groups: usize, cg: usize) {
    let (b, h, w) = (2, 9, 11);
    let c = groups * cg;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut a = Act::new(b, h, w, c);
    for n in 0..b {
        for y in 0..h {
            for x in 0..w {
                let o = a.at(n, y, x);
                for ch in 0..c {
                    a.d[o + ch] = 1000.0 + 700.0 * ch as f32 + rng.random_range(-1.0f32..1.0);
                }
            }
        }
    }
    let norm = Norm {
        groups,
        gamma: vec![1.0; c],
        beta: vec![0.0; c],
        eps: 1e-5,
    };
    let mut st = Stats::default();
    norm.stats(&a, &mut st);
    for n in 0..b {
        for gi in 0..groups {
            let vals: Vec<f64> = (0..h * w)
                .flat_map(|p| {
                    let o = a.at(n, p / w, p % w);
                    (gi * cg..(gi + 1) * cg).map(move |ch| o + ch)
                })
                .map(|i| f64::from(a.d[i]))
                .collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            let rstd = 1.0 / (var + 1e-5).sqrt();
            let (gm, gr) = (st.mean[n * groups + gi], st.rstd[n * groups + gi]);
            assert!((gm - mean).abs() < 1e-9 * mean.abs(), "mean {gm} vs {mean}");
            assert!(
                (gr - rstd).abs() < 1e-6 * rstd,
                "rstd {gr} vs {rstd} (image {n}, group {gi})"
            );
        }
    }
}
