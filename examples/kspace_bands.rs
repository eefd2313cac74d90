//! Where a posterior's spread falls short of its error, by k-space band: measured and unmeasured.
//!
//! Run: `cargo run --release --example kspace_bands -- RUN_DIR/x TRUTH.npy MASK.npy`
//! (`uq sample`'s draws of a real `[H, W]` image, the truth, the sampling mask of the same shape).
//! In the orthonormal 2-D DFT, per coefficient k: the squared error of the posterior mean
//! `|F(mean − truth)|²` and the draws' variance `Σ|F(draw − mean)|² / (n − 1)`. For draws of the
//! posterior the truth came from, the error's expectation is `var (1 + 1/n)`; the printed ratio
//! divides by that, so it is near 1 where the spread is right, above 1 where it is too narrow. Bands:
//! the measured coefficients (mask 1), then the unmeasured ones by radius |k| in cycles per pixel.
//! Each band's error and variance are summed and divided by the pixel count, so the bands add up to
//! the per-pixel mean squared error and mean variance (Parseval), and "deficit" is the band's share
//! of what the spread lacks.

use ndarray::{Array2, Array4, Axis};
use ndarray_npy::read_npy;
use num_complex::Complex64;
use uq::graph::FftCache;

/// Orthonormal 2-D DFT of a real image (uq's own transform, the one `fft(x)` runs).
fn fft2(a: &Array2<f64>, fft: &FftCache) -> anyhow::Result<Array2<Complex64>> {
    let (h, w) = a.dim();
    let mut c: Vec<Complex64> = a.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    fft.fft2(&mut c, h, w, false);
    Ok(Array2::from_shape_vec((h, w), c)?)
}

/// Signed frequency of index i of an n-point DFT, in cycles per sample.
fn freq(i: usize, n: usize) -> f64 {
    let i = i as f64;
    let n = n as f64;
    if i < n / 2.0 {
        i / n
    } else {
        (i - n) / n
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, truth, mask] = args.as_slice() else {
        anyhow::bail!("usage: kspace_bands RUN_DIR/LATENT TRUTH.npy MASK.npy");
    };
    let samples: Array4<f64> = read_npy(std::path::Path::new(dir).join("samples.npy"))?;
    let truth: Array2<f64> = read_npy(truth)?;
    let mask: Array2<f64> = read_npy(mask)?;
    let (c, n, h, w) = samples.dim();
    if truth.dim() != (h, w) || mask.dim() != (h, w) {
        anyhow::bail!(
            "the draws are {h}×{w}; truth {:?} and mask {:?} must match",
            truth.dim(),
            mask.dim()
        );
    }
    let draws = samples.into_shape_with_order((c * n, h, w))?;
    let count = draws.len_of(Axis(0));
    if count < 2 {
        anyhow::bail!("{count} draws in {dir}: the spread needs at least two");
    }
    let mean = draws
        .mean_axis(Axis(0))
        .ok_or_else(|| anyhow::anyhow!("no draws"))?;
    let fft = FftCache::new();
    let err = fft2(&(&mean - &truth), &fft)?.mapv(|v| v.norm_sqr());
    let mut var = Array2::<f64>::zeros((h, w));
    for d in draws.outer_iter() {
        var += &fft2(&(&d - &mean), &fft)?.mapv(|v| v.norm_sqr() / (count - 1) as f64);
    }
    let edges = [0.0, 0.1, 0.2, 0.3, f64::INFINITY];
    let names: Vec<String> = std::iter::once("measured".to_string())
        .chain(
            edges
                .windows(2)
                .map(|e| format!("unmeasured |k| in [{}, {})", e[0], e[1])),
        )
        .collect();
    let mut bands = vec![(0usize, 0.0, 0.0); names.len()];
    for i in 0..h {
        for j in 0..w {
            let band = if mask[[i, j]] > 0.5 {
                0
            } else {
                let r = freq(i, h).hypot(freq(j, w));
                1 + edges.windows(2).position(|e| r < e[1]).unwrap_or(edges.len() - 2)
            };
            let b = &mut bands[band];
            *b = (b.0 + 1, b.1 + err[[i, j]], b.2 + var[[i, j]]);
        }
    }
    let px = (h * w) as f64;
    let inflate = 1.0 + 1.0 / count as f64;
    println!("{count} draws; per pixel: error² of the mean, variance of the draws, ratio = error² / (variance (1 + 1/n))");
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>6} {:>10}",
        "band", "coefs", "error²", "variance", "ratio", "deficit"
    );
    let total = bands
        .iter()
        .fold((0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    for (name, &(k, e, v)) in names
        .iter()
        .zip(&bands)
        .chain(std::iter::once((&"all".to_string(), &total)))
    {
        println!(
            "{name:<28} {k:>6} {:>10.3e} {:>10.3e} {:>6.2} {:>10.3e}",
            e / px,
            v / px,
            e / (v * inflate),
            (e - v * inflate) / px
        );
    }
    Ok(())
}
