//! PNG views of rank-2 latents: `mean.png` (greyscale) and `std.png` (viridis), each with a labelled
//! colour bar, and `samples.png` (a grid of draws on one shared scale, its range underneath).
//!
//! Every image is upscaled by the integer factor [`upscale_factor`] (nearest neighbour) so that small
//! images stay readable; complex latents are shown by their magnitude ([`magnitude`]).

use super::font::{format_value, viridis, Raster, CHAR_H, CHAR_W};
use super::OutputError;
use ndarray::{ArrayView2, ArrayView4, Axis};
use num_complex::Complex64;
use std::path::Path;

/// Grid cells in `samples.png`: at most this many chains (rows) and draws (columns).
const GRID_MAX: usize = 4;
/// Separator between grid cells, in pixels.
const SEP: usize = 2;
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];

/// Integer upscaling so the longer side is about 256 px (1× for large images, at most 8×).
pub fn upscale_factor(h: usize, w: usize) -> usize {
    (256 / h.max(w).max(1)).clamp(1, 8)
}

/// |z| elementwise, for showing complex latents.
pub fn magnitude<D: ndarray::Dimension>(z: ndarray::ArrayView<'_, Complex64, D>) -> ndarray::Array<f64, D> {
    z.mapv(|c| c.norm())
}

/// Min and max over the finite values (None when there are none).
fn finite_range<'a>(xs: impl IntoIterator<Item = &'a f64>) -> Option<(f64, f64)> {
    xs.into_iter()
        .filter(|x| x.is_finite())
        .fold(None, |acc, &x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
}

/// Position of `x` in [lo, hi] as a fraction (0.5 for a constant image, 0 for non-finite x).
fn unit(x: f64, lo: f64, hi: f64) -> f64 {
    if !x.is_finite() {
        0.0
    } else if hi > lo {
        ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    }
}

/// Grey level of t ∈ [0, 1]: black at 0, white at 1.
pub(crate) fn grey(t: f64) -> [u8; 3] {
    let v = (t * 255.0).round() as u8;
    [v, v, v]
}

fn check_nonempty(path: &Path, h: usize, w: usize) -> Result<(), OutputError> {
    if h == 0 || w == 0 {
        return Err(OutputError::Shape {
            path: path.to_path_buf(),
            message: format!("cannot draw an empty {h}×{w} image"),
        });
    }
    Ok(())
}

/// Paint `img` at (x0, y0), each pixel an s×s block coloured by `colour`.
fn blit(
    r: &mut Raster,
    img: ArrayView2<f64>,
    x0: usize,
    y0: usize,
    s: usize,
    colour: impl Fn(f64) -> [u8; 3],
) {
    for ((i, j), &v) in img.indexed_iter() {
        r.fill_rect(x0 + j * s, y0 + i * s, s, s, colour(v));
    }
}

/// `mean.png`: greyscale, black = smallest and white = largest finite value (non-finite → black),
/// then a vertical grey colour bar of the same height with its maximum at the top, minimum at the bottom.
pub fn write_mean_png(path: &Path, mean: ArrayView2<f64>) -> Result<(), OutputError> {
    write_with_bar(path, mean, grey)
}

/// `std.png`: the image in viridis, then a vertical colour bar of the same height with its maximum
/// written at the top and its minimum at the bottom.
pub fn write_std_png(path: &Path, std: ArrayView2<f64>) -> Result<(), OutputError> {
    write_with_bar(path, std, viridis)
}

/// The image coloured by `colour` (of its position in the finite range), a colour bar and its labels.
fn write_with_bar(path: &Path, img: ArrayView2<f64>, colour: fn(f64) -> [u8; 3]) -> Result<(), OutputError> {
    let (h, w) = img.dim();
    check_nonempty(path, h, w)?;
    bar_raster(img, colour, None).save(path)
}

/// The raster of [`write_mean_png`] and [`write_std_png`]: `img` coloured by `colour` on `range`
/// (default: its finite range; values outside are clamped), a colour bar and its labels.
pub(crate) fn bar_raster(
    img: ArrayView2<f64>,
    colour: fn(f64) -> [u8; 3],
    range: Option<(f64, f64)>,
) -> Raster {
    let (h, w) = img.dim();
    let s = upscale_factor(h, w);
    let (lo, hi) = range
        .or_else(|| finite_range(img.iter()))
        .unwrap_or((f64::NAN, f64::NAN));
    let (img_w, img_h) = (w * s, h * s);
    let fs = if img_h >= 128 { 2 } else { 1 };
    let (lo_txt, hi_txt) = (format_value(lo), format_value(hi));
    let label_w = lo_txt.len().max(hi_txt.len()) * CHAR_W * fs;
    let (gap, bar_w, margin) = (6, 12, 4);
    let height = img_h.max(2 * CHAR_H * fs + 6);
    let width = img_w + gap + bar_w + margin + label_w + margin;
    let mut r = Raster::new(width, height, WHITE);
    blit(&mut r, img, 0, 0, s, |v| colour(unit(v, lo, hi)));
    let bar_x = img_w + gap;
    for y in 0..height {
        let t = 1.0 - y as f64 / (height - 1).max(1) as f64;
        r.fill_rect(bar_x, y, bar_w, 1, colour(t));
    }
    let text_x = bar_x + bar_w + margin;
    r.text(text_x, 0, &hi_txt, fs, BLACK);
    r.text(text_x, height - CHAR_H * fs, &lo_txt, fs, BLACK);
    r
}

/// Indices of at most `k` evenly spaced items out of `n` (always including the last one).
pub(crate) fn spread(n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    (0..k)
        .map(|i| if k == 1 { n - 1 } else { i * (n - 1) / (k - 1) })
        .collect()
}

/// `samples.png`: a grid of up to 4 chains (rows) × 4 draws (columns, evenly spaced, the last one
/// included) of `samples` [chains, draws, h, w], 2-px white separators, greyscale on one scale shared
/// by all cells; under the grid, the scale: its minimum (left), a grey ramp, its maximum (right).
pub fn write_samples_png(path: &Path, samples: ArrayView4<f64>) -> Result<(), OutputError> {
    let (chains, draws, h, w) = samples.dim();
    check_nonempty(path, h, w)?;
    check_nonempty(path, chains, draws)?;
    grid_raster(samples).save(path)
}

/// The raster of [`write_samples_png`] (`samples` must have chains, draws and pixels).
pub(crate) fn grid_raster(samples: ArrayView4<f64>) -> Raster {
    let (chains, draws, h, w) = samples.dim();
    let (rows, cols) = (spread(chains, GRID_MAX), spread(draws, GRID_MAX));
    let cells: Vec<Vec<ArrayView2<f64>>> = rows
        .iter()
        .map(|&c| {
            let chain = samples.index_axis(Axis(0), c);
            cols.iter().map(|&d| chain.index_axis_move(Axis(0), d)).collect()
        })
        .collect();
    let (lo, hi) = finite_range(cells.iter().flatten().flat_map(|v| v.iter())).unwrap_or((0.0, 0.0));
    let s = upscale_factor(h, w);
    let grid_w = cols.len() * (w * s + SEP) - SEP;
    let grid_h = rows.len() * (h * s + SEP) - SEP;
    let (lo_txt, hi_txt) = (format_value(lo), format_value(hi));
    let text_w = (lo_txt.len() + hi_txt.len()) * CHAR_W;
    let width = grid_w.max(text_w + 3 * CHAR_W + 20);
    let mut r = Raster::new(width, grid_h + 4 + CHAR_H + 2, WHITE);
    for (ri, row) in cells.iter().enumerate() {
        for (ci, cell) in row.iter().enumerate() {
            let (x0, y0) = (ci * (w * s + SEP), ri * (h * s + SEP));
            blit(&mut r, cell.view(), x0, y0, s, |v| grey(unit(v, lo, hi)));
        }
    }
    let y = grid_h + 4;
    r.text(0, y, &lo_txt, 1, BLACK);
    let right = width - hi_txt.len() * CHAR_W;
    r.text(right, y, &hi_txt, 1, BLACK);
    let (ramp_x0, ramp_x1) = (lo_txt.len() * CHAR_W + CHAR_W, right.saturating_sub(CHAR_W));
    for x in ramp_x0..ramp_x1 {
        let t = (x - ramp_x0) as f64 / (ramp_x1 - ramp_x0).max(1) as f64;
        r.fill_rect(x, y, 1, CHAR_H, grey(t));
    }
    r
}

/// The three PNGs of a rank-2 latent into `dir`: `mean.png`, `std.png`, `samples.png`.
pub fn write_image_pngs(
    dir: &Path,
    samples: ArrayView4<f64>,
    mean: ArrayView2<f64>,
    std: ArrayView2<f64>,
) -> Result<(), OutputError> {
    write_mean_png(&dir.join("mean.png"), mean)?;
    write_std_png(&dir.join("std.png"), std)?;
    write_samples_png(&dir.join("samples.png"), samples)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
