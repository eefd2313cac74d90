//! Gradient evaluations per second of the 64×64 linear-Gaussian (blur) posterior, batched over 4 chains.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use std::hint::black_box;
use uq::infer::Posterior;
use uq::source::SourceMap;

const MODEL: &str = r#"
import blur
data y : real[64, 64] = "y.npy"
prior x : real[64, 64] ~ Normal(0.5, 0.5)
y ~ Normal(blur(x), 0.02)
"#;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let y = Array2::<f64>::from_shape_fn((64, 64), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
    ndarray_npy::write_npy(dir.path().join("y.npy"), &y).expect("write y");
    let mut sources = SourceMap::new();
    let model =
        uq::check::check_source("bench.uq", MODEL, Some(dir.path()), &mut sources).expect("model checks");
    let data = uq::check::bind_data(&model, &[], &mut sources).expect("data binds");
    let built = uq::session::build(&model, data, false)
        .map_err(|_| ())
        .expect("posterior builds");
    let xs = Array2::<f64>::from_elem((4, 64 * 64), 0.5);
    let mut g = c.benchmark_group("posterior_64x64_blur");
    g.throughput(Throughput::Elements(4));
    g.bench_function("gradient_4_chains", |b| {
        b.iter(|| black_box(built.posterior.evaluate(black_box(xs.view()), 0.0)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
