//! Criterion benchmark: one batched score evaluation (4 chains, 64×64) and its input-VJP, per channel list.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use uq::score::{header_metadata, seeded_builder, HeaderKind, NetKind, NetworkPrior, ScoreHeader};
use uq::score::{ScoreModel, UNet, UNetConfig};

fn prior(channels: &[usize]) -> NetworkPrior {
    let cfg = UNetConfig {
        channels: channels.to_vec(),
        image_channels: 1,
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
    let x = Array2::from_shape_fn((4, 64 * 64), |(i, j)| ((i * 7 + j) % 13) as f64 / 13.0);
    let lists: &[&[usize]] = match std::env::var("UQ_BENCH_CHANNELS") {
        Ok(s) if s == "all" => &[&[8, 16, 32], &[12, 24, 48], &[16, 32, 64], &[32, 64, 128]],
        _ => &[&[8, 16, 32]],
    };
    let mut g = c.benchmark_group("score_4x64x64");
    g.sample_size(10);
    for ch in lists {
        let p = prior(ch);
        let name = ch.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("-");
        g.bench_function(format!("score/{name}"), |b| {
            b.iter(|| p.score(x.view(), 0.1).expect("score"))
        });
        g.bench_function(format!("vjp/{name}"), |b| {
            b.iter(|| p.score_vjp(x.view(), 0.1, x.view()).expect("vjp"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
