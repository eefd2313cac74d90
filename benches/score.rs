//! Criterion benchmark: one batched score evaluation (64×64) and its input-VJP, fast path and candle
//! reference, per channel list and batch size (`UQ_BENCH_CHANNELS=all` for every list, including the
//! `uq bench score` configurations [8,16,32] and [32,64,128] at batch 1 and 8).

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use uq::score::{header_metadata, seeded_builder, Backend, HeaderKind, NetKind, NetworkPrior, ScoreHeader};
use uq::score::{ScoreModel, UNet, UNetConfig};

fn prior(channels: &[usize], image_channels: usize) -> NetworkPrior {
    let cfg = UNetConfig {
        channels: channels.to_vec(),
        image_channels,
        kind: NetKind::Ve,
    };
    let (vb, _) = seeded_builder(0);
    let net = UNet::new(&cfg, vb).expect("network");
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

criterion_group!(benches, bench);
criterion_main!(benches);
