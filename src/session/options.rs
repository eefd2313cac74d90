//! Sampler options: the one table that `uq sample`'s flags, `infer NAME(...)`, the REPL's `:sample`
//! and the docs read, and the settings resolved from it for one run.

use super::samplers::{SamplerDef, Uses, COMMON};
use super::SessionError;
use crate::diagnostics::did_you_mean;
use crate::source::Span;
use std::collections::BTreeMap;
use std::fmt;

/// Largest `chains`, `draws`, … a run accepts; the memory a run needs is checked separately.
pub const MAX_COUNT: u64 = 100_000_000;

/// What values an option takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A whole number in `min..=max`.
    Count { min: u64, max: u64 },
    /// A real number `x` with `lo < x < hi`, or `lo < x ≤ hi` when `hi_closed`.
    Real { lo: f64, hi: f64, hi_closed: bool },
    /// One of a few words.
    Word(&'static [&'static str]),
    /// `adjoint` or the path of a `.npy` estimate.
    Start,
}

/// One option: its key (`step_size`; the flag is `--step-size`), an older alias, its values and help.
#[derive(Debug)]
pub struct OptionDef {
    pub key: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub help: &'static str,
}

const fn count(key: &'static str, min: u64, max: u64, help: &'static str) -> OptionDef {
    OptionDef {
        key,
        alias: None,
        kind: Kind::Count { min, max },
        help,
    }
}

const fn real(key: &'static str, lo: f64, hi: f64, help: &'static str) -> OptionDef {
    OptionDef {
        key,
        alias: None,
        kind: Kind::Real {
            lo,
            hi,
            hi_closed: false,
        },
        help,
    }
}

/// Every sampler option. Which sampler reads which, with what default, is in each sampler's file.
pub const OPTIONS: &[OptionDef] = &[
    count("chains", 1, 65_536, "Number of chains, run as one batch."),
    count("seed", 0, u64::MAX, "Seed of every random stream; the same seed gives bit-identical output."),
    count(
        "chain_offset",
        0,
        u32::MAX as u64,
        "Global index of the first chain: a shard of a larger run (docs/cluster.md), chains K…K+chains−1 on their own random streams.",
    ),
    count("draws", 1, MAX_COUNT, "Draws kept per chain."),
    count("warmup", 0, MAX_COUNT, "Warm-up iterations per chain, with step-size (and mass) adaptation."),
    count(
        "rounds",
        1,
        1_000_000,
        "Independent annealing runs per chain (batched together), each followed by the warm-up and draws at σ_min; a chain's draws are its rounds' draws in turn.",
    ),
    count("steps", 1, 100_000, "Leapfrog steps per transition (the SUPN samplers: as their default says)."),
    OptionDef {
        key: "step_size",
        alias: Some("eps"),
        kind: Kind::Real { lo: 0.0, hi: f64::INFINITY, hi_closed: false },
        help: "Initial step size (HMC/MALA, then adapted), or annealed HMC's ε in α_i = ε (σ_i/σ_0)^1.5.",
    },
    OptionDef {
        key: "target_accept",
        alias: Some("delta"),
        kind: Kind::Real { lo: 0.0, hi: 1.0, hi_closed: false },
        help: "Acceptance rate the step size adapts to.",
    },
    OptionDef {
        key: "mh",
        alias: None,
        kind: Kind::Word(&["exact", "score", "off"]),
        help: "Metropolis correction: exact log densities, the score-only path integral, or none.",
    },
    count("simpson", 1, 1_000, "Simpson intervals of the score-only correction."),
    OptionDef {
        key: "metric",
        alias: None,
        kind: Kind::Word(&["diag", "lowrank"]),
        help: "HMC/NUTS metric adapted in warm-up: Stan's diagonal, or the diagonal plus a low-rank correction from Lanczos on the Hessian after 20 warm-up iterations and at every window's end (for correlations not aligned with the axes: deblurring, MRI; the default for NUTS).",
    },
    real("gamma", 0.0, 1.0, "Geometric factor γ of the noise schedule σ_{i+1} = γ σ_i (the paper's 0.995 takes 4× as many levels as the default for the same coverage on MRI: docs/samplers.md)."),
    real("sigma0", 0.0, f64::INFINITY, "First noise level σ_0 of the schedule."),
    real(
        "level_adapt",
        0.0,
        f64::INFINITY,
        "Annealed HMC: gain κ of a per-run step adaptation across the levels, ln ε += κ (a_i − target_accept) after each level (a_i its acceptance); for likelihoods that dominate the prior (radial, many coils), where one fixed ε is too small at the late levels or too large at the first.",
    ),
    real("sigma_min", 0.0, f64::INFINITY, "Last noise level σ_min of the schedule."),
    OptionDef {
        key: "denoise",
        alias: None,
        kind: Kind::Word(&["mean", "draw"]),
        help: "Annealed HMC's last step on every draw x at σ_min: `mean`, the EDS step x + σ_min² s(x, σ_min) (the paper's: the denoising posterior's mean), or `draw`, a draw of the clean image given x and the data: the denoising posterior's second-order Tweedie approximation N(mean, σ_min² ∂mean/∂x) conditioned on the data (Lanczos and conjugate gradients on the score's VJPs; one Normal observation linear in the image with a constant σ). By default `draw` where the model allows it (better means and intervals on every MRI slice measured, for ~4% more score evaluations: docs/samplers.md), else `mean`.",
    },
    real("zeta", 0.0, f64::INFINITY, "DPS step size ζ, relative to the measurement operator's norm."),
    count("dps_steps", 1, 100_000, "DPS reverse steps (fewer than the prior's T give a strided schedule)."),
    OptionDef {
        key: "dps_variance",
        alias: None,
        kind: Kind::Word(&["large", "small"]),
        help: "DPS reverse-step noise: large (β_t, guided-diffusion's fixed variance) or small (β̃_t).",
    },
    count(
        "correct",
        0,
        100_000,
        "Corrector: MALA transitions per sample at a small noise level σ_c with the score-only Metropolis correction and the step adapted to 0.574, after DPS's last step or annealing's last level, then the EDS step (0: off).",
    ),
    OptionDef {
        key: "init",
        alias: None,
        kind: Kind::Start,
        help: "Warm start (CCDF): `adjoint` (the scaled adjoint/zero-filled reconstruction) or a .npy estimate with the latents' shape; the sampler then runs only the last fraction t0 of its schedule.",
    },
    OptionDef {
        key: "t0",
        alias: None,
        kind: Kind::Real { lo: 0.0, hi: 1.0, hi_closed: true },
        help: "Fraction of the schedule a warm start (`init`) runs (CCDF's t0 = N′/N).",
    },
];

/// The definition of `key` (or of its alias).
pub fn option(key: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.key == key || o.alias == Some(key))
}

/// A value of an option.
#[derive(Clone, Debug, PartialEq)]
pub enum Setting {
    Count(u64),
    Real(f64),
    Word(String),
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Count(n) => write!(f, "{n}"),
            Setting::Real(x) => write!(f, "{x}"),
            Setting::Word(w) => f.write_str(w),
        }
    }
}

/// A value as given: a number or text (`infer` holds numbers and strings; flags and the REPL text).
#[derive(Clone, Debug, PartialEq)]
pub enum Raw {
    Num(f64),
    Text(String),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Num(x) => write!(f, "{x}"),
            Raw::Text(s) => f.write_str(s),
        }
    }
}

/// Where a given value came from (for messages: a span in the model, a flag, a REPL word).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Origin {
    Model(Span),
    Flag,
    Repl,
}

/// One `key = value` as given.
#[derive(Clone, Debug, PartialEq)]
pub struct Given {
    pub key: String,
    pub value: Raw,
    pub origin: Origin,
}

/// Why a given option was refused; `origin` says where it was written.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct OptionError {
    pub key: String,
    pub origin: Origin,
    pub message: String,
}

impl OptionError {
    /// The option as the user wrote it: `--step-size` for a flag, `step_size` elsewhere.
    pub fn shown_key(&self) -> String {
        shown(&self.key, self.origin)
    }
}

fn shown(key: &str, origin: Origin) -> String {
    match origin {
        Origin::Flag => format!("--{}", key.replace('_', "-")),
        _ => format!("`{key}`"),
    }
}

impl OptionDef {
    /// What the values must be, as a phrase (`a whole number from 1 to 65536`).
    pub fn expects(&self) -> String {
        match self.kind {
            Kind::Count { min, max } if max == u64::MAX => format!("a whole number ≥ {min}"),
            Kind::Count { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Real { lo: 0.0, hi, .. } if hi.is_infinite() => "a positive number".into(),
            Kind::Real { lo, hi, hi_closed } => {
                format!("a number in ({lo}, {hi}{}", if hi_closed { "]" } else { ")" })
            }
            Kind::Word(words) => format!("one of {}", words.join(", ")),
            Kind::Start => "`adjoint` or the path of a .npy estimate".into(),
        }
    }

    /// Parse and range-check a value of this option.
    pub fn parse(&self, raw: &Raw) -> Result<Setting, String> {
        let bad = || Err(format!("takes {}, found `{raw}`", self.expects()));
        let num = match raw {
            Raw::Num(x) => Some(*x),
            Raw::Text(t) => t.trim().parse::<f64>().ok(),
        };
        match self.kind {
            Kind::Count { min, max } => match num {
                Some(x) if x.fract() == 0.0 && x >= min as f64 && x <= max as f64 => {
                    // Exact for whole numbers below 2^53; larger seeds come as text.
                    let exact = match raw {
                        Raw::Text(t) => t.trim().parse::<u64>().ok(),
                        Raw::Num(_) => None,
                    };
                    Ok(Setting::Count(exact.unwrap_or(x as u64)))
                }
                _ => bad(),
            },
            Kind::Real { lo, hi, hi_closed } => match num {
                Some(x) if x > lo && (x < hi || (hi_closed && x == hi)) && x.is_finite() => {
                    Ok(Setting::Real(x))
                }
                _ => bad(),
            },
            Kind::Word(words) => match raw {
                Raw::Text(t) if words.contains(&t.as_str()) => Ok(Setting::Word(t.clone())),
                _ => bad(),
            },
            Kind::Start => match raw {
                Raw::Text(t) if !t.is_empty() => Ok(Setting::Word(t.clone())),
                _ => bad(),
            },
        }
    }
}

/// The options of one run of one sampler: every option it reads, with a value where one was given
/// or the sampler has a fixed default (an automatic default, like a step-size heuristic, has none).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub sampler: &'static str,
    values: BTreeMap<&'static str, Setting>,
    given: Vec<&'static str>,
}

impl Settings {
    /// Resolve `given` (later entries win) for `sampler`: unknown keys, bad values and options the
    /// sampler does not read are errors.
    pub fn resolve(sampler: &'static SamplerDef, given: &[Given]) -> Result<Settings, OptionError> {
        let uses: Vec<&Uses> = COMMON.iter().chain(sampler.options).collect();
        let mut values: BTreeMap<&'static str, Setting> = uses
            .iter()
            .filter_map(|u| u.default.fixed().map(|v| (u.key, v)))
            .collect();
        let mut set = Vec::new();
        for g in given {
            let err = |message: String| OptionError {
                key: g.key.clone(),
                origin: g.origin,
                message,
            };
            let Some(def) = option(&g.key) else {
                let hint = did_you_mean(&g.key, OPTIONS.iter().map(|o| o.key))
                    .map(|s| format!(" (did you mean {}?)", shown(s, g.origin)))
                    .unwrap_or_default();
                let known: Vec<String> = uses.iter().map(|u| shown(u.key, g.origin)).collect();
                return Err(err(format!(
                    "unknown option {}{hint}; {} reads {}",
                    shown(&g.key, g.origin),
                    sampler.name,
                    known.join(", ")
                )));
            };
            if !uses.iter().any(|u| u.key == def.key) {
                return Err(err(format!(
                    "{} does not apply to {}, which would ignore it; remove it or choose a sampler that reads it",
                    shown(def.key, g.origin),
                    sampler.name
                )));
            }
            let v = def
                .parse(&g.value)
                .map_err(|m| err(format!("{} {m}", shown(def.key, g.origin))))?;
            values.insert(def.key, v);
            set.push(def.key);
        }
        if set.contains(&"t0") && !set.contains(&"init") {
            let g = given
                .iter()
                .rev()
                .find(|g| option(&g.key).is_some_and(|d| d.key == "t0"));
            return Err(OptionError {
                key: "t0".into(),
                origin: g.map_or(Origin::Flag, |g| g.origin),
                message: "`t0` sets how much of the schedule a warm start runs, but no `init` was given; add `init` (e.g. --init adjoint) or remove `t0`".into(),
            });
        }
        Ok(Settings {
            sampler: sampler.name,
            values,
            given: set,
        })
    }

    /// Set a whole-number option after resolution, within its range (`--shard-from-env` sets
    /// `chain_offset` from the resolved number of chains).
    pub fn set_count(&mut self, key: &str, n: u64) -> Result<(), String> {
        let def = option(key).ok_or_else(|| format!("unknown option `{key}`"))?;
        let v = def
            .parse(&Raw::Text(n.to_string()))
            .map_err(|m| format!("{key} {m}"))?;
        self.values.insert(def.key, v);
        if !self.given.contains(&def.key) {
            self.given.push(def.key);
        }
        Ok(())
    }

    /// A whole-number option with a fixed default (an error names a registry entry without one).
    pub fn count(&self, key: &str) -> Result<usize, SessionError> {
        self.opt_count(key).ok_or_else(|| self.missing(key))
    }

    /// A whole-number option whose default is automatic (`None` when not given).
    pub fn opt_count(&self, key: &str) -> Option<usize> {
        match self.values.get(key) {
            Some(Setting::Count(n)) => usize::try_from(*n).ok(),
            _ => None,
        }
    }

    /// The seed (the full 64-bit range).
    pub fn seed(&self) -> Result<u64, SessionError> {
        match self.values.get("seed") {
            Some(Setting::Count(n)) => Ok(*n),
            _ => Err(self.missing("seed")),
        }
    }

    /// A real option with a fixed default.
    pub fn real(&self, key: &str) -> Result<f64, SessionError> {
        self.opt_real(key).ok_or_else(|| self.missing(key))
    }

    /// A real option whose default is automatic (`None` when not given).
    pub fn opt_real(&self, key: &str) -> Option<f64> {
        match self.values.get(key) {
            Some(Setting::Real(x)) => Some(*x),
            _ => None,
        }
    }

    /// A word option (`None` when not given and without a fixed default).
    pub fn word(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(Setting::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn missing(&self, key: &str) -> SessionError {
        SessionError::Internal(format!(
            "{} reads `{key}` but its registry entry gives it no default",
            self.sampler
        ))
    }

    /// Whether `key` was given (by the model, a flag or the REPL) rather than defaulted.
    pub fn is_given(&self, key: &str) -> bool {
        self.given.contains(&key)
    }

    /// Every option with a value, for `summary.json`.
    pub fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .values
            .iter()
            .map(|(k, v)| {
                let j = match v {
                    Setting::Count(n) => serde_json::json!(n),
                    Setting::Real(x) => serde_json::json!(x),
                    Setting::Word(w) => serde_json::json!(w),
                };
                (k.to_string(), j)
            })
            .collect();
        serde_json::Value::Object(map)
    }
}
