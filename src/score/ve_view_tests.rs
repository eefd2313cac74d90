//! The VE view of a VP prior against exact scores: an exact DDPM ε-model of a Gaussian (written here
//! from its closed form, independent of `VpView`) and the diffused mixture through `VpView`.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::score::{GaussianMixturePrior, NormalPrior, VpSchedule, VpView};
use ndarray::{array, Array1};

/// iid `N(μ, τ²)` data with scale `c`: `x₀ = c · data`, and `x_t ~ N(√ᾱ_t c μ, ᾱ_t c²τ² + 1 − ᾱ_t)`.
struct ExactVpNormal {
    mu: f64,
    tau: f64,
    c: f64,
    dim: usize,
    schedule: VpSchedule,
}

impl ExactVpNormal {
    fn new(mu: f64, tau: f64, c: f64) -> Self {
        Self {
            mu,
            tau,
            c,
            dim: 3,
            schedule: VpSchedule::ddpm(),
        }
    }

    /// `(√ᾱ_t c μ, variance of x_t)` at integer timestep `t`.
    fn moments(&self, t: f64) -> (f64, f64) {
        assert_eq!(t, t.round(), "the exact ε-model takes integer timesteps only");
        let ab = self.schedule.alpha_bar(t as usize);
        let c = self.c;
        (
            ab.sqrt() * c * self.mu,
            ab * c * c * self.tau * self.tau + 1.0 - ab,
        )
    }
}

impl ScoreModel for ExactVpNormal {
    fn dim(&self) -> usize {
        self.dim
    }
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Vp {
            beta_start: 1e-4,
            beta_end: 0.02,
            steps: 1000,
        }
    }
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let (m, v) = self.moments(level);
        Ok(x.mapv(|u| -(u - m) / v))
    }
    fn score_vjp(
        &self,
        _x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        let (_, var) = self.moments(level);
        Ok(v.mapv(|a| -a / var))
    }
    fn data_scale(&self) -> f64 {
        self.c
    }
}

fn points() -> Array2<f64> {
    array![[0.3, -1.0, 2.5], [-0.7, 0.0, 1.2]]
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// On every timestep's own σ (σ_t/c) the view is the exact VE score `−(x − μ)/(τ² + σ²)`, to 1e-10,
/// and its VJP the exact `−v/(τ² + σ²)`; the range it reports is `[σ_0, σ_{T−1}]/c`.
#[test]
fn on_the_grid_the_view_is_the_exact_ve_score() {
    for c in [1.0, 2.5] {
        let (mu, tau) = (0.4, 0.8);
        let view = VeView::new(ExactVpNormal::new(mu, tau, c)).unwrap();
        let exact = NormalPrior::iid(3, mu, tau).unwrap();
        let sched = VpSchedule::ddpm();
        let NoiseKind::Ve { sigma_min, sigma_max } = view.noise_kind() else {
            panic!("not a VE kind")
        };
        assert!((sigma_min - sched.sigma_equivalent(0) / c).abs() < 1e-15);
        assert!((sigma_max - sched.sigma_equivalent(999) / c).abs() < 1e-12);
        let x = points();
        let v = array![[1.0, -2.0, 0.5], [0.25, 1.5, -1.0]];
        let mut worst: f64 = 0.0;
        for t in [0usize, 1, 7, 100, 500, 998, 999] {
            let sigma = sched.sigma_equivalent(t) / c;
            let got = view.score(x.view(), sigma).unwrap();
            let want = exact.score(x.view(), sigma).unwrap();
            let rel = max_abs(&(&got - &want)) / max_abs(&want);
            worst = worst.max(rel);
            assert!(rel < 1e-10, "c {c}, t {t}: relative error {rel:e}");
            let gv = view.score_vjp(x.view(), sigma, v.view()).unwrap();
            let wv = exact.score_vjp(x.view(), sigma, v.view()).unwrap();
            assert!(max_abs(&(&gv - &wv)) / max_abs(&wv) < 1e-10, "c {c}, t {t}: VJP");
        }
        eprintln!("data scale {c}: worst relative error on the grid {worst:.1e}");
    }
}

/// Between timesteps the error is that of linear interpolation of `e(σ) = −σ s(x, σ)` in `u = ln σ`.
/// For the Gaussian, `e = (x − μ) sech(u − ln τ)/(2τ)` and `|sech''| ≤ 1`, so the score is off by at
/// most `(Δu)²/8 · |x − μ|/(2τσ)`, with Δu the log-spacing of the two neighbouring timesteps. The
/// bound holds at several σ, the error is not zero (it is an interpolation), and the VJP agrees with
/// a finite difference of the score.
#[test]
fn between_timesteps_the_error_is_within_the_interpolation_bound() {
    let (mu, tau) = (0.4, 0.8);
    let view = VeView::new(ExactVpNormal::new(mu, tau, 1.0)).unwrap();
    let exact = NormalPrior::iid(3, mu, tau).unwrap();
    let sched = VpSchedule::ddpm();
    let x = points();
    for sigma in [0.0123, 0.05, 0.3, 0.79, 3.0, 40.0] {
        let t1 = (0..1000).position(|t| sched.sigma_equivalent(t) > sigma).unwrap();
        let du = (sched.sigma_equivalent(t1) / sched.sigma_equivalent(t1 - 1)).ln();
        let got = view.score(x.view(), sigma).unwrap();
        let want = exact.score(x.view(), sigma).unwrap();
        let mut ratio: f64 = 0.0;
        for (g, (w, xi)) in got.iter().zip(want.iter().zip(x.iter())) {
            let bound = du * du / 8.0 * (xi - mu).abs() / (2.0 * tau * sigma);
            assert!(
                (g - w).abs() <= bound * (1.0 + 1e-9) + 1e-14,
                "σ {sigma}: {g} vs {w}, bound {bound:e}"
            );
            ratio = ratio.max((g - w).abs() / bound);
        }
        eprintln!("σ {sigma}: Δln σ {du:.2e}, largest error / bound {ratio:.3}");
        assert!(ratio > 0.0, "σ {sigma} fell on the grid; choose another");
    }
    // VJP = Jᵀv of the interpolated score: a central difference of the (linear) score matches it.
    let v = array![[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]];
    let h = 1e-4;
    let fd = (view.score((&x + &(&v * h)).view(), 0.05).unwrap()
        - view.score((&x - &(&v * h)).view(), 0.05).unwrap())
        / (2.0 * h);
    let vjp = view.score_vjp(x.view(), 0.05, v.view()).unwrap();
    // The Jacobian is diagonal, so Jᵀv = Jv.
    assert!(max_abs(&(&fd - &vjp)) < 1e-8, "{fd} vs {vjp}");
}

/// The diffused mixture through `VpView` and back through `VeView` is the mixture's own VE score
/// on the grid; outside the range σ is clamped; bad levels and non-VP priors are errors.
#[test]
fn mixture_round_trip_clamping_and_errors() {
    let m = GaussianMixturePrior::new(
        Array1::from(vec![0.3, 0.7]),
        array![[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]],
        array![0.4, 0.9],
    )
    .unwrap();
    let view = VeView::new(VpView::ddpm(&m).unwrap()).unwrap();
    let sched = VpSchedule::ddpm();
    let x = points();
    for t in [0usize, 3, 60, 400, 999] {
        let s = sched.sigma_equivalent(t);
        let got = view.score(x.view(), s).unwrap();
        let want = m.score(x.view(), s).unwrap();
        assert!(max_abs(&(&got - &want)) / max_abs(&want) < 1e-10, "t {t}");
    }
    let lo = view.score(x.view(), sched.sigma_equivalent(0)).unwrap();
    assert_eq!(view.score(x.view(), 1e-5).unwrap(), lo);
    let hi = view.score(x.view(), sched.sigma_equivalent(999)).unwrap();
    assert_eq!(view.score(x.view(), 1e6).unwrap(), hi);
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert!(view.score(x.view(), bad).is_err(), "σ {bad}");
    }
    assert!(VeView::new(&m).is_err());
    assert!(VeView::new(NormalPrior::iid(2, 0.0, 1.0).unwrap()).is_err());
}
