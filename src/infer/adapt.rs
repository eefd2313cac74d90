//! Warm-up adaptation as in Stan: dual-averaging step size and windowed diagonal mass matrix.
//!
//! Both live apart from the kernels: they observe each transition and hand parameters back.

use ndarray::{Array1, ArrayView1};

/// Nesterov dual averaging of log step size towards a target acceptance statistic (Hoffman & Gelman
/// 2014, Stan's `stepsize_adaptation` with γ = 0.05, t₀ = 10, κ = 0.75, μ = log(10 ε₀)).
#[derive(Clone, Debug, PartialEq)]
pub struct DualAveraging {
    pub delta: f64,
    pub gamma: f64,
    pub t0: f64,
    pub kappa: f64,
    mu: f64,
    s_bar: f64,
    x_bar: f64,
    counter: f64,
}

impl DualAveraging {
    /// Start adapting from step size `eps0` towards acceptance `delta`.
    pub fn new(delta: f64, eps0: f64) -> Self {
        let mut da = Self {
            delta,
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
            mu: 0.0,
            s_bar: 0.0,
            x_bar: 0.0,
            counter: 0.0,
        };
        da.restart(eps0);
        da
    }

    /// Forget the history and re-centre on `log(10 eps0)` (after a mass-matrix update).
    pub fn restart(&mut self, eps0: f64) {
        self.mu = (10.0 * eps0).ln();
        self.s_bar = 0.0;
        self.x_bar = 0.0;
        self.counter = 0.0;
    }

    /// Feed one acceptance statistic; returns the step size to use next.
    pub fn update(&mut self, accept_stat: f64) -> f64 {
        let a = if accept_stat.is_nan() {
            0.0
        } else {
            accept_stat.min(1.0)
        };
        self.counter += 1.0;
        let eta = 1.0 / (self.counter + self.t0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.delta - a);
        let x = self.mu - self.s_bar * self.counter.sqrt() / self.gamma;
        let x_eta = self.counter.powf(-self.kappa);
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x;
        x.exp()
    }

    /// The averaged step size `exp(x̄)` used after warm-up.
    pub fn final_step_size(&self) -> f64 {
        self.x_bar.exp()
    }
}

/// Stan's warm-up windows: an initial fast buffer (75), slow windows doubling from 25, a terminal
/// fast buffer (50). For fewer than 150 warm-up iterations the parts become 15% / 75% / 10%; below
/// 20 there is no mass adaptation.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSchedule {
    warmup: usize,
    init_buffer: usize,
    term_buffer: usize,
    window_size: usize,
    next_window: usize,
    counter: usize,
    enabled: bool,
}

impl WindowSchedule {
    pub fn new(warmup: usize) -> Self {
        let (mut init_buffer, mut term_buffer, mut base_window) = (75, 50, 25);
        let enabled = warmup >= 20;
        if enabled && init_buffer + base_window + term_buffer > warmup {
            init_buffer = (0.15 * warmup as f64) as usize;
            term_buffer = (0.1 * warmup as f64) as usize;
            base_window = warmup - (init_buffer + term_buffer);
        }
        Self {
            warmup,
            init_buffer,
            term_buffer,
            window_size: base_window,
            next_window: init_buffer + base_window - 1,
            counter: 0,
            enabled,
        }
    }

    fn in_window(&self) -> bool {
        self.enabled
            && self.counter >= self.init_buffer
            && self.counter < self.warmup - self.term_buffer
            && self.counter != self.warmup
    }

    fn at_window_end(&self) -> bool {
        self.enabled && self.counter == self.next_window && self.counter != self.warmup
    }

    fn compute_next_window(&mut self) {
        let last = self.warmup - self.term_buffer - 1;
        if self.next_window == last {
            return;
        }
        self.window_size *= 2;
        self.next_window = self.counter + self.window_size;
        if self.next_window != last
            && self.next_window + 2 * self.window_size >= self.warmup - self.term_buffer
        {
            self.next_window = last;
        }
    }

    /// Ends of the slow windows (iteration indices), for reporting and tests.
    pub fn window_ends(&self) -> Vec<usize> {
        let mut s = self.clone();
        let mut ends = Vec::new();
        while s.counter < s.warmup {
            if s.at_window_end() {
                ends.push(s.counter);
                s.compute_next_window();
            }
            s.counter += 1;
        }
        ends
    }
}

/// Welford running mean and variance per coordinate.
#[derive(Clone, Debug, PartialEq)]
struct Welford {
    n: usize,
    mean: Array1<f64>,
    m2: Array1<f64>,
}

impl Welford {
    fn new(dim: usize) -> Self {
        Self {
            n: 0,
            mean: Array1::zeros(dim),
            m2: Array1::zeros(dim),
        }
    }

    fn add(&mut self, x: ArrayView1<f64>) {
        self.n += 1;
        let delta = &x - &self.mean;
        self.mean.scaled_add(1.0 / self.n as f64, &delta);
        let delta2 = &x - &self.mean;
        self.m2 += &(&delta * &delta2);
    }
}

/// Transitions after which [`WindowEvent::Early`] is reported: 20, or the whole initial buffer when
/// it is shorter. A low-rank metric is taken from them, since Stan's initial buffer of 75 transitions
/// on the identity metric costs a posterior conditioned like deblur32 (5,656) trees of depth 10 each:
/// three quarters of a short run's gradients (docs/samplers.md).
pub const EARLY_POINTS: usize = 20;

/// Windowed estimate of the diagonal inverse metric (posterior variances) with Stan's regularisation
/// `(n/(n+5))·var + 1e-3·(5/(n+5))`.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagMassAdaptation {
    schedule: WindowSchedule,
    welford: Welford,
    /// The second half of the initial buffer's first [`EARLY_POINTS`] points (for
    /// [`WindowEvent::Early`]).
    early: Welford,
}

/// What a warm-up transition ended, per [`DiagMassAdaptation::observe_window`].
#[derive(Clone, Debug, PartialEq)]
pub enum WindowEvent {
    /// Nothing.
    None,
    /// The first [`EARLY_POINTS`] transitions of the initial buffer (all of it when shorter), with
    /// the mean of their second half (the chain has left its initial point by then; no variances are
    /// known yet).
    Early(Array1<f64>),
    /// A slow window: the new inverse-mass diagonal and the mean of the window's points.
    WindowEnd(Array1<f64>, Array1<f64>),
}

impl DiagMassAdaptation {
    pub fn new(dim: usize, warmup: usize) -> Self {
        Self {
            schedule: WindowSchedule::new(warmup),
            welford: Welford::new(dim),
            early: Welford::new(dim),
        }
    }

    /// Observe the position after a warm-up transition; at the end of a slow window returns the new
    /// inverse mass diagonal (the caller then re-initialises and restarts the step size).
    pub fn observe(&mut self, x: ArrayView1<f64>) -> Option<Array1<f64>> {
        match self.observe_window(x) {
            WindowEvent::WindowEnd(var, _) => Some(var),
            _ => None,
        }
    }

    /// [`Self::observe`], and also the end of the initial buffer, and at a window's end the mean of
    /// the window's points.
    pub fn observe_window(&mut self, x: ArrayView1<f64>) -> WindowEvent {
        let s = &mut self.schedule;
        if s.in_window() {
            self.welford.add(x);
        }
        let early = s.init_buffer.min(EARLY_POINTS);
        let init_end = s.enabled && early > 0 && s.counter + 1 == early;
        if s.enabled && s.counter < early && 2 * s.counter + 1 >= early {
            self.early.add(x);
        }
        let out = if s.at_window_end() {
            s.compute_next_window();
            let n = self.welford.n as f64;
            let var = if self.welford.n > 1 {
                &self.welford.m2 / (n - 1.0)
            } else {
                self.welford.m2.clone()
            };
            let done = std::mem::replace(&mut self.welford, Welford::new(x.len()));
            let mean = if done.n > 0 { done.mean } else { x.to_owned() };
            WindowEvent::WindowEnd(var.mapv(|v| (n / (n + 5.0)) * v + 1e-3 * (5.0 / (n + 5.0))), mean)
        } else if init_end {
            let done = std::mem::replace(&mut self.early, Welford::new(x.len()));
            WindowEvent::Early(if done.n > 0 { done.mean } else { x.to_owned() })
        } else {
            WindowEvent::None
        };
        s.counter += 1;
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stan_windows_for_1000_and_short_warmup() {
        // Stan, 1000 warm-up: windows end at 99, 149, 249, 449, 949.
        assert_eq!(
            WindowSchedule::new(1000).window_ends(),
            vec![99, 149, 249, 449, 949]
        );
        // 100 warm-up: buffers 15 / 10, one window of 75 ending at 89.
        assert_eq!(WindowSchedule::new(100).window_ends(), vec![89]);
        assert!(WindowSchedule::new(19).window_ends().is_empty());
    }

    #[test]
    fn dual_averaging_converges_on_a_monotone_response() {
        // Acceptance falls with step size: a(ε) = exp(−ε); target 0.8 ⇒ ε* = −ln 0.8.
        let mut da = DualAveraging::new(0.8, 1.0);
        let mut eps: f64 = 1.0;
        for _ in 0..2000 {
            eps = da.update((-eps).exp());
        }
        let want = -(0.8f64).ln();
        assert!(
            (da.final_step_size() - want).abs() / want < 0.02,
            "{}",
            da.final_step_size()
        );
    }

    #[test]
    fn mass_adaptation_regularises_variance() {
        let mut m = DiagMassAdaptation::new(1, 100);
        let mut got = None;
        for i in 0..90 {
            let x = ndarray::array![if i % 2 == 0 { 1.0 } else { -1.0 }];
            if let Some(v) = m.observe(x.view()) {
                got = Some((i, v));
            }
        }
        let (i, v) = got.unwrap();
        assert_eq!(i, 89);
        // Samples 15..=89: 38 values −1 and 37 values +1, mean −1/75.
        let n = 75.0;
        let var = (n - 1.0 / n) / (n - 1.0);
        let want = n / (n + 5.0) * var + 1e-3 * 5.0 / (n + 5.0);
        assert!((v[0] - want).abs() < 1e-12);
    }

    #[test]
    fn the_early_points_give_the_mean_of_their_second_half() {
        // 100 warm-up: an initial buffer of 15 (iterations 0..=14); its second half is 7..=14.
        let mut m = DiagMassAdaptation::new(1, 100);
        let mut events = Vec::new();
        for i in 0..20 {
            let e = m.observe_window(ndarray::array![i as f64].view());
            if e != WindowEvent::None {
                events.push((i, e));
            }
        }
        assert_eq!(events, vec![(14, WindowEvent::Early(ndarray::array![10.5]))]);
        // 1000 warm-up: an initial buffer of 75; the early points are 0..=19, their second half 10..=19.
        let mut m = DiagMassAdaptation::new(1, 1000);
        let early: Vec<_> = (0..75)
            .map(|i| (i, m.observe_window(ndarray::array![i as f64].view())))
            .filter(|(_, e)| *e != WindowEvent::None)
            .collect();
        assert_eq!(early, vec![(19, WindowEvent::Early(ndarray::array![14.5]))]);
    }
}
