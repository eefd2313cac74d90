//! The figures of a SUPN prior for models/README.md: prior draws (rows: z ~ N(0, I); columns: μ(z),
//! then draws of x | z) and correlation maps of chosen pixels at the mean latent (16×16 windows,
//! clipped to the largest correlation off the pixel), each a row of Λ(z)⁻¹ computed by two
//! triangular solves and scaled by the standard deviations.
//!
//! `cargo run --example supn_figures -- models/brain64_supn.safetensors models/brain64_supn`
//! writes `models/brain64_supn_samples.png` and `models/brain64_supn_correlations.png`.

use std::path::PathBuf;

use ndarray::Array4;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use uq::output::write_samples_png;
use uq::supn::SupnModel;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, stem] = &args[..] else {
        anyhow::bail!("usage: supn_figures MODEL.safetensors OUT_STEM");
    };
    let m = SupnModel::load(&PathBuf::from(model))?;
    let cfg = m.config().clone();
    let (h, w) = (cfg.height, cfg.width);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (rows, cols) = (4, 4);
    let mut grid = Array4::<f64>::zeros((rows, cols, h, w));
    for r in 0..rows {
        let z: Vec<f64> = (0..cfg.latent).map(|_| StandardNormal.sample(&mut rng)).collect();
        let (mean, _) = m.decode(&z)?;
        for c in 0..cols {
            let img = if c == 0 {
                mean.clone()
            } else {
                m.sample(&z, &mut rng)?
            };
            for (i, v) in img.iter().enumerate() {
                grid[[r, c, i / w, i % w]] = *v;
            }
        }
    }
    write_samples_png(&PathBuf::from(format!("{stem}_samples.png")), grid.view())?;

    // Correlations around four pixels at z = 0: Σ e_p by two solves, scaled by √(Σ_pp Σ_ii).
    let (_, f) = m.decode(&vec![0.0; cfg.latent])?;
    let n = h * w;
    let var: Vec<f64> = (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            f.covariance_mul(&e)[i]
        })
        .collect();
    let pixels = [(32, 32), (20, 40), (40, 18), (48, 32)];
    // A 16×16 window around each pixel (at its row and column 8), clipped to ± the largest
    // correlation off the pixel itself, so that the neighbours' ±0.1–0.3 are visible beside the 1.
    const WIN: usize = 16;
    let mut corr = Array4::<f64>::zeros((1, pixels.len(), WIN, WIN));
    for (k, &(r, c)) in pixels.iter().enumerate() {
        let p = (r * h / 64) * w + c * w / 64;
        let mut e = vec![0.0; n];
        e[p] = 1.0;
        let col = f.covariance_mul(&e);
        let rho: Vec<f64> = (0..n).map(|i| col[i] / (var[p] * var[i]).sqrt()).collect();
        let (pr, pc) = (p / w, p % w);
        let (r0, c0) = (
            pr.saturating_sub(WIN / 2).min(h - WIN),
            pc.saturating_sub(WIN / 2).min(w - WIN),
        );
        let off = (0..n)
            .filter(|&i| i != p)
            .fold(0.0f64, |a, i| a.max(rho[i].abs()));
        for a in 0..WIN {
            for b in 0..WIN {
                corr[[0, k, a, b]] = rho[(r0 + a) * w + c0 + b].clamp(-off, off);
            }
        }
        eprintln!(
            "pixel ({r}, {c}): sd {:.4}, correlation with left {:.3}, right {:.3}, above {:.3}, below {:.3}; largest off the pixel {off:.3}",
            var[p].sqrt(),
            rho[p - 1],
            rho[p + 1],
            rho[p - w],
            rho[p + w]
        );
    }
    write_samples_png(&PathBuf::from(format!("{stem}_correlations.png")), corr.view())?;
    eprintln!("wrote {stem}_samples.png and {stem}_correlations.png");
    Ok(())
}
