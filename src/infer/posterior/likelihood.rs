//! Likelihood terms: exact log densities and their cotangents on the graph's mean/rate/sigma nodes.

use crate::graph::Value;
use ndarray::{ArrayD, Zip};
use num_complex::Complex64;

/// Log density of one observation and the cotangents to push back through the graph.
pub struct TermEval {
    pub log_lik: f64,
    /// ∂ log p / ∂ mean (or rate), in the `∂/∂re + i ∂/∂im` convention.
    pub d_mean: Value,
    /// ∂ log p / ∂ sigma (Normal only; same shape as the sigma node).
    pub d_sigma: Option<Value>,
}

/// Why a term could not be evaluated (mapped to an `EvalError` by the caller).
pub enum TermError {
    OutOfSupport(String),
    NonFinite(String),
}

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

/// `y ~ Normal(mean, sigma)` with the likelihood variance inflated to `sigma² + level²` (annealing).
/// Complex data: real and imaginary parts are each N(·, s²).
pub fn normal(y: &Value, mean: &Value, sigma: &Value, level: f64) -> Result<TermEval, TermError> {
    let complex = y.is_complex() || mean.is_complex();
    let k = if complex { 2.0 } else { 1.0 };
    let sig = match sigma {
        Value::Real(s) => s,
        Value::Complex(_) => return Err(TermError::NonFinite("sigma must be real".into())),
    };
    let n = y.shape().iter().product::<usize>();
    // Residual r = y − mean as complex (imaginary part 0 for real data).
    let r: ArrayD<Complex64> = match (y, mean) {
        (Value::Real(a), Value::Real(b)) => (a - b).mapv(|x| Complex64::new(x, 0.0)),
        _ => &y.to_complex() - &mean.to_complex(),
    };
    let scalar_sigma = sig.ndim() == 0 || sig.len() == 1;
    let sig_at = |i: usize| -> f64 {
        if scalar_sigma {
            sig.iter().next().copied().unwrap_or(f64::NAN)
        } else {
            sig.as_slice()
                .and_then(|s| s.get(i).copied())
                .unwrap_or_else(|| sig.iter().nth(i).copied().unwrap_or(f64::NAN))
        }
    };
    let mut log_lik = 0.0;
    let mut d_mean = ArrayD::<Complex64>::zeros(r.raw_dim());
    let mut d_sig_elems = vec![0.0; if scalar_sigma { 1 } else { n }];
    for (i, (ri, dm)) in r.iter().zip(d_mean.iter_mut()).enumerate() {
        let s0 = sig_at(i);
        if s0.is_nan() || s0 <= 0.0 || s0.is_infinite() {
            return Err(TermError::OutOfSupport(format!(
                "Normal sigma must be positive, got {s0}"
            )));
        }
        let var = s0 * s0 + level * level;
        let r2 = ri.norm_sqr();
        log_lik += -0.5 * r2 / var - 0.5 * k * var.ln() - k * HALF_LOG_2PI;
        *dm = ri / var;
        // d/ds0 of (−r²/(2v) − k/2 log v) with v = s0² + level².
        let dv = 0.5 * r2 / (var * var) - 0.5 * k / var;
        d_sig_elems[if scalar_sigma { 0 } else { i }] += dv * 2.0 * s0;
    }
    if !log_lik.is_finite() {
        return Err(TermError::NonFinite("Normal log-likelihood is not finite".into()));
    }
    let d_mean = if mean.is_complex() {
        Value::Complex(d_mean)
    } else {
        Value::Real(d_mean.mapv(|z| z.re))
    };
    let d_sigma = ArrayD::from_shape_vec(sig.raw_dim(), d_sig_elems)
        .ok()
        .map(Value::Real);
    Ok(TermEval {
        log_lik,
        d_mean,
        d_sigma,
    })
}

/// `y ~ Poisson(rate)`: log p = Σ y log λ − λ − log Γ(y + 1); λ ≤ 0 anywhere is outside the support.
pub fn poisson(y: &Value, rate: &Value) -> Result<TermEval, TermError> {
    let (Value::Real(y), Value::Real(lam)) = (y, rate) else {
        return Err(TermError::NonFinite("Poisson data and rate must be real".into()));
    };
    let mut log_lik = 0.0;
    let mut grad = ArrayD::<f64>::zeros(lam.raw_dim());
    let mut bad = None;
    Zip::from(&mut grad).and(y).and(lam).for_each(|g, &yi, &li| {
        if li <= 0.0 || !li.is_finite() {
            bad.get_or_insert(li);
            return;
        }
        log_lik += yi * li.ln() - li - ln_gamma(yi + 1.0);
        *g = yi / li - 1.0;
    });
    if let Some(li) = bad {
        return Err(TermError::OutOfSupport(format!(
            "Poisson rate must be positive, got {li}"
        )));
    }
    if !log_lik.is_finite() {
        return Err(TermError::NonFinite(
            "Poisson log-likelihood is not finite".into(),
        ));
    }
    Ok(TermEval {
        log_lik,
        d_mean: Value::Real(grad),
        d_sigma: None,
    })
}

/// log Γ(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-13 on the positive axis).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..20 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-10, "n = {n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn normal_gradient_matches_finite_difference() {
        let y = Value::Real(ArrayD::from_shape_vec(vec![3], vec![0.3, -1.0, 2.0]).unwrap());
        let m = |v: [f64; 3]| Value::Real(ArrayD::from_shape_vec(vec![3], v.to_vec()).unwrap());
        let s = Value::scalar(0.7);
        let base = [0.1, 0.2, 0.3];
        let Ok(t) = normal(&y, &m(base), &s, 0.2) else {
            panic!()
        };
        let Value::Real(g) = &t.d_mean else { panic!() };
        for i in 0..3 {
            let h = 1e-6;
            let (mut p, mut q) = (base, base);
            p[i] += h;
            q[i] -= h;
            let (Ok(a), Ok(b)) = (normal(&y, &m(p), &s, 0.2), normal(&y, &m(q), &s, 0.2)) else {
                panic!()
            };
            let fd = (a.log_lik - b.log_lik) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6, "{fd} vs {}", g[i]);
        }
        let h = 1e-6;
        let (Ok(a), Ok(b)) = (
            normal(&y, &m(base), &Value::scalar(0.7 + h), 0.2),
            normal(&y, &m(base), &Value::scalar(0.7 - h), 0.2),
        ) else {
            panic!()
        };
        let Some(Value::Real(ds)) = &t.d_sigma else {
            panic!()
        };
        let fd = (a.log_lik - b.log_lik) / (2.0 * h);
        assert!((fd - ds.iter().sum::<f64>()).abs() < 1e-6);
    }

    #[test]
    fn poisson_rejects_non_positive_rate() {
        let y = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, 2.0]).unwrap());
        let r = Value::Real(ArrayD::from_shape_vec(vec![2], vec![1.0, -0.5]).unwrap());
        assert!(matches!(poisson(&y, &r), Err(TermError::OutOfSupport(_))));
    }
}
