//! Supports of distributions and the transforms that map them to the real line (Stan's constraint transforms).

/// The values a distribution's variate takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Support {
    /// Every real number; a complex variate has real and imaginary parts each real.
    Real,
    /// `x > 0` (the lower bound 0: [`Support::bounded`] gives this form).
    Positive,
    /// `x > lo`.
    LowerBounded { lo: f64 },
    /// `x < hi`.
    UpperBounded { hi: f64 },
    /// `lo < x < hi`.
    Interval { lo: f64, hi: f64 },
    /// Counts `0, 1, 2, …` (observed only: a discrete variate is never sampled).
    Counts,
}

impl Support {
    /// The support `lo < x < hi`, either bound possibly infinite: `Real`, `Positive` (lower bound 0),
    /// `LowerBounded`, `UpperBounded` or `Interval`. The caller checks `lo < hi` and that neither is NaN.
    pub fn bounded(lo: f64, hi: f64) -> Support {
        match (lo == f64::NEG_INFINITY, hi == f64::INFINITY) {
            (true, true) => Support::Real,
            (false, true) if lo == 0.0 => Support::Positive,
            (false, true) => Support::LowerBounded { lo },
            (true, false) => Support::UpperBounded { hi },
            (false, false) => Support::Interval { lo, hi },
        }
    }

    /// True when the real value `x` lies in the support, bounds included (a density that is finite
    /// at a bound accepts it; the transforms never reach one).
    pub fn contains(self, x: f64) -> bool {
        match self {
            Support::Real => !x.is_nan(),
            Support::Positive => x >= 0.0,
            Support::LowerBounded { lo } => x >= lo,
            Support::UpperBounded { hi } => x <= hi,
            Support::Interval { lo, hi } => (lo..=hi).contains(&x),
            Support::Counts => x >= 0.0 && x.fract() == 0.0,
        }
    }

    /// True when complex values are allowed (real and imaginary parts each in the support).
    pub fn allows_complex(self) -> bool {
        matches!(self, Support::Real)
    }

    /// True for a discrete support.
    pub fn is_discrete(self) -> bool {
        matches!(self, Support::Counts)
    }

    /// For docs and messages: `real`, `x > 0`, `lo < x < hi`, `0, 1, 2, …`.
    pub fn describe(self) -> String {
        match self {
            Support::Real => "real (or complex)".into(),
            Support::Positive => "x > 0".into(),
            Support::LowerBounded { lo } => format!("x > {lo}"),
            Support::UpperBounded { hi } => format!("x < {hi}"),
            Support::Interval { lo, hi } => format!("{lo} < x < {hi}"),
            Support::Counts => "counts 0, 1, 2, …".into(),
        }
    }

    /// The transform from the real line onto this support (`None` when discrete), as in Stan's
    /// reference manual, "Constraint transforms".
    pub fn transform(self) -> Option<Transform> {
        match self {
            Support::Real => Some(Transform::Identity),
            Support::Positive => Some(Transform::Log),
            Support::LowerBounded { lo } => Some(Transform::LowerBound { lo }),
            Support::UpperBounded { hi } => Some(Transform::UpperBound { hi }),
            Support::Interval { lo, hi } if lo.is_finite() && hi.is_finite() => {
                Some(Transform::Logit { lo, hi })
            }
            // An infinite bound is a one-sided (or no) bound: never a logit over an infinite width.
            Support::Interval { lo, hi } => Support::bounded(lo, hi).transform(),
            Support::Counts => None,
        }
    }
}

/// A bijection between an unconstrained `u ∈ ℝ` and a constrained `x` in a support.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    /// `x = u`.
    Identity,
    /// `u = log x`, `x = exp u`; log-Jacobian `log |dx/du| = u`.
    Log,
    /// `x = lo + exp u`, `u = log(x − lo)`; log-Jacobian `u`.
    LowerBound { lo: f64 },
    /// `x = hi − exp u`, `u = log(hi − x)`; log-Jacobian `u`.
    UpperBound { hi: f64 },
    /// `u = logit((x − lo)/(hi − lo))`; log-Jacobian `log((x − lo)(hi − x)/(hi − lo))`.
    Logit { lo: f64, hi: f64 },
}

impl Transform {
    /// The name the docs show: `identity`, `log`, `log(x - lower)`, `log(upper - x)`, `logit`.
    pub fn describe(self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Log => "log",
            Transform::LowerBound { .. } => "log(x - lower)",
            Transform::UpperBound { .. } => "log(upper - x)",
            Transform::Logit { .. } => "logit",
        }
    }

    /// `x` from the unconstrained `u`.
    pub fn constrain(self, u: f64) -> f64 {
        match self {
            Transform::Identity => u,
            Transform::Log => u.exp(),
            Transform::LowerBound { lo } => lo + u.exp(),
            Transform::UpperBound { hi } => hi - u.exp(),
            Transform::Logit { lo, hi } => lo + (hi - lo) * logistic(u),
        }
    }

    /// The unconstrained `u` of a constrained `x`.
    pub fn unconstrain(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Log => x.ln(),
            Transform::LowerBound { lo } => (x - lo).ln(),
            Transform::UpperBound { hi } => (hi - x).ln(),
            Transform::Logit { lo, hi } => {
                let p = (x - lo) / (hi - lo);
                (p / (1.0 - p)).ln()
            }
        }
    }

    /// `dx/du` at `u` (the chain rule from `x` back to `u`).
    pub fn dx_du(self, u: f64) -> f64 {
        match self {
            Transform::Identity => 1.0,
            Transform::Log | Transform::LowerBound { .. } => u.exp(),
            Transform::UpperBound { .. } => -u.exp(),
            Transform::Logit { lo, hi } => {
                let s = logistic(u);
                (hi - lo) * s * (1.0 - s)
            }
        }
    }

    /// `d log |dx/du| / du` at `u`.
    pub fn d_log_jacobian(self, u: f64) -> f64 {
        match self {
            Transform::Identity => 0.0,
            Transform::Log | Transform::LowerBound { .. } | Transform::UpperBound { .. } => 1.0,
            // d/du (−softplus(−u) − softplus(u)) = σ(−u) − σ(u) = 1 − 2σ(u).
            Transform::Logit { .. } => 1.0 - 2.0 * logistic(u),
        }
    }

    /// `log |dx/du|` at `u`, the term a sampler on `u` adds to the log density.
    pub fn log_jacobian(self, u: f64) -> f64 {
        match self {
            Transform::Identity => 0.0,
            Transform::Log | Transform::LowerBound { .. } | Transform::UpperBound { .. } => u,
            // dx/du = (hi − lo) σ(u)(1 − σ(u)); log σ(u) = −softplus(−u), log(1 − σ(u)) = −softplus(u).
            Transform::Logit { lo, hi } => (hi - lo).ln() - softplus(-u) - softplus(u),
        }
    }
}

fn logistic(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^u)` without overflow.
fn softplus(u: f64) -> f64 {
    u.max(0.0) + (-u.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Support; 6] = [
        Support::Real,
        Support::Positive,
        Support::LowerBounded { lo: -2.5 },
        Support::UpperBounded { hi: 1.5 },
        Support::Interval { lo: -1.0, hi: 3.0 },
        Support::Counts,
    ];

    #[test]
    fn transforms_round_trip_and_their_jacobians_match_finite_differences() {
        for s in ALL {
            let Some(t) = s.transform() else {
                assert!(s.is_discrete());
                continue;
            };
            for u in [-3.0, -0.4, 0.0, 0.7, 2.5] {
                let x = t.constrain(u);
                assert!((t.unconstrain(x) - u).abs() < 1e-10, "{s:?} at {u}");
                let h = 1e-6;
                let dx = (t.constrain(u + h) - t.constrain(u - h)) / (2.0 * h);
                assert!((dx.abs().ln() - t.log_jacobian(u)).abs() < 1e-7, "{s:?} at {u}");
                assert!((dx - t.dx_du(u)).abs() < 1e-6 * (1.0 + dx.abs()), "{s:?} at {u}");
                let dlj = (t.log_jacobian(u + h) - t.log_jacobian(u - h)) / (2.0 * h);
                assert!((dlj - t.d_log_jacobian(u)).abs() < 1e-6, "{s:?} at {u}");
            }
        }
    }

    #[test]
    fn constrained_values_lie_in_the_support() {
        let pos = Support::Positive.transform().map(|t| t.constrain(-40.0));
        assert!(pos.is_some_and(|x| x > 0.0));
        let t = Support::Interval { lo: -1.0, hi: 3.0 }.transform();
        for u in [-30.0, 0.0, 30.0] {
            let x = t.map_or(f64::NAN, |t| t.constrain(u));
            assert!((-1.0..=3.0).contains(&x), "{x}");
        }
        // Stan's log-Jacobian of the interval transform, log((x − lo)(hi − x)/(hi − lo)).
        let (lo, hi, u) = (-1.0, 3.0, 0.3);
        let t = Transform::Logit { lo, hi };
        let x = t.constrain(u);
        let stan = ((x - lo) * (hi - x) / (hi - lo)).ln();
        assert!((t.log_jacobian(u) - stan).abs() < 1e-12);
    }

    #[test]
    fn one_sided_supports_are_stans_lower_and_upper_bound_transforms() {
        let (a, b, u) = (-2.5, 1.5, 0.8);
        let lower = Support::LowerBounded { lo: a }.transform();
        let upper = Support::UpperBounded { hi: b }.transform();
        assert_eq!(lower, Some(Transform::LowerBound { lo: a }));
        assert_eq!(upper, Some(Transform::UpperBound { hi: b }));
        // Stan: x = a + exp(u) and x = b − exp(u), log-Jacobian u for both.
        let (lower, upper) = (Transform::LowerBound { lo: a }, Transform::UpperBound { hi: b });
        assert!((lower.constrain(u) - (a + u.exp())).abs() < 1e-15);
        assert!((upper.constrain(u) - (b - u.exp())).abs() < 1e-15);
        assert_eq!((lower.log_jacobian(u), upper.log_jacobian(u)), (u, u));
        for v in [-40.0, 0.0, 30.0] {
            assert!(lower.constrain(v) >= a && upper.constrain(v) <= b, "{v}");
        }
    }

    #[test]
    fn bounds_give_the_matching_support() {
        let inf = f64::INFINITY;
        assert_eq!(Support::bounded(-inf, inf), Support::Real);
        assert_eq!(Support::bounded(0.0, inf), Support::Positive);
        assert_eq!(Support::bounded(1.0, inf), Support::LowerBounded { lo: 1.0 });
        assert_eq!(Support::bounded(-inf, 2.0), Support::UpperBounded { hi: 2.0 });
        assert_eq!(Support::bounded(1.0, 2.0), Support::Interval { lo: 1.0, hi: 2.0 });
        assert_eq!(Support::UpperBounded { hi: 2.0 }.describe(), "x < 2");
        let inside = [
            (Support::Positive, 0.0),
            (Support::UpperBounded { hi: 2.0 }, -9.0),
        ];
        assert!(inside.iter().all(|(s, x)| s.contains(*x)));
        let outside = [
            (Support::Positive, -1e-9),
            (Support::Interval { lo: 0.0, hi: 1.0 }, 1.5),
        ];
        assert!(outside.iter().all(|(s, x)| !s.contains(*x)));
        assert!(!Support::Counts.contains(0.5) && !Support::Real.contains(f64::NAN));
        let open = Support::Interval { lo: 1.0, hi: inf }.transform();
        assert_eq!(open, Some(Transform::LowerBound { lo: 1.0 }));
        assert_eq!(
            Support::Interval { lo: -inf, hi: inf }.transform(),
            Some(Transform::Identity)
        );
    }
}
