//! Every proper prior draws (truths for `uq calibrate`) with the right first two moments, or the right
//! median where there are none; the improper Flat refuses.

use super::super::{Role, REGISTRY};
use super::real;
use crate::graph::Value;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a case checks on scalar draws.
enum Check {
    /// E[x], E[x²].
    Moments(f64, f64),
    /// P(x ≤ m) = 1/2.
    Median(f64),
}

/// (name, parameters, check); `E[x²] = var + mean²`.
fn cases() -> Vec<(&'static str, Vec<Value>, Check)> {
    let s = Value::scalar;
    let pi = std::f64::consts::PI;
    vec![
        ("Normal", vec![s(1.0), s(2.0)], Check::Moments(1.0, 5.0)),
        // E = σ√(2/π), E[x²] = σ²
        (
            "HalfNormal",
            vec![s(2.0)],
            Check::Moments(2.0 * (2.0 / pi).sqrt(), 4.0),
        ),
        // E = e^{μ+σ²/2}, E[x²] = e^{2μ+2σ²}
        (
            "LogNormal",
            vec![s(0.5), s(0.4)],
            Check::Moments((0.5f64 + 0.08).exp(), (1.0f64 + 0.32).exp()),
        ),
        ("Exponential", vec![s(2.0)], Check::Moments(0.5, 0.5)),
        // shape 3, rate 2: E = 1.5, var = 0.75
        ("Gamma", vec![s(3.0), s(2.0)], Check::Moments(1.5, 0.75 + 2.25)),
        // shape 5, scale 2: E = β/(α−1) = 0.5, var = β²/((α−1)²(α−2)) = 1/12
        (
            "InverseGamma",
            vec![s(5.0), s(2.0)],
            Check::Moments(0.5, 1.0 / 12.0 + 0.25),
        ),
        (
            "StudentT",
            vec![s(5.0), s(1.0), s(2.0)],
            Check::Moments(1.0, 1.0 + 20.0 / 3.0),
        ),
        ("HalfCauchy", vec![s(1.5)], Check::Median(1.5)),
        ("Laplace", vec![s(1.0), s(2.0)], Check::Moments(1.0, 9.0)),
        (
            "Uniform",
            vec![s(-1.0), s(3.0)],
            Check::Moments(1.0, 16.0 / 12.0 + 1.0),
        ),
        // a 2, b 3: E = 0.4, var = ab/((a+b)²(a+b+1)) = 0.04
        ("Beta", vec![s(2.0), s(3.0)], Check::Moments(0.4, 0.04 + 0.16)),
        // 0.3 N(−1, 0.5²) + 0.7 N(2, 1): E = 1.1, E[x²] = 0.3·1.25 + 0.7·5
        (
            "GaussianMixture",
            vec![real(&[0.3, 0.7]), real(&[-1.0, 2.0]), real(&[0.5, 1.0])],
            Check::Moments(1.1, 0.375 + 3.5),
        ),
    ]
}

fn draws(name: &str, params: &[Value], like: &Value, n: usize) -> Vec<f64> {
    let d = REGISTRY.iter().find(|d| d.name() == name).unwrap();
    let refs: Vec<&Value> = params.iter().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    (0..n)
        .map(|_| match d.sample(&refs, like, &mut rng) {
            Ok(Value::Real(a)) => a.iter().next().copied().unwrap_or(f64::NAN),
            other => panic!("{name}: {other:?}"),
        })
        .collect()
}

#[test]
fn every_proper_prior_draws_with_the_right_moments() {
    let cases = cases();
    for d in REGISTRY.iter().filter(|d| d.signature(Role::Prior).is_some()) {
        let name = d.name();
        if name == "score" || name == "supn" {
            continue;
        }
        if name == "Flat" {
            let like = Value::scalar(0.0);
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            assert!(
                d.sample(&[], &like, &mut rng).is_err(),
                "Flat is improper: no draws"
            );
            continue;
        }
        let Some((_, params, check)) = cases.iter().find(|c| c.0 == name) else {
            panic!("{name}: no prior-draw case");
        };
        let n = 40_000;
        let xs = draws(name, params, &Value::scalar(0.0), n);
        let nf = n as f64;
        match check {
            Check::Moments(m1, m2) => {
                let mean = xs.iter().sum::<f64>() / nf;
                let sq = xs.iter().map(|x| x * x).sum::<f64>() / nf;
                let se1 = ((sq - mean * mean) / nf).sqrt();
                let se2 = (xs.iter().map(|x| (x * x - sq).powi(2)).sum::<f64>() / nf / nf).sqrt();
                assert!((mean - m1).abs() < 5.0 * se1, "{name}: mean {mean} vs {m1}");
                assert!((sq - m2).abs() < 5.0 * se2, "{name}: E[x²] {sq} vs {m2}");
            }
            Check::Median(m) => {
                let below = xs.iter().filter(|&&x| x <= *m).count() as f64 / nf;
                assert!(
                    (below - 0.5).abs() < 5.0 * (0.25 / nf).sqrt(),
                    "{name}: P(x ≤ {m}) = {below}"
                );
            }
        }
    }
}

#[test]
fn a_mixture_draw_has_the_latents_shape_and_per_component_means() {
    let means = Value::Real(
        ndarray::ArrayD::from_shape_vec(vec![2, 3], vec![0.0, 0.0, 0.0, 10.0, 20.0, 30.0]).unwrap(),
    );
    let params = [real(&[0.0, 1.0]), means, real(&[1e-9, 1e-9])];
    let like = real(&[0.0; 3]);
    let d = REGISTRY.iter().find(|d| d.name() == "GaussianMixture").unwrap();
    let refs: Vec<&Value> = params.iter().collect();
    let v = d.sample(&refs, &like, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    let Value::Real(a) = v else {
        panic!("real expected")
    };
    assert_eq!(a.shape(), &[3]);
    for (x, m) in a.iter().zip([10.0, 20.0, 30.0]) {
        assert!((x - m).abs() < 1e-6, "{x} vs {m}");
    }
}
