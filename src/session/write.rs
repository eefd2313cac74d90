//! Writing a run folder: per-latent samples/mean/std (npy, optionally BART cfl, and png), summary.json
//! and the table.
//! The caller commits the [`RunWriter`] (complete run at the destination, partial one beside it).

use super::sample::RunResult;
use crate::check::Model;
use crate::infer::{check_warnings, Diagnostics, LatentCheck};
use crate::output::{
    format_table, record_files, write_cfl, write_image_pngs, write_npy, write_sample_stats,
    LatentDiagnostics, LatentSummary, RunWriter, FORMAT_VERSION, SAMPLE_STATS_FILE, SUMMARY_FILE,
};
use crate::session::{Built, SessionError};
use ndarray::{s, Array3, ArrayD, Axis, IxDyn};
use num_complex::Complex64;
use std::path::Path;

/// Per-latent arrays: samples [chains, draws, ...shape] (complex as complex), and the flat diagnostics.
fn latent_samples(
    draws: &Array3<f64>,
    off: usize,
    len: usize,
    shape: &[usize],
    complex: bool,
) -> Result<(ArrayD<f64>, Option<ArrayD<Complex64>>), SessionError> {
    let (c, n, _) = draws.dim();
    let part = draws.slice(s![.., .., off..off + len]).to_owned();
    let mut full = vec![c, n];
    full.extend_from_slice(shape);
    if complex {
        let z: Vec<Complex64> = part
            .iter()
            .collect::<Vec<_>>()
            .chunks_exact(2)
            .map(|p| Complex64::new(*p[0], *p[1]))
            .collect();
        Ok((part.into_dyn(), Some(ArrayD::from_shape_vec(IxDyn(&full), z)?)))
    } else {
        Ok((part.into_shape_with_order(IxDyn(&full))?, None))
    }
}

/// What a run folder writes besides the `.npy` moments and samples (always written).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ArrayFormats {
    /// Also `samples.cfl`, `mean.cfl`, `std.cfl` (+ `.hdr`): BART's format, shape reversed.
    pub cfl: bool,
    /// `lower.npy` / `upper.npy` of real latents: the central interval of level `.0` with its
    /// half-widths about the median scaled by `.1` (`uq sample --interval-scale`, from `uq calibrate
    /// --conformal`).
    pub interval: Option<(f64, f64)>,
}

/// Diagnostics, files and summary.json into `writer`'s folder (not yet committed). Returns the table.
pub fn write_run(
    model: &Model,
    built: &Built,
    result: &mut RunResult,
    writer: &RunWriter,
    formats: ArrayFormats,
) -> Result<String, SessionError> {
    let layout = built.posterior.layout();
    // Latents (slices of the flat draws), then derived quantities (arrays of their own).
    let mut items: Vec<Item<'_>> = model
        .latents
        .iter()
        .zip(&layout.slots)
        .map(|(l, (ty, off, len))| (l.name.as_str(), ty, &result.draws, *off, *len))
        .collect();
    items.extend(
        result
            .derived
            .iter()
            .map(|(name, ty, a)| (name.as_str(), ty, a, 0, a.shape()[2])),
    );
    let (summary, checks) = (&mut result.summary, &result.checks);
    write_items(&items, summary, checks, writer, formats)
}

/// One array of a run folder: name, type, flat draws `[chains, draws, …]` and its columns there.
pub(crate) type Item<'a> = (&'a str, &'a crate::graph::Ty, &'a Array3<f64>, usize, usize);

/// Write every item's folder, the diagnostics, warnings, `sample_stats.npz` and `summary.json` (what
/// `uq sample` and `uq merge` share). Returns the table.
pub(crate) fn write_items(
    items: &[Item<'_>],
    summary: &mut crate::output::Summary,
    checks: &crate::infer::RunChecks,
    writer: &RunWriter,
    formats: ArrayFormats,
) -> Result<String, SessionError> {
    let mut diags = Vec::new();
    let mut summaries = Vec::new();
    for &(name, ty, draws, off, len) in items {
        let diag = Diagnostics::compute(draws.slice(s![.., .., off..off + len]));
        let dir = writer.subdir(name)?;
        let (real, complex) = latent_samples(draws, off, len, &ty.shape, ty.is_complex())?;
        let dtype = if ty.is_complex() { "complex128" } else { "float64" };
        match &complex {
            Some(z) => {
                write_npy(&dir.join("samples.npy"), z)?;
                if formats.cfl {
                    write_cfl(&dir.join("samples.cfl"), z)?;
                }
                let mean = z.mean_axis(Axis(0)).and_then(|m| m.mean_axis(Axis(0)));
                if let Some(m) = &mean {
                    write_npy(&dir.join("mean.npy"), m)?;
                    if formats.cfl {
                        write_cfl(&dir.join("mean.cfl"), m)?;
                    }
                }
                let mag = z.mapv(|v| v.norm());
                write_moments(&dir, &mag, ty.shape.len() == 2, false, formats)?;
            }
            None => write_moments(&dir, &real, ty.shape.len() == 2, true, formats)?,
        }
        summaries.push(LatentSummary::from_diagnostics(name, &ty.shape, dtype, &diag));
        diags.push((name.to_string(), ty.shape.clone(), diag));
    }
    summary.latents.extend(summaries);
    summary.update_extremes();
    let latent_checks: Vec<LatentCheck<'_>> = diags
        .iter()
        .map(|(name, shape, diag)| LatentCheck { name, shape, diag })
        .collect();
    summary.warnings = check_warnings(&latent_checks, checks);
    summary.extra.insert(
        super::merge::CHECKS_KEY.into(),
        super::merge::checks_record(checks),
    );
    // sample_stats is written before the file list is taken (the list must cover the whole folder).
    if let Some(stats) = &checks.stats {
        write_sample_stats(&writer.path(SAMPLE_STATS_FILE), stats)?;
    }
    summary.uq_run = true;
    summary.format_version = FORMAT_VERSION;
    let mut files = record_files(&writer.dir());
    files.push(SUMMARY_FILE.to_string());
    files.sort();
    summary.files = files;
    summary.write(&writer.path(SUMMARY_FILE))?;
    let table = format_table(
        &diags
            .iter()
            .map(|(n, s, d)| LatentDiagnostics {
                name: n,
                shape: s,
                diag: d,
            })
            .collect::<Vec<_>>(),
    );
    Ok(table)
}

/// mean.npy / std.npy (and the pngs for images) from samples [chains, draws, ...shape].
/// With `formats.cfl` each `.npy` also gets a BART pair (`samples_npy` covers both formats).
fn write_moments(
    dir: &Path,
    x: &ArrayD<f64>,
    image: bool,
    samples_npy: bool,
    formats: ArrayFormats,
) -> Result<(), SessionError> {
    let sh = x.shape().to_vec();
    let (c, n) = (sh[0], sh[1]);
    if samples_npy && formats.cfl {
        write_cfl(&dir.join("samples.cfl"), x)?;
    }
    if c * n == 0 {
        // Interrupted during warm-up: nothing to summarise, but keep the (empty) draws.
        if samples_npy {
            write_npy(&dir.join("samples.npy"), x)?;
        }
        return Ok(());
    }
    let flat = x.to_shape(IxDyn(&[c * n, x.len() / (c * n).max(1)]))?.to_owned();
    let mean = flat.mean_axis(Axis(0)).unwrap_or_default();
    let std = flat.std_axis(Axis(0), if c * n > 1 { 1.0 } else { 0.0 });
    let mean = mean.into_shape_with_order(IxDyn(&sh[2..]))?;
    let std = std.into_shape_with_order(IxDyn(&sh[2..]))?;
    if samples_npy {
        write_npy(&dir.join("samples.npy"), x)?;
        write_npy(&dir.join("mean.npy"), &mean)?;
        if formats.cfl {
            write_cfl(&dir.join("mean.cfl"), &mean)?;
        }
    }
    write_npy(&dir.join("std.npy"), &std)?;
    if let (Some((level, scale)), true) = (formats.interval, samples_npy) {
        let (lower, upper) = scaled_interval(&flat, level, scale);
        write_npy(
            &dir.join("lower.npy"),
            &lower.into_shape_with_order(IxDyn(&sh[2..]))?,
        )?;
        write_npy(
            &dir.join("upper.npy"),
            &upper.into_shape_with_order(IxDyn(&sh[2..]))?,
        )?;
    }
    if formats.cfl {
        write_cfl(&dir.join("std.cfl"), &std)?;
    }
    if image {
        let s4 = x.view().into_dimensionality::<ndarray::Ix4>()?;
        write_image_pngs(
            dir,
            s4,
            mean.view().into_dimensionality()?,
            std.view().into_dimensionality()?,
        )?;
    }
    Ok(())
}

/// Per column of `flat` [draws, values]: median ∓ `scale` × the distance to the central interval's
/// ends at `level`.
fn scaled_interval(
    flat: &ArrayD<f64>,
    level: f64,
    scale: f64,
) -> (ndarray::Array1<f64>, ndarray::Array1<f64>) {
    use crate::infer::quantile_sorted as quantile;
    let d = flat.shape().get(1).copied().unwrap_or(0);
    let (mut lo, mut hi) = (ndarray::Array1::zeros(d), ndarray::Array1::zeros(d));
    for (j, col) in flat.axis_iter(Axis(1)).enumerate() {
        let mut v: Vec<f64> = col.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let m = quantile(&v, 0.5);
        lo[j] = m - scale * (m - quantile(&v, 0.5 - level / 2.0));
        hi[j] = m + scale * (quantile(&v, 0.5 + level / 2.0) - m);
    }
    (lo, hi)
}
