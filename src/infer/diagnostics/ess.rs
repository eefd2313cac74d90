//! Effective sample size: FFT autocovariance averaged over chains and Geyer's initial monotone sequence.

use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Smallest 5-smooth integer ≥ n (a length rustfft transforms quickly).
fn next_fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for f in [2, 3, 5] {
            while k.is_multiple_of(f) {
                k /= f;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// FFT plans for chains of one length; cheap to clone (shared plans) and `Send + Sync`.
#[derive(Clone)]
pub(crate) struct EssPlan {
    n: usize,
    m: usize,
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
}

impl EssPlan {
    /// Plans for rows of `n` draws (zero-padded to at least 2n, so the circular correlation is exact).
    pub(crate) fn new(n: usize) -> Self {
        let m = next_fast_len(2 * n);
        let mut planner = FftPlanner::new();
        EssPlan {
            n,
            m,
            fwd: planner.plan_fft_forward(m),
            inv: planner.plan_fft_inverse(m),
        }
    }
}

/// Lags below this are summed directly (cheap when chains mix well: Geyer's sequence stops early);
/// from here on the whole autocovariance comes from one FFT pass.
const DIRECT_LAGS: usize = 32;

/// Per-thread scratch for [`ess`]; sized once, reused for every parameter.
pub(crate) struct EssScratch {
    plan: EssPlan,
    centred: Vec<f64>,
    buf: Vec<Complex64>,
    power: Vec<Complex64>,
    fft_scratch: Vec<Complex64>,
    fft_ready: bool,
    means: Vec<f64>,
    rho: Vec<f64>,
}

impl EssScratch {
    pub(crate) fn new(plan: EssPlan) -> Self {
        let m = plan.m;
        let scratch_len = plan
            .fwd
            .get_inplace_scratch_len()
            .max(plan.inv.get_inplace_scratch_len());
        EssScratch {
            centred: Vec::new(),
            buf: vec![Complex64::default(); m],
            power: vec![Complex64::default(); m],
            fft_scratch: vec![Complex64::default(); scratch_len],
            fft_ready: false,
            means: Vec::new(),
            rho: vec![0.0; plan.n],
            plan,
        }
    }

    /// Σ over chains of the autocovariance sums at every lag, via FFT of the zero-padded rows
    /// (two real rows per complex transform; `power[t].re / m` is the lag-t sum).
    fn fft_pass(&mut self) {
        let (n, m) = (self.plan.n, self.plan.m);
        self.power.iter_mut().for_each(|p| *p = Complex64::default());
        let mut pairs = self.centred.chunks_exact(n);
        while let Some(a) = pairs.next() {
            let b = pairs.next();
            for (k, slot) in self.buf.iter_mut().enumerate() {
                *slot = match (a.get(k), b.and_then(|b| b.get(k))) {
                    (Some(&x), Some(&y)) => Complex64::new(x, y),
                    (Some(&x), None) => Complex64::new(x, 0.0),
                    _ => Complex64::default(),
                };
            }
            self.plan
                .fwd
                .process_with_scratch(&mut self.buf, &mut self.fft_scratch);
            for k in 0..m {
                let zk = self.buf[k].norm_sqr();
                // |A_k|² + |B_k|² = (|Z_k|² + |Z_{m−k}|²) / 2 for Z = FFT(a + i b)
                let p = if b.is_some() {
                    0.5 * (zk + self.buf[(m - k) % m].norm_sqr())
                } else {
                    zk
                };
                self.power[k].re += p;
            }
        }
        self.plan
            .inv
            .process_with_scratch(&mut self.power, &mut self.fft_scratch);
        self.fft_ready = true;
    }

    /// Mean over chains of the biased (÷n) autocovariance at lag `t` of the centred rows.
    fn acov(&mut self, t: usize) -> f64 {
        let n = self.plan.n;
        let n_chain = self.centred.len() / n;
        let sum = if t < DIRECT_LAGS && !self.fft_ready {
            self.centred
                .chunks_exact(n)
                .map(|row| {
                    row.iter()
                        .zip(row.get(t..).unwrap_or(&[]))
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                })
                .sum()
        } else {
            if !self.fft_ready {
                self.fft_pass();
            }
            self.power.get(t).map_or(f64::NAN, |p| p.re / self.plan.m as f64)
        };
        sum / (n as f64 * n_chain as f64)
    }
}

/// Sample variance (ddof = 1) of `xs`, two-pass.
pub(crate) fn var_ddof1(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
}

/// ESS of `rows.len() / n` chains of `n` draws each, stored row-major (ArviZ `_ess`):
/// NaN if any value is NaN; the total size if the values are constant (range < 1e-15);
/// otherwise S / τ̂ with τ̂ from Geyer's initial monotone sequence, τ̂ ≥ 1/log10(S).
pub(crate) fn ess(rows: &[f64], s: &mut EssScratch) -> f64 {
    let n = s.plan.n;
    if n < 2 || rows.is_empty() || !rows.len().is_multiple_of(n) {
        return f64::NAN;
    }
    let n_chain = rows.len() / n;
    let size = rows.len() as f64;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in rows {
        if x.is_nan() {
            return f64::NAN;
        }
        lo = lo.min(x);
        hi = hi.max(x);
    }
    // numpy's float64 `finfo.resolution`
    if hi - lo < 1e-15 {
        return size;
    }
    s.means.clear();
    s.means
        .extend(rows.chunks_exact(n).map(|c| c.iter().sum::<f64>() / n as f64));
    s.centred.clear();
    for (row, &mu) in rows.chunks_exact(n).zip(&s.means) {
        s.centred.extend(row.iter().map(|x| x - mu));
    }
    s.fft_ready = false;

    let nf = n as f64;
    let mean_var = s.acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if n_chain > 1 {
        var_plus += var_ddof1(&s.means);
    }
    let mut rho = std::mem::take(&mut s.rho);
    rho.iter_mut().for_each(|r| *r = 0.0);
    let mut rho_even = 1.0;
    rho[0] = rho_even;
    let mut rho_odd = 1.0 - (mean_var - s.acov(1)) / var_plus;
    rho[1] = rho_odd;

    // Geyer's initial positive sequence
    let mut t: usize = 1;
    while t + 3 < n && rho_even + rho_odd > 0.0 {
        rho_even = 1.0 - (mean_var - s.acov(t + 1)) / var_plus;
        rho_odd = 1.0 - (mean_var - s.acov(t + 2)) / var_plus;
        if rho_even + rho_odd >= 0.0 {
            rho[t + 1] = rho_even;
            rho[t + 2] = rho_odd;
        }
        t += 2;
    }
    // max_t = t − 2 may be −1 (very short chains); work with max_t + 1 ≥ 0.
    let max_t1 = t - 1;
    if rho_even > 0.0 {
        rho[max_t1] = rho_even;
    }
    // Geyer's initial monotone sequence
    let mut t = 1;
    while t + 2 < max_t1 {
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t] {
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0;
            rho[t + 2] = rho[t + 1];
        }
        t += 2;
    }
    let tail = rho.get(max_t1).copied().unwrap_or(0.0);
    let tau = -1.0 + 2.0 * rho[..max_t1].iter().sum::<f64>() + tail;
    let tau = tau.max(1.0 / size.log10());
    let any_nan = rho.iter().any(|r| r.is_nan());
    s.rho = rho;
    if any_nan {
        return f64::NAN;
    }
    size / tau
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fast_len() {
        assert_eq!(next_fast_len(1000), 1000);
        assert_eq!(next_fast_len(1018), 1024);
        assert_eq!(next_fast_len(7), 8);
    }

    /// The FFT autocovariance equals the direct sum (no wrap-around), odd chain count included.
    #[test]
    fn fft_matches_direct_for_independent_draws() {
        // Deterministic pseudo-random rows (LCG), 3 chains of 50.
        let mut state = 12345u64;
        let rows: Vec<f64> = (0..150)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let mut s = EssScratch::new(EssPlan::new(50));
        let e = ess(&rows, &mut s);
        // direct computation of lag-1 autocovariance mean for a cross-check of the FFT part
        let n = 50;
        let mut a1 = 0.0;
        for c in rows.chunks_exact(n) {
            let mu = c.iter().sum::<f64>() / n as f64;
            a1 += (0..n - 1).map(|k| (c[k] - mu) * (c[k + 1] - mu)).sum::<f64>() / n as f64;
        }
        a1 /= 3.0;
        s.fft_ready = false;
        let direct = s.acov(1);
        s.fft_pass();
        let via_fft = s.acov(1);
        assert!(
            (direct - a1).abs() < 1e-15 && (via_fft - a1).abs() < 1e-14,
            "{direct} {via_fft} {a1}"
        );
        assert!(e > 50.0 && e < 150.0 * 150f64.log10(), "ess {e}");
    }

    #[test]
    fn constant_and_nan() {
        let mut s = EssScratch::new(EssPlan::new(4));
        assert_eq!(ess(&[2.0; 8], &mut s), 8.0);
        assert!(ess(&[1.0, 2.0, f64::NAN, 0.0, 1.0, 2.0, 3.0, 0.5], &mut s).is_nan());
    }
}
