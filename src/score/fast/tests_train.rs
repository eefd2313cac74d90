//! The fast path's weight gradients against candle's autograd on the same network and loss.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::rand_vec;
use super::tests_net::rel2;
use super::FastUNet;
use crate::score::init::seeded_builder;
use crate::score::unet::{NetKind, UNet, UNetConfig};

#[test]
fn weight_gradients_match_candle_autograd() {
    type Case<'a> = (&'a [usize], usize, NetKind, usize, [f32; 3]);
    let cases: &[Case] = &[
        (&[4, 8], 1, NetKind::Ve, 8, [0.3, -0.05, 2.0]),
        (&[8, 16, 32], 2, NetKind::Ve, 16, [-0.7, 0.02, 5.0]),
        (&[16, 32], 1, NetKind::Vp, 16, [400.0, 3.0, 999.0]),
    ];
    for &(ch, ic, kind, size, levels) in cases {
        let cfg = UNetConfig {
            channels: ch.to_vec(),
            image_channels: ic,
            kind,
        };
        let (vb, vars) = seeded_builder(3);
        let net = UNet::new(&cfg, vb).unwrap();
        let vars = vars.lock().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (name, var) in vars.iter() {
            // Move every variable off its start (the output conv starts at zero, norms at (1, 0)).
            let vals: Vec<f32> = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|v| {
                    v + rng.random_range(-0.2f32..0.2) * if name.starts_with("out.") { 1.0 } else { 0.5 }
                })
                .collect();
            var.set(&Tensor::from_vec(vals, var.shape(), &Device::Cpu).unwrap())
                .unwrap();
        }
        let b = levels.len();
        let x = rand_vec(&mut rng, b * size * size * ic);
        let v = rand_vec(&mut rng, b * size * size * ic);
        let nchw = |d: &[f32]| {
            Tensor::from_vec(d.to_vec(), (b, size, size, ic), &Device::Cpu)
                .unwrap()
                .permute((0, 3, 1, 2))
                .unwrap()
                .contiguous()
                .unwrap()
        };
        let lt = Tensor::new(levels.as_slice(), &Device::Cpu).unwrap();
        let loss = (net.forward(&nchw(&x), &lt).unwrap() * nchw(&v))
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let fast = FastUNet::with_isa(&net, super::Isa::detect()).unwrap();
        let (value, named) = fast
            .train_grads(&x, &levels, size, size, |out| {
                let l = out.iter().zip(&v).map(|(a, b)| f64::from(a * b)).sum();
                (l, v.clone())
            })
            .unwrap();
        let lref = f64::from(loss.to_scalar::<f32>().unwrap());
        assert!(
            (value - lref).abs() <= 1e-4 * lref.abs().max(1.0),
            "{ch:?}: loss {value} vs {lref}"
        );
        let names: Vec<&String> = vars.keys().collect();
        assert_eq!(names, named.keys().collect::<Vec<_>>(), "{ch:?}: gradient names");
        for (name, var) in vars.iter() {
            let gref: Vec<f32> = grads
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let e = rel2(&named[name], &gref);
            assert!(e < 1e-4, "{ch:?} {kind:?}: `{name}` relative error {e:.2e}");
        }
    }
}
