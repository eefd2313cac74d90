//! The whole fast network against the candle `UNet` (forward, VJP, finite differences, both prior backends).
#![allow(clippy::unwrap_used)]

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::{autograd, isas, rand_vec};
use super::{FastUNet, Isa, Precision};
use crate::score::init::seeded_builder;
use crate::score::unet::{NetKind, UNet, UNetConfig};

/// A seeded network with a non-zero output conv (it starts at zero).
pub(crate) fn random_net(channels: &[usize], ic: usize, kind: NetKind, dtype: DType) -> UNet {
    let cfg = UNetConfig {
        channels: channels.to_vec(),
        image_channels: ic,
        kind,
    };
    let (vb, vars) = seeded_builder(7);
    let net = UNet::new(&cfg, vb.set_dtype(dtype)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let guard = vars.lock().unwrap();
    for (name, var) in guard.iter() {
        // Output conv, and GroupNorm affine parameters away from their (1, 0) start.
        if name.starts_with("out.") || name.contains("norm.") {
            let base = if name.ends_with("norm.weight") { 1.0 } else { 0.0 };
            let vals: Vec<f32> = (0..var.elem_count())
                .map(|_| base + rng.random_range(-0.5..0.5))
                .collect();
            let t = Tensor::from_vec(vals, var.shape(), &Device::Cpu).unwrap();
            var.set(&t.to_dtype(dtype).unwrap()).unwrap();
        }
    }
    net
}

/// Relative error `|a − b|₂ / |b|₂`.
pub(super) fn rel2(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let n: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (d / n.max(1e-300)).sqrt()
}

#[test]
fn network_forward_and_vjp_match_candle() {
    let cases: &[(&[usize], usize, NetKind, usize, f32)] = &[
        (&[4, 8], 1, NetKind::Ve, 8, 0.3),
        (&[4, 8], 2, NetKind::Ve, 8, -0.7),
        (&[4, 8], 1, NetKind::Vp, 8, 400.0),
        (&[8, 16, 32], 2, NetKind::Ve, 16, 0.05),
        (&[16, 32, 64], 1, NetKind::Vp, 16, 20.0),
    ];
    for &(ch, ic, kind, size, level) in cases {
        let net = random_net(ch, ic, kind, DType::F32);
        let b = 3;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x = rand_vec(&mut rng, b * size * size * ic);
        let v = rand_vec(&mut rng, b * size * size * ic);
        let levels = vec![level; b];
        let nchw = |d: &[f32]| {
            Tensor::from_vec(d.to_vec(), (b, size, size, ic), &Device::Cpu)
                .unwrap()
                .permute((0, 3, 1, 2))
                .unwrap()
                .contiguous()
                .unwrap()
        };
        let nhwc = |t: &Tensor| -> Vec<f32> {
            t.permute((0, 2, 3, 1))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let lt = Tensor::new(levels.as_slice(), &Device::Cpu).unwrap();
        let y_ref = nhwc(&net.forward(&nchw(&x), &lt).unwrap());
        let g_ref = nhwc(&autograd(&nchw(&x), &nchw(&v), |x| net.forward(x, &lt).unwrap()));
        for isa in isas() {
            let fast = FastUNet::with_isa(&net, isa).unwrap();
            let y = fast.forward(&x, &levels, size, size).unwrap();
            let e = rel2(&y, &y_ref);
            assert!(e < 1e-4, "{isa:?} {ch:?} {kind:?}: forward error {e}");
            // Twice: the second call reuses the workspace.
            for _ in 0..2 {
                let (y2, g) = fast.vjp(&x, &levels, &v, size, size).unwrap();
                assert_eq!(y, y2, "{isa:?}: the VJP's forward pass is the forward pass");
                let e = rel2(&g, &g_ref);
                assert!(e < 1e-4, "{isa:?} {ch:?} {kind:?}: VJP error {e}");
            }
        }
    }
}

/// ⟨v, net(x + h d) − net(x − h d)⟩ / 2h by the f64 candle forward against ⟨fast VJP, d⟩.
#[test]
fn vjp_matches_finite_differences() {
    let (ch, ic, size, level): (&[usize], usize, usize, f32) = (&[4, 8], 1, 8, 0.4);
    let net32 = random_net(ch, ic, NetKind::Ve, DType::F32);
    let net64 = random_net(ch, ic, NetKind::Ve, DType::F64);
    let b = 2;
    let n = b * size * size * ic;
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let x = rand_vec(&mut rng, n);
    let v = rand_vec(&mut rng, n);
    let d = rand_vec(&mut rng, n);
    let fast = FastUNet::with_isa(&net32, Isa::detect()).unwrap();
    let (_, g) = fast.vjp(&x, &vec![level; b], &v, size, size).unwrap();
    let analytic: f64 = g.iter().zip(&d).map(|(a, b)| f64::from(a * b)).sum();
    let f = |s: f64| -> f64 {
        let xs: Vec<f64> = x
            .iter()
            .zip(&d)
            .map(|(x, d)| f64::from(*x) + s * f64::from(*d))
            .collect();
        let xt = Tensor::from_vec(xs, (b, size, size, ic), &Device::Cpu)
            .unwrap()
            .permute((0, 3, 1, 2))
            .unwrap()
            .contiguous()
            .unwrap();
        let lt = Tensor::from_vec(vec![f64::from(level); b], b, &Device::Cpu).unwrap();
        let y: Vec<f64> = net64
            .forward(&xt, &lt)
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        y.iter().zip(&v).map(|(y, v)| y * f64::from(*v)).sum()
    };
    let h = 1e-5;
    let fd = (f(h) - f(-h)) / (2.0 * h);
    assert!(
        (fd - analytic).abs() < 1e-4 * fd.abs().max(1.0),
        "fd {fd} vs fast VJP {analytic}"
    );
}

/// `NetworkPrior` (data scale, VP factor, flat rows) gives the same score and VJP on both backends.
#[test]
fn prior_backends_agree() {
    use crate::score::file::header_metadata;
    use crate::score::header::{HeaderKind, ScoreHeader};
    use crate::score::{Backend, NetworkPrior, ScoreModel};
    use ndarray::Array2;
    for (kind, level, ic) in [(NetKind::Ve, 0.2, 2), (NetKind::Vp, 300.0, 1)] {
        let ch = [8, 16];
        let hk = match kind {
            NetKind::Ve => HeaderKind::Ve {
                sigma_min: 0.01,
                sigma_max: 10.0,
            },
            NetKind::Vp => HeaderKind::Vp {
                beta_start: 1e-4,
                beta_end: 0.02,
                timesteps: 1000,
            },
        };
        let cfg = UNetConfig {
            channels: ch.to_vec(),
            image_channels: ic,
            kind,
        };
        let meta = header_metadata(&cfg, &hk, [8, 8], 1.7, &Default::default());
        let header = ScoreHeader::from_metadata("t", &meta).unwrap();
        let mut prior = NetworkPrior::from_net(random_net(&ch, ic, kind, DType::F32), header);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = Array2::from_shape_fn((3, 64 * ic), |_| rng.random_range(-1.0..1.0));
        let v = Array2::from_shape_fn((3, 64 * ic), |_| rng.random_range(-1.0..1.0));
        prior.set_precision(Precision::F32).unwrap();
        let (s1, g1) = (
            prior.score(x.view(), level).unwrap(),
            prior.score_vjp(x.view(), level, v.view()).unwrap(),
        );
        prior.set_backend(Backend::Candle).unwrap();
        let (s0, g0) = (
            prior.score(x.view(), level).unwrap(),
            prior.score_vjp(x.view(), level, v.view()).unwrap(),
        );
        let rel = |a: &Array2<f64>, b: &Array2<f64>| {
            ((a - b).mapv(|d| d * d).sum() / b.mapv(|d| d * d).sum()).sqrt()
        };
        assert!(rel(&s1, &s0) < 1e-4, "{kind:?} score {}", rel(&s1, &s0));
        assert!(rel(&g1, &g0) < 1e-4, "{kind:?} vjp {}", rel(&g1, &g0));
        assert_eq!(prior.evaluations(), 12);
    }
}
