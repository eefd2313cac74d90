//! Import of Hugging Face diffusers `UNet2DModel` priors saved by `save_pretrained`: the folder's
//! files, typed errors, and the [`DiffusersPrior`] (a VP prior on `x₀ = 2·data − 1`).
//!
//! A model folder holds `config.json` and `diffusion_pytorch_model.safetensors`; its scheduler's
//! `scheduler_config.json` sits beside them or, in a pipeline folder, in `../scheduler/`. A pipeline
//! folder itself (with `unet/` inside) is accepted too.

mod config;
mod layers;
mod net;
mod prior;
mod raw;
mod scheduler;

use std::path::{Path, PathBuf};

pub use prior::DiffusersPrior;
pub use scheduler::Prediction;

/// The `architecture` a diffusers model's header reports.
pub const ARCHITECTURE: &str = "diffusers_unet2d";

const CONFIG: &str = "config.json";
const WEIGHTS: &str = "diffusion_pytorch_model.safetensors";
const SCHEDULER: &str = "scheduler_config.json";

/// Why a diffusers model cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DiffusersError {
    #[error("cannot read `{path}`: {reason}")]
    Io { path: String, reason: String },
    #[error("`{dir}` has no `{file}`: {hint}")]
    MissingFile { dir: String, file: String, hint: String },
    #[error("`{path}` is not a valid diffusers config: {reason}")]
    Config { path: String, reason: String },
    #[error("`{path}`: `{option}` = {value} is not supported by uq's diffusers import ({hint})")]
    Unsupported {
        path: String,
        option: String,
        value: String,
        hint: String,
    },
    #[error("`{path}` cannot be read as safetensors weights: {reason}")]
    Weights { path: String, reason: String },
    #[error("`{path}` lacks the tensor `{name}` that config.json describes (do the weights and config.json belong to the same model?)")]
    MissingTensor { path: String, name: String },
    #[error("`{path}`: tensor `{name}` has shape {found:?}, config.json makes it {expected:?} (do the weights and config.json belong to the same model?)")]
    TensorShape {
        path: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("`{path}` has {count} tensor(s) config.json does not describe, e.g. `{name}` (do the weights and config.json belong to the same model?)")]
    UnusedTensor {
        path: String,
        name: String,
        count: usize,
    },
    #[error("`{path}`: cannot build the network: {reason}")]
    Build { path: String, reason: String },
}

/// Whether `path` names a diffusers model: a folder, or a file called `config.json`.
pub fn is_diffusers_path(path: &Path) -> bool {
    path.is_dir() || path.file_name().is_some_and(|n| n == CONFIG)
}

/// The files of a model.
pub(super) struct ModelFiles {
    pub config: PathBuf,
    pub weights: PathBuf,
    pub scheduler: PathBuf,
}

fn missing(dir: &Path, file: &str, hint: &str) -> DiffusersError {
    DiffusersError::MissingFile {
        dir: dir.display().to_string(),
        file: file.into(),
        hint: hint.into(),
    }
}

/// Find config, weights and scheduler for a folder, a `config.json`, or a pipeline folder.
pub(super) fn locate(path: &Path) -> Result<ModelFiles, DiffusersError> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else if path.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        return Err(DiffusersError::Io {
            path: path.display().to_string(),
            reason: "no such folder or file".into(),
        });
    };
    let dir = if !dir.join(CONFIG).is_file() && dir.join("unet").join(CONFIG).is_file() {
        dir.join("unet")
    } else {
        dir
    };
    let config = dir.join(CONFIG);
    if !config.is_file() {
        return Err(missing(
            &dir,
            CONFIG,
            "give the folder `UNet2DModel.save_pretrained` wrote (or its pipeline folder)",
        ));
    }
    let weights = dir.join(WEIGHTS);
    if !weights.is_file() {
        let hint = if dir.join("diffusion_pytorch_model.bin").is_file() {
            "uq reads safetensors, not PyTorch pickles: re-save with `model.save_pretrained(dir, safe_serialization=True)`"
        } else {
            "save the model with `model.save_pretrained(dir, safe_serialization=True)`"
        };
        return Err(missing(&dir, WEIGHTS, hint));
    }
    let beside = dir.join(SCHEDULER);
    let pipeline = dir.join("..").join("scheduler").join(SCHEDULER);
    let scheduler = if beside.is_file() {
        beside
    } else if pipeline.is_file() {
        pipeline
    } else {
        return Err(missing(
            &dir,
            SCHEDULER,
            "save the training scheduler beside the model (`scheduler.save_pretrained(dir)`) or in `../scheduler/` as a pipeline does",
        ));
    };
    Ok(ModelFiles {
        config,
        weights,
        scheduler,
    })
}

/// A config file's text (only regular files, at most 1 MB).
pub(super) fn read_text(path: &Path) -> Result<String, DiffusersError> {
    let io = |reason: String| DiffusersError::Io {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if !meta.is_file() || meta.len() > 1_000_000 {
        return Err(io("not a regular file of at most 1 MB".into()));
    }
    std::fs::read_to_string(path).map_err(|e| io(e.to_string()))
}

/// The header of a model folder from its config and scheduler (the weights are not read).
pub fn read_header(path: &Path) -> Result<crate::score::ScoreHeader, DiffusersError> {
    prior::read_specs(path).map(|(_, _, h)| h)
}
