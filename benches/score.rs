//! Criterion benchmark: one batched score evaluation (64×64) and its input-VJP. `unet_64x64`: the
//! `uq bench score` configurations ([32,64,128], 2 image channels, batch 1 and 8, f32 and bf16) on
//! `FastUNet`; `score_64x64`: through `NetworkPrior` (f64 in and out), fast path and candle
//! reference, [8,16,32] (`UQ_BENCH_CHANNELS=all` for every list).

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use uq::score::fast::{bf16_supported, FastUNet, Isa, Precision};
use uq::score::{header_metadata, seeded_builder, Backend, HeaderKind, NetKind, NetworkPrior, ScoreHeader};
use uq::score::{ScoreModel, UNet, UNetConfig};

fn net(channels: &[usize], image_channels: usize) -> UNet {
    let cfg = UNetConfig {
        channels: channels.to_vec(),
        image_channels,
        kind: NetKind::Ve,
    };
    let (vb, _) = seeded_builder(0);
    UNet::new(&cfg, vb).expect("network")
}

fn prior(channels: &[usize], image_channels: usize) -> NetworkPrior {
    let net = net(channels, image_channels);
    let cfg = net.config().clone();
    let kind = HeaderKind::Ve {
        sigma_min: 0.01,
        sigma_max: 30.0,
    };
    let meta = header_metadata(&cfg, &kind, [64, 64], 1.0, &BTreeMap::new());
    NetworkPrior::from_net(net, ScoreHeader::from_metadata("bench", &meta).expect("header"))
}

fn bench(c: &mut Criterion) {
    let all = std::env::var("UQ_BENCH_CHANNELS").is_ok_and(|s| s == "all");
    let lists: &[&[usize]] = if all {
        &[&[8, 16, 32], &[12, 24, 48], &[16, 32, 64], &[32, 64, 128]]
    } else {
        &[&[8, 16, 32]]
    };
    let ic = 2;
    let mut g = c.benchmark_group("score_64x64");
    g.sample_size(10);
    for ch in lists {
        let mut p = prior(ch, ic);
        let name = ch.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("-");
        for batch in [1, 8] {
            let x = Array2::from_shape_fn((batch, 64 * 64 * ic), |(i, j)| ((i * 7 + j) % 13) as f64 / 13.0);
            for backend in [Backend::Fast, Backend::Candle] {
                // The candle VJP at batch 8 takes seconds; only with UQ_BENCH_CHANNELS=all.
                if backend == Backend::Candle && batch == 8 && !all {
                    continue;
                }
                p.set_backend(backend).expect("backend");
                let tag = format!("{name}/b{batch}/{backend:?}");
                g.bench_function(format!("score/{tag}"), |b| {
                    b.iter(|| p.score(x.view(), 0.1).expect("score"))
                });
                g.bench_function(format!("vjp/{tag}"), |b| {
                    b.iter(|| p.score_vjp(x.view(), 0.1, x.view()).expect("vjp"))
                });
            }
        }
    }
    g.finish();
}

/// The `uq bench score` configurations on the fast network itself (channels-last f32 in and out).
fn bench_unet(c: &mut Criterion) {
    let (ic, s) = (2, 64);
    let net = net(&[32, 64, 128], ic);
    let mut precisions = vec![Precision::F32];
    if bf16_supported() {
        precisions.push(Precision::Bf16);
    }
    let mut g = c.benchmark_group("unet_64x64");
    g.sample_size(10);
    for precision in precisions {
        let fast = FastUNet::with_precision(&net, Isa::detect(), precision).expect("fast network");
        for batch in [1, 8] {
            let n = batch * s * s * ic;
            let x: Vec<f32> = (0..n).map(|i| ((i * 7) % 13) as f32 / 6.5 - 1.0).collect();
            let levels: Vec<f32> = (0..batch).map(|i| 0.05 + 0.1 * i as f32).collect();
            let tag = format!("32-64-128/b{batch}/{precision:?}");
            g.bench_function(format!("fwd/{tag}"), |b| {
                b.iter(|| fast.forward(&x, &levels, s, s).expect("forward"))
            });
            g.bench_function(format!("vjp/{tag}"), |b| {
                b.iter(|| fast.vjp(&x, &levels, &x, s, s).expect("vjp"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_unet, bench);
criterion_main!(benches);
