//! Uniformity tests of normalised ranks: a chi-square test over independent repetitions, and
//! Hotelling's T² on each repetition's bin fractions, valid when a repetition's parameters depend
//! on each other (pixels of one image).

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

/// The bin of a normalised rank in (0, 1) among `bins`.
pub fn bin(u: f64, bins: usize) -> usize {
    ((u * bins as f64).floor().max(0.0) as usize).min(bins - 1)
}

/// Counts of `u` in `bins` equal bins.
pub fn histogram(u: impl IntoIterator<Item = f64>, bins: usize) -> Vec<usize> {
    let mut h = vec![0; bins];
    for x in u {
        h[bin(x, bins)] += 1;
    }
    h
}

/// Pearson's chi-square test of equal bin probabilities: the p-value (NaN with no counts).
pub fn chi_square_p(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    let b = counts.len();
    if n == 0 || b < 2 {
        return f64::NAN;
    }
    let e = n as f64 / b as f64;
    let x2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    ChiSquared::new((b - 1) as f64).map_or(f64::NAN, |d| d.sf(x2))
}

/// Hotelling's one-sample T² test that each repetition's bin fractions have mean 1/B in every
/// bin (the last bin dropped, as the fractions sum to one). Rows are repetitions, independent of
/// each other; the parameters pooled inside a row may be dependent. Returns the p-value of
/// F = (n − p)/(p (n − 1)) T² ~ F(p, n − p), or None when n ≤ p + 1.
pub fn hotelling_p(fractions: &[Vec<f64>]) -> Option<f64> {
    let n = fractions.len();
    let b = fractions.first()?.len();
    let p = b.checked_sub(1)?;
    if p == 0 || n <= p + 1 {
        return None;
    }
    let target = 1.0 / b as f64;
    let mean: Vec<f64> = (0..p)
        .map(|k| fractions.iter().map(|r| r[k]).sum::<f64>() / n as f64)
        .collect();
    let mut cov = ndarray::Array2::<f64>::zeros((p, p));
    for r in fractions {
        for i in 0..p {
            for j in 0..p {
                cov[[i, j]] += (r[i] - mean[i]) * (r[j] - mean[j]);
            }
        }
    }
    cov.mapv_inplace(|c| c / (n - 1) as f64);
    // A ridge far below any real spread: a bin holding the same fraction in every repetition (a
    // degenerate sampler) then weighs its deviation from 1/B heavily instead of failing.
    let ridge = 1e-9 * cov.diag().sum() / p as f64 + 1e-15;
    cov.diag_mut().mapv_inplace(|v| v + ridge);
    let l = super::linalg::cholesky(&cov)?;
    // T² = n dᵀ S⁻¹ d = n ‖L⁻¹ d‖².
    let d: ndarray::Array1<f64> = mean.iter().map(|m| m - target).collect();
    let z = super::linalg::forward(&l, d.view());
    let t2 = n as f64 * z.iter().map(|v| v * v).sum::<f64>();
    let f = (n - p) as f64 / (p as f64 * (n - 1) as f64) * t2;
    FisherSnedecor::new(p as f64, (n - p) as f64)
        .ok()
        .map(|dist| dist.sf(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows of B bin fractions of `m` ranks that share one latent shift per row (dependent pixels).
    fn rows(n: usize, m: usize, b: usize, shift: f64, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let common: f64 = rng.random();
                let h = histogram(
                    (0..m).map(|_| {
                        let own: f64 = rng.random();
                        // Half the rows' pixels share the row's rank: strong dependence, still uniform.
                        let u = if rng.random::<bool>() { common } else { own };
                        (u + shift).rem_euclid(1.0).powf(1.0 + shift)
                    }),
                    b,
                );
                h.iter().map(|&c| c as f64 / m as f64).collect()
            })
            .collect()
    }

    #[test]
    fn hotelling_holds_its_level_under_dependence_and_detects_a_distortion() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        // Under H0, over 200 independent studies the rejections at 5% stay near 5%.
        let rejected = (0..200)
            .filter(|_| hotelling_p(&rows(100, 64, 5, 0.0, &mut rng)).unwrap() < 0.05)
            .count();
        // Binomial(200, 0.05): mean 10, sd 3.1; 5 sd.
        assert!(rejected <= 25, "{rejected} of 200 rejected at 5%");
        let p = hotelling_p(&rows(100, 64, 5, 0.3, &mut rng)).unwrap();
        assert!(p < 1e-3, "a distorted rank distribution: p = {p}");
        // Pooling the dependent pixels into one chi-square test would reject far too often.
        let pooled = (0..50)
            .filter(|_| {
                let r = rows(100, 64, 5, 0.0, &mut rng);
                let counts: Vec<usize> = (0..5)
                    .map(|k| r.iter().map(|row| (row[k] * 64.0).round() as usize).sum())
                    .collect();
                chi_square_p(&counts) < 0.05
            })
            .count();
        assert!(pooled > 25, "the naive pooled test: {pooled} of 50 rejected");
    }

    #[test]
    fn chi_square_matches_a_hand_computed_value() {
        // Counts 30, 10, 20: X² = (100 + 100 + 0)/20 = 10 on 2 degrees of freedom, p = e^{-5}.
        let p = chi_square_p(&[30, 10, 20]);
        assert!((p - (-5.0f64).exp()).abs() < 1e-12, "{p}");
        assert_eq!(bin(0.999_999, 4), 3);
        assert_eq!(bin(0.0, 4), 0);
    }
}
