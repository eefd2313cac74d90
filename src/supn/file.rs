//! SUPN `.safetensors` files: the networks' tensors plus `__metadata__` (`kind` = "supn",
//! `architecture` = "supn_conv", `image_shape`, `latent`, `stencil`, `channels`), read back into a
//! model with every mismatch a typed error.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::net::{SupnConfig, SupnNets};
use crate::score::{expected_tensors, read_safetensors, write_safetensors, ScoreFileError};

/// The architecture name SUPN files carry.
pub const SUPN_ARCHITECTURE: &str = "supn_conv";

/// Why a SUPN file cannot be read or written.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SupnError {
    /// Unreadable, not safetensors, a non-float tensor, or a failed write.
    #[error(transparent)]
    File(#[from] ScoreFileError),
    #[error("`{path}` is not a SUPN file: {reason} (write one with `uq train --kind supn`)")]
    NotSupn { path: String, reason: String },
    #[error("`{path}` has a bad SUPN header: {reason}")]
    Metadata { path: String, reason: String },
    #[error("`{path}` lacks the tensor `{name}` (the file does not match its channel list)")]
    MissingTensor { path: String, name: String },
    #[error("`{path}`: tensor `{name}` has shape {found:?}, the architecture needs {expected:?}")]
    TensorShape {
        path: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("`{path}`: {reason}")]
    Build { path: String, reason: String },
    #[error("SUPN evaluation failed: {0}")]
    Eval(String),
}

/// The metadata a SUPN file carries for `cfg` (plus `extra` keys, e.g. the training recipe).
pub fn supn_metadata(cfg: &SupnConfig, extra: &[(&str, String)]) -> HashMap<String, String> {
    let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let mut m = HashMap::from([
        ("uq_format".to_string(), "1".to_string()),
        ("kind".to_string(), "supn".to_string()),
        ("architecture".to_string(), SUPN_ARCHITECTURE.to_string()),
        ("image_shape".to_string(), list(&[cfg.height, cfg.width])),
        ("latent".to_string(), cfg.latent.to_string()),
        ("stencil".to_string(), (2 * cfg.radius + 1).to_string()),
        ("channels".to_string(), list(&cfg.channels)),
    ]);
    for (k, v) in extra {
        m.insert((*k).to_string(), v.clone());
    }
    m
}

/// The configuration a SUPN file's metadata describes.
pub fn config_from_metadata(path: &str, meta: &HashMap<String, String>) -> Result<SupnConfig, SupnError> {
    let bad = |reason: String| SupnError::Metadata {
        path: path.to_string(),
        reason,
    };
    match meta.get("kind").map(String::as_str) {
        Some("supn") => {}
        Some(k) => {
            return Err(SupnError::NotSupn {
                path: path.into(),
                reason: format!("its kind is `{k}` (a score network? use `score(...)`)"),
            })
        }
        None => {
            return Err(SupnError::NotSupn {
                path: path.into(),
                reason: "its metadata has no `kind`".into(),
            })
        }
    }
    match meta.get("architecture").map(String::as_str) {
        Some(SUPN_ARCHITECTURE) => {}
        other => {
            return Err(bad(format!(
                "architecture {other:?}; this uq builds `{SUPN_ARCHITECTURE}`"
            )))
        }
    }
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| bad(format!("the key `{k}` is missing")))
    };
    let list = |k: &str| -> Result<Vec<usize>, SupnError> {
        get(k)?
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("`{k}` is not a list of sizes: {e}")))
    };
    let num = |k: &str| -> Result<usize, SupnError> {
        get(k)?
            .trim()
            .parse::<usize>()
            .map_err(|e| bad(format!("`{k}` is not a size: {e}")))
    };
    let shape = list("image_shape")?;
    let [height, width] = shape[..] else {
        return Err(bad(format!(
            "`image_shape` has {} entries, expected 2",
            shape.len()
        )));
    };
    let stencil = num("stencil")?;
    if stencil.is_multiple_of(2) {
        return Err(bad(format!(
            "stencil {stencil} (expected an odd size: 1 for a diagonal precision, 3, 5, …)"
        )));
    }
    let cfg = SupnConfig {
        height,
        width,
        latent: num("latent")?,
        radius: stencil / 2,
        channels: list("channels")?,
    };
    cfg.validate().map_err(bad)?;
    Ok(cfg)
}

/// Name → shape of every tensor the architecture `cfg` needs.
pub fn expected(cfg: &SupnConfig) -> Result<BTreeMap<String, Vec<usize>>, String> {
    expected_tensors(|vb| SupnNets::new(cfg, vb)).map_err(|e| e.to_string())
}

/// Read a SUPN file: its configuration and its networks in `dtype`, every tensor checked against the
/// architecture first.
pub fn load(path: &Path, dtype: DType) -> Result<(SupnConfig, SupnNets), SupnError> {
    let p = path.display().to_string();
    let (tensors, meta) = read_safetensors(path)?;
    let cfg = config_from_metadata(&p, &meta)?;
    let build = |reason: String| SupnError::Build {
        path: p.clone(),
        reason,
    };
    let mut vars = HashMap::new();
    for (name, shape) in expected(&cfg).map_err(build)? {
        let t = tensors.get(&name).ok_or_else(|| SupnError::MissingTensor {
            path: p.clone(),
            name: name.clone(),
        })?;
        if t.dims() != shape.as_slice() {
            return Err(SupnError::TensorShape {
                path: p.clone(),
                name,
                expected: shape,
                found: t.dims().to_vec(),
            });
        }
        vars.insert(name, t.to_dtype(dtype).map_err(|e| build(e.to_string()))?);
    }
    let vb = VarBuilder::from_tensors(vars, dtype, &Device::Cpu);
    let nets = SupnNets::new(&cfg, vb).map_err(|e| build(e.to_string()))?;
    Ok((cfg, nets))
}

/// Write named tensors (stored as f32) with the metadata for `cfg` to `path`, atomically.
pub fn save(
    path: &Path,
    cfg: &SupnConfig,
    tensors: &BTreeMap<String, Tensor>,
    extra: &[(&str, String)],
) -> Result<(), SupnError> {
    let f32s = tensors
        .iter()
        .map(|(k, t)| t.to_dtype(DType::F32).map(|t| (k.clone(), t)))
        .collect::<candle_core::Result<BTreeMap<_, _>>>()
        .map_err(|e| SupnError::Eval(e.to_string()))?;
    write_safetensors(path, &f32s, supn_metadata(cfg, extra))?;
    Ok(())
}
