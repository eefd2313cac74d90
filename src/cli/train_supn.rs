//! `uq train --kind supn`: the two-stage SUPN recipe (mean, then the precision's Cholesky factor) with
//! held-out reports, checkpoints every K steps, resume and Ctrl-C.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::train::TrainArgs;
use uq::score::train::ImageSet;
use uq::supn::{SupnConfig, SupnHistory, SupnTrainConfig, SupnTrainer};

/// Run SUPN training from `uq train` arguments on already read images `(n, C, H, W)`.
pub fn run(args: &TrainArgs, images: &ndarray::Array4<f32>, data_name: &str) -> anyhow::Result<ExitCode> {
    if images.dim().1 != 1 {
        anyhow::bail!("--kind supn trains on real images (one channel); `{data_name}` is complex");
    }
    let data = ImageSet::split_planes(images, args.size, args.holdout, args.seed, data_name)?;
    let stencil = args.stencil.unwrap_or(3);
    if stencil.is_multiple_of(2) {
        anyhow::bail!(
            "--stencil {stencil}: give an odd size (3 for 3×3, 5 for 5×5, 1 for a diagonal precision)"
        );
    }
    // --channels is top to bottom (full resolution first), as for the U-Nets.
    let net = SupnConfig {
        height: args.size,
        width: args.size,
        latent: args.latent,
        radius: stencil / 2,
        channels: args.channels.iter().rev().copied().collect(),
    };
    net.validate()
        .map_err(|e| anyhow::anyhow!("--size/--channels/--latent/--stencil: {e}"))?;
    let stage1 = args.stage1.unwrap_or(args.steps / 2).min(args.steps);
    let cfg = SupnTrainConfig {
        net,
        steps: args.steps,
        stage1,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        sigma0: args.sigma0,
    };
    let ckpt = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| super::train::default_checkpoint(&args.out));
    let counts = (data.train.len(), data.heldout.len());
    let mut trainer = match &args.resume {
        Some(p) => SupnTrainer::resume(
            p,
            args.steps,
            args.stage1,
            args.stencil.map(|s| s / 2),
            data.train,
            data.heldout,
        )
        .with_context(|| format!("resuming from `{}`", p.display()))?,
        None => SupnTrainer::new(cfg, data.train, data.heldout)?,
    };
    if trainer.cfg.seed != args.seed {
        // The held-out split comes from --seed: another seed would train on held-out images.
        anyhow::bail!(
            "`{}` was trained with --seed {}: pass the same --seed (and --holdout) to resume, so that the held-out images stay held out",
            args.resume.as_deref().unwrap_or(Path::new("?")).display(),
            trainer.cfg.seed
        );
    }
    if args.dry_run {
        let config = serde_json::to_value(&trainer.cfg)?;
        return super::recipe::print_plan(args, config, trainer.step, data_name, counts, &ckpt);
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing Ctrl-C handler")?;
    }
    let c = &trainer.cfg;
    eprintln!(
        "training SUPN (latent {}, {}×{} stencil, channels {:?}) on {data_name}: steps {}..{}, stage 1 (mean, σ₀ = {}) until {}, then the precision",
        c.net.latent,
        2 * c.net.radius + 1,
        2 * c.net.radius + 1,
        c.net.channels,
        trainer.step,
        c.steps,
        c.sigma0,
        c.stage1
    );
    let t0 = Instant::now();
    let before = trainer.history.last().map_or(0.0, |h| h.seconds);
    let start = trainer.step;
    let every = args.checkpoint_every.max(1);
    let (mut sum, mut count) = (0.0, 0usize);
    while trainer.step < trainer.cfg.steps {
        if stop.load(Ordering::SeqCst) {
            trainer.write_checkpoint(&ckpt)?;
            eprintln!(
                "interrupted at step {}; checkpoint {}",
                trainer.step,
                ckpt.display()
            );
            return Ok(ExitCode::from(130));
        }
        sum += trainer.train_step()?;
        count += 1;
        // Report at every K steps and at the end of stage 1 (where the loss changes meaning).
        let end1 = trainer.step == trainer.cfg.stage1;
        if trainer.step % every == 0 || trainer.step == trainer.cfg.steps || end1 {
            let seconds = before + t0.elapsed().as_secs_f64();
            let held = trainer.heldout_loss()?;
            let h = SupnHistory {
                step: trainer.step,
                train: sum / count.max(1) as f64,
                heldout: held,
                seconds,
            };
            trainer.history.push(h);
            (sum, count) = (0.0, 0);
            trainer.write_checkpoint(&ckpt)?;
            write_model(&trainer, &args.out, data_name)?;
            let rate = (trainer.step - start) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "step {:>6}  stage {}  train {:.4}  held-out {:.4} nats/pixel  {:.3} steps/s  {:.0} s",
                h.step,
                if h.step <= trainer.cfg.stage1 { 1 } else { 2 },
                h.train,
                h.heldout,
                rate,
                h.seconds
            );
        }
    }
    write_model(&trainer, &args.out, data_name)?;
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn write_model(trainer: &SupnTrainer, out: &Path, data_name: &str) -> anyhow::Result<()> {
    let extra = [
        ("train_data", data_name.to_string()),
        ("train_command", super::command_line().join(" ")),
    ];
    trainer.export(out, &extra)?;
    Ok(())
}
