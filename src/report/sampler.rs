//! The report's sampler section: acceptance, step size and divergences per chain, tree depth and the
//! other per-draw statistics of `sample_stats.npz`, per-level acceptance of annealed samplers, DPS's
//! residual, the run's progress, and every other sampler record of `summary.json`. What a sampler
//! does not record is said, not invented.

use super::html::{esc, kv, none, svg_figure, table, Page};
use super::load::Run;
use super::svg;
use crate::output::format_value;
use ndarray::Array2;
use serde_json::Value;

fn num(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format_value(x)
    }
}

/// Mean of row `c` of `a` (NaN skipped), as f64.
fn row_mean(a: &Array2<f64>, c: usize) -> f64 {
    let v: Vec<f64> = a.row(c).iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The sampler section of `run`.
pub(super) fn section(page: &mut Page, run: &Run) {
    let s = &run.summary;
    page.push(&kv(&[
        ("sampler", esc(&s.sampler)),
        (
            "kernel",
            esc(if s.kernel.is_empty() {
                "(not recorded)"
            } else {
                &s.kernel
            }),
        ),
        ("gradient evaluations", s.grad_evals.to_string()),
        ("score evaluations", s.score_evals.to_string()),
        ("wall time", format!("{} s", num(s.wall_seconds))),
    ]));
    per_chain(page, run);
    stats_plots(page, run);
    levels(page, run);
    dps(page, run);
    if !s.progress.is_empty() {
        page.push("<h3>Progress</h3>");
        let rows: Vec<Vec<String>> = s
            .progress
            .iter()
            .map(|(k, p)| vec![esc(k), p.done.to_string(), p.planned.to_string()])
            .collect();
        page.push(&table(&["phase", "done", "planned"], &rows));
    }
    if !s.extra.is_empty() {
        let json = serde_json::to_string_pretty(&s.extra).unwrap_or_default();
        page.push(&format!(
            "<details><summary>Every sampler record of summary.json (<code>extra</code>)</summary><pre>{}</pre></details>",
            esc(&json)
        ));
    }
}

/// Acceptance, step size and divergences per chain, with the per-draw means where recorded.
fn per_chain(page: &mut Page, run: &Run) {
    let s = &run.summary;
    page.push("<h3>Per chain</h3>");
    let stats = run.stats.as_ref();
    let depth = stats
        .and_then(|st| st.tree_depth.as_ref())
        .map(|d| d.mapv(|x| x as f64));
    let steps = stats.map(|st| st.n_steps.mapv(|x| x as f64));
    let mut header = vec!["chain", "acceptance", "step size", "divergences"];
    if steps.is_some() {
        header.push("mean leapfrog steps");
    }
    if depth.is_some() {
        header.extend(["mean tree depth", "max tree depth"]);
    }
    let at = |v: &[f64], c: usize| v.get(c).copied().unwrap_or(f64::NAN);
    let rows: Vec<Vec<String>> = (0..s.chains)
        .map(|c| {
            let mut r = vec![
                s.chain_indices.get(c).copied().unwrap_or(c).to_string(),
                num(at(&s.acceptance_rate, c)),
                num(at(&s.step_size, c)),
                s.divergences.get(c).map_or("—".into(), u64::to_string),
            ];
            if let Some(st) = &steps {
                r.push(if c < st.nrows() {
                    num(row_mean(st, c))
                } else {
                    "—".into()
                });
            }
            if let Some(d) = &depth {
                let max = (c < d.nrows()).then(|| d.row(c).iter().copied().fold(f64::NAN, f64::max));
                r.push(if c < d.nrows() {
                    num(row_mean(d, c))
                } else {
                    "—".into()
                });
                r.push(max.map_or("—".into(), num));
            }
            r
        })
        .collect();
    page.push(&table(&header, &rows));
    if s.acceptance_rate.iter().all(|x| x.is_nan()) && s.step_size.iter().all(|x| x.is_nan()) {
        page.push(&none(&format!(
            "the {} sampler records no per-chain acceptance rate or step size",
            s.sampler
        )));
    }
    if depth.is_none() {
        page.push(&none("no tree depth: only NUTS records it"));
    }
}

/// Traces of the per-draw statistics of `sample_stats.npz`.
fn stats_plots(page: &mut Page, run: &Run) {
    let Some(st) = &run.stats else {
        page.push(&none(&format!(
            "the {} sampler records no per-draw statistics (no sample_stats.npz in the run folder)",
            run.summary.sampler
        )));
        return;
    };
    page.push("<h3>Per-draw statistics (sample_stats.npz)</h3>");
    let rows = |a: &Array2<f64>| -> Vec<Vec<f64>> { a.rows().into_iter().map(|r| r.to_vec()).collect() };
    let mut series: Vec<(&str, Array2<f64>)> = Vec::new();
    if let Some(lp) = &st.lp {
        series.push(("lp (log density up to a constant)", lp.clone()));
    }
    series.push(("acceptance statistic", st.acceptance_rate.clone()));
    series.push(("step size", st.step_size.clone()));
    match &st.tree_depth {
        Some(d) => series.push(("tree depth", d.mapv(|x| x as f64))),
        None => series.push(("leapfrog steps", st.n_steps.mapv(|x| x as f64))),
    }
    if let Some(e) = &st.energy {
        series.push(("energy (Hamiltonian)", e.clone()));
    }
    let mut figs = String::new();
    for (name, a) in &series {
        figs.push_str(&svg_figure(
            &svg::trace(&rows(a), name),
            &format!("{} per chain", esc(name)),
        ));
    }
    let div: usize = st.diverging.iter().filter(|d| **d).count();
    page.push(&format!(
        "<p>{div} divergent transitions among the {} kept draws.</p><div class=\"grid\">{figs}</div>",
        st.diverging.len()
    ));
}

fn floats(v: Option<&Value>) -> Vec<f64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

/// Acceptance per annealing level (annealed HMC), against the level and its noise level σ.
fn levels(page: &mut Page, run: &Run) {
    let x = &run.summary.extra;
    let accept = floats(x.get("level_accept"));
    let sigmas = floats(
        x.get("checks")
            .and_then(|c| c.get("levels"))
            .and_then(|l| l.get("sigmas")),
    );
    if accept.is_empty() {
        if run.summary.kernel == "annealed_hmc" {
            page.push(&none("the run records no per-level acceptance"));
        }
        return;
    }
    page.push("<h3>Annealing levels</h3>");
    let level: Vec<f64> = (0..accept.len()).map(|i| i as f64).collect();
    let mut figs = svg_figure(
        &svg::curve(&level, &accept, "level (σ decreasing)", "acceptance per level"),
        "Metropolis acceptance per annealing level, averaged over chains",
    );
    if sigmas.len() == accept.len() {
        let log_sigma: Vec<f64> = sigmas.iter().map(|s| s.log10()).collect();
        figs += &svg_figure(
            &svg::curve(&level, &log_sigma, "level", "log10 σ per level"),
            &format!(
                "noise level σ per level: {} … {}",
                num(sigmas[0]),
                num(sigmas[sigmas.len() - 1])
            ),
        );
    }
    page.push(&format!(r#"<div class="grid">{figs}</div>"#));
    if let Some(Value::Object(sch)) = x.get("schedule") {
        let rows: Vec<(&str, String)> = sch
            .iter()
            .map(|(k, v)| (k.as_str(), esc(&v.to_string())))
            .collect();
        page.push(&kv(&rows));
    }
}

/// DPS: the residual ‖y − A(x̂₀)‖ per step (mean over the last batch's chains) and its final value.
fn dps(page: &mut Page, run: &Run) {
    if run.summary.kernel != "dps" {
        return;
    }
    let x = &run.summary.extra;
    page.push("<h3>DPS</h3>");
    let fin = x
        .get("final_residual")
        .and_then(Value::as_f64)
        .map_or("—".into(), num);
    let steps = x.get("timesteps").map_or("—".into(), Value::to_string);
    page.push(&kv(&[("final residual ‖y − A(x̂₀)‖", fin), ("timesteps", steps)]));
    let residuals: Vec<f64> = x
        .get("residuals")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if residuals.is_empty() {
        page.push(&none(
            "the residual per step is not recorded in this run folder (runs before it was); only the final residual is",
        ));
    } else {
        let xs: Vec<f64> = (1..=residuals.len()).map(|k| k as f64).collect();
        page.push(&svg_figure(
            &svg::curve(&xs, &residuals, "step", "residual per step"),
            "the data-consistency residual ‖y − A(x̂₀)‖ at every DPS step, mean over the chains of the last batch of rounds",
        ));
    }
}
