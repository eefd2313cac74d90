//! `summary.json`: run metadata, per-chain sampler statistics, worst diagnostics per latent, extras.
//! Non-finite numbers are written as `null` and read back as NaN.

use super::atomic::write_atomic;
use super::OutputError;
use crate::infer::{Diagnostics, Warning};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `f64` ↔ JSON number, with NaN/±∞ ↔ `null` (read back as NaN).
mod nan_null {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// `Vec<f64>` with the same NaN ↔ `null` convention.
mod nan_null_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(xs: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(xs.iter().map(|x| x.is_finite().then_some(*x)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<Option<f64>>::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

/// Per-latent record in `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatentSummary {
    pub name: String,
    pub shape: Vec<usize>,
    /// numpy dtype of `samples.npy`: `float64` or `complex128`.
    pub dtype: String,
    #[serde(with = "nan_null")]
    pub rhat_max: f64,
    /// Index (in `shape`) of the parameter with the largest R̂; `None` if every R̂ is undefined.
    pub rhat_argmax: Option<Vec<usize>>,
    #[serde(with = "nan_null")]
    pub ess_bulk_min: f64,
    pub ess_bulk_argmin: Option<Vec<usize>>,
    #[serde(with = "nan_null")]
    pub ess_tail_min: f64,
    pub ess_tail_argmin: Option<Vec<usize>>,
    /// Why some diagnostics are missing (NaN entries skipped in the extremes), if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Row-major multi-index of flat index `i` in `shape` (`[i]` if the sizes do not match, e.g. when the
/// parameters of a complex latent are its real and imaginary parts).
fn unravel(i: usize, shape: &[usize]) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let params_match = n > 0 && i < n;
    if !params_match {
        return vec![i];
    }
    let mut rest = i;
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        idx[k] = rest % d;
        rest /= d;
    }
    idx
}

impl LatentSummary {
    /// Worst diagnostics of one latent from its per-parameter diagnostics.
    pub fn from_diagnostics(name: &str, shape: &[usize], dtype: &str, diag: &Diagnostics) -> Self {
        let s = diag.summary();
        let idx = |i: Option<usize>| i.map(|i| unravel(i, shape));
        LatentSummary {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype: dtype.to_string(),
            rhat_max: s.rhat_max,
            rhat_argmax: idx(s.rhat_argmax),
            ess_bulk_min: s.ess_bulk_min,
            ess_bulk_argmin: idx(s.ess_bulk_argmin),
            ess_tail_min: s.ess_tail_min,
            ess_tail_argmin: idx(s.ess_tail_argmin),
            note: s.nan_note(),
        }
    }
}

/// How far one phase of a run got: `done` of `planned` (equal unless the run was interrupted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseCount {
    pub done: usize,
    pub planned: usize,
}

impl PhaseCount {
    pub fn new(done: usize, planned: usize) -> Self {
        PhaseCount { done, planned }
    }
}

/// Everything `summary.json` records about a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Marks a folder as uq's own run (what lets a later run replace it); always true when written.
    #[serde(default)]
    pub uq_run: bool,
    /// Version of the run-folder format ([`super::FORMAT_VERSION`]; 0 for folders of earlier uq).
    #[serde(default)]
    pub format_version: u32,
    /// The sampler that ran, by its registry name (`hmc`, `annealed_hmc`, `dps`, …).
    pub sampler: String,
    /// The kernel that ran: `nuts`, `static_hmc`, `mala`, `annealed_hmc`, `dps`, `annealed_langevin`.
    #[serde(default)]
    pub kernel: String,
    /// The planner's one-sentence reason for the sampler.
    pub reason: String,
    pub chains: usize,
    /// The global index of every chain (`chain_offset …`; a merged run lists those of its shards).
    #[serde(default)]
    pub chain_indices: Vec<usize>,
    /// Draws kept per chain (after warm-up; fewer than asked for when `partial`).
    pub draws: usize,
    /// Warm-up iterations done per chain (annealed HMC: per round at σ_min); fewer than asked for
    /// when interrupted during warm-up.
    pub warmup: usize,
    pub seed: u64,
    /// Per chain.
    #[serde(with = "nan_null_vec")]
    pub acceptance_rate: Vec<f64>,
    /// Per chain (final adapted step size).
    #[serde(with = "nan_null_vec")]
    pub step_size: Vec<f64>,
    /// Per chain.
    pub divergences: Vec<u64>,
    #[serde(with = "nan_null")]
    pub rhat_max: f64,
    #[serde(with = "nan_null")]
    pub ess_bulk_min: f64,
    #[serde(with = "nan_null")]
    pub ess_tail_min: f64,
    pub grad_evals: u64,
    pub score_evals: u64,
    #[serde(with = "nan_null")]
    pub wall_seconds: f64,
    /// The process's peak resident memory when sampling ended, in bytes (`VmHWM` of
    /// `/proc/self/status`; absent where the system does not report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    /// True when the run was interrupted and holds only the draws made so far.
    pub partial: bool,
    /// How far each phase got, by name (`warmup`, `draws`; annealed HMC `levels`, `rounds`; DPS
    /// `steps`, `rounds`, `corrector`), as done of planned.
    #[serde(default)]
    pub progress: BTreeMap<String, PhaseCount>,
    pub latents: Vec<LatentSummary>,
    /// What looks wrong with the run (R̂, ESS, divergences, …), each with what to try.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Posterior predictive checks (`--predictive`): observed statistics against their replicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictive: Vec<PredictiveCheck>,
    /// Sampler-specific records (noise schedules, per-level acceptance, …).
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Version, command line, input files and their hashes, every option.
    #[serde(default)]
    pub provenance: super::Provenance,
    /// Every file of the run folder (`/`-separated, relative to it), this summary included.
    #[serde(default)]
    pub files: Vec<String>,
}

/// One posterior predictive check: a statistic of an observed tensor against its distribution over
/// the replicates `y_rep` drawn at every posterior draw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictiveCheck {
    /// The observed data tensor.
    pub data: String,
    /// `mean`, `sd`, `min` or `max` over the tensor's elements (complex: of the magnitudes).
    pub statistic: String,
    #[serde(with = "nan_null")]
    pub observed: f64,
    #[serde(with = "nan_null")]
    pub replicate_mean: f64,
    #[serde(with = "nan_null")]
    pub replicate_sd: f64,
    /// Fraction of replicates whose statistic is at least the observed one (near 0 or 1: misfit).
    #[serde(with = "nan_null")]
    pub p_value: f64,
}

impl Summary {
    /// Set `rhat_max`, `ess_bulk_min`, `ess_tail_min` from the latents (NaN entries skipped; NaN if none).
    pub fn update_extremes(&mut self) {
        let pick = |f: fn(&LatentSummary) -> f64, max: bool| {
            self.latents
                .iter()
                .map(f)
                .filter(|x| !x.is_nan())
                .reduce(if max { f64::max } else { f64::min })
        };
        self.rhat_max = pick(|l| l.rhat_max, true).unwrap_or(f64::NAN);
        self.ess_bulk_min = pick(|l| l.ess_bulk_min, false).unwrap_or(f64::NAN);
        self.ess_tail_min = pick(|l| l.ess_tail_min, false).unwrap_or(f64::NAN);
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Write to `path` atomically (pretty-printed, trailing newline).
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        let mut text = self.to_json().map_err(|cause| OutputError::Json {
            path: path.to_path_buf(),
            cause,
        })?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Read a `summary.json` back.
    pub fn read(path: &Path) -> Result<Self, OutputError> {
        let text = std::fs::read_to_string(path).map_err(|e| OutputError::io(path, e))?;
        serde_json::from_str(&text).map_err(|cause| OutputError::Json {
            path: path.to_path_buf(),
            cause,
        })
    }
}

/// The process's peak resident set size in bytes (`VmHWM` in `/proc/self/status`), where the
/// system reports it.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn example() -> Summary {
        let mut draws = Array3::<f64>::zeros((2, 20, 6));
        for ((c, d, p), v) in draws.indexed_iter_mut() {
            *v = ((c * 7 + d * 13 + p * 3) % 11) as f64 + if p == 4 && c == 0 { 30.0 } else { 0.0 };
        }
        draws.slice_mut(ndarray::s![.., .., 5]).fill(1.0); // constant: R̂ NaN
        let diag = Diagnostics::compute(draws.view());
        let mut s = Summary {
            sampler: "hmc".into(),
            reason: "the prior has an exact log density".into(),
            chains: 2,
            draws: 20,
            warmup: 10,
            seed: 7,
            acceptance_rate: vec![0.8, f64::NAN],
            step_size: vec![0.1, 0.2],
            divergences: vec![0, 3],
            grad_evals: 1234,
            wall_seconds: 1.5,
            partial: true,
            latents: vec![
                LatentSummary::from_diagnostics("x", &[2, 3], "float64", &diag),
                LatentSummary::from_diagnostics("c", &[], "float64", &diag.select(5..6)),
            ],
            ..Default::default()
        };
        s.extra
            .insert("sigmas".into(), serde_json::json!([1.0, 0.5, 0.25]));
        s.update_extremes();
        s
    }

    #[test]
    fn nan_becomes_null_and_round_trips() {
        let s = example();
        let json = s.to_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["acceptance_rate"], serde_json::json!([0.8, null]));
        assert_eq!(v["latents"][1]["rhat_max"], serde_json::Value::Null);
        assert_eq!(v["latents"][0]["rhat_argmax"], serde_json::json!([1, 1]));
        assert!(v["latents"][1]["note"].as_str().unwrap().contains("R-hat 1"));
        assert_eq!(v["partial"], serde_json::json!(true));
        for key in [
            "sampler",
            "reason",
            "chains",
            "draws",
            "warmup",
            "seed",
            "step_size",
            "divergences",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        s.write(&p).unwrap();
        let back = Summary::read(&p).unwrap();
        assert!(back.acceptance_rate[1].is_nan() && back.latents[1].rhat_max.is_nan());
        // NaN != NaN, so compare the JSON texts.
        assert_eq!(back.to_json().unwrap(), json);
        assert_eq!(back.extra["sigmas"], serde_json::json!([1.0, 0.5, 0.25]));
    }

    #[test]
    fn extremes_skip_nan_latents() {
        let s = example();
        assert_eq!(s.rhat_max, s.latents[0].rhat_max);
        assert!(s.rhat_max > 1.5, "shifted chain: {}", s.rhat_max);
        assert_eq!(
            s.ess_bulk_min,
            s.latents[0].ess_bulk_min.min(s.latents[1].ess_bulk_min)
        );
    }

    #[test]
    fn unravel_row_major() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(0, &[]), Vec::<usize>::new());
        assert_eq!(unravel(7, &[2, 3]), vec![7]);
    }
}
