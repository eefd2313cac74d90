//! `uq calibrate`: simulation-based calibration of a model as written (truths from the prior or
//! `--truths`, data from the likelihood, the planned sampler), written to a calibration folder.

#[path = "calibrate_out.rs"]
mod out;

use super::flags::{parse_sampler, SamplerFlags};
use super::{out_folder, parse_binding, EXIT_MODEL_ERROR};
use anyhow::Context;
use clap::Args;
use ndarray::{Array2, Ix2};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::calibrate::{self, Spec};
use uq::check::{Model, PriorSpec};
use uq::graph::Value;
use uq::output::write_npy;
use uq::session::{self, Request, RunProgress};
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The model file (`.uq`).
    pub model: PathBuf,
    /// Bind data NAME to a file, as in `uq sample` (observed data give only their shape here: their
    /// values are simulated); repeatable.
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Repetitions: truth, simulated data, one full run of the sampler each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    pub reps: u32,
    /// Ground truths of the score latent, `.npy` of shape [N, <latent shape>] with N ≥ --reps
    /// (held-out images: the useful case for a learned prior). Without it a score latent's truths are
    /// drawn by the planned sampler on the prior alone.
    #[arg(long, value_name = "FILE.npy")]
    pub truths: Option<PathBuf>,
    /// Output folder [default: uq-out/<model name>-calibration/]; the same rules as `uq sample --out`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Bins of the uniformity tests [default: reps/10, 2 to 20].
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub bins: Option<u32>,
    /// The sampler, as in `uq sample`.
    #[arg(long, default_value = "auto", value_parser = parse_sampler)]
    pub sampler: String,
    /// Conformal recalibration: learn per level the scale of the intervals' half-widths that gives
    /// nominal coverage on the first half of the repetitions, check it on the second half, and write
    /// OUT/interval_scale.json for `uq sample --interval-scale` (meaningful with --truths).
    #[arg(long)]
    pub conformal: bool,
    /// `gmm`: replace the latent's prior by a Gaussian mixture fitted to --gmm-train images, whose
    /// posterior under the model's linear-Gaussian likelihood is exact, and compare every
    /// repetition's draws with it (mean error and sd ratio in posterior sds, mixture weights).
    #[arg(long, value_parser = ["gmm"])]
    pub reference: Option<String>,
    /// Training images for the reference mixture, `.npy` [N, <latent shape>].
    #[arg(long, value_name = "FILE.npy", requires = "reference")]
    pub gmm_train: Option<PathBuf>,
    /// Components of the reference mixture.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub gmm_components: u32,
    /// With a network (`score(…)`) prior: run up to this many repetitions at once, each in its own
    /// thread, their network evaluations in one batch; every repetition's results are those it has
    /// alone. 1 (the default): one after another, which was faster on a 2-core host (8 at a time took
    /// 1.37× as long on models/mri.uq with head64_ve); for hosts with more cores. Memory grows with the rows of a
    /// batch (R × particles): on models/mri.uq with head64_ve, 32 particles a repetition, 8 at a time peaked
    /// at 7.6 GiB (the [32, 64, 128] network of mri64_ve needs about 4× the activations).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch_reps: u32,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub flags: SamplerFlags,
}

/// Rows of flat values (complex interleaved) of the score latent from a `[N, …shape]` file.
fn read_truths(path: &Path, model: &Model) -> anyhow::Result<Array2<f64>> {
    let latent = model
        .latents
        .iter()
        .find(|l| matches!(l.prior, PriorSpec::Score { .. }))
        .context("--truths: the model has no score latent (analytic priors draw their own truths)")?;
    let v = uq::check::read_npy(path).with_context(|| format!("--truths {}", path.display()))?;
    let shape = v.shape().to_vec();
    if shape.len() != latent.ty.shape.len() + 1 || shape[1..] != latent.ty.shape[..] {
        anyhow::bail!(
            "--truths {}: shape {:?}, expected [N, {}] for latent `{}`",
            path.display(),
            shape,
            latent
                .ty
                .shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            latent.name
        );
    }
    let n = shape[0];
    let flat: Vec<f64> = match (&v, latent.ty.is_complex()) {
        (Value::Real(a), false) => a.iter().copied().collect(),
        (Value::Real(a), true) => a.iter().flat_map(|&x| [x, 0.0]).collect(),
        (Value::Complex(a), true) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
        (Value::Complex(_), false) => anyhow::bail!(
            "--truths {}: complex images for the real latent `{}`",
            path.display(),
            latent.name
        ),
    };
    if flat.iter().any(|x| !x.is_finite()) {
        anyhow::bail!("--truths {}: holds NaN or infinite values", path.display());
    }
    let len = flat.len() / n.max(1);
    Ok(Array2::from_shape_vec((n, len), flat)?.into_dimensionality::<Ix2>()?)
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let mut sources = SourceMap::new();
    let scratch = tempfile::tempdir()?;
    let bindings = match placeholders(&args, scratch.path()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    let Some((model, data)) = super::load_model(&args.model, &bindings, &mut sources) else {
        return Ok(ExitCode::from(EXIT_MODEL_ERROR));
    };
    let (model, gmm) = match reference_model(&args, model) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(super::EXIT_USAGE));
        }
    };
    let request = Request {
        sampler: Some(args.sampler.clone()),
        sampler_origin: "--sampler",
        given: args.flags.given.clone(),
    };
    let base = match session::prepare(&model, data.clone(), &request) {
        Ok(p) => p,
        Err(e) => return Ok(super::sample::report_prepare(e, &sources)),
    };
    let reference = match gmm {
        Some(g) => match calibrate::Reference::new(&base.built.posterior, g) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(super::EXIT_USAGE));
            }
        },
        None => None,
    };
    let mut truths = match &args.truths {
        Some(p) => match read_truths(p, &model) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(super::EXIT_USAGE));
            }
        },
        None => None,
    };
    let interrupts = out_folder::Interrupts::install();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("uq-out").join(format!("{}-calibration", model.name)));
    let writer = match out_folder::open(&out) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    interrupts.arm(&writer);
    let reps = args.reps as usize;
    let spec = Spec {
        reference: reference.as_ref(),
        batch_reps: args.batch_reps as usize,
        ..Spec::new(&model, data, request, reps)
    };
    if !args.quiet {
        let how = match calibrate::batched(&spec, &base) {
            true => format!(
                "; repetitions {} at a time, the network batched across them",
                spec.batch_reps.min(reps)
            ),
            false => String::new(),
        };
        eprintln!("sampler: {} — {}{how}", base.plan.sampler.name, base.plan.reason);
    }
    let bar = super::sample::progress_bar(args.quiet);
    let progress = |p: RunProgress<'_>| show(&bar, p);
    let seed = base.settings.seed()?;
    if truths.is_none() {
        if !args.quiet
            && model
                .latents
                .iter()
                .any(|l| matches!(l.prior, PriorSpec::Score { .. }))
        {
            eprintln!("drawing {reps} truths from the score prior with the planned sampler (no --truths)");
        }
        match calibrate::prior_truths(
            &model,
            spec.data.clone(),
            &spec.request,
            reps,
            seed,
            &progress,
            &interrupts.stop,
        ) {
            Ok(t) => truths = t,
            Err(e) => {
                bar.abandon();
                eprintln!("error: {e}");
                return Ok(ExitCode::from(EXIT_MODEL_ERROR));
            }
        }
    }
    bar.set_length(reps as u64);
    bar.set_position(0);
    let spec = Spec { truths, ..spec };
    // The bar is hidden when stderr is not a terminal (a batch job's log): a line per repetition.
    let lines = !args.quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    let mut on_rep = |done: usize, total: usize| {
        bar.set_position(done as u64);
        if lines {
            eprintln!(
                "repetition {done}/{total} done ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let outcome = calibrate::calibrate(&spec, &base, &progress, &mut on_rep, &interrupts.stop);
    bar.finish_and_clear();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    if outcome.stats.is_empty() {
        writer.abort();
        eprintln!(
            "error: no repetition finished{}; nothing written",
            outcome
                .stopped
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::from(EXIT_MODEL_ERROR));
    }
    let layout = base.built.posterior.layout();
    let latents: Vec<(String, Vec<usize>, bool)> = model
        .latents
        .iter()
        .map(|l| (l.name.clone(), l.ty.shape.clone(), l.ty.is_complex()))
        .collect();
    let slots: Vec<(usize, usize)> = layout.slots.iter().map(|(_, o, l)| (*o, *l)).collect();
    let chosen = calibrate::chosen_params(&latents, &slots);
    let analysis = calibrate::analyse(&outcome.stats, &chosen, args.bins.map(|b| b as usize));
    let partial = outcome.stopped.is_some();
    out::write_folder(&writer, &args, &model, &outcome, &analysis, reps)?;
    let dir = if partial {
        writer.commit_partial()?
    } else {
        writer.commit()?
    };
    out::print_result(&analysis);
    if let Some(r) = out::reference_summary(&outcome) {
        println!(
            "against the exact mixture posterior (mean over repetitions): mean error {:.3} posterior sd (Monte-Carlo floor {:.3}), sd ratio {:.3}, mixture weights off by {:.3} (total variation)",
            r["mean_error"].as_f64().unwrap_or(f64::NAN),
            r["mc_floor"].as_f64().unwrap_or(f64::NAN),
            r["sd_ratio"].as_f64().unwrap_or(f64::NAN),
            r["weights_tv"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if args.conformal {
        out::print_conformal(&dir.join("interval_scale.json"));
    }
    match &outcome.stopped {
        None => {
            println!("wrote {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Some(why) => {
            println!(
                "wrote the {} repetitions done to {} ({why})",
                outcome.stats.len(),
                dir.display()
            );
            Ok(ExitCode::from(if why == "interrupted" {
                130
            } else {
                EXIT_MODEL_ERROR
            }))
        }
    }
}

fn show(bar: &indicatif::ProgressBar, p: RunProgress<'_>) {
    let msg = match p {
        RunProgress::Planned(_) => return,
        RunProgress::Chains(p) => format!("{:?} {}/{}", p.phase, p.iteration, p.total),
        RunProgress::Annealing { level, levels, .. } => format!("annealing level {level}/{levels}"),
        RunProgress::Dps(p) => format!("DPS step {}/{}", p.step, p.total),
    };
    bar.set_message(msg);
}

/// With `--reference gmm`: the mixture fitted to --gmm-train and the model with it as the prior.
fn reference_model(args: &CalibrateArgs, model: Model) -> anyhow::Result<(Model, Option<calibrate::Gmm>)> {
    if args.reference.is_none() {
        return Ok((model, None));
    }
    let path = args
        .gmm_train
        .as_ref()
        .context("--reference gmm needs --gmm-train FILE.npy (training images to fit the mixture to)")?;
    let v = uq::check::read_npy(path).with_context(|| format!("--gmm-train {}", path.display()))?;
    let Value::Real(a) = v else {
        anyhow::bail!("--gmm-train {}: real images expected", path.display());
    };
    let n = a.shape().first().copied().unwrap_or(0);
    let d = a.len() / n.max(1);
    let x = a.into_shape_with_order((n, d))?;
    if x.iter().any(|v| !v.is_finite()) {
        anyhow::bail!("--gmm-train {}: holds NaN or infinite values", path.display());
    }
    // σ floor: 1% of the images' overall sd, so that no component collapses onto one image.
    let floor = 0.01 * x.std(0.0).max(1e-12);
    let gmm = calibrate::fit_gmm(x.view(), args.gmm_components as usize, 50, floor, 1)
        .map_err(|e| anyhow::anyhow!("--gmm-train {}: {e}", path.display()))?;
    let m = calibrate::with_mixture_prior(&model, &gmm).map_err(|e| anyhow::anyhow!(e))?;
    Ok((m, Some(gmm)))
}

/// The --data bindings plus zeros of the declared type for observed data bound nowhere: calibration
/// simulates them, so a model need not name a file for its observations.
fn placeholders(args: &CalibrateArgs, dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut bindings = args.data.clone();
    let mut sources = SourceMap::new();
    let Ok(model) = uq::check::check_file(&args.model, &mut sources) else {
        // load_model reports the errors.
        return Ok(bindings);
    };
    for o in &model.observations {
        let Some(d) = model.data.get(o.data) else { continue };
        if d.default.is_some() || bindings.iter().any(|(n, _)| n == &d.name) {
            continue;
        }
        let path = dir.join(format!("{}.npy", d.name));
        if d.ty.is_complex() {
            write_npy(
                &path,
                &ndarray::ArrayD::<num_complex::Complex64>::zeros(d.ty.shape.clone()),
            )?;
        } else {
            write_npy(&path, &ndarray::ArrayD::<f64>::zeros(d.ty.shape.clone()))?;
        }
        bindings.push((d.name.clone(), path));
    }
    Ok(bindings)
}
