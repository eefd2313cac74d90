//! `uq prior-eval MODEL --x X.npy (--t T | --sigma S) --out OUT.npy`: a prior network's raw output
//! for a batch, to check an imported model against the framework it came from.

use anyhow::Context;
use clap::Args;
use ndarray::{Array2, Array4, ArrayD, Axis};
use ndarray_npy::WriteNpyExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::graph::Value;
use uq::score::{DiffusersPrior, NetworkPrior, ScoreModel};

#[derive(Clone, Debug, Args)]
#[command(after_help = "What is written (f32, the shape of X):
  diffusers model (a folder, or its config.json): the network's output at integer timestep --t
    for X in the model's own units, exactly as `model(X, T).sample` in diffusers: ε, v or x₀ as
    its scheduler's prediction_type says.
  uq VE file: the score at noise level --sigma for X in data units.
  uq VP file: ε at timestep --t for X in data units (the network sees data_scale · X).
X is [B, C, H, W] or, for one-channel models, [B, H, W]; f32 or f64.")]
pub struct PriorEvalArgs {
    /// The prior: a diffusers `UNet2DModel` folder (or its config.json), or a uq `.safetensors` file.
    pub model: PathBuf,
    /// The batch of inputs, `.npy`.
    #[arg(long)]
    pub x: PathBuf,
    /// Integer timestep (diffusers and uq VP models).
    #[arg(long, conflicts_with = "sigma")]
    pub t: Option<f64>,
    /// Noise level σ (uq VE models).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// The `.npy` file to write; an existing file is never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// A usage error: the message, and exit 2.
fn usage(msg: String) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(super::EXIT_USAGE))
}

/// X as `[B, C, H, W]` for a model of `c` channels, and whether it came as `[B, H, W]`.
fn batch(x: ArrayD<f64>, c: usize, path: &Path) -> Result<(Array4<f64>, bool), String> {
    let shape = x.shape().to_vec();
    let (x, squeezed) = match shape.len() {
        3 if c == 1 => (x.insert_axis(Axis(1)), true),
        4 => (x, false),
        _ => {
            return Err(format!(
                "`{}` has shape {shape:?}; the model takes [B, {c}, H, W]{}",
                path.display(),
                if c == 1 { " or [B, H, W]" } else { "" }
            ))
        }
    };
    let x = x
        .into_dimensionality()
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    Ok((x, squeezed))
}

/// `[B, C, H, W]` ↔ flat rows in `[H, W, C]` order (uq's layout of a complex latent).
fn to_rows(x: &Array4<f64>) -> Array2<f64> {
    let (b, c, h, w) = x.dim();
    let mut rows = Array2::zeros((b, h * w * c));
    for ((i, ci, y, xx), v) in x.indexed_iter() {
        rows[[i, (y * w + xx) * c + ci]] = *v;
    }
    rows
}

fn from_rows(r: &Array2<f64>, (b, c, h, w): (usize, usize, usize, usize)) -> Result<Array4<f64>, String> {
    let hwc = ndarray::Array4::from_shape_vec((b, h, w, c), r.iter().copied().collect())
        .map_err(|e| e.to_string())?;
    Ok(hwc.permuted_axes([0, 3, 1, 2]).as_standard_layout().to_owned())
}

pub fn run(a: PriorEvalArgs) -> anyhow::Result<ExitCode> {
    if a.out.symlink_metadata().is_ok() {
        return usage(format!(
            "`{}` already exists; uq does not overwrite it (choose another --out or remove it)",
            a.out.display()
        ));
    }
    let x = match uq::check::read_npy(&a.x) {
        Ok(Value::Real(x)) => x,
        Ok(Value::Complex(_)) => {
            return usage(format!(
                "`{}` is complex; give real [B, C, H, W] inputs (a complex image as 2 channels re, im)",
                a.x.display()
            ))
        }
        Err(e) => return usage(format!("cannot read `{}`: {e}", a.x.display())),
    };
    if uq::score::is_diffusers_model(&a.model) {
        eval_diffusers(&a, x)
    } else {
        eval_uq(&a, x)
    }
}

/// X as `[B, C, H, W]` of the model's shape, or the usage error.
fn checked(
    x: ArrayD<f64>,
    (c, h, w): (usize, usize, usize),
    path: &Path,
) -> Result<(Array4<f64>, bool), String> {
    let (x, squeezed) = batch(x, c, path)?;
    if x.shape()[1..] != [c, h, w] {
        return Err(format!(
            "`{}` has shape {:?}; the model takes [B, {c}, {h}, {w}]",
            path.display(),
            x.shape()
        ));
    }
    Ok((x, squeezed))
}

fn eval_diffusers(a: &PriorEvalArgs, x: ArrayD<f64>) -> anyhow::Result<ExitCode> {
    let prior = DiffusersPrior::load(&a.model)?;
    let (x, squeezed) = match checked(x, prior.chw(), &a.x) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let steps = prior.schedule().steps();
    let t = match (a.t, a.sigma) {
        (Some(t), _) => match prior.timestep(t) {
            Ok(t) => t,
            Err(e) => return usage(format!("--t: {e}")),
        },
        _ => {
            return usage(format!(
                "a diffusers model is a VP model: give --t (an integer in 0..{steps})"
            ))
        }
    };
    let y = prior.predict(x.mapv(|v| v as f32).view(), t)?;
    write(
        &a.out,
        y,
        squeezed,
        &format!("{} at t = {t}", prior.prediction().name()),
    )
}

fn eval_uq(a: &PriorEvalArgs, x: ArrayD<f64>) -> anyhow::Result<ExitCode> {
    let prior = NetworkPrior::load(&a.model)?;
    let (c, [h, w]) = (prior.header().image_channels, prior.header().image_shape);
    let (x, squeezed) = match checked(x, (c, h, w), &a.x) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let rows = to_rows(&x);
    let model = a.model.display();
    let (rows, what) = match (prior.schedule(), a.t, a.sigma) {
        (Some(s), Some(t), _) => {
            if !(t.is_finite() && t >= 0.0 && t.fract() == 0.0 && (t as usize) < s.steps()) {
                return usage(format!("--t {t} is not an integer in 0..{}", s.steps()));
            }
            (prior.eps(rows.view(), t)?, format!("ε at t = {t}"))
        }
        (Some(s), None, _) => {
            return usage(format!(
                "`{model}` is a VP model: give --t (an integer in 0..{})",
                s.steps()
            ))
        }
        (None, _, Some(sigma)) if sigma.is_finite() && sigma > 0.0 => (
            prior.score(rows.view(), sigma)?,
            format!("the score at σ = {sigma}"),
        ),
        (None, _, Some(sigma)) => return usage(format!("--sigma {sigma} must be a positive number")),
        (None, _, None) => return usage(format!("`{model}` is a VE model: give --sigma")),
    };
    let y = from_rows(&rows, x.dim()).map_err(anyhow::Error::msg)?;
    write(&a.out, y.mapv(|v| v as f32), squeezed, &what)
}

/// Write `y` (dropping the channel axis when X had none) atomically as f32 `.npy`.
fn write(out: &Path, y: Array4<f32>, squeezed: bool, what: &str) -> anyhow::Result<ExitCode> {
    let y = if squeezed {
        y.index_axis_move(Axis(1), 0).into_dyn()
    } else {
        y.into_dyn()
    };
    let shape = y.shape().to_vec();
    let mut bytes = Vec::new();
    y.as_standard_layout()
        .write_npy(&mut bytes)
        .context("encoding the output")?;
    uq::output::write_atomic(out, &bytes).with_context(|| format!("writing `{}`", out.display()))?;
    eprintln!("wrote {what}, shape {shape:?} (f32), to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
