//! `:plan`, `:sample`, `:summary`, `:save`: build the posterior, run the planned sampler, keep the result.

use crate::check::Model;
use crate::graph::Value;
use crate::output::{RunWriter, Summary};
use crate::session::{self, Plan, RunProgress, Settings};
use ndarray::Axis;
use num_complex::Complex64;
use std::sync::atomic::AtomicBool;

/// The options `:sample` understands: `sampler` and every sampler option.
pub fn option_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once("sampler").chain(session::OPTIONS.iter().map(|o| o.key))
}

/// The last completed (or interrupted) run, kept for `:summary`, `:save` and evaluation at the mean.
pub struct LastRun {
    /// The run folder, written to a temporary place and copied by `:save`.
    pub folder: tempfile::TempDir,
    pub table: String,
    pub summary: Summary,
    /// Posterior mean of each latent, by name.
    pub means: Vec<(String, Value)>,
}

/// `:sample` words as a request: `key=value` pairs (`sampler=NAME` among them) and a bare number
/// as the draws. The model's `infer(...)` options apply under them.
pub fn request(words: &[&str]) -> Result<session::Request, String> {
    let mut req = session::Request {
        sampler: None,
        sampler_origin: "`sampler=` on :sample",
        given: Vec::new(),
    };
    for w in words {
        let (key, value) = match w.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().trim_matches('"').to_string()),
            None if w.parse::<u64>().is_ok() => ("draws".to_string(), w.to_string()),
            None => return Err(format!("expected `key=value` or a number of draws, found `{w}`")),
        };
        if key == "sampler" {
            req.sampler = Some(value);
        } else {
            req.given.push(session::Given {
                key,
                value: session::Raw::Text(value),
                origin: session::Origin::Repl,
            });
        }
    }
    Ok(req)
}

/// Run the sampler and write its folder to a temporary place.
pub fn sample(
    model: &Model,
    built: &session::Built,
    plan: &Plan,
    settings: &Settings,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<LastRun, String> {
    let mut result =
        session::run(built, plan, settings, progress, stop).map_err(|e| format!("sampling failed: {e:#}"))?;
    let folder = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let writer =
        RunWriter::begin(folder.path().join("run")).map_err(|e| format!("cannot write the run: {e}"))?;
    let table = session::write_run(
        model,
        built,
        &mut result,
        &writer,
        session::ArrayFormats::default(),
    )
    .map_err(|e| format!("cannot write the run: {e:#}"))?;
    // The session's own folder holds the run whether it is partial or not; `:save` applies the rules.
    writer
        .commit()
        .map_err(|e| format!("cannot write the run: {e}"))?;
    let layout = built.posterior.layout();
    let mut means = Vec::new();
    let flat = result.draws.view();
    let (c, n) = (flat.shape()[0], flat.shape()[1]);
    if c * n > 0 {
        let pooled = flat
            .to_shape((c * n, flat.shape()[2]))
            .map_err(|e| e.to_string())?
            .mean_axis(Axis(0))
            .unwrap_or_default();
        for (latent, (ty, off, len)) in model.latents.iter().zip(&layout.slots) {
            let part = pooled.slice(ndarray::s![*off..*off + *len]).to_vec();
            let shape = ndarray::IxDyn(&ty.shape);
            let value = if ty.is_complex() {
                let z: Vec<Complex64> = part.chunks_exact(2).map(|p| Complex64::new(p[0], p[1])).collect();
                ndarray::ArrayD::from_shape_vec(shape, z).ok().map(Value::Complex)
            } else {
                ndarray::ArrayD::from_shape_vec(shape, part).ok().map(Value::Real)
            };
            if let Some(v) = value {
                means.push((latent.name.clone(), v));
            }
        }
    }
    Ok(LastRun {
        folder,
        table,
        summary: result.summary,
        means,
    })
}

/// One line about a run: chains, draws, acceptance, divergences.
pub fn run_line(s: &Summary) -> String {
    let acc = s
        .acceptance_rate
        .iter()
        .copied()
        .filter(|a| a.is_finite())
        .collect::<Vec<_>>();
    let acc = if acc.is_empty() {
        String::new()
    } else {
        format!(
            "; acceptance {}",
            super::eval::num(acc.iter().sum::<f64>() / acc.len() as f64)
        )
    };
    format!(
        "{} chains × {} draws with {}{}{acc}; divergences {}",
        s.chains,
        s.draws,
        s.sampler,
        if s.partial { " (partial: interrupted)" } else { "" },
        s.divergences.iter().sum::<u64>()
    )
}
