//! A Gaussian mixture with isotropic components fitted to images by EM: the reference prior of
//! `uq calibrate --reference gmm`, whose posterior under a linear-Gaussian likelihood is exact.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Σ_k w_k N(μ_k, s_k² I).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Gmm {
    pub weights: Vec<f64>,
    /// [K, D] row-major.
    pub means: Vec<f64>,
    pub sigmas: Vec<f64>,
    pub dim: usize,
}

impl Gmm {
    pub fn k(&self) -> usize {
        self.weights.len()
    }

    pub fn mean(&self, k: usize) -> ndarray::ArrayView1<'_, f64> {
        ndarray::ArrayView1::from(&self.means[k * self.dim..(k + 1) * self.dim])
    }
}

/// log Σ exp.
fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Fit `k` isotropic components to the rows of `x` [N, D] by EM (`iters` rounds) from `k` distinct
/// rows chosen at random; each σ_k is floored at `floor` (a component on one image would collapse).
pub fn fit(x: ArrayView2<f64>, k: usize, iters: usize, floor: f64, seed: u64) -> Result<Gmm, String> {
    let (n, d) = x.dim();
    if k == 0 || n < k {
        return Err(format!("{n} training images cannot fit {k} components"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picks: Vec<usize> = Vec::new();
    while picks.len() < k {
        let i = rng.random_range(0..n);
        if !picks.contains(&i) {
            picks.push(i);
        }
    }
    let mut mu = Array2::from_shape_fn((k, d), |(c, j)| x[[picks[c], j]]);
    let var_all = x.var_axis(Axis(0), 0.0).mean().unwrap_or(1.0).max(floor * floor);
    let mut s2 = Array1::from_elem(k, var_all);
    let mut w = Array1::from_elem(k, 1.0 / k as f64);
    let mut resp = Array2::<f64>::zeros((n, k));
    for _ in 0..iters {
        // E step: log w_k + log N(x_i; μ_k, s_k² I).
        for i in 0..n {
            let lp: Vec<f64> = (0..k)
                .map(|c| {
                    let sq: f64 = x
                        .row(i)
                        .iter()
                        .zip(mu.row(c))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    w[c].ln()
                        - 0.5 * d as f64 * (2.0 * std::f64::consts::PI * s2[c]).ln()
                        - sq / (2.0 * s2[c])
                })
                .collect();
            let z = log_sum_exp(&lp);
            for c in 0..k {
                resp[[i, c]] = (lp[c] - z).exp();
            }
        }
        // M step.
        for c in 0..k {
            let nk: f64 = resp.column(c).sum().max(1e-12);
            w[c] = nk / n as f64;
            let m: Array1<f64> = x
                .axis_iter(Axis(0))
                .zip(resp.column(c))
                .fold(Array1::zeros(d), |acc, (row, r)| acc + &row.mapv(|v| v * r))
                / nk;
            let sq: f64 = x
                .axis_iter(Axis(0))
                .zip(resp.column(c))
                .map(|(row, r)| r * row.iter().zip(&m).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                .sum();
            s2[c] = (sq / (nk * d as f64)).max(floor * floor);
            mu.row_mut(c).assign(&m);
        }
    }
    Ok(Gmm {
        weights: w.to_vec(),
        means: mu.iter().copied().collect(),
        sigmas: s2.mapv(f64::sqrt).to_vec(),
        dim: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn recovers_two_well_separated_isotropic_components() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let d = 16;
        let x = Array2::from_shape_fn((600, d), |(i, _)| {
            let z: f64 = StandardNormal.sample(&mut rng);
            if i % 3 == 0 {
                5.0 + 0.5 * z
            } else {
                -1.0 + 0.2 * z
            }
        });
        let g = fit(x.view(), 2, 30, 1e-3, 1).unwrap();
        let (a, b) = if g.mean(0)[0] > g.mean(1)[0] {
            (0, 1)
        } else {
            (1, 0)
        };
        assert!((g.weights[a] - 1.0 / 3.0).abs() < 0.01, "{:?}", g.weights);
        assert!(
            (g.sigmas[a] - 0.5).abs() < 0.03 && (g.sigmas[b] - 0.2).abs() < 0.01,
            "{:?}",
            g.sigmas
        );
        assert!((g.mean(a).mean().unwrap() - 5.0).abs() < 0.05);
        assert!((g.mean(b).mean().unwrap() + 1.0).abs() < 0.02);
    }
}
