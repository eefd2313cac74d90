//! `uq train`'s augmentation and learning-rate-schedule flags, and their mapping onto the trainer's settings.

use clap::{Args, ValueEnum};

use uq::score::train::{Augment, AugmentParams, LrSchedule};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AugmentArg {
    /// Random flips only.
    Flips,
    /// Flips, rotation, scale, elastic warp and intensity remapping (and, when asked, blur or
    /// sharpening, a bias field, acquisition noise).
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LrScheduleArg {
    /// --lr throughout.
    Constant,
    /// Linear warm-up over --warmup steps, then a cosine decay to --lr/20 at --steps.
    Cosine,
}

/// Augmentation and schedule flags (defaults: uq's original recipe; `models/README.md` gives the
/// shipped prior's).
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Augmentation (with --augment full) and learning-rate schedule")]
pub struct AugmentFlags {
    /// `flips`: random horizontal and vertical flips. `full`: flips, then with probability --p-warp a
    /// random rotation (±--rotate°), scale (--scale) and smooth elastic warp (--elastic), and (real
    /// images) with probability 0.5 an intensity remapping c·x^γ (γ 0.7–1.4, c 0.85–1.15); then the
    /// terms below whose probabilities are above 0.
    #[arg(long, value_enum, default_value_t = AugmentArg::Flips)]
    pub augment: AugmentArg,
    /// Largest rotation, degrees.
    #[arg(long, default_value_t = 15.0, value_name = "DEG")]
    pub rotate: f64,
    /// Range of the log-uniform scale about the image centre.
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        num_args = 1,
        default_value = "0.9,1.1",
        value_name = "LO,HI"
    )]
    pub scale: Vec<f64>,
    /// Scale the two axes independently (heads differ in width against length).
    #[arg(long, overrides_with = "no_aniso")]
    pub aniso: bool,
    /// Scale both axes alike: undoes an earlier --aniso (a recipe's, say); the later of the two wins.
    #[arg(long, overrides_with = "aniso")]
    no_aniso: bool,
    /// Standard deviation of the elastic warp's offsets (a 5 × 5 grid), pixels at 64 × 64.
    #[arg(long, default_value_t = 1.5, value_name = "PX")]
    pub elastic: f64,
    /// Probability of the geometric warp (rotation, scale, elastic).
    #[arg(long, default_value_t = 0.75, value_name = "P")]
    pub p_warp: f64,
    /// Probability of a random blur or sharpening x + a(x − G₁x), a ~ U(−0.6, 1), G₁ a Gaussian of
    /// sd 1 px (scanners and protocols differ in resolution).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub p_sharp: f64,
    /// Probability of a smooth multiplicative bias field x·exp(b), b a random cubic (Legendre
    /// terms of degree 1–3 in the image coordinates, coefficients N(0, --bias²)): receive-coil
    /// inhomogeneity.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub p_bias: f64,
    /// Standard deviation of the bias field's coefficients (log scale; 0.1 gives about ±13 %).
    #[arg(long, default_value_t = 0.1, value_name = "SD")]
    pub bias: f64,
    /// Probability of Rician acquisition noise |x + s(n₁ + i n₂)| inside the image's support (real
    /// images).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub p_noise: f64,
    /// Range of the log-uniform noise standard deviation s.
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        num_args = 1,
        default_value = "0.005,0.05",
        value_name = "LO,HI"
    )]
    pub noise: Vec<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = LrScheduleArg::Constant)]
    pub lr_schedule: LrScheduleArg,
    /// Warm-up steps of `--lr-schedule cosine`.
    #[arg(long, default_value_t = 200, value_name = "STEPS")]
    pub warmup: usize,
}

/// The pair `flag LO,HI` as an array, or an error naming the flag.
fn pair(flag: &str, v: &[f64]) -> anyhow::Result<[f64; 2]> {
    match v {
        [lo, hi] => Ok([*lo, *hi]),
        _ => anyhow::bail!("--{flag} takes LO,HI (two numbers); got {} value(s)", v.len()),
    }
}

impl AugmentFlags {
    /// The trainer's augmentation, its settings and the schedule; an error names a flag that is out
    /// of range, or one that has no effect under `--augment flips`.
    pub fn settings(&self) -> anyhow::Result<(Augment, AugmentParams, LrSchedule)> {
        let params = AugmentParams {
            rotate_deg: self.rotate,
            scale: pair("scale", &self.scale)?,
            aniso: self.aniso && !self.no_aniso,
            elastic_px: self.elastic,
            p_warp: self.p_warp,
            p_sharp: self.p_sharp,
            p_bias: self.p_bias,
            bias: self.bias,
            p_noise: self.p_noise,
            noise: pair("noise", &self.noise)?,
            ..AugmentParams::default()
        };
        if let Some(m) = params.invalid() {
            anyhow::bail!("{m}");
        }
        let augment = match self.augment {
            AugmentArg::Flips if params != AugmentParams::default() => anyhow::bail!(
                "--rotate, --scale, --aniso, --elastic, --p-warp, --p-sharp, --p-bias, --bias, \
                 --p-noise and --noise set `--augment full`'s terms: add --augment full (the default \
                 `flips` uses none of them)"
            ),
            AugmentArg::Flips => Augment::Flips,
            AugmentArg::Full => Augment::Full,
        };
        let schedule = match self.lr_schedule {
            LrScheduleArg::Constant if self.warmup != 200 => {
                anyhow::bail!("--warmup sets `--lr-schedule cosine`'s warm-up: add --lr-schedule cosine")
            }
            LrScheduleArg::Constant => LrSchedule::Constant,
            LrScheduleArg::Cosine => LrSchedule::Cosine { warmup: self.warmup },
        };
        Ok((augment, params, schedule))
    }
}
