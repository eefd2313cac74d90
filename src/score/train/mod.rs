//! Denoising score matching for the U-Net priors: VE (Ramzi eq. 3) and VP (DDPM ε-MSE), seeded and resumable.
//!
//! VE loss per image: `mean ‖u + σ r(x + σu, σ)‖²` with the network output divided by |σ| (so this is
//! `‖u + sign(σ)·raw‖²`); σ is drawn either as in Ramzi et al. (`σ ~ N(0, s²)`, negative σ allowed)
//! or with |σ| log-uniform in `[σ_min, σ_max]` and a random sign. VP loss: `mean ‖ε − ε̂(x_t, t)‖²`
//! with `t` uniform in `0..T`. Every random draw comes from one ChaCha8 stream whose state is saved
//! in checkpoints, so `--resume` continues bit-identically.

mod adam;
mod augment;
mod checkpoint;
mod data;
mod eval;
mod phase;
mod step;

pub use adam::Adam;
pub use augment::{Augment, AugmentParams};
pub use checkpoint::{read_checkpoint, write_checkpoint, Checkpoint};
pub use data::{flipped, read_images, read_training_images, ImageSet};
pub use eval::{gaussian_filter, psnr, tune_gaussian_width, DenoiseReport};
pub use phase::{max_rotated_distance, smooth_phase, PhaseAug};
pub use step::{StepInfo, Trainer};

use serde::{Deserialize, Serialize};

use super::file::ScoreFileError;
use super::unet::NetKind;

/// How training draws the VE noise level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SigmaDist {
    /// Ramzi et al.: σ ~ N(0, s²).
    Normal { s: f64 },
    /// |σ| log-uniform in `[min, max]`, sign ±1 with probability ½ each.
    LogUniform { min: f64, max: f64 },
}

/// How the learning rate moves over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum LrSchedule {
    /// `--lr` throughout (uq's original recipe).
    #[default]
    Constant,
    /// Linear warm-up over `warmup` steps, then a cosine decay from `--lr` to `--lr`/20 at `--steps`
    /// (the recipe of `mri64_ve2`).
    Cosine { warmup: usize },
}

/// Everything that determines a training run (saved in checkpoints; `steps` may change on resume).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub kind: NetKind,
    pub channels: Vec<usize>,
    pub size: usize,
    pub image_channels: usize,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    /// VE only.
    pub sigma: SigmaDist,
    /// VP only: linear β schedule.
    pub beta_start: f64,
    pub beta_end: f64,
    pub timesteps: usize,
    /// Fraction of images held out.
    pub holdout: f64,
    /// Random smooth phase per draw (complex priors from real images); absent in older checkpoints.
    #[serde(default)]
    pub phase: PhaseAug,
    /// Augmentation of training draws (older checkpoints: flips only).
    #[serde(default)]
    pub augment: Augment,
    /// The settings of `Augment::Full` (older checkpoints: uq's original recipe).
    #[serde(default)]
    pub augment_params: AugmentParams,
    /// Learning-rate schedule (older checkpoints: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Decay of the exponential moving average of the weights that the model file holds (0: none,
    /// the file holds the raw weights; older checkpoints: 0).
    #[serde(default)]
    pub ema: f64,
}

impl TrainConfig {
    /// The parts that must agree between a checkpoint and a resumed run.
    /// Both sides are compared after one JSON round trip, as checkpoints store them (serde_json's
    /// default float parser is not always exact in the last digit).
    pub fn same_run(&self, other: &TrainConfig) -> bool {
        let strip = |c: &TrainConfig| -> Option<TrainConfig> {
            let c = TrainConfig {
                steps: 0,
                ..c.clone()
            };
            serde_json::to_string(&c)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
        };
        matches!((strip(self), strip(other)), (Some(a), Some(b)) if a == b)
    }

    /// The learning rate of the step after `step` steps.
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.lr_schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Cosine { warmup } => {
                let ramp = ((step + 1) as f64 / warmup.max(1) as f64).min(1.0);
                let frac = (step as f64 / self.steps.max(1) as f64).min(1.0);
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
                self.lr * ramp * (0.05 + 0.95 * cosine)
            }
        }
    }

    /// The VE σ range recorded in the model file.
    pub fn sigma_range(&self) -> (f64, f64) {
        match self.sigma {
            SigmaDist::Normal { s } => (0.01 * s, 3.0 * s),
            SigmaDist::LogUniform { min, max } => (min, max),
        }
    }
}

/// Why training cannot run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("training data `{path}`: {reason}")]
    Data { path: String, reason: String },
    #[error("invalid training setting: {0}")]
    Config(String),
    #[error("checkpoint `{path}`: {reason}")]
    Checkpoint { path: String, reason: String },
    #[error("--init `{path}`: {reason}")]
    Init { path: String, reason: String },
    #[error(transparent)]
    File(#[from] ScoreFileError),
    /// The message includes candle's, so it is not also the `source()` (see `OutputError`).
    #[error("network error: {0}")]
    Candle(candle_core::Error),
}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError::Candle(e)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
