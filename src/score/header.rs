//! The `.safetensors` score-model header: the `__metadata__` keys uq writes and reads.
//!
//! Keys (all values are strings, as safetensors requires):
//! `uq_format` ("1"), `architecture` ("ramzi_unet"), `channels` ("16,32,64"), `kind` ("ve"|"vp"),
//! `sigma_min`/`sigma_max` (VE), `beta_start`/`beta_end`/`timesteps` (VP), `image_shape` ("64,64"),
//! `image_channels` ("1" real, "2" complex as re/im), `data_scale` (network input = data × scale).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Everything the checker and loader need from a score file's metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreHeader {
    pub format: u32,
    pub architecture: String,
    pub channels: Vec<usize>,
    pub kind: HeaderKind,
    pub image_shape: [usize; 2],
    pub image_channels: usize,
    pub data_scale: f64,
    /// All metadata, for keys this struct does not name.
    pub raw: HashMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HeaderKind {
    Ve {
        sigma_min: f64,
        sigma_max: f64,
    },
    Vp {
        beta_start: f64,
        beta_end: f64,
        timesteps: usize,
    },
}

/// Why a path that exists is not read: FIFOs block, devices never end.
pub(crate) const NOT_REGULAR: &str =
    "it is not a regular file (a FIFO, a device or a folder); uq reads score files only from regular files";

/// Why a score file cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HeaderError {
    #[error("cannot read `{path}`: {reason}")]
    Io { path: String, reason: String },
    #[error("`{path}` is not a safetensors file: {reason}")]
    Format { path: String, reason: String },
    #[error("`{path}` has no usable uq metadata: {reason}")]
    Metadata { path: String, reason: String },
}

impl ScoreHeader {
    /// Parse the metadata map written by `uq train`.
    pub fn from_metadata(path: &str, meta: &HashMap<String, String>) -> Result<Self, HeaderError> {
        let err = |reason: String| HeaderError::Metadata {
            path: path.to_string(),
            reason,
        };
        let get = |k: &str| meta.get(k).ok_or_else(|| err(format!("key `{k}` is missing")));
        let num = |k: &str| -> Result<f64, HeaderError> {
            let v = get(k)?;
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| err(format!("key `{k}` = `{v}` is not a finite number")))
        };
        let list = |k: &str| -> Result<Vec<usize>, HeaderError> {
            let v = get(k)?;
            v.split(',')
                .map(|s| s.trim().parse::<usize>().ok().filter(|&n| n > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| err(format!("key `{k}` = `{v}` is not a list of positive integers")))
        };
        let format = num("uq_format")? as u32;
        if format != 1 {
            return Err(err(format!(
                "format version {format} is not supported (this uq reads 1)"
            )));
        }
        let kind = match get("kind")?.as_str() {
            "ve" => HeaderKind::Ve {
                sigma_min: num("sigma_min")?,
                sigma_max: num("sigma_max")?,
            },
            "vp" => HeaderKind::Vp {
                beta_start: num("beta_start")?,
                beta_end: num("beta_end")?,
                timesteps: num("timesteps")? as usize,
            },
            other => return Err(err(format!("kind `{other}` is not `ve` or `vp`"))),
        };
        let shape = list("image_shape")?;
        let image_shape = match shape.as_slice() {
            [h, w] => [*h, *w],
            _ => return Err(err("image_shape must have two dimensions".into())),
        };
        let image_channels = num("image_channels")? as usize;
        if !(1..=2).contains(&image_channels) {
            return Err(err(format!(
                "image_channels = {image_channels}, expected 1 (real) or 2 (complex)"
            )));
        }
        Ok(ScoreHeader {
            format,
            architecture: get("architecture")?.clone(),
            channels: list("channels")?,
            kind,
            image_shape,
            image_channels,
            data_scale: num("data_scale")?,
            raw: meta.clone(),
        })
    }

    /// Read only the JSON header of a safetensors file (cheap: no tensor data is loaded); only a
    /// regular file (or a symlink to one) is read.
    pub fn read(path: &Path) -> Result<Self, HeaderError> {
        Self::from_metadata(&path.display().to_string(), &read_metadata(path)?)
    }
}

/// The `__metadata__` of a safetensors file, from its JSON header alone (no tensor data is loaded);
/// only a regular file (or a symlink to one) is read.
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>, HeaderError> {
    let p = path.display().to_string();
    let io = |e: std::io::Error| HeaderError::Io {
        path: p.clone(),
        reason: e.to_string(),
    };
    let fmt = |reason: String| HeaderError::Format {
        path: p.clone(),
        reason,
    };
    // Opening a FIFO would block and a device never ends: only regular files are read.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(HeaderError::Io {
            path: p.clone(),
            reason: NOT_REGULAR.into(),
        });
    }
    let mut f = std::fs::File::open(path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| fmt("shorter than the 8-byte header length".into()))?;
    let n = u64::from_le_bytes(len);
    if n == 0 || n > 100_000_000 || n + 8 > file_len {
        return Err(fmt(format!(
            "header length {n} does not fit a {file_len}-byte file (truncated?)"
        )));
    }
    let mut buf = vec![0u8; n as usize];
    f.read_exact(&mut buf)
        .map_err(|_| fmt("truncated header".into()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&buf).map_err(|e| fmt(format!("header is not JSON ({e})")))?;
    let meta = json
        .get("__metadata__")
        .and_then(|m| m.as_object())
        .ok_or_else(|| HeaderError::Metadata {
            path: p.clone(),
            reason: "no `__metadata__`; was it written by `uq train`?".into(),
        })?;
    Ok(meta
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect())
}
