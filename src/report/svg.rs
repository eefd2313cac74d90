//! Inline SVG line plots for the report: traces (thinned), rank histograms per chain, kernel
//! density estimates, and plain x–y curves, one colour per chain.

use super::html::esc;
use crate::output::format_value;
use std::fmt::Write as _;

/// Points kept per line at most (longer series are thinned evenly, the last point kept).
pub(super) const MAX_POINTS: usize = 400;
/// Chain colours (Okabe–Ito, colour-blind safe), reused cyclically.
const COLOURS: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
];
const W: f64 = 360.0;
const H: f64 = 150.0;
/// Margins: left (for the y labels), right, top, bottom (for the x labels).
const ML: f64 = 54.0;
const MR: f64 = 8.0;
const MT: f64 = 8.0;
const MB: f64 = 30.0;

/// The colour of chain `c`.
pub(super) fn colour(c: usize) -> &'static str {
    COLOURS[c % COLOURS.len()]
}

/// Indices of at most `k` evenly spaced points out of `n` (the first and last included).
fn thin(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| i * (n - 1) / (k - 1).max(1)).collect()
}

/// Finite range of all `ys`, widened when empty or flat.
fn y_range<'a>(ys: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = ys
        .into_iter()
        .filter(|y| y.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| {
            (lo.min(y), hi.max(y))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 0.5 } else { 0.05 * lo.abs() };
        (lo - pad, hi + pad)
    }
}

/// An axis label: whole numbers without decimals (draw and level indices), others as uq's PNGs.
fn label(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e6 {
        format!("{x:.0}")
    } else {
        format_value(x)
    }
}

/// One plot: `lines` of (x, y) points with colours, axes labelled with the ranges and titles.
struct Plot<'a> {
    x: (f64, f64),
    y: (f64, f64),
    xlabel: &'a str,
    title: &'a str,
    /// Whether the y range is labelled (not for the banded rank plot).
    ylabels: bool,
}

impl Plot<'_> {
    fn px(&self, x: f64) -> f64 {
        ML + (x - self.x.0) / (self.x.1 - self.x.0).max(f64::MIN_POSITIVE) * (W - ML - MR)
    }
    fn py(&self, y: f64) -> f64 {
        H - MB - (y - self.y.0) / (self.y.1 - self.y.0).max(f64::MIN_POSITIVE) * (H - MT - MB)
    }

    fn open(&self) -> String {
        let mut s = format!(
            r#"<svg class="plot" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"><title>{}</title>"#,
            esc(self.title)
        );
        let (x0, x1, y0, y1) = (ML, W - MR, MT, H - MB);
        let _ = write!(
            s,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            x1 - x0,
            y1 - y0
        );
        let t = |s: &mut String, x: f64, y: f64, anchor: &str, text: &str| {
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
                esc(text)
            );
        };
        if self.ylabels {
            t(&mut s, ML - 4.0, y0 + 9.0, "end", &label(self.y.1));
            t(&mut s, ML - 4.0, y1, "end", &label(self.y.0));
        }
        t(&mut s, x0, y1 + 12.0, "start", &label(self.x.0));
        t(&mut s, x1, y1 + 12.0, "end", &label(self.x.1));
        t(&mut s, (x0 + x1) / 2.0, y1 + 24.0, "middle", self.xlabel);
        s
    }

    fn polyline(&self, s: &mut String, pts: &[(f64, f64)], colour: &str) {
        let mut d = String::new();
        for &(x, y) in pts.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
            let _ = write!(d, "{:.1},{:.1} ", self.px(x), self.py(y));
        }
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{}"/>"#,
            d.trim_end()
        );
    }
}

/// Trace plot: one line per chain of `chains[c][draw]`, thinned to [`MAX_POINTS`] per chain.
pub(super) fn trace(chains: &[Vec<f64>], title: &str) -> String {
    let n = chains.iter().map(Vec::len).max().unwrap_or(0);
    let p = Plot {
        x: (0.0, n.saturating_sub(1).max(1) as f64),
        y: y_range(chains.iter().flatten()),
        xlabel: "draw",
        title,
        ylabels: true,
    };
    let mut s = p.open();
    for (c, ys) in chains.iter().enumerate() {
        let pts: Vec<(f64, f64)> = thin(ys.len(), MAX_POINTS)
            .into_iter()
            .map(|i| (i as f64, ys[i]))
            .collect();
        p.polyline(&mut s, &pts, colour(c));
    }
    s.push_str("</svg>");
    s
}

/// Rank plot (as ArviZ's): the draws of all chains ranked together; per chain, in its own band, a
/// histogram of its ranks, with the dashed level that uniform ranks give. Well-mixed chains give
/// flat histograms.
pub(super) fn ranks(chains: &[Vec<f64>], title: &str) -> String {
    let total: usize = chains.iter().map(Vec::len).sum();
    let mut all: Vec<(f64, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().map(move |&x| (x, c)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per_chain = total / chains.len().max(1);
    let bins = (per_chain / 4).clamp(2, 20);
    let mut counts = vec![vec![0usize; bins]; chains.len()];
    for (r, &(_, c)) in all.iter().enumerate() {
        let b = (r * bins / total.max(1)).min(bins - 1);
        counts[c][b] += 1;
    }
    let expect = per_chain as f64 / bins as f64;
    let top = (counts.iter().flatten().copied().max().unwrap_or(1) as f64).max(expect) * 1.1;
    let p = Plot {
        x: (0.0, total as f64),
        y: (0.0, chains.len().max(1) as f64),
        xlabel: "rank (all chains); one band per chain",
        title,
        ylabels: false,
    };
    let mut s = p.open();
    let band = (H - MT - MB) / chains.len().max(1) as f64;
    let bin_w = (W - ML - MR) / bins as f64;
    for (c, row) in counts.iter().enumerate() {
        let base = MT + band * (c + 1) as f64;
        for (b, &k) in row.iter().enumerate() {
            let h = k as f64 / top * band * 0.95;
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}" fill-opacity="0.75"/>"#,
                ML + b as f64 * bin_w + 0.5,
                base - h,
                (bin_w - 1.0).max(0.5),
                colour(c)
            );
        }
        let y = base - expect / top * band * 0.95;
        let _ = write!(
            s,
            r##"<line x1="{ML}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#333" stroke-dasharray="4 3"/>"##,
            W - MR
        );
    }
    s.push_str("</svg>");
    s
}

/// Gaussian kernel density per chain (Silverman's bandwidth of the pooled draws), 100 points.
pub(super) fn density(chains: &[Vec<f64>], title: &str) -> String {
    let pooled: Vec<f64> = chains
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let n = pooled.len().max(1) as f64;
    let mean = pooled.iter().sum::<f64>() / n;
    let sd = (pooled.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let bw = if sd > 0.0 { 1.06 * sd * n.powf(-0.2) } else { 1.0 };
    let (lo, hi) = y_range(pooled.iter());
    let (lo, hi) = (lo - 3.0 * bw, hi + 3.0 * bw);
    let grid: Vec<f64> = (0..100).map(|i| lo + (hi - lo) * i as f64 / 99.0).collect();
    let curves: Vec<Vec<(f64, f64)>> = chains
        .iter()
        .map(|v| {
            let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            let k = v.len().max(1) as f64 * bw * (2.0 * std::f64::consts::PI).sqrt();
            grid.iter()
                .map(|&g| {
                    (
                        g,
                        v.iter()
                            .map(|x| (-0.5 * ((g - x) / bw).powi(2)).exp())
                            .sum::<f64>()
                            / k,
                    )
                })
                .collect()
        })
        .collect();
    let top = curves.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
    let p = Plot {
        x: (lo, hi),
        y: (0.0, if top > 0.0 { top * 1.05 } else { 1.0 }),
        xlabel: "value",
        title,
        ylabels: true,
    };
    let mut s = p.open();
    for (c, pts) in curves.iter().enumerate() {
        p.polyline(&mut s, pts, colour(c));
    }
    s.push_str("</svg>");
    s
}

/// One curve `ys` against `xs` (thinned), e.g. acceptance per annealing level.
pub(super) fn curve(xs: &[f64], ys: &[f64], xlabel: &str, title: &str) -> String {
    let p = Plot {
        x: y_range(xs.iter()),
        y: y_range(ys.iter()),
        xlabel,
        title,
        ylabels: true,
    };
    let mut s = p.open();
    let pts: Vec<(f64, f64)> = thin(xs.len().min(ys.len()), MAX_POINTS)
        .into_iter()
        .map(|i| (xs[i], ys[i]))
        .collect();
    p.polyline(&mut s, &pts, colour(0));
    s.push_str("</svg>");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_thinned_and_ranks_cover_every_draw() {
        let long: Vec<Vec<f64>> = (0..2)
            .map(|c| (0..5000).map(|i| (i * (c + 3) % 17) as f64).collect())
            .collect();
        let t = trace(&long, "x");
        let points = t.matches(',').count();
        assert!(points <= 2 * MAX_POINTS, "{points}");
        let r = ranks(&long, "x");
        assert_eq!(r.matches("<rect").count(), 1 + 2 * 20);
        assert!(thin(10, 4) == vec![0, 3, 6, 9]);
        // NaN and constant inputs draw without panicking.
        let flat = vec![vec![1.0; 8], vec![f64::NAN; 8]];
        for svg in [
            trace(&flat, "c"),
            ranks(&flat, "c"),
            density(&flat, "c"),
            curve(&[], &[], "l", "e"),
        ] {
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
            assert!(!svg.contains("NaN") && !svg.contains("inf,"), "{svg}");
        }
    }
}
