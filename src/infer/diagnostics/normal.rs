//! Order statistics helpers: the standard normal quantile (AS241), average ranks and R-type-7 quantiles.

/// Evaluate a polynomial with coefficients from the highest degree down (Horner).
fn horner(x: f64, coeffs: &[f64]) -> f64 {
    coeffs.iter().fold(0.0, |acc, &c| acc * x + c)
}

// AS241 (Wichura 1988) coefficients, highest degree first.
#[allow(clippy::excessive_precision)]
const A: [f64; 8] = [
    2509.0809287301226727,
    33430.575583588128105,
    67265.770927008700853,
    45921.953931549871457,
    13731.693765509461125,
    1971.5909503065514427,
    133.14166789178437745,
    3.387132872796366608,
];
#[allow(clippy::excessive_precision)]
const B: [f64; 8] = [
    5226.495278852545925,
    28729.085735721942674,
    39307.89580009271061,
    21213.794301586595867,
    5394.1960214247511077,
    687.1870074920579083,
    42.313330701600911252,
    1.0,
];
#[allow(clippy::excessive_precision)]
const C: [f64; 8] = [
    7.7454501427834140764e-4,
    0.0227238449892691845833,
    0.24178072517745061177,
    1.27045825245236838258,
    3.64784832476320460504,
    5.7694972214606914055,
    4.6303378461565452959,
    1.42343711074968357734,
];
#[allow(clippy::excessive_precision)]
const D: [f64; 8] = [
    1.05075007164441684324e-9,
    5.475938084995344946e-4,
    0.0151986665636164571966,
    0.14810397642748007459,
    0.68976733498510000455,
    1.6763848301838038494,
    2.05319162663775882187,
    1.0,
];
#[allow(clippy::excessive_precision)]
const E: [f64; 8] = [
    2.01033439929228813265e-7,
    2.71155556874348757815e-5,
    0.0012426609473880784386,
    0.026532189526576123093,
    0.29656057182850489123,
    1.7848265399172913358,
    5.4637849111641143699,
    6.6579046435011037772,
];
#[allow(clippy::excessive_precision)]
const F: [f64; 8] = [
    2.04426310338993978564e-15,
    1.4215117583164458887e-7,
    1.8463183175100546818e-5,
    7.868691311456132591e-4,
    0.0148753612908506148525,
    0.13692988092273580531,
    0.59983220655588793769,
    1.0,
];

/// Standard normal quantile function Φ⁻¹(p), Wichura's AS241 (PPND16), relative accuracy ~1e-16.
/// Returns −∞ at 0, +∞ at 1 and NaN outside [0, 1].
pub(crate) fn norm_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(r, &A) / horner(r, &B);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let val = if r <= 5.0 {
        horner(r - 1.6, &C) / horner(r - 1.6, &D)
    } else {
        horner(r - 5.0, &E) / horner(r - 5.0, &F)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// Rank normalisation values z = Φ⁻¹((r − 3/8)/(S − 1/4)) (Blom's offset, as ArviZ) for every average
/// rank r ∈ {1, 1.5, 2, …, S} of S values, indexed by 2r; built once per sample size, shared by threads.
pub(crate) struct ZTable {
    z: Vec<f64>,
}

impl ZTable {
    pub(crate) fn new(size: usize) -> Self {
        let c = 3.0 / 8.0;
        let denom = size as f64 - 2.0 * c + 1.0;
        let z = (0..=2 * size)
            .map(|twice| norm_ppf((twice as f64 / 2.0 - c) / denom))
            .collect();
        ZTable { z }
    }
}

/// Rank-normalise: `sorted` holds (value, original index) pairs in ascending order; ties get the
/// average of their ranks; `out[index]` receives z. NaN-free input is assumed (callers check first).
pub(crate) fn z_from_sorted(sorted: &[(f64, u32)], table: &ZTable, out: &mut [f64]) {
    let n = sorted.len();
    let mut start = 0;
    while start < n {
        let v = sorted[start].0;
        let mut end = start + 1;
        while end < n && sorted[end].0 == v {
            end += 1;
        }
        // positions start..end hold ranks start+1 ..= end, whose mean is (start + 1 + end)/2
        let z = table.z.get(start + 1 + end).copied().unwrap_or(f64::NAN);
        for &(_, i) in &sorted[start..end] {
            if let Some(o) = out.get_mut(i as usize) {
                *o = z;
            }
        }
        start = end;
    }
}

/// From ascending (value, index) pairs, the pairs (|value − med|, index) in ascending order, by
/// merging outward from the median (O(n), no second sort).
pub(crate) fn fold_sorted(sorted: &[(f64, u32)], med: f64, out: &mut Vec<(f64, u32)>) {
    out.clear();
    let split = sorted.partition_point(|&(v, _)| v < med);
    let (mut l, mut r) = (split, split);
    while l > 0 || r < sorted.len() {
        let left = (l > 0).then(|| (med - sorted[l - 1].0).abs());
        let right = (r < sorted.len()).then(|| (sorted[r].0 - med).abs());
        match (left, right) {
            (Some(a), Some(b)) if a <= b => {
                out.push((a, sorted[l - 1].1));
                l -= 1;
            }
            (Some(a), None) => {
                out.push((a, sorted[l - 1].1));
                l -= 1;
            }
            (_, Some(b)) => {
                out.push((b, sorted[r].1));
                r += 1;
            }
            (None, None) => break,
        }
    }
}

/// Quantile of sorted data, R type 7, computed exactly as scipy's `mquantiles(alphap=1, betap=1)`
/// (which ArviZ uses), so that `x <= q` comparisons agree bit for bit on tied values.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        1 => sorted[0],
        _ => {
            // m = alphap + p·(1 − alphap − betap) with alphap = betap = 1 (exactly 1 − p in floating point)
            let m = 1.0 - p;
            let aleph = n as f64 * p + m;
            let k = aleph.clamp(1.0, (n - 1) as f64).floor();
            let gamma = (aleph - k).clamp(0.0, 1.0);
            let k = k as usize;
            (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
        }
    }
}

/// Median of sorted data, as `numpy.median`.
pub(crate) fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if !n.is_multiple_of(2) {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ppf_known_values() {
        // Reference values from scipy.stats.norm.ppf.
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959963984540054),
            (0.025, -1.959963984540054),
            (0.8413447460685429, 1.0),
            (1e-10, -6.361340902404056),
            (0.3, -0.5244005127080409),
            (1e-300, -37.0470962993612),
        ];
        for (p, z) in cases {
            let got = norm_ppf(p);
            assert!((got - z).abs() <= 1e-14 * z.abs().max(1.0), "p={p}: {got} vs {z}");
        }
        assert_eq!(norm_ppf(0.0), f64::NEG_INFINITY);
        assert!(norm_ppf(1.5).is_nan());
    }

    fn sorted_pairs(v: &[f64]) -> Vec<(f64, u32)> {
        let mut p: Vec<(f64, u32)> = v.iter().enumerate().map(|(i, &x)| (x, i as u32)).collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    }

    #[test]
    fn ranks_average_ties() {
        let v = [3.0, 1.0, 3.0, 2.0, 3.0];
        let t = ZTable::new(5);
        let mut z = vec![0.0; 5];
        z_from_sorted(&sorted_pairs(&v), &t, &mut z);
        let blom = |r: f64| norm_ppf((r - 0.375) / 5.25);
        assert_eq!(z, vec![blom(4.0), blom(1.0), blom(4.0), blom(2.0), blom(4.0)]);
    }

    #[test]
    fn fold_matches_sorting_the_folded_values() {
        let v = [0.3, -1.0, 2.0, 0.5, 0.5, -0.2, 1.1, 0.7];
        let p = sorted_pairs(&v);
        let med = 0.5;
        let mut folded = Vec::new();
        fold_sorted(&p, med, &mut folded);
        let direct: Vec<f64> = sorted_pairs(&v.map(|x| (x - med).abs()))
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(folded.iter().map(|p| p.0).collect::<Vec<_>>(), direct);
        for &(f, i) in &folded {
            assert_eq!(f, (v[i as usize] - med).abs());
        }
    }

    #[test]
    fn quantiles_type7() {
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert!((quantile_sorted(&s, 0.95) - 8.8).abs() < 1e-12);
        assert!((quantile_sorted(&s, 0.05) - 1.2).abs() < 1e-12);
        assert_eq!(median_sorted(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    }
}
