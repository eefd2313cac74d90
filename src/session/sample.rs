//! Running a sampler on a built posterior and writing the run folder (npy, png, summary.json).

use crate::check::Model;
use crate::infer::{
    annealed_langevin, run_chains, run_dps, Diagnostics, DpsConfig, DpsProgress, KernelKind, LangevinConfig,
    Mass, MhMode, Plan, Progress, RunConfig, SamplerKind,
};
use crate::output::{
    format_table, write_image_pngs, write_npy, LatentDiagnostics, LatentSummary, RunWriter, Summary,
};
use crate::score::NoiseKind;
use crate::session::Built;
use ndarray::{s, Array2, Array3, ArrayD, Axis, IxDyn};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Settings of one `uq sample` run (CLI flags and `infer(...)` keys end up here).
#[derive(Clone, Debug)]
pub struct SampleOptions {
    pub chains: usize,
    pub draws: usize,
    pub warmup: usize,
    pub seed: u64,
    /// Leapfrog steps per HMC transition; `None`: NUTS when MH is exact, else 10 static steps.
    pub steps: Option<usize>,
    /// Initial step size (adapted during warm-up).
    pub step_size: f64,
    pub target_accept: Option<f64>,
    /// `None`: exact when every prior has a density, else score-only with 4 Simpson intervals.
    pub mh: Option<MhMode>,
    pub zeta: f64,
    pub dps_steps: usize,
    /// Annealed Langevin (prior draws): levels, steps per level, ε (Song & Ermon's defaults).
    pub levels: usize,
    pub level_steps: usize,
    pub langevin_eps: f64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            chains: 4,
            draws: 1000,
            warmup: 1000,
            seed: 1,
            steps: None,
            step_size: 0.1,
            target_accept: None,
            mh: None,
            zeta: 1.0,
            dps_steps: 1000,
            levels: 10,
            level_steps: 100,
            langevin_eps: 2e-5,
        }
    }
}

/// One progress report of any sampler, for a progress bar.
#[derive(Clone, Debug)]
pub enum RunProgress<'a> {
    Chains(&'a Progress),
    Dps(&'a DpsProgress),
    /// Annealing level done, of how many, at noise level σ.
    Annealing {
        level: usize,
        levels: usize,
        sigma: f64,
    },
}

/// The result of a run, before it is written.
pub struct RunResult {
    /// [chains, draws, dim] on the flat layout.
    pub draws: Array3<f64>,
    pub summary: Summary,
}

/// Run the planned sampler.
pub fn run(
    built: &Built,
    plan: &Plan,
    opts: &SampleOptions,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> anyhow::Result<RunResult> {
    let post = &built.posterior;
    let dim = post.layout().dim;
    let mut summary = Summary {
        sampler: plan.sampler.to_string(),
        reason: plan.reason.clone(),
        chains: opts.chains,
        seed: opts.seed,
        ..Summary::default()
    };
    let draws = match plan.sampler {
        SamplerKind::Hmc | SamplerKind::Mala => {
            let mh = opts.mh.unwrap_or(if plan.score_only_mh {
                MhMode::score_only()
            } else {
                MhMode::Exact
            });
            let kernel = match plan.sampler {
                SamplerKind::Mala => KernelKind::Mala,
                _ => match opts.steps {
                    None if mh == MhMode::Exact => KernelKind::NUTS,
                    steps => KernelKind::Hmc {
                        steps: steps.unwrap_or(10),
                        mass: Mass::Diagonal,
                    },
                },
            };
            let cfg = RunConfig {
                kernel,
                mh,
                warmup: opts.warmup,
                draws: opts.draws,
                step_size: opts.step_size,
                target_accept: opts.target_accept,
                ..RunConfig::default()
            };
            // Stan's default initialisation: uniform on (−2, 2) in every coordinate.
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed_1417);
            let init = Array2::from_shape_fn((opts.chains, dim), |_| rng.random_range(-2.0..2.0));
            let out = run_chains(
                post,
                &cfg,
                init,
                opts.seed,
                &|p| progress(RunProgress::Chains(p)),
                stop,
            )?;
            summary.warmup = opts.warmup;
            summary.acceptance_rate = out.acceptance_rate.clone();
            summary.step_size = out.step_size.clone();
            summary.divergences = out.divergences.iter().map(|d| *d as u64).collect();
            summary.grad_evals = out.grad_evals;
            summary.score_evals = out.score_evals;
            summary.wall_seconds = out.wall_seconds;
            summary.partial = out.partial;
            summary
                .extra
                .insert("mh".into(), serde_json::json!(format!("{mh:?}")));
            summary
                .extra
                .insert("kernel".into(), serde_json::json!(format!("{:?}", cfg.kernel)));
            out.draws
        }
        SamplerKind::Dps => {
            let prior = post
                .priors()
                .first()
                .ok_or_else(|| anyhow::anyhow!("DPS needs one latent"))?;
            let cfg = DpsConfig {
                zeta: opts.zeta,
                steps: opts.dps_steps,
                init: None,
            };
            let t0 = std::time::Instant::now();
            let mut all = Array3::zeros((opts.chains, opts.draws.max(1), dim));
            let mut partial = false;
            for d in 0..opts.draws.max(1) {
                let out = run_dps(
                    post,
                    prior.as_ref(),
                    &cfg,
                    opts.chains,
                    opts.seed.wrapping_add(d as u64 * 7919),
                    &|p| progress(RunProgress::Dps(p)),
                    stop,
                )?;
                all.slice_mut(s![.., d, ..]).assign(&out.samples);
                if out.partial {
                    partial = true;
                    all = all.slice(s![.., ..d + 1, ..]).to_owned();
                    break;
                }
                summary
                    .extra
                    .insert("timesteps".into(), serde_json::json!(out.timesteps.len()));
                summary
                    .extra
                    .insert("final_residual".into(), serde_json::json!(out.residuals.last()));
            }
            summary.extra.insert("zeta".into(), serde_json::json!(opts.zeta));
            summary.grad_evals = post.grad_evals();
            summary.score_evals = post.score_evals();
            summary.wall_seconds = t0.elapsed().as_secs_f64();
            summary.partial = partial;
            all
        }
        SamplerKind::AnnealedLangevin => {
            let prior = post
                .priors()
                .first()
                .ok_or_else(|| anyhow::anyhow!("no latent"))?;
            let NoiseKind::Ve { sigma_min, sigma_max } = prior.noise_kind() else {
                anyhow::bail!("annealed Langevin needs a VE prior")
            };
            let cfg = LangevinConfig {
                sigma_max,
                sigma_min,
                levels: opts.levels,
                steps: opts.level_steps,
                eps: opts.langevin_eps,
                eds: true,
            };
            let t0 = std::time::Instant::now();
            let rounds = opts.draws.max(1);
            let mut all = Array3::zeros((opts.chains, rounds, dim));
            let mut kept = rounds;
            for d in 0..rounds {
                let report = |level: usize, levels: usize, sigma: f64| {
                    progress(RunProgress::Dps(&DpsProgress {
                        step: level,
                        total: levels,
                        t: d,
                        residual: sigma,
                    }))
                };
                let seed = opts.seed.wrapping_add(d as u64 * 7919);
                let (x, stopped) = annealed_langevin(prior.as_ref(), &cfg, opts.chains, seed, &report, stop)?;
                if stopped {
                    kept = d;
                    summary.partial = true;
                    break;
                }
                all.slice_mut(s![.., d, ..]).assign(&x);
            }
            summary.extra.insert(
                "schedule".into(),
                serde_json::json!({"sigma_max": sigma_max, "sigma_min": sigma_min, "levels": cfg.levels,
                    "steps_per_level": cfg.steps, "eps": cfg.eps, "eds": true}),
            );
            summary.score_evals = post.score_evals();
            summary.wall_seconds = t0.elapsed().as_secs_f64();
            all.slice(s![.., ..kept, ..]).to_owned()
        }
        SamplerKind::AnnealedHmc => {
            anyhow::bail!("annealed HMC is not available in this build yet; use --sampler mala")
        }
    };
    summary.draws = draws.shape()[1];
    Ok(RunResult { draws, summary })
}

/// Per-latent arrays: samples [chains, draws, ...shape] (complex as complex), and the flat diagnostics.
fn latent_samples(
    draws: &Array3<f64>,
    off: usize,
    len: usize,
    shape: &[usize],
    complex: bool,
) -> anyhow::Result<(ArrayD<f64>, Option<ArrayD<Complex64>>)> {
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

/// Diagnostics, files and the table. Returns the final folder and the table text.
pub fn write_run(
    model: &Model,
    built: &Built,
    result: &mut RunResult,
    out: &Path,
) -> anyhow::Result<(PathBuf, String)> {
    let writer = RunWriter::begin(out)?;
    let layout = built.posterior.layout();
    let mut diags = Vec::new();
    for (latent, (ty, off, len)) in model.latents.iter().zip(&layout.slots) {
        let diag = Diagnostics::compute(result.draws.slice(s![.., .., *off..*off + *len]));
        let dir = writer.subdir(&latent.name)?;
        let (real, complex) = latent_samples(&result.draws, *off, *len, &ty.shape, ty.is_complex())?;
        let dtype = if ty.is_complex() { "complex128" } else { "float64" };
        match &complex {
            Some(z) => {
                write_npy(&dir.join("samples.npy"), z)?;
                let mean = z.mean_axis(Axis(0)).and_then(|m| m.mean_axis(Axis(0)));
                if let Some(m) = &mean {
                    write_npy(&dir.join("mean.npy"), m)?;
                }
                let mag = z.mapv(|v| v.norm());
                write_moments(&dir, &mag, ty.shape.len() == 2, false)?;
            }
            None => write_moments(&dir, &real, ty.shape.len() == 2, true)?,
        }
        result.summary.latents.push(LatentSummary::from_diagnostics(
            &latent.name,
            &ty.shape,
            dtype,
            &diag,
        ));
        diags.push((latent.name.clone(), ty.shape.clone(), diag));
    }
    result.summary.update_extremes();
    result.summary.write(&writer.path("summary.json"))?;
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
    let dir = writer.commit()?;
    Ok((dir, table))
}

/// mean.npy / std.npy (and the pngs for images) from samples [chains, draws, ...shape].
fn write_moments(dir: &Path, x: &ArrayD<f64>, image: bool, samples_npy: bool) -> anyhow::Result<()> {
    let sh = x.shape().to_vec();
    let (c, n) = (sh[0], sh[1]);
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
    }
    write_npy(&dir.join("std.npy"), &std)?;
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
