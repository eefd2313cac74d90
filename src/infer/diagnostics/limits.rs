//! Warning thresholds for R̂ and ESS calibrated to the run's shape: what independent draws of the
//! same chains × draws × parameters exceed only rarely, so that the warnings do not fire on every
//! healthy image run (the largest of 4,096 split-R̂ values of 8 independent draws per chain is ~1.5).
//!
//! R̂ (one parameter, independent normal draws, m = 2·chains split chains of n = ⌊draws/2⌋): the
//! ratio B/W behind R̂ = √((B/W + n − 1)/n) is F(m − 1, m(n − 1)) distributed, so the level-q upper
//! quantile of R̂ is exact for the classic statistic and close for the rank-normalised ones (their
//! z-scores are bounded, which makes the true tail lighter: the limits err on the quiet side).
//! Each parameter's R̂ is the larger of two statistics (bulk and folded tail), and a latent's worst
//! R̂ is the largest of P of them; by the union bound (valid whatever the dependence between pixels)
//! the level `α/(2P)` quantile of one statistic is exceeded by the largest R̂ with probability ≤ α.
//!
//! ESS: the smallest of P bulk (2P tail) ESS values of independent draws has a heavy lower tail; the
//! limit `S / (1 + 8·ln(tests/α)/√S)` (S split draws) is fitted on simulated draws of the shipped
//! examples' shapes. `docs/diagnostics.md` has the table behind both rules.

use crate::dist::ln_gamma;

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..1000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b).
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(F > f) for F ~ F(d1, d2).
pub(crate) fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 1.0;
    }
    beta_inc(0.5 * d2, 0.5 * d1, d2 / (d2 + d1 * f))
}

/// The f with P(F > f) = q for F ~ F(d1, d2), by bisection on log f.
pub(crate) fn f_isf(q: f64, d1: f64, d2: f64) -> f64 {
    let (mut lo, mut hi) = (-30.0f64, 30.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f_sf(mid.exp(), d1, d2) > q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// The value that one split-R̂ statistic of independent draws exceeds with probability `q`
/// (`chains` chains of `draws` draws); NaN where R̂ is undefined (one chain, fewer than 4 draws).
pub fn rhat_quantile(chains: usize, draws: usize, q: f64) -> f64 {
    let (m, n) = (2 * chains, draws / 2);
    if chains < 2 || draws < 4 || !(q > 0.0 && q < 1.0) {
        return f64::NAN;
    }
    let f = f_isf(q, (m - 1) as f64, (m * (n - 1)) as f64);
    ((f + n as f64 - 1.0) / n as f64).sqrt()
}

/// CmdStan's and ArviZ's R̂ threshold, kept when the run is long enough for it to be quiet.
pub const RHAT_FLOOR: f64 = 1.01;

/// The largest R̂ over `params` parameters above which a warning is due: the larger of
/// [`RHAT_FLOOR`] and the value that independent draws exceed with probability ≤ `alpha`.
pub fn rhat_limit(chains: usize, draws: usize, params: usize, alpha: f64) -> f64 {
    let q = alpha / (2 * params.max(1)) as f64;
    RHAT_FLOOR.max(rhat_quantile(chains, draws, q))
}

/// CmdStan's and ArviZ's ESS threshold per chain, kept when the run is long enough for it.
pub const ESS_PER_CHAIN: usize = 100;

/// Spread of the ESS of independent draws: on S split draws, the smallest of `tests` ESS values falls
/// below `S / (1 + ESS_SPREAD · ln(tests/α) / √S)` in under a fraction α of runs. Fitted on simulated
/// independent normal draws (the `calibration` tests): the upper tail of `(S/ESS − 1)·√S/2` grows by
/// 8–12 per decade of probability for S = 128–400, far heavier than a normal tail.
const ESS_SPREAD: f64 = 8.0;

/// The smallest bulk (`tail = false`) or tail ESS over `params` parameters below which a warning is
/// due on independent draws' terms: the value their smallest ESS falls under with probability ≤
/// `alpha` (each parameter's tail ESS is the smaller of two). NaN where ESS is undefined.
pub fn ess_limit(chains: usize, draws: usize, params: usize, alpha: f64, tail: bool) -> f64 {
    if chains == 0 || draws < 4 || !(alpha > 0.0 && alpha < 1.0) {
        return f64::NAN;
    }
    let size = (2 * chains * (draws / 2)) as f64;
    let tests = (params.max(1) * if tail { 2 } else { 1 }) as f64;
    size / (1.0 + ESS_SPREAD * (tests / alpha).ln() / size.sqrt())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn special_functions_match_references() {
        // ln Γ(0.5) = ln √π, Γ(5) = 24, Γ(10.5) from tables.
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(10.5) - 1_133_278.388_948_785_6_f64.ln()).abs() < 1e-12);
        // I_x(1, 1) = x; I_x(a, 1) = x^a.
        assert!((beta_inc(1.0, 1.0, 0.3) - 0.3).abs() < 1e-14);
        assert!((beta_inc(2.5, 1.0, 0.4) - 0.4f64.powf(2.5)).abs() < 1e-14);
        // F(1, d2) = t² with d2 degrees of freedom: P(t₁₀ > 2.228) = 0.025, so P(F > 2.228²) = 0.05.
        assert!((f_sf(2.228_138_851_986_273_7f64.powi(2), 1.0, 10.0) - 0.05).abs() < 1e-9);
        // F(7, 24)'s upper 1% point is 3.4959 (tables; Simpson integration of the density).
        assert!(
            (f_isf(0.01, 7.0, 24.0) - 3.495_93).abs() < 1e-4,
            "{}",
            f_isf(0.01, 7.0, 24.0)
        );
    }

    /// The limits quoted in docs/diagnostics.md.
    #[test]
    fn limits_for_the_shipped_shapes() {
        let a = 0.0025;
        assert!((rhat_limit(4, 8, 4096, a) - 2.093).abs() < 5e-4);
        assert!((rhat_limit(4, 50, 1024, a) - 1.100).abs() < 5e-4);
        assert_eq!(rhat_limit(4, 1000, 1024, a), RHAT_FLOOR);
        assert_eq!(rhat_limit(1, 1000, 2, a), RHAT_FLOOR); // one chain: R̂ is NaN and never warns
        assert!((ess_limit(4, 50, 1024, a, true) - 23.0).abs() < 0.05);
        assert!((ess_limit(4, 100, 1024, a, false) - 64.8).abs() < 0.05);
        // 8 draws per chain: the estimator returns S·log10 S = 48.2 whatever the draws; never below.
        assert!(ess_limit(4, 8, 4096, a, false) < 2.0);
        assert!(ess_limit(4, 2, 10, a, false).is_nan());
    }
}
