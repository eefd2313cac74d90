//! Provenance in `summary.json`: uq's version, the command line, and the SHA-256 of every input file
//! (model, imported modules, data, priors), so that a run can be traced and repeated.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// One input file: its path as given (or resolved) and the SHA-256 of its bytes (`None` when it
/// could not be read at the end of the run).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The data name or latent a file is bound to, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub path: String,
    pub sha256: Option<String>,
}

impl FileRecord {
    /// Hash the file at `path` now.
    pub fn of(name: Option<&str>, path: &Path) -> Self {
        FileRecord {
            name: name.map(String::from),
            path: path.display().to_string(),
            sha256: sha256_file(path).ok(),
        }
    }
}

/// Where a run came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `uq --version` of the program that wrote the run.
    pub uq_version: String,
    /// The command line (`uq sample …`), or the REPL command that ran the sampler.
    #[serde(default)]
    pub command: Vec<String>,
    /// The model file (`None` for a model typed into the REPL).
    #[serde(default)]
    pub model: Option<FileRecord>,
    /// Modules the model imports (stdlib included), in the order they were read.
    #[serde(default)]
    pub imports: Vec<FileRecord>,
    /// Data tensors, by name, as bound (`--data` or the declared default).
    #[serde(default)]
    pub data: Vec<FileRecord>,
    /// Score-network files of the priors, by latent.
    #[serde(default)]
    pub priors: Vec<FileRecord>,
    /// How each score network was evaluated, by latent: backend and arithmetic (`"fast path, bf16
    /// on AMX tiles"`, `"fast path, f32 (Avx512)"`, …), which moves results by about bf16's rounding.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub score_evaluation: std::collections::BTreeMap<String, String>,
    /// Every sampler setting as resolved (`null`: the sampler's default), flags and `infer` merged.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of the file at `path`, read in blocks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &big).unwrap();
        assert_eq!(sha256_file(&p).unwrap(), sha256_hex(&big));
        assert_eq!(FileRecord::of(None, &dir.path().join("missing")).sha256, None);
    }
}
