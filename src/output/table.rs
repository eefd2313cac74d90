//! The end-of-run table (like Stan's `stansummary`): scalars and small vectors element by element,
//! larger latents (images) as an aggregate line plus their worst parameters.

use crate::infer::Diagnostics;
use std::fmt::Write as _;

/// Latents with at most this many elements and rank ≤ 1 are listed element by element.
const ELEMENTWISE_MAX: usize = 10;

/// One latent's name, shape and per-parameter diagnostics (parameters in row-major order).
#[derive(Clone, Copy, Debug)]
pub struct LatentDiagnostics<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub diag: &'a Diagnostics,
}

/// A number in 4 significant digits, scientific when very large or small, `nan` for NaN.
fn num(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let a = x.abs();
    if a == 0.0 || (1e-3..1e5).contains(&a) {
        let decimals = if a == 0.0 {
            0
        } else {
            (3 - a.log10().floor() as i32).clamp(0, 6) as usize
        };
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

fn ess(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else {
        format!("{x:.0}")
    }
}

fn index_label(name: &str, shape: &[usize], flat: usize) -> String {
    let numel: usize = shape.iter().product();
    if shape.is_empty() {
        return name.to_string();
    }
    let mut idx = vec![0; shape.len()];
    let mut rest = flat;
    if flat < numel {
        for (k, &d) in shape.iter().enumerate().rev() {
            idx[k] = rest % d;
            rest /= d;
        }
    } else {
        idx = vec![flat];
    }
    let parts: Vec<String> = idx.iter().map(usize::to_string).collect();
    format!("{name}[{}]", parts.join(","))
}

pub(crate) type Cols = [String; 9];

fn param_cols(d: &Diagnostics, i: usize) -> Cols {
    let g = |v: &Vec<f64>| v.get(i).copied().unwrap_or(f64::NAN);
    [
        num(g(&d.mean)),
        num(g(&d.mcse_mean)),
        num(g(&d.sd)),
        num(g(&d.q05)),
        num(g(&d.q50)),
        num(g(&d.q95)),
        ess(g(&d.ess_bulk)),
        ess(g(&d.ess_tail)),
        num(g(&d.rhat)),
    ]
}

/// Mean of the non-NaN entries.
fn nan_mean(v: &[f64]) -> f64 {
    let (s, n) = v
        .iter()
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

fn nan_max(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .filter(|x| !x.is_nan())
        .reduce(f64::max)
        .unwrap_or(f64::NAN)
}

/// Aggregate columns: mean of means, max MCSE, mean sd and quantiles, min ESS, max R̂.
fn aggregate_cols(d: &Diagnostics) -> Cols {
    let s = d.summary();
    [
        num(nan_mean(&d.mean)),
        num(nan_max(&d.mcse_mean)),
        num(nan_mean(&d.sd)),
        num(nan_mean(&d.q05)),
        num(nan_mean(&d.q50)),
        num(nan_mean(&d.q95)),
        ess(s.ess_bulk_min),
        ess(s.ess_tail_min),
        num(s.rhat_max),
    ]
}

/// The table's column titles.
pub(crate) const TABLE_HEADER: [&str; 9] = [
    "Mean",
    "MCSE",
    "StdDev",
    "5%",
    "50%",
    "95%",
    "N_Eff(bulk)",
    "N_Eff(tail)",
    "R_hat",
];

/// The table's rows (label, formatted columns), its notes about undefined diagnostics, and whether
/// any latent was shown as an aggregate `(all)` row (the terminal table and `uq report` share them).
pub(crate) struct TableRows {
    pub rows: Vec<(String, Cols)>,
    pub notes: Vec<String>,
    pub aggregated: bool,
}

/// The rows of [`format_table`].
pub(crate) fn table_rows(latents: &[LatentDiagnostics<'_>]) -> TableRows {
    let mut rows: Vec<(String, Cols)> = Vec::new();
    let mut notes = Vec::new();
    let mut aggregated = false;
    for l in latents {
        let numel: usize = l.shape.iter().product();
        let n = l.diag.len();
        if l.shape.len() <= 1 && numel <= ELEMENTWISE_MAX && n == numel {
            for i in 0..n {
                rows.push((index_label(l.name, l.shape, i), param_cols(l.diag, i)));
            }
        } else {
            aggregated = true;
            let dims: Vec<String> = l.shape.iter().map(usize::to_string).collect();
            rows.push((
                format!("{}[{}] (all)", l.name, dims.join("x")),
                aggregate_cols(l.diag),
            ));
            let s = l.diag.summary();
            if let Some(i) = s.rhat_argmax {
                rows.push((
                    format!("{} (max R_hat)", index_label(l.name, l.shape, i)),
                    param_cols(l.diag, i),
                ));
            }
            if let Some(i) = s.ess_bulk_argmin.filter(|&i| Some(i) != s.rhat_argmax) {
                rows.push((
                    format!("{} (min N_Eff)", index_label(l.name, l.shape, i)),
                    param_cols(l.diag, i),
                ));
            }
        }
        if let Some(note) = l.diag.summary().nan_note() {
            notes.push(format!("{}: {note}", l.name));
        }
    }
    TableRows {
        rows,
        notes,
        aggregated,
    }
}

/// Render the table. Rows for an image `x` of shape [64, 64]: `x[64x64] (all)` with the aggregate
/// columns (Mean = mean of pixel means, MCSE = largest pixel MCSE, StdDev and quantiles = pixel
/// averages, N_Eff = smallest, R_hat = largest), then the worst-R̂ pixel and, if different, the
/// smallest-ESS pixel by index. A legend and any notes about undefined (NaN) diagnostics follow.
pub fn format_table(latents: &[LatentDiagnostics<'_>]) -> String {
    let TableRows {
        rows,
        notes,
        aggregated,
    } = table_rows(latents);
    let header: Cols = TABLE_HEADER.map(String::from);
    let name_w = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut widths = header.clone().map(|h| h.len().max(9));
    for (_, cols) in &rows {
        for (w, c) in widths.iter_mut().zip(cols) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let mut line = |name: &str, cols: &Cols| {
        let _ = write!(out, "{name:<name_w$}");
        for (c, w) in cols.iter().zip(widths) {
            let _ = write!(out, "  {c:>w$}");
        }
        out.push('\n');
    };
    line("", &header);
    for (name, cols) in &rows {
        line(name, cols);
    }
    out.push_str(
        "\nN_Eff: bulk and tail effective sample sizes; R_hat: rank-normalised split R-hat \
         (Vehtari et al. 2021); MCSE: Monte-Carlo standard error of the mean.\n",
    );
    if aggregated {
        out.push_str(
            "(all) rows: mean of the element means, largest MCSE, average sd and quantiles, \
             smallest N_Eff, largest R_hat.\n",
        );
    }
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn diag(params: usize, shift: Option<usize>) -> Diagnostics {
        let mut a = Array3::<f64>::zeros((4, 50, params));
        for ((c, d, p), v) in a.indexed_iter_mut() {
            *v = ((c * 31 + d * 17 + p * 5) % 23) as f64 / 23.0;
            if Some(p) == shift && c == 0 {
                *v += 5.0;
            }
        }
        Diagnostics::compute(a.view())
    }

    #[test]
    fn scalars_vectors_and_images() {
        let (s, v, img) = (diag(1, None), diag(3, None), diag(12, Some(7)));
        let t = format_table(&[
            LatentDiagnostics {
                name: "sigma",
                shape: &[],
                diag: &s,
            },
            LatentDiagnostics {
                name: "beta",
                shape: &[3],
                diag: &v,
            },
            LatentDiagnostics {
                name: "x",
                shape: &[3, 4],
                diag: &img,
            },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("N_Eff(bulk)") && lines[0].trim_end().ends_with("R_hat"));
        assert!(lines[1].starts_with("sigma "));
        assert!(lines[2].starts_with("beta[0]") && lines[4].starts_with("beta[2]"));
        assert!(lines[5].starts_with("x[3x4] (all)"));
        assert!(lines[6].starts_with("x[1,3] (max R_hat)"), "{}", lines[6]);
        let all_rhat: f64 = lines[5].split_whitespace().last().unwrap().parse().unwrap();
        assert!((all_rhat - img.summary().rhat_max).abs() < 1e-3 * all_rhat);
        // all data rows have the same width
        let w = lines[0].len();
        assert!(lines[1..6].iter().all(|l| l.len() == w), "{t}");
        assert!(t.contains("(all) rows"));
    }

    #[test]
    fn nan_cells_and_notes() {
        let d = Diagnostics::compute(Array3::from_elem((1, 10, 2), 1.0).view());
        let t = format_table(&[LatentDiagnostics {
            name: "c",
            shape: &[2],
            diag: &d,
        }]);
        assert!(t.contains("nan"));
        assert!(t.contains("c: undefined"));
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(0.012346), "0.01235");
        assert_eq!(num(-2.0e-5), "-2.00e-5");
    }
}
