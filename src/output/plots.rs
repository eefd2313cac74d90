//! Calibration plots: the calibration curve (empirical against nominal coverage, with its band) and
//! rank histograms (the pooled one first, then chosen parameters), as small PNGs.

use super::font::{format_value, Raster, CHAR_H, CHAR_W};
use super::OutputError;
use std::path::Path;

const WHITE: [u8; 3] = [255, 255, 255];
const AXIS: [u8; 3] = [60, 60, 60];
const GRID: [u8; 3] = [225, 225, 225];
const BAND: [u8; 3] = [205, 220, 240];
const LINE: [u8; 3] = [200, 40, 40];
const BAR: [u8; 3] = [70, 110, 170];

/// The calibration curve's axis titles (the font test checks they render).
pub(super) const CURVE_X_TITLE: &str = "nominal coverage of the central interval";
pub(super) const CURVE_Y_TITLE: &str = "fraction of truths inside it (band: 95% if calibrated)";

/// A square plot area of `size` pixels with its origin at (`x0`, `y0` + `size`) (bottom-left).
struct Frame {
    x0: usize,
    y0: usize,
    size_x: usize,
    size_y: usize,
}

impl Frame {
    /// Pixel of the unit-square point (u, v), v up.
    fn at(&self, u: f64, v: f64) -> (usize, usize) {
        let x = self.x0 as f64 + u.clamp(0.0, 1.0) * (self.size_x - 1) as f64;
        let y = self.y0 as f64 + (1.0 - v.clamp(0.0, 1.0)) * (self.size_y - 1) as f64;
        (x.round() as usize, y.round() as usize)
    }

    fn axes(&self, r: &mut Raster) {
        for k in 0..=10 {
            let t = k as f64 / 10.0;
            let (x, _) = self.at(t, 0.0);
            let (_, y) = self.at(0.0, t);
            r.fill_rect(x, self.y0, 1, self.size_y, GRID);
            r.fill_rect(self.x0, y, self.size_x, 1, GRID);
        }
        r.fill_rect(self.x0, self.y0 + self.size_y - 1, self.size_x, 2, AXIS);
        r.fill_rect(self.x0.saturating_sub(1), self.y0, 2, self.size_y, AXIS);
    }
}

/// A thick segment from (u0, v0) to (u1, v1) in unit coordinates.
fn segment(r: &mut Raster, f: &Frame, a: (f64, f64), b: (f64, f64), rgb: [u8; 3]) {
    let steps = 2 * f.size_x.max(f.size_y);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = f.at(a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        r.fill_rect(x.saturating_sub(1), y.saturating_sub(1), 3, 3, rgb);
    }
}

/// The calibration curve: `points` are (nominal, empirical, band low, band high), all in [0, 1].
/// Band shaded around the diagonal, the diagonal in grey, the empirical curve in red with dots.
pub fn write_calibration_png(path: &Path, points: &[(f64, f64, f64, f64)]) -> Result<(), OutputError> {
    let (pad, size) = (40, 400);
    let mut r = Raster::new(size + 2 * pad, size + 2 * pad, WHITE);
    let f = Frame {
        x0: pad,
        y0: pad,
        size_x: size,
        size_y: size,
    };
    f.axes(&mut r);
    // The band, column by column, interpolated between the levels (0 and 1 are exact).
    let mut knots = vec![(0.0, 0.0, 0.0)];
    knots.extend(points.iter().map(|p| (p.0, p.2, p.3)));
    knots.push((1.0, 1.0, 1.0));
    for px in 0..size {
        let u = px as f64 / (size - 1) as f64;
        let k = knots.windows(2).find(|w| u >= w[0].0 && u <= w[1].0);
        if let Some(w) = k {
            let t = (u - w[0].0) / (w[1].0 - w[0].0).max(1e-12);
            let lo = w[0].1 + t * (w[1].1 - w[0].1);
            let hi = w[0].2 + t * (w[1].2 - w[0].2);
            let (x, y_hi) = f.at(u, hi);
            let (_, y_lo) = f.at(u, lo);
            r.fill_rect(x, y_hi, 1, y_lo.saturating_sub(y_hi) + 1, BAND);
        }
    }
    segment(&mut r, &f, (0.0, 0.0), (1.0, 1.0), AXIS);
    let mut prev = (0.0, 0.0);
    for p in points {
        segment(&mut r, &f, prev, (p.0, p.1), LINE);
        let (x, y) = f.at(p.0, p.1);
        r.fill_rect(x.saturating_sub(3), y.saturating_sub(3), 7, 7, LINE);
        prev = (p.0, p.1);
    }
    for k in [0, 5, 10] {
        let t = k as f64 / 10.0;
        let label = format!("{t:.1}");
        let (x, _) = f.at(t, 0.0);
        r.text(x.saturating_sub(9), pad + size + 8, &label, 1, AXIS);
        let (_, y) = f.at(0.0, t);
        r.text(8, y.saturating_sub(CHAR_H / 2), &label, 1, AXIS);
    }
    let x_at = (pad + size / 2).saturating_sub(CURVE_X_TITLE.len() * CHAR_W / 2);
    r.text(x_at, pad + size + 22, CURVE_X_TITLE, 1, AXIS);
    r.text(pad, pad - 2 * CHAR_H, CURVE_Y_TITLE, 1, AXIS);
    r.save(path)
}

/// Rank histograms side by side, one panel per entry of `panels`: (name, p-value of its uniformity
/// test, counts per bin), titled "name  p = …" under it; a grey line marks the count every bin would
/// hold under uniform ranks.
pub fn write_rank_histograms_png(path: &Path, panels: &[(&str, f64, &[usize])]) -> Result<(), OutputError> {
    let (pad, w, h) = (20, 240, 160);
    let n = panels.len().max(1);
    let mut r = Raster::new(pad + n * (w + pad), h + 2 * pad, WHITE);
    for (i, (name, p, counts)) in panels.iter().enumerate() {
        let f = Frame {
            x0: pad + i * (w + pad),
            y0: pad,
            size_x: w,
            size_y: h,
        };
        let total: usize = counts.iter().sum();
        let b = counts.len().max(1);
        let expected = total as f64 / b as f64;
        let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
        let top = top.max(expected * 1.5);
        for (k, &c) in counts.iter().enumerate() {
            let (x0, _) = f.at(k as f64 / b as f64, 0.0);
            let (x1, _) = f.at((k + 1) as f64 / b as f64, 0.0);
            let (_, y) = f.at(0.0, c as f64 / top);
            let (_, base) = f.at(0.0, 0.0);
            r.fill_rect(
                x0 + 1,
                y,
                x1.saturating_sub(x0 + 1).max(1),
                base.saturating_sub(y) + 1,
                BAR,
            );
        }
        let (_, ye) = f.at(0.0, expected / top);
        r.fill_rect(f.x0, ye, w, 2, AXIS);
        r.fill_rect(f.x0, f.y0 + h - 1, w, 2, AXIS);
        let title = format!("{name}  p = {}", format_value(*p));
        r.text(f.x0, h + pad + 6, &title, 1, AXIS);
    }
    r.save(path)
}
