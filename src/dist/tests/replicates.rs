//! Every likelihood draws replicates (`uq sample --predictive`) with the right first two moments.

use super::super::{Role, REGISTRY};
use crate::graph::Value;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// (name, parameters, E[y], E[y²]) with y a scalar.
fn cases() -> Vec<(&'static str, Vec<f64>, f64, f64)> {
    vec![
        ("Normal", vec![1.0, 2.0], 1.0, 1.0 + 4.0),
        ("Poisson", vec![3.0], 3.0, 3.0 + 9.0),
        // var = σ² ν/(ν − 2) = 4·5/3
        ("StudentT", vec![5.0, 1.0, 2.0], 1.0, 1.0 + 20.0 / 3.0),
        // var = 2b²
        ("Laplace", vec![1.0, 2.0], 1.0, 1.0 + 8.0),
        // E[y²] = ν² + 2σ²; E[y] = σ √(π/2) L_{1/2}(−ν²/(2σ²)) for ν = 2, σ = 1: scipy.stats.rice(2).mean()
        ("Rician", vec![2.0, 1.0], 2.272_383_428_068_742, 6.0),
    ]
}

#[test]
fn every_likelihood_draws_replicates_with_the_right_moments() {
    let cases = cases();
    for d in REGISTRY
        .iter()
        .filter(|d| d.signature(Role::Likelihood).is_some())
    {
        let Some((_, params, m1, m2)) = cases.iter().find(|c| c.0 == d.name()) else {
            panic!("{}: no replicate case", d.name());
        };
        let values: Vec<Value> = params.iter().map(|&p| Value::scalar(p)).collect();
        let refs: Vec<&Value> = values.iter().collect();
        let like = Value::scalar(0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 40_000;
        let ys: Vec<f64> = (0..n)
            .map(|_| match d.sample(&refs, &like, &mut rng) {
                Ok(Value::Real(a)) => a.iter().next().copied().unwrap_or(f64::NAN),
                other => panic!("{}: {other:?}", d.name()),
            })
            .collect();
        let mean = ys.iter().sum::<f64>() / n as f64;
        let sq = ys.iter().map(|y| y * y).sum::<f64>() / n as f64;
        let var = sq - mean * mean;
        // MCSEs of the mean and of E[y²] (iid draws); 5 of them is far beyond chance.
        let se1 = (var / n as f64).sqrt();
        let se2 = ((ys.iter().map(|y| (y * y - sq).powi(2)).sum::<f64>() / n as f64) / n as f64).sqrt();
        assert!((mean - m1).abs() < 5.0 * se1, "{}: mean {mean} vs {m1}", d.name());
        assert!((sq - m2).abs() < 5.0 * se2, "{}: E[y²] {sq} vs {m2}", d.name());
    }
}
