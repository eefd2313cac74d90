//! The analysis of a calibration: pooled and per-parameter rank uniformity, the calibration curve,
//! coverage by region (truth intensity and posterior-sd deciles) and a one-paragraph verdict.

use super::ranks::{RepStats, LEVELS};
use super::stats::{chi_square_p, histogram, hotelling_p};
use serde::{Deserialize, Serialize};

/// Bins of the pooled histogram written for plots (the test uses its own, fewer, bins).
pub const PLOT_BINS: usize = 20;

/// A parameter whose own rank histogram is tested.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chosen {
    pub name: String,
    pub index: usize,
    pub counts: Vec<usize>,
    /// Chi-square test over the repetitions (independent).
    pub p: f64,
}

/// One point of the calibration curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoveragePoint {
    pub nominal: f64,
    pub empirical: f64,
    /// Standard error of `empirical` from the spread between repetitions (independent units; the
    /// parameters inside one may be dependent). With one parameter it is the binomial one.
    pub se: f64,
    /// 95% band around the nominal level for that standard error.
    pub band_lo: f64,
    pub band_hi: f64,
}

/// Coverage of one decile of (repetition, parameter) pairs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Region {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    pub coverage_50: f64,
    pub coverage_90: f64,
}

/// Everything `calibration.json` holds besides the run's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Analysis {
    pub reps: usize,
    pub params: usize,
    /// p-value of the pooled uniformity test (`test` says which).
    pub rank_uniformity_p: f64,
    pub test: String,
    pub test_bins: usize,
    /// Pooled rank histogram over every parameter and repetition, `PLOT_BINS` bins.
    pub pooled_counts: Vec<usize>,
    /// Mean normalised rank (0.5 when calibrated; above: the posterior sits below the truths).
    pub mean_rank: f64,
    pub chosen: Vec<Chosen>,
    pub coverage: Vec<CoveragePoint>,
    pub by_truth: Vec<Region>,
    pub by_posterior_sd: Vec<Region>,
    /// The fewest thinned draws any rank was computed from.
    pub min_kept: usize,
    pub verdict: String,
}

/// Test bins: about 10 repetitions per bin, 2 to 20.
pub fn test_bins(reps: usize) -> usize {
    (reps / 10).clamp(2, 20)
}

/// Up to four parameters of each latent to test on their own: the centre and three other points of
/// an image, spread positions of a vector, every element of a latent with at most 8.
pub fn chosen_params(
    latents: &[(String, Vec<usize>, bool)],
    slots: &[(usize, usize)],
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for ((name, shape, complex), &(offset, len)) in latents.iter().zip(slots) {
        let part = |flat: usize| -> (usize, String) {
            let (elem, suffix) = if *complex {
                (flat / 2, if flat.is_multiple_of(2) { ".re" } else { ".im" })
            } else {
                (flat, "")
            };
            let mut idx = Vec::new();
            let mut rest = elem;
            for &s in shape.iter().rev() {
                idx.push(rest % s.max(1));
                rest /= s.max(1);
            }
            idx.reverse();
            let label = if shape.is_empty() {
                format!("{name}{suffix}")
            } else {
                let i: Vec<String> = idx.iter().map(|v| v.to_string()).collect();
                format!("{name}[{}]{suffix}", i.join(","))
            };
            (offset + flat, label)
        };
        let per = if *complex { 2 } else { 1 };
        let picks: Vec<usize> = if len <= 8 {
            (0..len).collect()
        } else if let [h, w] = shape.as_slice() {
            [
                (h / 2, w / 2),
                (h / 4, w / 4),
                (h / 4, 3 * w / 4),
                (3 * h / 4, w / 2),
            ]
            .iter()
            .map(|(i, j)| (i * w + j) * per)
            .collect()
        } else {
            [len / 2, 0, len / 4, 3 * len / 4]
                .iter()
                .map(|i| i - i % per)
                .collect()
        };
        out.extend(picks.into_iter().map(part));
    }
    out
}

fn coverage_points(reps: &[RepStats]) -> Vec<CoveragePoint> {
    let n = reps.len() as f64;
    LEVELS
        .iter()
        .enumerate()
        .map(|(k, &q)| {
            let f: Vec<f64> = reps
                .iter()
                .map(|r| {
                    let c = r.covered.iter().filter(|&&b| b & (1 << k) != 0).count();
                    c as f64 / r.covered.len().max(1) as f64
                })
                .collect();
            let mean = f.iter().sum::<f64>() / n;
            let var = f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            let se = (var / n).sqrt();
            // Floored at the binomial spread of independent parameters (the least a calibrated
            // posterior shows).
            let params = reps.first().map_or(1, |r| r.covered.len().max(1)) as f64;
            let band = 1.96 * se.max((q * (1.0 - q) / (n * params)).sqrt());
            CoveragePoint {
                nominal: q,
                empirical: mean,
                se,
                band_lo: (q - band).max(0.0),
                band_hi: (q + band).min(1.0),
            }
        })
        .collect()
}

/// Coverage at 50% and 90% over deciles of `key` (pooled over repetitions and parameters).
fn regions(reps: &[RepStats], key: impl Fn(&RepStats, usize) -> f64) -> Vec<Region> {
    let mut pairs: Vec<(f64, u16)> = reps
        .iter()
        .flat_map(|r| (0..r.covered.len()).map(move |d| (d, r)))
        .map(|(d, r)| (key(r, d), r.covered[d]))
        .filter(|(k, _)| k.is_finite())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pairs.len();
    if n == 0 {
        return Vec::new();
    }
    (0..10)
        .filter_map(|i| {
            let part = &pairs[i * n / 10..(i + 1) * n / 10];
            let (first, last) = (part.first()?, part.last()?);
            let cov =
                |k: usize| part.iter().filter(|(_, b)| b & (1 << k) != 0).count() as f64 / part.len() as f64;
            Some(Region {
                lo: first.0,
                hi: last.0,
                count: part.len(),
                coverage_50: cov(4),
                coverage_90: cov(8),
            })
        })
        .collect()
}

/// Analyse the repetitions done; `chosen` from [`chosen_params`].
pub fn analyse(reps: &[RepStats], chosen: &[(usize, String)], bins: Option<usize>) -> Analysis {
    let b = bins.unwrap_or_else(|| test_bins(reps.len())).max(2);
    let params = reps.first().map_or(0, |r| r.u.len());
    let all_u = || reps.iter().flat_map(|r| r.u.iter().copied());
    let pooled = histogram(all_u(), b);
    let (p, test) = if params == 1 {
        (chi_square_p(&pooled), "chi-square over repetitions".to_string())
    } else {
        let fractions: Vec<Vec<f64>> = reps
            .iter()
            .map(|r| {
                histogram(r.u.iter().copied(), b)
                    .iter()
                    .map(|&c| c as f64 / params as f64)
                    .collect()
            })
            .collect();
        match hotelling_p(&fractions) {
            Some(p) => (p, "Hotelling T² over repetitions' bin fractions".to_string()),
            None => (
                f64::NAN,
                format!("none: {} repetitions are too few for {b} bins", reps.len()),
            ),
        }
    };
    let total = (reps.len() * params).max(1) as f64;
    let mean_rank = all_u().sum::<f64>() / total;
    let chosen = chosen
        .iter()
        .map(|(i, name)| {
            let counts = histogram(reps.iter().map(|r| r.u[*i]), b);
            Chosen {
                name: name.clone(),
                index: *i,
                p: chi_square_p(&counts),
                counts,
            }
        })
        .collect();
    let coverage = coverage_points(reps);
    let mut a = Analysis {
        reps: reps.len(),
        params,
        rank_uniformity_p: p,
        test,
        test_bins: b,
        pooled_counts: histogram(all_u(), PLOT_BINS),
        mean_rank,
        chosen,
        coverage,
        by_truth: regions(reps, |r, d| r.truth[d]),
        by_posterior_sd: regions(reps, |r, d| r.sd[d]),
        min_kept: reps.iter().map(|r| r.min_kept).min().unwrap_or(0),
        verdict: String::new(),
    };
    a.verdict = super::verdict::verdict(&a);
    a
}
