//! Running the planned sampler on a built posterior: progress reports, the size check and the dispatch.

use super::{Plan, SessionError, Settings};
use crate::infer::{DpsProgress, Progress, RunChecks};
use crate::output::Summary;
use crate::session::Built;
use ndarray::Array3;
use std::sync::atomic::AtomicBool;

/// Where score-based samplers start (CCDF for DPS; a shorter schedule for annealed HMC).
#[derive(Clone, Debug, PartialEq)]
pub enum StartSpec {
    /// The scaled adjoint reconstruction `α Aᴴy` of the model's observations.
    Adjoint,
    /// A `.npy` estimate with the latents' shape, read when the run starts.
    File(std::path::PathBuf),
}

/// One progress report of any sampler, for a progress bar.
#[derive(Clone, Debug)]
pub enum RunProgress<'a> {
    /// The sampler line (`sampler: … — reason`), sent once before a REPL run starts.
    Planned(&'a str),
    Chains(&'a Progress),
    Dps(&'a DpsProgress),
    /// Annealing level done, of how many, at noise level σ, with the mean acceptance so far.
    Annealing {
        level: usize,
        levels: usize,
        sigma: f64,
        accept_rate: f64,
    },
}

/// The result of a run, before it is written.
pub struct RunResult {
    /// [chains, draws, dim] on the flat layout, on the constrained scale (the latents' values).
    pub draws: Array3<f64>,
    pub summary: Summary,
    /// What the warnings need besides the draws (per-draw statistics, the sampler's settings).
    pub checks: RunChecks,
    /// `output` quantities: (name, type, draws [chains, draws, flat length]).
    pub derived: Vec<(String, crate::graph::Ty, Array3<f64>)>,
}

/// The most memory a run's draws may take, as a fraction of the memory available now.
const MEMORY_FRACTION: f64 = 0.5;

/// Refuse a run whose draws alone would not fit in memory, before allocating anything.
pub fn check_size(built: &Built, s: &Settings) -> Result<(), String> {
    let dim = built.posterior.layout().dim as f64;
    let per_chain = ["draws", "rounds"]
        .iter()
        .filter_map(|k| s.count(k).ok())
        .map(|n| n as f64)
        .product::<f64>();
    let chains = s.count("chains").map_err(|e| e.to_string())? as f64;
    // The draws, their per-latent copy when written, and the chains' working states.
    let bytes = 8.0 * dim * chains * (2.0 * per_chain + 4.0);
    let available = available_memory().unwrap_or(f64::INFINITY);
    if bytes > MEMORY_FRACTION * available {
        return Err(format!(
            "{} chains × {} draws of {} values need about {}, more than half the memory available ({}); use fewer chains or draws",
            chains,
            per_chain,
            dim,
            gib(bytes),
            gib(available)
        ));
    }
    Ok(())
}

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

/// `MemAvailable` from `/proc/meminfo` in bytes (`None` where there is no such file).
fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Run the planned sampler.
pub fn run(
    built: &Built,
    plan: &Plan,
    settings: &Settings,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<RunResult, SessionError> {
    check_size(built, settings).map_err(SessionError::TooLarge)?;
    let mut summary = Summary {
        sampler: plan.sampler.name.to_string(),
        reason: plan.reason.clone(),
        chains: settings.count("chains")?,
        seed: settings.seed()?,
        ..Summary::default()
    };
    let first = settings.count("chain_offset")?;
    summary.chain_indices = (first..first + summary.chains).collect();
    summary.provenance.uq_version = env!("CARGO_PKG_VERSION").to_string();
    summary.provenance.options = super::provenance::options_record(settings);
    let mut checks = RunChecks::default();
    let mut draws = (plan.sampler.run)(built, plan, settings, progress, stop, &mut summary, &mut checks)?;
    summary.peak_memory_bytes = crate::output::peak_memory_bytes();
    let derived = derived_draws(built, &draws)?;
    // The samplers move on the unconstrained scale; everything after this sees the latents' values.
    built.posterior.layout().constrain_draws(&mut draws);
    summary.draws = draws.shape()[1];
    Ok(RunResult {
        draws,
        summary,
        checks,
        derived,
    })
}

/// The `output` quantities at every draw (unconstrained rows), flat like latents.
fn derived_draws(
    built: &Built,
    draws: &Array3<f64>,
) -> Result<Vec<(String, crate::graph::Ty, Array3<f64>)>, SessionError> {
    let (c, n, _) = draws.dim();
    let mut out: Vec<(String, crate::graph::Ty, Array3<f64>)> = built
        .outputs
        .iter()
        .map(|d| {
            let len = d.ty.numel() * if d.ty.is_complex() { 2 } else { 1 };
            (d.name.clone(), d.ty.clone(), Array3::zeros((c, n, len)))
        })
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    for i in 0..c {
        for j in 0..n {
            let values = built
                .posterior
                .forward_values(draws.slice(ndarray::s![i, j, ..]))
                .map_err(|e| {
                    SessionError::Prior(format!(
                        "an output cannot be evaluated at draw {j} of chain {i}: {e}"
                    ))
                })?;
            for (d, (_, _, a)) in built.outputs.iter().zip(out.iter_mut()) {
                let v = values
                    .get(d.node.0)
                    .ok_or_else(|| SessionError::Prior(format!("output `{}` has no node", d.name)))?;
                let mut row = a.slice_mut(ndarray::s![i, j, ..]);
                match v {
                    crate::graph::Value::Real(x) => row.iter_mut().zip(x.iter()).for_each(|(r, x)| *r = *x),
                    crate::graph::Value::Complex(z) => {
                        for (k, z) in z.iter().enumerate() {
                            row[2 * k] = z.re;
                            row[2 * k + 1] = z.im;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
