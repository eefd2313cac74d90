//! `uq train`: denoising score matching for the U-Net priors, with checkpoints and resume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::train_aug::AugmentFlags;
use uq::score::train::{
    max_rotated_distance, read_training_images, PhaseAug, SigmaDist, TrainConfig, Trainer,
};
use uq::score::train::{read_checkpoint, write_checkpoint, ImageSet};
use uq::score::{
    max_pairwise_distance, net_config, read_safetensors, write_safetensors, written_by_uq, NetKind,
    ScoreHeader,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    /// Noise-conditional score (annealed HMC / Langevin).
    Ve,
    /// DDPM ε-network (DPS, CCDF).
    Vp,
    /// Structured-Gaussian VAE prior (`supn("file", z)`; docs/supn.md): two stages, the mean then the
    /// precision's sparse Cholesky factor.
    Supn,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SigmaDistArg {
    /// |σ| log-uniform in [--sigma-min, --sigma-max], random sign.
    LogUniform,
    /// σ ~ N(0, s²) with s = --sigma-scale (Ramzi et al.).
    Normal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// Train on the images as they are: real → 1-channel network, complex → 2-channel (re, im).
    None,
    /// Complex prior: every draw is `x · exp(iφ)` with a fresh smooth random phase φ (θ₀ ~ U(−π, π)
    /// plus A·p/max|p|, p a random quadratic in the image coordinates, A ~ U(0, π)); 2-channel network.
    Smooth,
}

/// Train a score prior on an (n, H, W) `.npy` of images: real (float32/64, values in [0, 1]) or
/// complex (complex64/128, a 2-channel re/im prior).
#[derive(Clone, Debug, Args)]
pub struct TrainArgs {
    /// Training images, (n, H, W): float32/float64 in [0, 1] (a real prior, unless --phase smooth) or
    /// complex64/complex128 (a complex prior with re, im channels). Several files, comma-separated,
    /// are concatenated (same size and kind) before the held-out split; a later --data replaces an
    /// earlier one (as every flag does: see --recipe).
    #[arg(long, value_delimiter = ',', required = true, action = clap::ArgAction::Set)]
    pub data: Vec<PathBuf>,
    #[command(flatten)]
    pub aug: AugmentFlags,
    /// Keep an exponential moving average of the weights with this decay (e.g. 0.999) and write it
    /// as the model (checkpoints keep both); 0 writes the raw weights.
    #[arg(long, default_value_t = 0.0)]
    pub ema: f64,
    /// `smooth`: train a complex prior from real (or complex) images, multiplying each draw by
    /// exp(iφ) with a fresh smooth random phase φ (see models/README.md for how φ is drawn).
    #[arg(long, value_enum, default_value_t = PhaseArg::None)]
    pub phase: PhaseArg,
    /// `ve` (noise-conditional score), `vp` (DDPM ε-prediction) or `supn` (structured-Gaussian VAE).
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// Output model file (`.safetensors` with uq metadata).
    #[arg(long)]
    pub out: PathBuf,
    /// Image side length (must match the data).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// U-Net channels per scale, top to bottom.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64", action = clap::ArgAction::Set)]
    pub channels: Vec<usize>,
    /// Total optimiser steps (on resume: the total to reach).
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// Images per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Seed for initialisation, split, batches and noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue from this checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start from the weights of this model file (a `uq train` output of the same kind and
    /// architecture, e.g. a shipped prior) with a fresh optimiser: fine-tuning, or continuing a run
    /// whose checkpoint is gone. Not with --resume.
    #[arg(long, conflicts_with = "resume", value_name = "MODEL")]
    pub init: Option<PathBuf>,
    /// Report held-out loss and write a checkpoint every K steps.
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: usize,
    /// Checkpoint path (default: OUT with extension `.ckpt.safetensors`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// VE noise-level distribution.
    #[arg(long, value_enum, default_value_t = SigmaDistArg::LogUniform)]
    pub sigma_dist: SigmaDistArg,
    /// VE: smallest |σ| (log-uniform).
    #[arg(long, default_value_t = 0.01)]
    pub sigma_min: f64,
    /// VE: largest |σ| (default: the largest pairwise distance between training images, Song & Ermon;
    /// with --phase smooth the largest ‖xᵢ‖ + ‖xⱼ‖, the distance at opposite phases).
    #[arg(long)]
    pub sigma_max: Option<f64>,
    /// VE with `--sigma-dist normal`: s in σ ~ N(0, s²).
    #[arg(long, default_value_t = 1.0)]
    pub sigma_scale: f64,
    /// Fraction of images held out for the held-out loss.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// SUPN: latent size M.
    #[arg(long, default_value_t = 32)]
    pub latent: usize,
    /// SUPN: stencil of the precision's Cholesky factor (3 for 3×3, 5 for 5×5; 1 for a diagonal
    /// precision, the baseline). Default 3; with --resume, the checkpoint's, and a different one may
    /// be given up to the end of stage 1 (the precision branch starts afresh).
    #[arg(long)]
    pub stencil: Option<usize>,
    /// SUPN: steps of stage 1 (the mean, with a fixed diagonal precision); default half of --steps.
    /// With --resume during stage 1 it moves the switch (not before the checkpoint's step).
    #[arg(long)]
    pub stage1: Option<usize>,
    /// SUPN: stage 1's fixed standard deviation σ₀ (stage 2 starts from precision I/σ₀²).
    #[arg(long, default_value_t = 0.1)]
    pub sigma0: f64,
    /// Read flags from FILE and put them here, in place: a flag given later (on the command line or
    /// in a later recipe) overrides an earlier one. Whitespace separates, `#` starts a comment,
    /// quotes and a trailing backslash work as in a shell; paths are relative to where uq runs. The
    /// shipped priors' recipes are in models/recipes/.
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Read the data, check every setting (and --init / --resume) and print the resolved training
    /// settings as JSON on stdout; train nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Every `--data` file, concatenated along the image axis (all must share size and kind).
fn read_all(paths: &[PathBuf]) -> anyhow::Result<ndarray::Array4<f32>> {
    let mut sets = Vec::with_capacity(paths.len());
    for p in paths {
        let a = read_training_images(p)?;
        if let Some(first) = sets.first() {
            let (f, g): (&ndarray::Array4<f32>, _) = (first, a.dim());
            if (f.dim().1, f.dim().2, f.dim().3) != (g.1, g.2, g.3) {
                anyhow::bail!(
                    "training data `{}` has images of {}×{}×{} (channels × H × W); `{}` has {}×{}×{}: \
                     all --data files must match",
                    p.display(),
                    g.1,
                    g.2,
                    g.3,
                    paths[0].display(),
                    f.dim().1,
                    f.dim().2,
                    f.dim().3
                );
            }
        }
        sets.push(a);
    }
    let views: Vec<_> = sets.iter().map(|a| a.view()).collect();
    Ok(ndarray::concatenate(ndarray::Axis(0), &views)?)
}

/// The default checkpoint beside `--out` (`m.safetensors` → `m.ckpt.safetensors`).
pub(super) fn default_checkpoint(out: &Path) -> PathBuf {
    out.with_extension("ckpt.safetensors")
}

/// uq replaces a model or checkpoint file it wrote, never another file: refuse a folder, or an
/// existing file without uq's metadata, before any work.
fn replaceable(path: &Path, what: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{what} `{}` is a folder: give a file path (e.g. `{}/model.safetensors`)",
            path.display(),
            path.display()
        );
    }
    if path.exists() && !written_by_uq(path) {
        anyhow::bail!(
            "{what} `{}` exists and is not a model or checkpoint uq wrote: uq replaces only its own \
             files; choose another path, or move that file away",
            path.display()
        );
    }
    Ok(())
}

/// Run `uq train`. Exit 0 when done, 130 after Ctrl-C (checkpoint written), errors as `anyhow`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let ckpt_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_checkpoint(&args.out));
    replaceable(&args.out, "--out")?;
    replaceable(&ckpt_path, "the checkpoint (--checkpoint)")?;
    let images = read_all(&args.data)?;
    let data_name = args
        .data
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    if !(0.0..1.0).contains(&args.ema) {
        anyhow::bail!(
            "--ema {} must be in [0, 1) (e.g. 0.999; 0 turns it off)",
            args.ema
        );
    }
    let kind = match args.kind {
        KindArg::Ve => NetKind::Ve,
        KindArg::Vp => NetKind::Vp,
        KindArg::Supn if args.init.is_some() => {
            anyhow::bail!(
                "--init starts a score network (--kind ve or vp); a SUPN run continues with --resume"
            )
        }
        KindArg::Supn => return super::train_supn::run(&args, &images, &data_name),
    };
    let data = ImageSet::split_planes(&images, args.size, args.holdout, args.seed, &data_name)?;
    let phase = match args.phase {
        PhaseArg::None => PhaseAug::None,
        PhaseArg::Smooth => PhaseAug::Smooth,
    };
    let image_channels = if phase == PhaseAug::Smooth {
        2
    } else {
        data.channels
    };
    let sigma = match args.sigma_dist {
        SigmaDistArg::Normal => SigmaDist::Normal { s: args.sigma_scale },
        SigmaDistArg::LogUniform => SigmaDist::LogUniform {
            min: args.sigma_min,
            max: args.sigma_max.unwrap_or_else(|| match phase {
                PhaseAug::Smooth => max_rotated_distance(&data.train),
                PhaseAug::None => max_pairwise_distance(&data.train),
            }),
        },
    };
    let (augment, augment_params, lr_schedule) = args.aug.settings()?;
    let cfg = TrainConfig {
        kind,
        channels: args.channels.clone(),
        size: args.size,
        image_channels,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        sigma,
        beta_start: 1e-4,
        beta_end: 0.02,
        timesteps: 1000,
        holdout: args.holdout,
        phase,
        augment,
        augment_params,
        lr_schedule,
        ema: args.ema,
    };
    let mut trainer = match &args.resume {
        Some(p) => {
            let ck = read_checkpoint(p)?;
            Trainer::resume(cfg, data, ck, &p.display().to_string())?
        }
        None => {
            let mut t = Trainer::new(cfg, data)?;
            if let Some(p) = &args.init {
                let (tensors, meta) = read_safetensors(p)?;
                let found = net_config(&ScoreHeader::from_metadata(&p.display().to_string(), &meta)?).kind;
                if found != kind {
                    let name = |k: NetKind| format!("{k:?}").to_lowercase();
                    anyhow::bail!(
                        "--init {}: a {} network, but this run trains --kind {}",
                        p.display(),
                        name(found),
                        name(kind)
                    );
                }
                t.init_from(&tensors, &p.display().to_string())?;
            }
            t
        }
    };
    if args.dry_run {
        let config = serde_json::to_value(&trainer.cfg)?;
        let counts = (trainer.data.train.len(), trainer.data.heldout.len());
        return super::recipe::print_plan(&args, config, trainer.step, &data_name, counts, &ckpt_path);
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing Ctrl-C handler")?;
    }
    eprintln!(
        "training {:?} {} U-Net {:?} on {} ({} train / {} held-out images), steps {}..{}, σ: {:?}",
        trainer.cfg.kind,
        match (trainer.cfg.image_channels, trainer.cfg.phase) {
            (2, PhaseAug::Smooth) => "complex (random smooth phase)",
            (2, _) => "complex",
            _ => "real",
        },
        trainer.cfg.channels,
        data_name,
        trainer.data.train.len(),
        trainer.data.heldout.len(),
        trainer.step,
        trainer.cfg.steps,
        trainer.cfg.sigma
    );
    let bar = ProgressBar::new(trainer.cfg.steps as u64);
    bar.set_position(trainer.step as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}")
    {
        bar.set_style(style);
    }
    let t0 = Instant::now();
    let prior_seconds = trainer.history.last().map(|h| h.seconds).unwrap_or(0.0);
    let start_step = trainer.step;
    let every = args.checkpoint_every.max(1);
    let mut ema = None::<f64>;
    while trainer.step < trainer.cfg.steps {
        if stop.load(Ordering::SeqCst) {
            bar.abandon();
            write_checkpoint(&ckpt_path, &trainer.checkpoint()?)?;
            eprintln!(
                "interrupted at step {}; checkpoint {}",
                trainer.step,
                ckpt_path.display()
            );
            return Ok(ExitCode::from(130));
        }
        let info = trainer.train_step()?;
        let e = ema.map_or(info.loss, |e| 0.98 * e + 0.02 * info.loss);
        ema = Some(e);
        let rate = (trainer.step - start_step) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        bar.set_position(info.step as u64);
        bar.set_message(format!("loss {e:.4} {rate:.2} steps/s"));
        if trainer.step % every == 0 || trainer.step == trainer.cfg.steps {
            let h = trainer.report(prior_seconds + t0.elapsed().as_secs_f64())?;
            write_checkpoint(&ckpt_path, &trainer.checkpoint()?)?;
            write_model(&trainer, &args.out, &data_name)?;
            let line = format!(
                "step {:>6}  train {:.5}  held-out {:.5}  {:.3} steps/s  {:.0} s",
                h.step, h.train, h.heldout, rate, h.seconds
            );
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
    }
    bar.finish();
    if trainer.history.last().map(|h| h.step) != Some(trainer.step) {
        trainer.report(prior_seconds + t0.elapsed().as_secs_f64())?;
        write_checkpoint(&ckpt_path, &trainer.checkpoint()?)?;
    }
    write_model(&trainer, &args.out, &data_name)?;
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Write the current weights as a model file with the uq header and training provenance.
fn write_model(trainer: &Trainer, out: &Path, data_name: &str) -> anyhow::Result<()> {
    let mut extra = BTreeMap::new();
    extra.insert("train_data".to_string(), data_name.to_string());
    extra.insert("train_images".to_string(), trainer.data.train.len().to_string());
    extra.insert(
        "heldout_images".to_string(),
        trainer.data.heldout.len().to_string(),
    );
    extra.insert("train_command".to_string(), super::command_line().join(" "));
    let meta = trainer.model_metadata(&extra);
    write_safetensors(out, &trainer.model_weights()?, meta)?;
    Ok(())
}
