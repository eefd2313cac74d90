//! Graph-interpreter speed: log-posterior gradients of the models in benches/models (issue 18).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use std::hint::black_box;
use std::path::Path;
use uq::infer::Posterior;
use uq::source::SourceMap;

/// Each model's posterior on its committed data.
fn posterior(name: &str) -> uq::session::Built {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/models")
        .join(name);
    let mut sources = SourceMap::new();
    let model = uq::check::check_file(&path, &mut sources).expect("model checks");
    let data = uq::check::bind_data(&model, &[], &mut sources).expect("data binds");
    uq::session::build(&model, data, false)
        .map_err(|_| ())
        .expect("posterior builds")
}

fn bench(c: &mut Criterion) {
    for name in ["deblur32.uq", "blur64.uq", "sense8.uq"] {
        let built = posterior(name);
        let post = &built.posterior;
        let d = post.dim();
        let mut g = c.benchmark_group(format!("interp_{}", name.trim_end_matches(".uq")));
        for chains in [1, 4] {
            let xs = Array2::from_shape_fn((chains, d), |(c, k)| 0.1 * (0.37 * k as f64 + c as f64).sin());
            g.throughput(Throughput::Elements(chains as u64));
            g.bench_function(format!("gradient_{chains}_chains"), |b| {
                b.iter(|| black_box(post.evaluate(black_box(xs.view()), 0.0)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
