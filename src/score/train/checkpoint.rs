//! Training checkpoints: weights, Adam moments, step, RNG state and loss history in one safetensors file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{TrainConfig, TrainError};
use crate::score::file::{read_safetensors, write_safetensors};

/// One progress report.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub step: usize,
    /// Mean training loss since the previous report.
    pub train: f64,
    pub heldout: f64,
    /// Wall time of the whole run so far (across resumes).
    pub seconds: f64,
}

/// Everything needed to continue a run bit-identically.
#[derive(Clone)]
pub struct Checkpoint {
    pub config: TrainConfig,
    pub step: usize,
    pub weights: BTreeMap<String, Tensor>,
    pub adam_m: BTreeMap<String, Tensor>,
    pub adam_v: BTreeMap<String, Tensor>,
    /// Moving average of the weights (empty without `--ema`).
    pub ema: BTreeMap<String, Tensor>,
    pub rng: ChaCha8Rng,
    pub history: Vec<HistoryEntry>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Write a checkpoint atomically.
pub fn write_checkpoint(path: &Path, ck: &Checkpoint) -> Result<(), TrainError> {
    let mut tensors = BTreeMap::new();
    for (prefix, map) in [
        ("w.", &ck.weights),
        ("m.", &ck.adam_m),
        ("v.", &ck.adam_v),
        ("e.", &ck.ema),
    ] {
        for (k, t) in map {
            tensors.insert(format!("{prefix}{k}"), t.clone());
        }
    }
    let cfg = serde_json::to_string(&ck.config).map_err(|e| TrainError::Config(e.to_string()))?;
    let hist = serde_json::to_string(&ck.history).map_err(|e| TrainError::Config(e.to_string()))?;
    let meta: HashMap<String, String> = [
        ("uq_checkpoint", "1".to_string()),
        ("step", ck.step.to_string()),
        ("config", cfg),
        ("history", hist),
        ("rng_seed", hex(&ck.rng.get_seed())),
        ("rng_stream", ck.rng.get_stream().to_string()),
        ("rng_word_pos", ck.rng.get_word_pos().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    write_safetensors(path, &tensors, meta)?;
    Ok(())
}

/// Read a checkpoint written by [`write_checkpoint`].
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, TrainError> {
    let p = path.display().to_string();
    let bad = |reason: String| TrainError::Checkpoint {
        path: p.clone(),
        reason,
    };
    let (tensors, meta) = read_safetensors(path)?;
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| bad(format!("metadata key `{k}` is missing (not a uq checkpoint?)")))
    };
    if get("uq_checkpoint")? != "1" {
        return Err(bad("unsupported checkpoint version".into()));
    }
    let step: usize = get("step")?.parse().map_err(|_| bad("bad `step`".into()))?;
    let config: TrainConfig =
        serde_json::from_str(get("config")?).map_err(|e| bad(format!("bad `config`: {e}")))?;
    let history: Vec<HistoryEntry> =
        serde_json::from_str(get("history")?).map_err(|e| bad(format!("bad `history`: {e}")))?;
    let seed = unhex(get("rng_seed")?).ok_or_else(|| bad("bad `rng_seed`".into()))?;
    let stream: u64 = get("rng_stream")?
        .parse()
        .map_err(|_| bad("bad `rng_stream`".into()))?;
    let pos: u128 = get("rng_word_pos")?
        .parse()
        .map_err(|_| bad("bad `rng_word_pos`".into()))?;
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(stream);
    rng.set_word_pos(pos);
    let (mut weights, mut adam_m, mut adam_v) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut ema = BTreeMap::new();
    for (k, t) in tensors {
        if let Some(n) = k.strip_prefix("w.") {
            weights.insert(n.to_string(), t);
        } else if let Some(n) = k.strip_prefix("m.") {
            adam_m.insert(n.to_string(), t);
        } else if let Some(n) = k.strip_prefix("v.") {
            adam_v.insert(n.to_string(), t);
        } else if let Some(n) = k.strip_prefix("e.") {
            ema.insert(n.to_string(), t);
        }
    }
    Ok(Checkpoint {
        config,
        step,
        weights,
        adam_m,
        adam_v,
        ema,
        rng,
        history,
    })
}
