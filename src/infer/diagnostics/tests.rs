//! Unit tests of the diagnostics: degenerate inputs, NaN handling, summaries, and AR(1) sanity checks.

use super::*;
use ndarray::{Array3, ShapeBuilder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn ar1(chains: usize, draws: usize, params: &[f64], seed: u64) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut a = Array3::zeros((chains, draws, params.len()));
    for c in 0..chains {
        for (p, &phi) in params.iter().enumerate() {
            let mut x: f64 = StandardNormal.sample(&mut rng);
            x /= (1.0 - phi * phi).sqrt();
            for d in 0..draws {
                let e: f64 = StandardNormal.sample(&mut rng);
                x = phi * x + e;
                a[[c, d, p]] = x;
            }
        }
    }
    a
}

#[test]
fn degenerate_inputs_do_not_panic() {
    for (c, d, p) in [
        (0, 0, 0),
        (0, 10, 3),
        (4, 0, 2),
        (4, 3, 2),
        (1, 1, 1),
        (2, 4, 1),
        (3, 5, 17),
    ] {
        let a = Array3::<f64>::zeros((c, d, p));
        let diag = Diagnostics::compute(a.view());
        assert_eq!(diag.len(), p);
        let _ = diag.summary().nan_note();
    }
    let none = Diagnostics::compute(Array3::<f64>::zeros((4, 100, 0)).view()).summary();
    assert!(none.rhat_max.is_nan() && none.rhat_argmax.is_none());
}

#[test]
fn few_draws_give_nan_diagnostics_but_moments() {
    let a = ar1(4, 3, &[0.0], 1);
    let d = Diagnostics::compute(a.view());
    assert!(d.mean[0].is_finite() && d.sd[0].is_finite() && d.q50[0].is_finite());
    assert!(d.rhat[0].is_nan() && d.ess_bulk[0].is_nan() && d.ess_tail[0].is_nan());
}

#[test]
fn one_chain_has_ess_but_no_rhat() {
    let a = ar1(1, 400, &[0.5], 2);
    let d = Diagnostics::compute(a.view());
    assert!(d.rhat[0].is_nan());
    assert!(d.ess_bulk[0] > 50.0 && d.ess_bulk[0] < 400.0, "{}", d.ess_bulk[0]);
    let s = d.summary();
    assert_eq!((s.rhat_nan, s.rhat_argmax), (1, None));
    assert!(s.nan_note().is_some());
}

#[test]
fn constant_parameter_follows_arviz() {
    let mut a = ar1(4, 100, &[0.0, 0.0], 3);
    a.slice_mut(s![.., .., 1]).fill(2.5);
    let d = Diagnostics::compute(a.view());
    // ArviZ: R̂ = NaN (0/0), ESS = S (constant sequence), mcse_mean = 0, mcse_sd = NaN.
    assert!(d.rhat[1].is_nan());
    assert_eq!(d.ess_bulk[1], 400.0);
    assert_eq!(d.ess_tail[1], 400.0);
    assert_eq!(d.mcse_mean[1], 0.0);
    assert!(d.mcse_sd[1].is_nan());
    let s = d.summary();
    assert_eq!(s.rhat_argmax, Some(0));
    assert_eq!(s.rhat_nan, 1);
    assert!(s.rhat_max.is_finite());
}

#[test]
fn nan_draw_makes_only_that_parameter_nan() {
    let mut a = ar1(4, 100, &[0.0, 0.3], 4);
    a[[2, 50, 0]] = f64::NAN;
    let d = Diagnostics::compute(a.view());
    assert!(d.rhat[0].is_nan() && d.ess_bulk[0].is_nan() && d.mean[0].is_nan());
    assert!(d.rhat[1].is_finite() && d.ess_bulk[1].is_finite());
    let s = d.summary();
    assert_eq!(
        (s.rhat_argmax, s.ess_bulk_argmin, s.ess_bulk_nan),
        (Some(1), Some(1), 1)
    );
}

/// AR(1) with coefficient φ has ESS = S(1 − φ)/(1 + φ). The estimator's relative sd for S = 40 000
/// draws is a few percent (≈ √(2τ/S)·… ), so 15% is several standard errors, with a fixed seed.
#[test]
fn ar1_ess_matches_theory() {
    let phis = [0.0, 0.5, 0.9];
    let a = ar1(4, 10_000, &phis, 5);
    let d = Diagnostics::compute(a.view());
    for (p, &phi) in phis.iter().enumerate() {
        let s = 40_000.0;
        let expected = s * (1.0 - phi) / (1.0 + phi);
        for got in [d.ess_bulk[p], d.ess_mean[p]] {
            assert!(
                (got / expected - 1.0).abs() < 0.15,
                "phi {phi}: ess {got} vs {expected}"
            );
        }
        assert!(d.rhat[p] < 1.01, "phi {phi}: rhat {}", d.rhat[p]);
        // Indicators of the 5%/95% quantiles are less autocorrelated than the chain itself.
        assert!(
            d.ess_tail[p] > 0.85 * expected,
            "phi {phi}: tail ess {}",
            d.ess_tail[p]
        );
        if phi == 0.0 {
            assert!(
                (d.ess_tail[p] / s - 1.0).abs() < 0.15,
                "iid tail ess {}",
                d.ess_tail[p]
            );
        }
    }
    // More draws than S·log10(S) is impossible: antithetic chains hit the cap.
    let mut anti = Array3::zeros((2, 1000, 1));
    for c in 0..2 {
        for t in 0..1000 {
            anti[[c, t, 0]] = if t % 2 == 0 { 1.0 } else { -1.0 } + 1e-3 * (t as f64).sin();
        }
    }
    let d = Diagnostics::compute(anti.view());
    let cap = 2000.0 * 2000f64.log10();
    assert!(
        d.ess_mean[0] <= cap * (1.0 + 1e-12) && d.ess_mean[0] > 2000.0,
        "{}",
        d.ess_mean[0]
    );
}

#[test]
fn shifted_chain_raises_rhat_and_select_summarises_a_range() {
    let mut a = ar1(4, 500, &[0.2, 0.2, 0.2], 6);
    a.slice_mut(s![0, .., 2]).mapv_inplace(|x| x + 3.0);
    let d = Diagnostics::compute(a.view());
    let s = d.summary();
    assert_eq!(s.rhat_argmax, Some(2));
    assert!(s.rhat_max > 1.2);
    let first_two = d.select(0..2);
    assert_eq!(first_two.len(), 2);
    assert!(first_two.summary().rhat_max < 1.02);
    assert_eq!(d.select(5..9).len(), 0);
}

#[test]
fn result_does_not_depend_on_block_boundaries_or_layout() {
    let a = ar1(3, 64, &[0.1; 37], 7);
    let d = Diagnostics::compute(a.view());
    let single = Diagnostics::compute(a.slice(s![.., .., 20..21]));
    assert_eq!(single.rhat[0].to_bits(), d.rhat[20].to_bits());
    assert_eq!(single.ess_tail[0].to_bits(), d.ess_tail[20].to_bits());
    // Fortran-order input gives identical numbers.
    let mut f = Array3::zeros(a.raw_dim().f());
    f.assign(&a);
    assert_eq!(Diagnostics::compute(f.view()), d);
}
