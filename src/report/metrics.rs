//! Image quality against a true image: PSNR, SSIM, the coverage of the posterior's central
//! intervals, and the per-pixel error and z-score.

use crate::infer::quantile_sorted;
use ndarray::{ArrayView2, ArrayViewD, Axis};

/// Standard deviation of SSIM's Gaussian window, in pixels (Wang et al. 2004).
const SSIM_SIGMA: f64 = 1.5;
/// Half-width of the window (11 × 11).
const SSIM_RADIUS: isize = 5;

/// PSNR in dB of `est` against `truth` with peak value `peak` (`inf` for an exact match).
pub(super) fn psnr(truth: &[f64], est: &[f64], peak: f64) -> f64 {
    let n = truth.len().min(est.len()).max(1) as f64;
    let mse: f64 = truth.iter().zip(est).map(|(t, e)| (t - e).powi(2)).sum::<f64>() / n;
    10.0 * (peak * peak / mse).log10()
}

/// Smallest and largest finite value (0, 0 when there is none).
pub(super) fn range(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .filter(|x| x.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, &x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
        .unwrap_or((0.0, 0.0))
}

/// Separable Gaussian smoothing with the window truncated (and renormalised) at the borders.
fn smooth(img: &[f64], h: usize, w: usize) -> Vec<f64> {
    let k: Vec<f64> = (-SSIM_RADIUS..=SSIM_RADIUS)
        .map(|i| (-((i * i) as f64) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp())
        .collect();
    let pass = |src: &[f64], along_rows: bool| -> Vec<f64> {
        let mut out = vec![0.0; h * w];
        for i in 0..h {
            for j in 0..w {
                let (mut s, mut wsum) = (0.0, 0.0);
                for (t, &kt) in k.iter().enumerate() {
                    let d = t as isize - SSIM_RADIUS;
                    let (ii, jj) = if along_rows {
                        (i as isize, j as isize + d)
                    } else {
                        (i as isize + d, j as isize)
                    };
                    if ii >= 0 && jj >= 0 && (ii as usize) < h && (jj as usize) < w {
                        s += kt * src[ii as usize * w + jj as usize];
                        wsum += kt;
                    }
                }
                out[i * w + j] = s / wsum;
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

/// Mean SSIM of `est` against `truth` (Wang et al. 2004: Gaussian window σ 1.5 px, 11 × 11,
/// K₁ 0.01, K₂ 0.03, dynamic range L = the truth's range, 1 for a constant truth).
pub(super) fn ssim(truth: ArrayView2<f64>, est: ArrayView2<f64>) -> f64 {
    let (h, w) = truth.dim();
    if h == 0 || w == 0 || est.dim() != (h, w) {
        return f64::NAN;
    }
    let x: Vec<f64> = truth.iter().copied().collect();
    let y: Vec<f64> = est.iter().copied().collect();
    let (lo, hi) = range(&x);
    let l = if hi > lo { hi - lo } else { 1.0 };
    let (c1, c2) = ((0.01 * l).powi(2), (0.03 * l).powi(2));
    let prod = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(p, q)| p * q).collect() };
    let (mx, my) = (smooth(&x, h, w), smooth(&y, h, w));
    let (sxx, syy, sxy) = (
        smooth(&prod(&x, &x), h, w),
        smooth(&prod(&y, &y), h, w),
        smooth(&prod(&x, &y), h, w),
    );
    let total: f64 = (0..h * w)
        .map(|i| {
            let (vx, vy) = (sxx[i] - mx[i] * mx[i], syy[i] - my[i] * my[i]);
            let cxy = sxy[i] - mx[i] * my[i];
            ((2.0 * mx[i] * my[i] + c1) * (2.0 * cxy + c2))
                / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
        })
        .sum();
    total / (h * w) as f64
}

/// Fraction of elements whose true value lies in the posterior's central interval of `level`
/// (quantiles of type 7 over all chains' draws). `shown` is `[chains, draws, …]`, `truth` `[…]`.
pub(super) fn coverage(shown: ArrayViewD<f64>, truth: &[f64], level: f64) -> f64 {
    let sh = shown.shape();
    if sh.len() < 2 || sh[0] * sh[1] == 0 || truth.is_empty() {
        return f64::NAN;
    }
    let per = sh[0] * sh[1];
    let Ok(flat) = shown.to_shape((per, truth.len())) else {
        return f64::NAN;
    };
    let (lo_p, hi_p) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    let mut col = Vec::with_capacity(per);
    let inside = flat
        .axis_iter(Axis(1))
        .zip(truth)
        .filter(|(c, &t)| {
            col.clear();
            col.extend(c.iter().copied());
            col.sort_by(f64::total_cmp);
            quantile_sorted(&col, lo_p) <= t && t <= quantile_sorted(&col, hi_p)
        })
        .count();
    inside as f64 / truth.len() as f64
}

/// Per element: `mean − truth`, and the z-score `(truth − mean) / sd` (NaN where sd is 0).
pub(super) fn error_and_z(mean: &[f64], sd: &[f64], truth: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let err = mean.iter().zip(truth).map(|(m, t)| m - t).collect();
    let z = mean
        .iter()
        .zip(sd)
        .zip(truth)
        .map(|((m, s), t)| if *s > 0.0 { (t - m) / s } else { f64::NAN })
        .collect();
    (err, z)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3};

    fn ramp(h: usize, w: usize) -> Array2<f64> {
        Array2::from_shape_fn((h, w), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 10.0)
    }

    #[test]
    fn ssim_is_one_for_equal_images_and_drops_with_noise_and_shift() {
        let x = ramp(20, 24);
        assert!((ssim(x.view(), x.view()) - 1.0).abs() < 1e-12);
        let noisy = Array2::from_shape_fn((20, 24), |(i, j)| x[[i, j]] + 0.1 * (((i * j) % 5) as f64 - 2.0));
        let s = ssim(x.view(), noisy.view());
        assert!(s < 0.95 && s > 0.0, "{s}");
        // A brightness offset alone lowers the luminance term only.
        let offset = x.mapv(|v| v + 0.5);
        let so = ssim(x.view(), offset.view());
        assert!(so < 0.95 && so > 0.0, "{so}");
        assert!(ssim(x.view(), ramp(3, 3).view()).is_nan());
    }

    #[test]
    fn psnr_of_known_error() {
        // mse 0.01 with peak 1: 20 dB.
        let t = [0.0, 1.0, 0.5, 0.2];
        let e = [0.1, 0.9, 0.6, 0.1];
        assert!((psnr(&t, &e, 1.0) - 20.0).abs() < 1e-9);
        assert!(psnr(&t, &t, 1.0).is_infinite());
    }

    #[test]
    fn coverage_counts_truths_inside_the_central_interval() {
        // 1 chain × 101 draws of 0, 1, …, 100 for 3 elements: the 90% interval is [5, 95].
        let a = Array3::from_shape_fn((1, 101, 3), |(_, d, _)| d as f64).into_dyn();
        assert_eq!(coverage(a.view(), &[50.0, 4.0, 96.0], 0.9), 1.0 / 3.0);
        assert_eq!(coverage(a.view(), &[5.5, 94.5, 0.0], 0.9), 2.0 / 3.0);
        let (e, z) = error_and_z(&[1.0, 2.0], &[0.5, 0.0], &[2.0, 2.0]);
        assert_eq!(e, vec![-1.0, 0.0]);
        assert_eq!(z[0], 2.0);
        assert!(z[1].is_nan());
    }
}
