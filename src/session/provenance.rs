//! What `summary.json` records about where a run came from: every resolved option, and the model,
//! module, data and prior files with their SHA-256 (see [`crate::output::Provenance`]).

use super::Settings;
use crate::check::{Model, PriorSpec};
use crate::output::{sha256_hex, FileRecord, Summary};
use crate::source::SourceMap;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Every option as resolved for the run (`init` with the hash of its file).
pub(super) fn options_record(settings: &Settings) -> Map<String, Value> {
    let mut map = match settings.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(path) = settings.word("init").filter(|w| *w != "adjoint") {
        map.insert(
            "init".into(),
            json!({ "file": FileRecord::of(None, Path::new(path)) }),
        );
    }
    map
}

/// Record the command line, the model file `model_path` and the modules it imported (hashes of the
/// texts that were checked), the data files as bound (`overrides` first, then declared defaults; a BART pair as its `.cfl`
/// and `.hdr`) and
/// the priors' network files.
pub fn record_inputs(
    summary: &mut Summary,
    command: Vec<String>,
    model_path: &Path,
    model: &Model,
    sources: &SourceMap,
    overrides: &[(String, PathBuf)],
) {
    let p = &mut summary.provenance;
    p.command = command;
    let text_record = |name: &str, text: &str| FileRecord {
        name: None,
        path: name.to_string(),
        sha256: Some(sha256_hex(text.as_bytes())),
    };
    let mut files = sources
        .files()
        .map(|(_, f)| f)
        .filter(|f| f.name != "<command line>");
    let is_model = |f: &&crate::source::SourceFile| f.path.as_deref() == Some(model_path);
    let model_file = sources.files().map(|(_, f)| f).find(is_model);
    p.model = Some(match model_file {
        Some(f) => text_record(&f.name, &f.text),
        None => FileRecord::of(None, model_path),
    });
    p.imports = files
        .by_ref()
        .filter(|f| !is_model(f))
        .map(|f| text_record(&f.name, &f.text))
        .collect();
    p.data = model
        .data
        .iter()
        .filter_map(|d| {
            let path = overrides
                .iter()
                .find(|(n, _)| *n == d.name)
                .map(|(_, p)| p.as_path())
                .or(d.default.as_deref())?;
            Some((d, path))
        })
        .flat_map(|(d, path)| {
            // A BART pair is recorded as both of its files (values and dimensions).
            let paths = if crate::check::is_cfl(path) {
                vec![path.with_extension("cfl"), path.with_extension("hdr")]
            } else {
                vec![path.to_path_buf()]
            };
            paths
                .into_iter()
                .map(|p| FileRecord::of(Some(&d.name), &p))
                .collect::<Vec<_>>()
        })
        .collect();
    p.priors = model
        .latents
        .iter()
        .filter_map(|l| match &l.prior {
            // A diffusers model is a folder: record (and hash) its weights file.
            PriorSpec::Score { path, header, .. } => {
                let weights = header
                    .as_ref()
                    .filter(|h| h.architecture == crate::score::DIFFUSERS_ARCHITECTURE)
                    .and_then(|h| h.raw.get("weights"))
                    .map(std::path::PathBuf::from);
                Some(FileRecord::of(Some(&l.name), weights.as_ref().unwrap_or(path)))
            }
            _ => None,
        })
        .collect();
    p.score_evaluation = model
        .latents
        .iter()
        .filter_map(|l| match &l.prior {
            PriorSpec::Score { header: Some(h), .. } => Some((l.name.clone(), h)),
            _ => None,
        })
        .map(|(name, h)| {
            let label = if h.architecture == crate::score::DIFFUSERS_ARCHITECTURE {
                "candle (diffusers UNet2DModel), f32".to_string()
            } else {
                crate::score::evaluation_label(&h.channels)
            };
            (name, label)
        })
        .collect();
}
