//! Reading and writing score-model `.safetensors` files: tensors plus the uq `__metadata__`, with typed errors.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Tensor};
use safetensors::SafeTensors;

use super::header::{HeaderError, HeaderKind, ScoreHeader};
use super::init::expected_tensors;
use super::unet::{NetKind, UNet, UNetConfig};

/// The architecture name this crate writes and reads.
pub const ARCHITECTURE: &str = "ramzi_unet";

/// Why a score file cannot be loaded or written.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScoreFileError {
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("`{path}` has architecture `{found}`; this uq builds `{ARCHITECTURE}`")]
    Architecture { path: String, found: String },
    #[error("`{path}` lacks the network tensor `{name}` (the file does not match its channel list)")]
    MissingTensor { path: String, name: String },
    #[error("`{path}`: tensor `{name}` has shape {found:?}, the architecture needs {expected:?}")]
    TensorShape {
        path: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("`{path}`: tensor `{name}` has type {found}, expected a float type")]
    TensorDtype {
        path: String,
        name: String,
        found: String,
    },
    #[error("`{path}`: cannot build the network: {reason}")]
    Build { path: String, reason: String },
    #[error("cannot write `{path}`: {reason}")]
    Write { path: String, reason: String },
    #[error(transparent)]
    Diffusers(#[from] super::DiffusersError),
}

/// The header of a prior: a uq `.safetensors` file's metadata, or for a diffusers model (a folder,
/// or its `config.json`) one made from its config and scheduler.
pub fn read_prior_header(path: &Path) -> Result<ScoreHeader, ScoreFileError> {
    if super::diffusers::is_diffusers_path(path) {
        Ok(super::diffusers::read_header(path)?)
    } else {
        Ok(ScoreHeader::read(path)?)
    }
}

/// Load the prior at `path`: a uq network file, or a diffusers model (a folder or its `config.json`).
pub fn load_prior(path: &Path) -> Result<Box<dyn super::ScoreModel>, ScoreFileError> {
    if super::diffusers::is_diffusers_path(path) {
        Ok(Box::new(super::DiffusersPrior::load(path)?))
    } else {
        Ok(Box::new(super::NetworkPrior::load(path)?))
    }
}

/// Architecture and kind of a model file, as the network builder needs them.
pub fn net_config(h: &ScoreHeader) -> UNetConfig {
    UNetConfig {
        channels: h.channels.clone(),
        image_channels: h.image_channels,
        kind: match h.kind {
            HeaderKind::Ve { .. } => NetKind::Ve,
            HeaderKind::Vp { .. } => NetKind::Vp,
        },
    }
}

/// The `__metadata__` map for a network (schema of [`ScoreHeader`]); `extra` adds provenance keys.
pub fn header_metadata(
    cfg: &UNetConfig,
    kind: &HeaderKind,
    image_shape: [usize; 2],
    data_scale: f64,
    extra: &BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let list = |v: &[usize]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",");
    m.insert("uq_format".into(), "1".into());
    m.insert("architecture".into(), ARCHITECTURE.into());
    m.insert("channels".into(), list(&cfg.channels));
    m.insert("image_shape".into(), list(&image_shape));
    m.insert("image_channels".into(), cfg.image_channels.to_string());
    m.insert("data_scale".into(), format!("{data_scale:e}"));
    match kind {
        HeaderKind::Ve { sigma_min, sigma_max } => {
            m.insert("kind".into(), "ve".into());
            m.insert("sigma_min".into(), format!("{sigma_min:e}"));
            m.insert("sigma_max".into(), format!("{sigma_max:e}"));
        }
        HeaderKind::Vp {
            beta_start,
            beta_end,
            timesteps,
        } => {
            m.insert("kind".into(), "vp".into());
            m.insert("beta_start".into(), format!("{beta_start:e}"));
            m.insert("beta_end".into(), format!("{beta_end:e}"));
            m.insert("timesteps".into(), timesteps.to_string());
        }
    }
    m
}

/// Write tensors and metadata atomically (temporary file in the same folder, then rename).
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    meta: HashMap<String, String>,
) -> Result<(), ScoreFileError> {
    let p = path.display().to_string();
    let err = |reason: String| ScoreFileError::Write {
        path: p.clone(),
        reason,
    };
    let bytes = safetensors::serialize(tensors.iter(), Some(meta)).map_err(|e| err(e.to_string()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| err(e.to_string()))?;
    tmp.write_all(&bytes).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        tmp.as_file()
            .set_permissions(perms)
            .map_err(|e| err(e.to_string()))?;
    }
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// Whether the file at `path` is a `.safetensors` that uq wrote (a model, with `uq_format` in its
/// metadata, or a training checkpoint, with `uq_checkpoint`), judged from its header alone.
pub fn written_by_uq(path: &Path) -> bool {
    super::header::read_metadata(path)
        .is_ok_and(|m| m.contains_key("uq_format") || m.contains_key("uq_checkpoint"))
}

/// Tensors by name and the raw `__metadata__` map of a safetensors file.
pub type TensorsAndMeta = (BTreeMap<String, Tensor>, HashMap<String, String>);

/// Every tensor of a safetensors file, as f32 CPU tensors, plus its raw metadata (empty if none).
pub fn read_safetensors(path: &Path) -> Result<TensorsAndMeta, ScoreFileError> {
    let p = path.display().to_string();
    let io = |reason: String| HeaderError::Io {
        path: p.clone(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if !meta.is_file() {
        return Err(io(super::header::NOT_REGULAR.into()).into());
    }
    let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
    let format = |reason: String| {
        ScoreFileError::Header(HeaderError::Format {
            path: p.clone(),
            reason,
        })
    };
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| format(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let float = matches!(
            view.dtype(),
            safetensors::Dtype::F32
                | safetensors::Dtype::F64
                | safetensors::Dtype::F16
                | safetensors::Dtype::BF16
        );
        if !float {
            return Err(ScoreFileError::TensorDtype {
                path: p.clone(),
                name,
                found: format!("{:?}", view.dtype()),
            });
        }
        let t = view
            .load(&Device::Cpu)
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(|e| format(format!("tensor `{name}`: {e}")))?;
        out.insert(name, t);
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

/// A loaded network file: header, network and the file's path.
pub struct LoadedNet {
    pub header: ScoreHeader,
    pub net: UNet,
    pub path: String,
}

/// Load a uq score file: header first (cheap, precise errors), then tensors checked name by name and
/// shape by shape against the architecture the header describes, then the network.
pub fn load_net(path: &Path) -> Result<LoadedNet, ScoreFileError> {
    let p = path.display().to_string();
    let header = ScoreHeader::read(path)?;
    if header.architecture != ARCHITECTURE {
        return Err(ScoreFileError::Architecture {
            path: p,
            found: header.architecture.clone(),
        });
    }
    let cfg = net_config(&header);
    let build = |reason: String| ScoreFileError::Build {
        path: p.clone(),
        reason,
    };
    let m = 1usize << cfg.channels.len().saturating_sub(1);
    let [h, w] = header.image_shape;
    if h == 0 || w == 0 || h % m != 0 || w % m != 0 {
        return Err(build(format!(
            "image_shape {h}×{w} must be positive and divisible by {m} for {} scales",
            cfg.channels.len()
        )));
    }
    let expected = expected_tensors(|vb| UNet::new(&cfg, vb)).map_err(|e| build(e.to_string()))?;
    let (tensors, _) = read_safetensors(path)?;
    for (name, shape) in &expected {
        let Some(t) = tensors.get(name) else {
            return Err(ScoreFileError::MissingTensor {
                path: p.clone(),
                name: name.clone(),
            });
        };
        if t.dims() != shape.as_slice() {
            return Err(ScoreFileError::TensorShape {
                path: p.clone(),
                name: name.clone(),
                expected: shape.clone(),
                found: t.dims().to_vec(),
            });
        }
    }
    let map: HashMap<String, Tensor> = tensors.into_iter().collect();
    let vb = candle_nn::VarBuilder::from_tensors(map, DType::F32, &Device::Cpu);
    let net = UNet::new(&cfg, vb).map_err(|e| build(e.to_string()))?;
    Ok(LoadedNet { header, net, path: p })
}
