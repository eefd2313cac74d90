//! `uq bench train`: median wall time of one `uq train` step (batch, forward, backward, Adam) on the
//! fast path and, with `--reference`, through candle's autograd, in one process; prints one JSON line.

use std::process::ExitCode;

use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use uq::score::fast::Isa;
use uq::score::train::{
    Augment, AugmentParams, ImageSet, LrSchedule, PhaseAug, SigmaDist, TrainConfig, Trainer,
};
use uq::score::NetKind;

#[derive(Clone, Debug, Args)]
pub struct TrainBenchArgs {
    /// Channels per scale, top to bottom.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub channels: Vec<usize>,
    /// Image side length.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Images per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Timed steps per measurement.
    #[arg(long, default_value_t = 10)]
    pub reps: usize,
    /// Untimed steps before each measurement.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Also time the candle autograd step (the trainer's fallback), round-robin with the fast path.
    #[arg(long)]
    pub reference: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Serialize)]
struct Report {
    channels: Vec<usize>,
    size: usize,
    batch: usize,
    isa: String,
    threads: usize,
    reps: usize,
    step_ms: f64,
    ref_step_ms: Option<f64>,
    speedup: Option<f64>,
}

/// A VE trainer on 32 random images (the step's cost does not depend on the pixels).
fn trainer(a: &TrainBenchArgs, fast: bool) -> anyhow::Result<Trainer> {
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let n = a.size * a.size;
    let img = |_| (0..n).map(|_| rng.random::<f32>()).collect::<Vec<f32>>();
    let train: Vec<Vec<f32>> = (0..32).map(img).collect();
    let heldout = train[..2].to_vec();
    let data = ImageSet {
        size: a.size,
        channels: 1,
        train,
        heldout,
    };
    let cfg = TrainConfig {
        kind: NetKind::Ve,
        channels: a.channels.clone(),
        size: a.size,
        image_channels: 1,
        steps: usize::MAX,
        batch: a.batch,
        lr: 1e-4,
        seed: a.seed,
        sigma: SigmaDist::LogUniform { min: 0.01, max: 20.0 },
        beta_start: 1e-4,
        beta_end: 0.02,
        timesteps: 1000,
        holdout: 0.1,
        phase: PhaseAug::None,
        augment: Augment::Full,
        augment_params: AugmentParams::default(),
        lr_schedule: LrSchedule::Constant,
        ema: 0.999,
    };
    let mut t = Trainer::new(cfg, data)?;
    t.fast = fast;
    Ok(t)
}

pub fn run_train(a: TrainBenchArgs) -> anyhow::Result<ExitCode> {
    if a.reps == 0 || a.batch == 0 {
        anyhow::bail!("--reps and --batch must be at least 1");
    }
    let mut fast = trainer(&a, true)?;
    let mut slow = if a.reference {
        Some(trainer(&a, false)?)
    } else {
        None
    };
    let mut fs: Vec<super::bench::Timed> = vec![Box::new(|| {
        fast.train_step()?;
        Ok(())
    })];
    if let Some(s) = slow.as_mut() {
        fs.push(Box::new(|| {
            s.train_step()?;
            Ok(())
        }));
    }
    let t = super::bench::medians_ms(a.warmup, a.reps, &mut fs)?;
    let ref_step_ms = t.get(1).copied();
    let r = Report {
        channels: a.channels.clone(),
        size: a.size,
        batch: a.batch,
        isa: format!("{:?}", Isa::detect()),
        threads: rayon::current_num_threads(),
        reps: a.reps,
        step_ms: t[0],
        ref_step_ms,
        speedup: ref_step_ms.map(|r| r / t[0]),
    };
    println!("{}", serde_json::to_string(&r)?);
    Ok(ExitCode::SUCCESS)
}
