//! Scores a `uq sample` run of an example against the truth: PSNR of the posterior mean and of a
//! baseline, per-pixel 90% interval coverage inside the head, and Spearman(|error|, std).
//!
//! Run: `cargo run --release --example evaluate -- RUN_DIR/x examples/data/truth.npy BASELINE.npy`
//! Prints one JSON line. "Inside the head" is every pixel where the truth exceeds 0.05; Spearman is
//! given inside the head and over the whole image.

use ndarray::{Array2, Array4, Axis};
use ndarray_npy::read_npy;

fn psnr(x: &Array2<f64>, truth: &Array2<f64>) -> f64 {
    let mse = (x - truth).mapv(|d| d * d).mean().unwrap_or(f64::NAN);
    let peak = truth.iter().copied().fold(f64::MIN, f64::max);
    10.0 * (peak * peak / mse).log10()
}

/// Average ranks (ties share their mean rank).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for k in i..=j {
            r[idx[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Linear-interpolated quantile of a sorted slice.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, truth, baseline] = args.as_slice() else {
        anyhow::bail!("usage: evaluate RUN_DIR/LATENT TRUTH.npy BASELINE.npy");
    };
    let dir = std::path::Path::new(dir);
    let samples: Array4<f64> = read_npy(dir.join("samples.npy"))?;
    let truth: Array2<f64> = read_npy(truth)?;
    let base: Array2<f64> = read_npy(baseline)?;
    let (c, n, h, w) = samples.dim();
    let flat = samples.into_shape_with_order((c * n, h, w))?;
    let mean = flat
        .mean_axis(Axis(0))
        .ok_or_else(|| anyhow::anyhow!("no draws"))?;
    let std = flat.std_axis(Axis(0), if c * n > 1 { 1.0 } else { 0.0 });
    let (mut covered, mut inside) = (0usize, 0usize);
    let (mut err, mut sd) = (Vec::new(), Vec::new());
    let err_all: Vec<f64> = mean
        .iter()
        .zip(truth.iter())
        .map(|(m, t)| (m - t).abs())
        .collect();
    let sd_all: Vec<f64> = std.iter().copied().collect();
    for i in 0..h {
        for j in 0..w {
            if truth[[i, j]] <= 0.05 {
                continue;
            }
            inside += 1;
            let mut v: Vec<f64> = flat.slice(ndarray::s![.., i, j]).to_vec();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (quantile(&v, 0.05), quantile(&v, 0.95));
            covered += usize::from(lo <= truth[[i, j]] && truth[[i, j]] <= hi);
            err.push((mean[[i, j]] - truth[[i, j]]).abs());
            sd.push(std[[i, j]]);
        }
    }
    let (p_mean, p_base) = (psnr(&mean, &truth), psnr(&base, &truth));
    println!(
        "{{\"draws\": {}, \"psnr_mean\": {p_mean:.2}, \"psnr_baseline\": {p_base:.2}, \"gain_db\": {:.2}, \
         \"coverage90_head\": {:.3}, \"head_pixels\": {inside}, \"spearman_err_std\": {:.3}, \"spearman_err_std_image\": {:.3}}}",
        c * n,
        p_mean - p_base,
        covered as f64 / inside.max(1) as f64,
        pearson(&ranks(&err), &ranks(&sd)),
        pearson(&ranks(&err_all), &ranks(&sd_all)),
    );
    Ok(())
}
