//! Noise schedules: the DDPM (VP) β schedule (linear, or any list of β) and its ᾱ_t, plus VE σ helpers.

/// DDPM β schedule, `β_t` for `t = 0..steps`: linear from `beta_start` to `beta_end` (Ho et al. 2020),
/// or any list ([`VpSchedule::from_betas`], e.g. a diffusers cosine schedule); `beta_start` and
/// `beta_end` are then its first and last β.
#[derive(Clone, Debug, PartialEq)]
pub struct VpSchedule {
    pub beta_start: f64,
    pub beta_end: f64,
    betas: Vec<f64>,
    alpha_bars: Vec<f64>,
}

impl VpSchedule {
    /// The DDPM default: β from 1e-4 to 0.02 over T = 1000.
    pub fn ddpm() -> Self {
        Self::linear(1e-4, 0.02, 1000)
    }

    /// The schedule of an explicit list of β (each in (0, 1); an empty list is one step of β = 0).
    pub fn from_betas(betas: Vec<f64>) -> Self {
        let betas = if betas.is_empty() { vec![0.0] } else { betas };
        let mut ab = 1.0;
        let alpha_bars = betas
            .iter()
            .map(|b| {
                ab *= 1.0 - b;
                ab
            })
            .collect();
        VpSchedule {
            beta_start: betas[0],
            beta_end: betas[betas.len() - 1],
            betas,
            alpha_bars,
        }
    }

    /// `steps` ≥ 1 values linearly spaced from `beta_start` to `beta_end` (both in (0, 1)).
    pub fn linear(beta_start: f64, beta_end: f64, steps: usize) -> Self {
        let steps = steps.max(1);
        let betas: Vec<f64> = (0..steps)
            .map(|i| {
                let f = if steps == 1 {
                    0.0
                } else {
                    i as f64 / (steps - 1) as f64
                };
                beta_start + f * (beta_end - beta_start)
            })
            .collect();
        let mut s = Self::from_betas(betas);
        (s.beta_start, s.beta_end) = (beta_start, beta_end);
        s
    }

    pub fn steps(&self) -> usize {
        self.betas.len()
    }

    /// `β_t`, with `t` clamped to the schedule.
    pub fn beta(&self, t: usize) -> f64 {
        self.betas
            .get(t.min(self.betas.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    }

    /// `ᾱ_t = ∏_{s ≤ t} (1 − β_s)`, with `t` clamped to the schedule.
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bars
            .get(t.min(self.alpha_bars.len().saturating_sub(1)))
            .copied()
            .unwrap_or(1.0)
    }

    /// The level `t` as an index: rounded and clamped to `0..steps`; `None` when not finite or negative.
    pub fn index(&self, level: f64) -> Option<usize> {
        if !level.is_finite() || level < -0.5 {
            return None;
        }
        Some((level.round() as usize).min(self.steps().saturating_sub(1)))
    }

    /// The noise level of `x_t` in VE terms, `√(1 − ᾱ_t)/√ᾱ_t`.
    pub fn sigma_equivalent(&self, t: usize) -> f64 {
        let ab = self.alpha_bar(t);
        ((1.0 - ab) / ab).sqrt()
    }
}

/// Song & Ermon (2020, technique 1): σ_max ≈ the largest Euclidean distance between training images.
pub fn max_pairwise_distance(images: &[Vec<f32>]) -> f64 {
    let mut best = 0.0f64;
    for (i, a) in images.iter().enumerate() {
        for b in images.iter().skip(i + 1) {
            let d: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| {
                    let d = f64::from(*x) - f64::from(*y);
                    d * d
                })
                .sum();
            best = best.max(d.sqrt());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddpm_alpha_bar_matches_closed_products() {
        let s = VpSchedule::ddpm();
        assert_eq!(s.steps(), 1000);
        assert!((s.beta(0) - 1e-4).abs() < 1e-15);
        assert!((s.beta(999) - 0.02).abs() < 1e-15);
        assert!((s.alpha_bar(0) - (1.0 - 1e-4)).abs() < 1e-15);
        let direct: f64 = (0..1000).map(|t| 1.0 - s.beta(t)).product();
        assert!((s.alpha_bar(999) - direct).abs() < 1e-12);
        // Known value for the DDPM schedule: ᾱ_T ≈ 4.04e-5.
        assert!(
            (s.alpha_bar(999) - 4.04e-5).abs() < 0.05e-5,
            "{}",
            s.alpha_bar(999)
        );
        assert_eq!(s.index(3.4), Some(3));
        assert_eq!(s.index(5000.0), Some(999));
        assert_eq!(s.index(f64::NAN), None);
    }

    #[test]
    fn pairwise_distance() {
        let imgs = vec![vec![0.0f32, 0.0], vec![3.0, 4.0], vec![1.0, 1.0]];
        assert!((max_pairwise_distance(&imgs) - 5.0).abs() < 1e-12);
    }
}
