//! The HMC/NUTS inverse metric `M⁻¹`: a diagonal `D`, optionally with a low-rank correction in the
//! D-scaled coordinates, `M⁻¹ = D½ (I + U diag(d) Uᵀ) D½` with `U` orthonormal (`dim × r`).
//!
//! Everything a kernel needs costs O(dim · r): the velocity `M⁻¹p`, the kinetic energy `½ pᵀM⁻¹p`
//! and momenta `p ~ N(0, M)`, drawn as `p = D^-½ (I + U diag(1/√(1+d) − 1) Uᵀ) ξ`, since
//! `M = D^-½ (I + U diag(d) Uᵀ)⁻¹ D^-½` and `(I + U diag(d) Uᵀ)^-½ = I + U diag((1+d)^-½ − 1) Uᵀ`.
//! An inverse mass of 0 on the diagonal (no low-rank part) freezes a coordinate: its momentum is 0.

use std::sync::Arc;

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The low-rank part of a metric: orthonormal directions (the rows of `v`, `r × dim`, in D-scaled
/// coordinates; `U = vᵀ`) and the variance corrections `d` (each > −1) along them.
#[derive(Clone, Debug, PartialEq)]
pub struct LowRank {
    v: Array2<f64>,
    d: Array1<f64>,
}

impl LowRank {
    /// `None` unless `v` is `r × dim` with `r = d.len() ≥ 1` and every `d > −1` (finite).
    pub fn new(v: Array2<f64>, d: Array1<f64>) -> Option<Self> {
        (v.nrows() == d.len() && !d.is_empty() && d.iter().all(|x| x.is_finite() && *x > -1.0))
            .then_some(Self { v, d })
    }

    pub fn rank(&self) -> usize {
        self.d.len()
    }

    /// `q + U (f(d) ⊙ Uᵀq)`, row by row (contiguous).
    fn apply(&self, q: &Array1<f64>, f: impl Fn(f64) -> f64) -> Array1<f64> {
        let mut out = q.clone();
        for (row, d) in self.v.rows().into_iter().zip(&self.d) {
            out.scaled_add(row.dot(q) * f(*d), &row);
        }
        out
    }
}

/// An inverse metric `M⁻¹` (Stan's "inverse metric").
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The diagonal `D`.
    pub diag: Array1<f64>,
    /// The low-rank correction, shared between copies (it can be large).
    pub low_rank: Option<Arc<LowRank>>,
}

impl From<Array1<f64>> for Metric {
    fn from(diag: Array1<f64>) -> Self {
        Self { diag, low_rank: None }
    }
}

impl Metric {
    /// The identity metric of dimension `dim`.
    pub fn identity(dim: usize) -> Self {
        Array1::ones(dim).into()
    }

    pub fn len(&self) -> usize {
        self.diag.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diag.is_empty()
    }

    /// Rank of the low-rank part (0 for a diagonal metric).
    pub fn rank(&self) -> usize {
        self.low_rank.as_ref().map_or(0, |l| l.rank())
    }

    /// The velocity `M⁻¹p`.
    pub fn velocity(&self, p: &Array1<f64>) -> Array1<f64> {
        match &self.low_rank {
            None => p * &self.diag,
            Some(l) => {
                let s = self.diag.mapv(f64::sqrt);
                &l.apply(&(p * &s), |d| d) * &s
            }
        }
    }

    /// The kinetic energy `½ pᵀM⁻¹p`.
    pub fn kinetic(&self, p: &Array1<f64>) -> f64 {
        match &self.low_rank {
            None => 0.5 * p.iter().zip(&self.diag).map(|(pi, m)| pi * pi * m).sum::<f64>(),
            Some(_) => 0.5 * p.dot(&self.velocity(p)),
        }
    }

    /// A momentum `p ~ N(0, M)` from `rng` (`dim` standard normals, in order).
    pub fn sample_momentum(&self, rng: &mut ChaCha8Rng) -> Array1<f64> {
        let xi: Array1<f64> = (0..self.len())
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        let w = match &self.low_rank {
            None => xi,
            Some(l) => l.apply(&xi, |d| 1.0 / (1.0 + d).sqrt() - 1.0),
        };
        Array1::from_iter(
            w.iter()
                .zip(&self.diag)
                .map(|(w, &m)| if m == 0.0 { 0.0 } else { w / m.sqrt() }),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;

    /// A metric with a rank-2 part in 4 dimensions and its dense `M⁻¹`.
    fn example() -> (Metric, Array2<f64>) {
        let diag = array![0.5, 2.0, 1.0, 4.0];
        // Two orthonormal directions.
        let a = array![1.0, 1.0, 0.0, 1.0] / 3f64.sqrt();
        let b = array![1.0, -1.0, 1.0, 0.0] / 3f64.sqrt();
        let mut u = Array2::zeros((4, 2));
        u.column_mut(0).assign(&a);
        u.column_mut(1).assign(&b);
        let v = u.t().to_owned();
        let d = array![3.0, -0.75];
        let s = diag.mapv(f64::sqrt);
        let mut inner = Array2::<f64>::eye(4);
        for (k, dk) in d.iter().enumerate() {
            for i in 0..4 {
                for j in 0..4 {
                    inner[[i, j]] += dk * u[[i, k]] * u[[j, k]];
                }
            }
        }
        let dense = Array2::from_shape_fn((4, 4), |(i, j)| s[i] * inner[[i, j]] * s[j]);
        let m = Metric {
            diag,
            low_rank: Some(Arc::new(LowRank::new(v, d).unwrap())),
        };
        (m, dense)
    }

    #[test]
    fn velocity_and_kinetic_equal_the_dense_metric() {
        let (m, dense) = example();
        let p = array![0.3, -1.2, 2.0, 0.7];
        let v = m.velocity(&p);
        let want = dense.dot(&p);
        for i in 0..4 {
            assert!((v[i] - want[i]).abs() < 1e-12, "{v} vs {want}");
        }
        assert!((m.kinetic(&p) - 0.5 * p.dot(&want)).abs() < 1e-12);
    }

    #[test]
    fn momenta_have_covariance_m() {
        // Cov(p) = M = (M⁻¹)⁻¹, so Cov(M⁻¹p) = M⁻¹: check E[(M⁻¹p)(M⁻¹p)ᵀ] = M⁻¹ within 5 se.
        let (m, dense) = example();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40_000;
        let mut acc = Array2::<f64>::zeros((4, 4));
        for _ in 0..n {
            let v = m.velocity(&m.sample_momentum(&mut rng));
            for i in 0..4 {
                for j in 0..4 {
                    acc[[i, j]] += v[i] * v[j];
                }
            }
        }
        acc /= n as f64;
        for i in 0..4 {
            for j in 0..4 {
                // Var of v_i v_j for a Gaussian: Σ_ii Σ_jj + Σ_ij².
                let se = ((dense[[i, i]] * dense[[j, j]] + dense[[i, j]].powi(2)) / n as f64).sqrt();
                assert!(
                    (acc[[i, j]] - dense[[i, j]]).abs() < 5.0 * se,
                    "[{i},{j}] {} vs {}",
                    acc[[i, j]],
                    dense[[i, j]]
                );
            }
        }
    }

    #[test]
    fn a_zero_inverse_mass_freezes_the_coordinate() {
        let m: Metric = array![1.0, 0.0].into();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = m.sample_momentum(&mut rng);
        assert_eq!(p[1], 0.0);
        assert_eq!(m.velocity(&p)[1], 0.0);
    }

    #[test]
    fn invalid_low_rank_parts_are_refused() {
        assert!(LowRank::new(Array2::zeros((2, 3)), array![0.5]).is_none());
        assert!(LowRank::new(Array2::zeros((1, 3)), array![-1.0]).is_none());
        assert!(LowRank::new(Array2::zeros((1, 3)), array![f64::NAN]).is_none());
    }
}
