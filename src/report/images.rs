//! The report's section for a 2-D latent: mean, sd and a few draws as thumbnails; R̂ and ESS maps
//! with the worst pixels' trace and rank plots; with a true image, error and z-score maps, PSNR,
//! SSIM and coverage.

use super::html::{esc, none, png_figure, svg_figure, table, Page};
use super::load::Latent;
use super::{metrics, svg, ReportError};
use crate::output::{bar_raster, format_value, grey, grid_raster, spread, viridis, Raster};
use ndarray::{s, Array2, ArrayD, ArrayView2, Axis};

/// Longest side of a thumbnail before `bar_raster`'s own upscaling (larger images are averaged down).
pub(super) const THUMB_MAX: usize = 256;
/// Longest side of each drawn sample in the grid of draws.
const SAMPLE_MAX: usize = 128;
/// Chains shown in the grid of draws (× 4 draws each: at most 8 draws shown).
const SAMPLE_CHAINS: usize = 2;
/// Worst pixels given a trace and rank plot.
const WORST: usize = 3;

/// Blue–white–red for signed maps: t = 0 blue, 0.5 white, 1 red (NaN white).
fn diverging(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let (blue, red) = ([33.0, 102.0, 172.0], [178.0, 24.0, 43.0]);
    let (end, f) = if t < 0.5 {
        (blue, 1.0 - 2.0 * t)
    } else {
        (red, 2.0 * t - 1.0)
    };
    let mix = |k: usize| (255.0 + f * (end[k] - 255.0)).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// Block means over `f × f` blocks so that the longer side is at most `max` (a copy if it already is).
pub(super) fn downsample(img: ArrayView2<f64>, max: usize) -> Array2<f64> {
    let (h, w) = img.dim();
    let f = h.max(w).div_ceil(max.max(1)).max(1);
    if f == 1 {
        return img.to_owned();
    }
    Array2::from_shape_fn((h.div_ceil(f), w.div_ceil(f)), |(i, j)| {
        let b = img.slice(s![i * f..((i + 1) * f).min(h), j * f..((j + 1) * f).min(w)]);
        b.sum() / b.len() as f64
    })
}

fn png(r: Raster, what: &str) -> Result<Vec<u8>, ReportError> {
    r.png_bytes().map_err(|e| ReportError::Png {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// A map with its colour bar as a figure.
fn map_figure(
    img: ArrayView2<f64>,
    colour: fn(f64) -> [u8; 3],
    range: Option<(f64, f64)>,
    alt: &str,
    caption: &str,
) -> Result<String, ReportError> {
    let small = downsample(img, THUMB_MAX);
    let bytes = png(bar_raster(small.view(), colour, range), alt)?;
    let mut note = if small.dim() != img.dim() {
        format!(" (shown averaged down to {}×{})", small.nrows(), small.ncols())
    } else {
        String::new()
    };
    let (lo, hi) = metrics::range(&img.iter().copied().collect::<Vec<_>>());
    if range.is_none() && lo == hi && img.iter().all(|x| x.is_finite()) {
        note += &format!(" — the same for every pixel: {}", format_value(lo));
    }
    Ok(png_figure(&bytes, alt, &format!("{caption}{note}")))
}

/// Series of parameter `p` per chain.
pub(super) fn chains_of(l: &Latent, p: usize) -> Vec<Vec<f64>> {
    l.draws.axis_iter(Axis(0)).map(|c| c.column(p).to_vec()).collect()
}

/// Trace and rank plots of the parameters `params` (with why each is shown).
pub(super) fn worst_plots(page: &mut Page, l: &Latent, params: &[(usize, String)]) {
    let mut figs = String::new();
    for (p, why) in params {
        let label = l.param_label(*p);
        let series = chains_of(l, *p);
        let caption = format!(
            "{} — {why}: R̂ {}, ESS bulk {}, ESS tail {}",
            esc(&label),
            format_value(l.diag.rhat[*p]),
            format_value(l.diag.ess_bulk[*p]),
            format_value(l.diag.ess_tail[*p])
        );
        figs.push_str(&svg_figure(
            &svg::trace(&series, &label),
            &format!("trace of {caption}"),
        ));
        figs.push_str(&svg_figure(
            &svg::ranks(&series, &label),
            &format!("ranks of {caption}"),
        ));
    }
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
}

/// The parameters with the largest R̂ and the smallest bulk and tail ESS (NaN skipped), deduplicated.
pub(super) fn worst_params(l: &Latent) -> Vec<(usize, String)> {
    let d = &l.diag;
    let order = |v: &[f64], largest: bool| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).filter(|&i| !v[i].is_nan()).collect();
        idx.sort_by(|&a, &b| {
            if largest {
                v[b].total_cmp(&v[a])
            } else {
                v[a].total_cmp(&v[b])
            }
        });
        idx
    };
    let mut out: Vec<(usize, String)> = Vec::new();
    let picks = [
        (order(&d.rhat, true), "largest R̂", WORST - 1),
        (order(&d.ess_bulk, false), "smallest bulk ESS", 1),
        (order(&d.ess_tail, false), "smallest tail ESS", 1),
    ];
    for (idx, why, k) in picks {
        let fresh: Vec<usize> = idx
            .into_iter()
            .filter(|p| !out.iter().any(|(q, _)| q == p))
            .take(k)
            .collect();
        out.extend(fresh.into_iter().map(|p| (p, why.to_string())));
    }
    out
}

/// Mean and sd per element over all chains' draws of `l.shown`.
pub(super) fn moments(l: &Latent) -> Option<(ArrayD<f64>, ArrayD<f64>)> {
    let sh = l.shown.shape();
    let per = sh[0] * sh[1];
    if per == 0 {
        return None;
    }
    let flat = l.shown.to_shape((per, l.numel())).ok()?;
    let mean = flat.mean_axis(Axis(0))?;
    let sd = flat.std_axis(Axis(0), if per > 1 { 1.0 } else { 0.0 });
    Some((
        mean.into_shape_with_order(l.shape.clone()).ok()?,
        sd.into_shape_with_order(l.shape.clone()).ok()?,
    ))
}

/// The section of the 2-D latent `l` (`truth` of its shape, if given).
pub(super) fn section(page: &mut Page, l: &Latent, truth: Option<&ArrayD<f64>>) -> Result<(), ReportError> {
    let (h, w) = (l.shape[0], l.shape[1]);
    let mag = if l.complex {
        "|·| of the complex values; "
    } else {
        ""
    };
    page.push(&format!(
        "<p>{h}×{w} {}; {} chains × {} draws. {mag}thumbnails are at most {THUMB_MAX} px before \
         scaling up.</p>",
        if l.complex { "complex" } else { "real" },
        l.shown.shape()[0],
        l.shown.shape()[1]
    ));
    let Some((mean, sd)) = moments(l) else {
        page.push(&none(
            "no draws were kept (the run was interrupted during warm-up)",
        ));
        return Ok(());
    };
    let as2 = |a: &ArrayD<f64>| a.view().into_shape_with_order((h, w)).map(|v| v.to_owned());
    let (mean2, sd2) = match (as2(&mean), as2(&sd)) {
        (Ok(m), Ok(s)) => (m, s),
        _ => {
            page.push(&none("the draws do not have the latent's shape"));
            return Ok(());
        }
    };
    let mut figs = map_figure(mean2.view(), grey, None, "posterior mean", "posterior mean")?;
    figs += &map_figure(
        sd2.view(),
        viridis,
        None,
        "posterior sd",
        "posterior standard deviation",
    )?;
    // At most SAMPLE_CHAINS chains (first and last) × the grid's 4 evenly spaced draws.
    let (c, n) = (l.shown.shape()[0], l.shown.shape()[1]);
    let chains: Vec<usize> = if c > 1 { vec![0, c - 1] } else { vec![0] };
    let chains = &chains[..chains.len().min(SAMPLE_CHAINS)];
    let f = h.max(w).div_ceil(SAMPLE_MAX).max(1);
    let (sh, sw) = (h.div_ceil(f), w.div_ceil(f));
    let draws = spread(n, 4);
    let mut grid = ndarray::Array4::<f64>::zeros((chains.len(), draws.len(), sh, sw));
    for (k, &ch) in chains.iter().enumerate() {
        for (j, &d) in draws.iter().enumerate() {
            let img = l
                .shown
                .slice(s![ch, d, .., ..])
                .into_dimensionality()
                .map_err(|e| ReportError::Png {
                    what: "draws".into(),
                    message: e.to_string(),
                })?;
            grid.slice_mut(s![k, j, .., ..])
                .assign(&downsample(img, SAMPLE_MAX));
        }
    }
    let bytes = png(grid_raster(grid.view()), "draws")?;
    figs +=
        &png_figure(
            &bytes,
            "draws",
            &format!(
            "draws: rows = chains {}, columns = up to 4 evenly spaced draws of each; one grey scale for all",
            chains.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" and ")
        ),
        );
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
    if let Some(t) = truth {
        truth_part(page, l, t, (&mean2, &sd2))?;
    }
    diagnostics_part(page, l)
}

/// R̂ and ESS maps and the worst pixels.
fn diagnostics_part(page: &mut Page, l: &Latent) -> Result<(), ReportError> {
    let (h, w) = (l.shape[0], l.shape[1]);
    page.push("<h3>Convergence: R̂ and ESS per pixel</h3>");
    let rhat = l.element_map(&l.diag.rhat, f64::max);
    let ess = l.element_map(&l.diag.ess_bulk, f64::min);
    if rhat.iter().all(|x| x.is_nan()) {
        page.push(&none(
            "R̂ is undefined for every pixel (it needs at least 2 chains and 4 draws, and varying draws)",
        ));
    }
    let to2 = |v: Vec<f64>| Array2::from_shape_vec((h, w), v);
    let (Ok(rhat2), Ok(ess2)) = (to2(rhat), to2(ess)) else {
        page.push(&none("the diagnostics do not have the latent's shape"));
        return Ok(());
    };
    let complex = if l.complex {
        " (the worse of the real and imaginary parts)"
    } else {
        ""
    };
    let mut figs = map_figure(
        rhat2.view(),
        viridis,
        None,
        "R-hat map",
        &format!("rank-normalised split R̂{complex}; below 1.01 is good"),
    )?;
    let (c, n) = (l.draws.dim().0, l.draws.dim().1);
    let cap = (c * n) as f64 * ((c * n) as f64).log10();
    figs += &map_figure(
        ess2.view(),
        viridis,
        None,
        "ESS map",
        &format!(
            "bulk ESS{complex}; at most S·log10 S = {} with S = {} draws",
            format_value(cap),
            c * n
        ),
    )?;
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
    let worst = worst_params(l);
    if worst.is_empty() {
        page.push(&none(
            "no pixel has defined diagnostics, so no worst pixels are shown",
        ));
    } else {
        worst_plots(page, l, &worst);
    }
    Ok(())
}

/// Error and z-score maps, PSNR, SSIM and coverage against the true image.
fn truth_part(
    page: &mut Page,
    l: &Latent,
    truth: &ArrayD<f64>,
    (mean, sd): (&Array2<f64>, &Array2<f64>),
) -> Result<(), ReportError> {
    let t: Vec<f64> = truth.iter().copied().collect();
    let (m, s): (Vec<f64>, Vec<f64>) = (mean.iter().copied().collect(), sd.iter().copied().collect());
    let (lo, hi) = metrics::range(&t);
    let peak = if hi > lo { hi - lo } else { 1.0 };
    let psnr = metrics::psnr(&t, &m, peak);
    let Ok(t2) = Array2::from_shape_vec(mean.dim(), t.clone()) else {
        return Ok(());
    };
    let ssim = metrics::ssim(t2.view(), mean.view());
    let cov50 = metrics::coverage(l.shown.view(), &t, 0.5);
    let cov90 = metrics::coverage(l.shown.view(), &t, 0.9);
    let (err, z) = metrics::error_and_z(&m, &s, &t);
    let within2 = z.iter().filter(|z| z.abs() <= 2.0).count() as f64 / z.len().max(1) as f64;
    page.push("<h3>Against the true image</h3>");
    page.push(&table(
        &["PSNR (dB)", "SSIM", "coverage 50%", "coverage 90%", "|z| ≤ 2"],
        &[vec![
            format!("{psnr:.2}"),
            format!("{ssim:.4}"),
            format!("{:.1}%", 100.0 * cov50),
            format!("{:.1}%", 100.0 * cov90),
            format!("{:.1}%", 100.0 * within2),
        ]],
    ));
    page.push(&format!(
        "<p>PSNR of the posterior mean with peak = the truth's range ({}); SSIM with an 11×11 \
         Gaussian window (σ 1.5 px); coverage: the fraction of pixels whose true value lies in the \
         central 50% / 90% interval of their draws (nominal: 50% / 90%).</p>",
        format_value(peak)
    ));
    let a = err
        .iter()
        .filter(|x| x.is_finite())
        .fold(0.0f64, |a, x| a.max(x.abs()));
    let a = if a > 0.0 { a } else { 1.0 };
    let (Ok(e2), Ok(z2)) = (
        Array2::from_shape_vec(mean.dim(), err),
        Array2::from_shape_vec(mean.dim(), z),
    ) else {
        return Ok(());
    };
    let mut figs = map_figure(
        e2.view(),
        diverging,
        Some((-a, a)),
        "error map",
        "error: mean − truth (blue below, red above)",
    )?;
    figs += &map_figure(
        z2.view(),
        diverging,
        Some((-3.0, 3.0)),
        "z-score map",
        "z-score (truth − mean) / sd, clamped to ±3",
    )?;
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn downsample_averages_blocks_to_the_limit() {
        let img = Array2::from_shape_fn((600, 300), |(i, _)| i as f64);
        let d = downsample(img.view(), 256);
        assert_eq!(d.dim(), (200, 100));
        assert_eq!(d[[0, 0]], 1.0); // mean of rows 0, 1, 2
        assert_eq!(downsample(img.view(), 1000).dim(), (600, 300));
        assert_eq!(diverging(0.5), [255, 255, 255]);
        assert_eq!(diverging(0.0), [33, 102, 172]);
    }
}
