//! The report's sections for latents that are not images: the `stansummary`-like table of every
//! latent, and per scalar (or small vector) element its density and trace; larger tensors show their
//! worst elements.

use super::html::{esc, none, svg_figure, table, Page};
use super::images::{chains_of, worst_params, worst_plots};
use super::load::Latent;
use super::svg;
use crate::output::{table_rows, LatentDiagnostics, TABLE_HEADER};

/// Elements of a rank ≤ 1 latent drawn one by one at most (as the terminal table lists them).
const ELEMENTWISE_MAX: usize = 10;

/// The table of every latent, with the same rows and numbers as the terminal table of `uq sample`.
pub(super) fn summary_table(page: &mut Page, latents: &[Latent]) {
    let ld: Vec<LatentDiagnostics<'_>> = latents
        .iter()
        .map(|l| LatentDiagnostics {
            name: &l.name,
            shape: &l.shape,
            diag: &l.diag,
        })
        .collect();
    let t = table_rows(&ld);
    let mut header = vec![""];
    header.extend(TABLE_HEADER);
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|(name, cols)| {
            std::iter::once(esc(name))
                .chain(cols.iter().map(|c| esc(c)))
                .collect()
        })
        .collect();
    page.push(&table(&header, &rows));
    page.push(
        "<p>Computed from the draws in this folder, as ArviZ does: N_Eff = bulk and tail effective \
         sample sizes, R_hat = rank-normalised split R̂ (Vehtari et al. 2021), MCSE = Monte-Carlo \
         standard error of the mean, quantiles of type 7.</p>",
    );
    if t.aggregated {
        page.push(
            "<p>(all) rows: mean of the element means, largest MCSE, average sd and quantiles, \
             smallest N_Eff, largest R_hat.</p>",
        );
    }
    for n in &t.notes {
        page.push(&none(n));
    }
}

/// The section of a latent that is not an image.
pub(super) fn section(page: &mut Page, l: &Latent) {
    let (c, n, p) = l.draws.dim();
    if c * n == 0 {
        page.push(&none(
            "no draws were kept (the run was interrupted during warm-up)",
        ));
        return;
    }
    let elementwise = l.shape.len() <= 1 && l.numel() <= ELEMENTWISE_MAX;
    let params: Vec<(usize, String)> = if elementwise {
        (0..p).map(|i| (i, String::new())).collect()
    } else {
        page.push(&format!(
            "<p>{} elements: shown are the worst by R̂ and ESS.</p>",
            l.numel()
        ));
        worst_params(l)
    };
    if params.is_empty() {
        page.push(&none("no element has defined diagnostics"));
        return;
    }
    if !elementwise {
        worst_plots(page, l, &params);
        return;
    }
    let mut figs = String::new();
    for (p, _) in &params {
        let label = l.param_label(*p);
        let series = chains_of(l, *p);
        figs.push_str(&svg_figure(
            &svg::density(&series, &label),
            &format!("density of {} per chain", esc(&label)),
        ));
        figs.push_str(&svg_figure(
            &svg::trace(&series, &label),
            &format!("trace of {} per chain", esc(&label)),
        ));
    }
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
}
