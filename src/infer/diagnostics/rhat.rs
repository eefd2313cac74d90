//! Split-R̂ on rows of chains, and the split/fold layouts shared with the ESS computations.

use super::ess::var_ddof1;

/// Split every chain of `x` ([chains][draws], row-major) into its first and last ⌊draws/2⌋ draws and
/// stack them as 2·chains rows of `half` (ArviZ `_split_chains`: first halves, then second halves;
/// with an odd draw count the middle draw is dropped).
pub(crate) fn split_chains(x: &[f64], chains: usize, draws: usize, out: &mut Vec<f64>) {
    let half = draws / 2;
    out.clear();
    for c in 0..chains {
        out.extend_from_slice(&x[c * draws..c * draws + half]);
    }
    for c in 0..chains {
        out.extend_from_slice(&x[(c + 1) * draws - half..(c + 1) * draws]);
    }
}

/// Classic R̂ of rows of `n` draws (ArviZ `_rhat`): √((B/W + n − 1)/n), NaN for NaN input or
/// zero within-chain variance with zero between-chain variance.
pub(crate) fn rhat_rows(rows: &[f64], n: usize, means: &mut Vec<f64>) -> f64 {
    if n < 2 || rows.is_empty() || rows.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let nf = n as f64;
    means.clear();
    let mut within = 0.0;
    let mut n_chain = 0usize;
    for row in rows.chunks_exact(n) {
        means.push(row.iter().sum::<f64>() / nf);
        within += var_ddof1(row);
        n_chain += 1;
    }
    within /= n_chain as f64;
    let between = nf * var_ddof1(means);
    ((between / within + nf - 1.0) / nf).sqrt()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn split_drops_middle_draw() {
        let x: Vec<f64> = (0..10).map(f64::from).collect(); // 2 chains × 5
        let mut out = Vec::new();
        split_chains(&x, 2, 5, &mut out);
        assert_eq!(out, vec![0., 1., 5., 6., 3., 4., 8., 9.]);
    }

    #[test]
    fn rhat_of_identical_chains_is_below_one_and_shifted_above() {
        let a = [0.0, 1.0, 2.0, 3.0];
        let rows: Vec<f64> = a.iter().chain(a.iter()).copied().collect();
        let mut m = Vec::new();
        let r = rhat_rows(&rows, 4, &mut m);
        assert!((r - (3.0f64 / 4.0).sqrt()).abs() < 1e-15);
        let shifted: Vec<f64> = a.iter().copied().chain(a.iter().map(|x| x + 10.0)).collect();
        assert!(rhat_rows(&shifted, 4, &mut m) > 3.0);
    }
}
