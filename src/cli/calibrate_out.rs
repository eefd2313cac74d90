//! `uq calibrate`'s output: the calibration folder (json, arrays, plots, summary.json) and the
//! terminal report.

use super::CalibrateArgs;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use uq::calibrate::{self, Analysis, Outcome};
use uq::check::Model;
use uq::output::{write_calibration_png, write_npy, write_rank_histograms_png, RunWriter};

/// Write calibration.json, the per-repetition arrays, the plots and the folder's summary.json.
pub fn write_folder(
    writer: &RunWriter,
    args: &CalibrateArgs,
    model: &Model,
    outcome: &Outcome,
    analysis: &Analysis,
    requested: usize,
) -> anyhow::Result<PathBuf> {
    let dir = writer.dir();
    let rows = |f: &dyn Fn(&calibrate::RepStats) -> &Vec<f64>| -> anyhow::Result<Array2<f64>> {
        let d = analysis.params;
        let flat: Vec<f64> = outcome.stats.iter().flat_map(|r| f(r).iter().copied()).collect();
        Ok(Array2::from_shape_vec((outcome.stats.len(), d), flat)?)
    };
    write_npy(&dir.join("ranks.npy"), &rows(&|r| &r.u)?)?;
    write_npy(&dir.join("truths.npy"), &rows(&|r| &r.truth)?)?;
    write_npy(&dir.join("post_mean.npy"), &rows(&|r| &r.mean)?)?;
    write_npy(&dir.join("post_sd.npy"), &rows(&|r| &r.sd)?)?;
    let points: Vec<(f64, f64, f64, f64)> = analysis
        .coverage
        .iter()
        .map(|c| (c.nominal, c.empirical, c.band_lo, c.band_hi))
        .collect();
    write_calibration_png(&dir.join("calibration.png"), &points)?;
    let mut panels = vec![(
        "pooled ranks",
        analysis.rank_uniformity_p,
        analysis.pooled_counts.as_slice(),
    )];
    panels.extend(
        analysis
            .chosen
            .iter()
            .map(|c| (c.name.as_str(), c.p, c.counts.as_slice())),
    );
    write_rank_histograms_png(&dir.join("ranks.png"), &panels)?;
    let conformal = args.conformal.then(|| calibrate::conformal(&outcome.stats));
    if let Some(c) = &conformal {
        uq::output::write_atomic(
            &dir.join("interval_scale.json"),
            serde_json::to_string_pretty(c)?.as_bytes(),
        )?;
    }
    let command = super::super::command_line();
    let json = serde_json::json!({
        "uq_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "model": args.model.display().to_string(),
        "model_name": model.name,
        "sampler": outcome.sampler,
        "reason": outcome.reason,
        "seed": outcome.seed,
        "truths": args.truths.as_ref().map(|p| p.display().to_string()),
        "reps_requested": requested,
        "stopped": outcome.stopped,
        "runs": outcome.runs,
        "analysis": analysis,
        "reps": analysis.reps,
        "rank_uniformity_p": analysis.rank_uniformity_p,
        "coverage": analysis.coverage,
        "conformal": conformal,
        "reference": reference_summary(outcome),
    });
    uq::output::write_atomic(
        &dir.join("calibration.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    let files = uq::output::record_files(&dir);
    let summary = serde_json::json!({
        "uq_run": true,
        "kind": "calibration",
        "format_version": uq::output::FORMAT_VERSION,
        "partial": outcome.stopped.is_some(),
        "files": files,
    });
    uq::output::write_atomic(
        &dir.join(uq::output::SUMMARY_FILE),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(dir)
}

pub fn print_result(a: &Analysis) {
    println!("coverage of central intervals (nominal → empirical ± 1.96 se):");
    for c in &a.coverage {
        println!(
            "  {:>3.0}% → {:>5.1}% ± {:.1}%",
            100.0 * c.nominal,
            100.0 * c.empirical,
            196.0 * c.se
        );
    }
    for c in &a.chosen {
        println!("  rank test of {}: p = {:.3}", c.name, c.p);
    }
    println!("{}", a.verdict);
}

pub fn print_conformal(path: &Path) {
    let Some(c) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<calibrate::IntervalScale>(&t).ok())
    else {
        return;
    };
    println!(
        "conformal scales (learned on {} repetitions; coverage on the other {} before → after):",
        c.calibration_reps, c.heldout_reps
    );
    for (k, q) in c.levels.iter().enumerate() {
        let before = c
            .heldout_coverage_raw
            .get(k)
            .map_or(String::new(), |v| format!("{:.1}%", 100.0 * v));
        let after = c
            .heldout_coverage_scaled
            .get(k)
            .map_or(String::new(), |v| format!("{:.1}%", 100.0 * v));
        let s = match c.scale.get(k).copied().flatten() {
            Some(s) => format!("× {s:.3}"),
            None => "none (too few repetitions)".into(),
        };
        println!("  {:>3.0}%: {s}  {before} → {after}", 100.0 * q);
    }
}

/// Means over repetitions of the comparisons with the exact posterior.
pub fn reference_summary(o: &Outcome) -> Option<serde_json::Value> {
    let c: Vec<&calibrate::Comparison> = o.runs.iter().filter_map(|r| r.reference.as_ref()).collect();
    if c.is_empty() {
        return None;
    }
    let n = c.len() as f64;
    let mean = |f: &dyn Fn(&calibrate::Comparison) -> f64| c.iter().map(|r| f(r)).sum::<f64>() / n;
    let tv = |r: &calibrate::Comparison| {
        0.5 * r
            .weights_exact
            .iter()
            .zip(&r.weights_draws)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
    };
    Some(serde_json::json!({
        "mean_error": mean(&|r| r.mean_error),
        "mc_floor": mean(&|r| r.mc_floor),
        "sd_ratio": mean(&|r| r.sd_ratio),
        "weights_tv": mean(&tv),
        "reps": c.len(),
    }))
}
