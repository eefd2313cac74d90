//! What `summary.json` records about where a run came from: every resolved option, and the model,
//! module, data and prior files with their SHA-256 (see [`crate::output::Provenance`]).

use super::sample::{SampleOptions, StartSpec};
use crate::check::{Model, PriorSpec};
use crate::infer::MhMode;
use crate::output::{sha256_hex, FileRecord, Summary};
use crate::source::SourceMap;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Every field of `opts` (`null` where the sampler's default applies).
pub(super) fn options_record(o: &SampleOptions) -> Map<String, Value> {
    let mh = o.mh.map(|m| match m {
        MhMode::Exact => json!("exact"),
        MhMode::ScoreOnly { points } => json!({ "score_only": { "points": points } }),
        MhMode::Off => json!("off"),
    });
    let init = o.init.as_ref().map(|i| match i {
        StartSpec::Adjoint => json!("adjoint"),
        StartSpec::File(p) => json!({ "file": FileRecord::of(None, p) }),
        StartSpec::Values(v) => json!({ "values": v.len() }),
    });
    let pairs = [
        ("chains", json!(o.chains)),
        ("draws", json!(o.draws)),
        ("warmup", json!(o.warmup)),
        ("rounds", json!(o.rounds)),
        ("seed", json!(o.seed)),
        ("steps", json!(o.steps)),
        ("step_size", json!(o.step_size)),
        ("target_accept", json!(o.target_accept)),
        ("mh", json!(mh)),
        ("simpson", json!(o.simpson)),
        ("zeta", json!(o.zeta)),
        ("dps_steps", json!(o.dps_steps)),
        (
            "dps_variance",
            json!(if o.dps_small_variance { "small" } else { "large" }),
        ),
        ("gamma", json!(o.gamma)),
        ("sigma0", json!(o.sigma0)),
        ("sigma_min", json!(o.sigma_min)),
        ("init", json!(init)),
        ("t0", json!(o.t0)),
        ("levels", json!(o.levels)),
        ("level_steps", json!(o.level_steps)),
        ("langevin_eps", json!(o.langevin_eps)),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Record the command line, the model file `model_path` and the modules it imported (hashes of the
/// texts that were checked), the data files as bound (`overrides` first, then declared defaults) and
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
            Some(FileRecord::of(Some(&d.name), path))
        })
        .collect();
    p.priors = model
        .latents
        .iter()
        .filter_map(|l| match &l.prior {
            PriorSpec::Score { path, .. } => Some(FileRecord::of(Some(&l.name), path)),
            _ => None,
        })
        .collect();
}
