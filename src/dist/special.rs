//! Special functions of the densities: log Γ, digamma, and exponentially scaled Bessel functions I₀, I₁.

use std::f64::consts::PI;

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
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ψ(x) = d log Γ(x)/dx for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the
/// asymptotic series in 1/x² (Abramowitz & Stegun 6.3.18; the first omitted term is < 1e-16 there).
pub fn digamma(x: f64) -> f64 {
    let (mut x, mut acc) = (x, 0.0);
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    // B_2k / (2k) for k = 1..7.
    const C: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 120.0,
        1.0 / 252.0,
        -1.0 / 240.0,
        1.0 / 132.0,
        -691.0 / 32760.0,
        1.0 / 12.0,
    ];
    let r2 = 1.0 / (x * x);
    let mut series = 0.0;
    for c in C.iter().rev() {
        series = (series + c) * r2;
    }
    acc + x.ln() - 0.5 / x - series
}

/// Above this argument the Bessel functions use their asymptotic expansion (its smallest term,
/// near k = 2z, is ≈ e^(−2z) < 1e-17 relative); below it the power series of positive terms.
const ASYMPTOTIC_FROM: f64 = 20.0;

/// `e^(−z) I_ν(z)` for ν ∈ {0, 1} and z ≥ 0 (relative error ~1e-15).
fn scaled_bessel_i(nu: u8, z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z > ASYMPTOTIC_FROM {
        // A&S 9.7.1: e^(−z) I_ν(z) ~ (2πz)^(−1/2) Σ_k (−1)^k a_k(ν) / z^k, with
        // a_k/a_(k−1) = (4ν² − (2k − 1)²) / (8k).
        let mu = 4.0 * f64::from(nu * nu);
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        for k in 1..200 {
            let odd = f64::from(2 * k - 1);
            let next = -term * (mu - odd * odd) / (8.0 * f64::from(k) * z);
            if next.abs() >= term.abs() {
                break; // the expansion starts to diverge: stop at its smallest term
            }
            term = next;
            sum += term;
            if term.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return sum / (2.0 * PI * z).sqrt();
    }
    // A&S 9.6.10: I_ν(z) = (z/2)^ν Σ_k (z²/4)^k / (k! (k + ν)!), every term positive.
    let q = 0.25 * z * z;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..500 {
        term *= q / (f64::from(k) * f64::from(k + u32::from(nu)));
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    let lead = if nu == 0 { 1.0 } else { 0.5 * z };
    lead * sum * (-z).exp()
}

/// `e^(−|z|) I₀(z)` (scipy's `i0e`).
pub fn i0e(z: f64) -> f64 {
    scaled_bessel_i(0, z.abs())
}

/// `e^(−|z|) I₁(z)` (scipy's `i1e`; odd in z).
pub fn i1e(z: f64) -> f64 {
    scaled_bessel_i(1, z.abs()).copysign(z)
}

/// `I₁(z) / I₀(z)` = d log I₀(z) / dz, in (−1, 1).
pub fn bessel_ratio(z: f64) -> f64 {
    if z == 0.0 {
        return 0.0;
    }
    i1e(z) / i0e(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64, what: &str) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "{what}: {got} vs {want} (relative error {:e})",
            ((got - want) / want).abs()
        );
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..20 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-10, "n = {n}");
        }
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn scaled_bessel_functions_match_scipy_on_both_sides_of_the_switch() {
        // scipy.special.i0e(z), i1e(z)
        let known = [
            (1e-3, 0.9990007495835156, 0.0004995003123542213),
            (0.5, 0.64503527044915, 0.15642080318487173),
            (1.0, 0.46575960759364043, 0.2079104153497085),
            (2.5, 0.27004644161220276, 0.20658464953126654),
            (7.0, 0.15373774467288123, 0.1422892347095986),
            (15.0, 0.1038995314488227, 0.10037417504516664),
            (19.9, 0.09000858886438959, 0.08771710213170608),
            (20.1, 0.08955376362061344, 0.0872968518432016),
            (25.0, 0.08019677354743669, 0.07857611331929278),
            (50.0, 0.056561626647454184, 0.055993123892895395),
            (300.0, 0.02304255841508546, 0.02300412204026895),
            (1e4, 0.0039894726746047314, 0.003989273195983662),
        ];
        for (z, e0, e1) in known {
            close(i0e(z), e0, 1e-12, &format!("i0e({z})"));
            close(i1e(z), e1, 1e-12, &format!("i1e({z})"));
            close(i0e(-z), e0, 1e-12, &format!("i0e(-{z})"));
            close(i1e(-z), -e1, 1e-12, &format!("i1e(-{z})"));
            close(bessel_ratio(z), e1 / e0, 1e-12, &format!("I1/I0({z})"));
        }
        assert_eq!((i0e(0.0), i1e(0.0), bessel_ratio(0.0)), (1.0, 0.0, 0.0));
        // Far beyond exp's range (I₀(1e6) overflows) the scaled values and the ratio stay finite.
        assert!(i0e(1e6).ln().is_finite() && bessel_ratio(1e6) < 1.0 && bessel_ratio(1e6) > 0.999);
    }

    #[test]
    fn digamma_matches_scipy_and_is_the_derivative_of_ln_gamma() {
        // scipy.special.digamma(x)
        let known = [
            (0.01, -100.56088545786868),
            (0.5, -1.9635100260214235),
            (1.0, -0.5772156649015329),
            (3.3, 1.0348224890596216),
            (9.99, 2.250700372831201),
            (10.0, 2.251752589066721),
            (47.5, 3.8501664624463934),
        ];
        for (x, want) in known {
            close(digamma(x), want, 1e-12, &format!("digamma({x})"));
        }
        for x in [0.3, 2.0, 12.0] {
            let h = 1e-5;
            let fd = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((fd - digamma(x)).abs() < 1e-7, "{x}: {fd}");
        }
    }
}
