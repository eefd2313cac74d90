//! `key = value` sampler options shared by `infer NAME(...)`, `uq sample` and the REPL's `:sample`.

use super::sample::{SampleOptions, StartSpec};
use crate::infer::MhMode;
use std::path::PathBuf;

/// Every key [`set_option`] understands (the REPL's `:sample` also takes `sampler`).
pub const OPTION_KEYS: &[&str] = &[
    "draws",
    "chains",
    "warmup",
    "rounds",
    "seed",
    "steps",
    "step_size",
    "target_accept",
    "mh",
    "simpson",
    "zeta",
    "dps_steps",
    "dps_variance",
    "gamma",
    "sigma0",
    "sigma_min",
    "init",
    "t0",
];

/// An option's value: a number, or text (`mh = "score"`, `init = "adjoint"`).
#[derive(Clone, Copy, Debug)]
pub enum OptionValue<'a> {
    Num(f64),
    Str(&'a str),
}

impl<'a> OptionValue<'a> {
    /// A number if the text parses as one (for `key=value` words typed at the REPL).
    pub fn parse(text: &'a str) -> Self {
        text.parse()
            .map(OptionValue::Num)
            .unwrap_or(OptionValue::Str(text))
    }
}

impl std::fmt::Display for OptionValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Num(x) => write!(f, "{x}"),
            OptionValue::Str(s) => write!(f, "{s}"),
        }
    }
}

/// Set one option; the error is a sentence naming the key.
pub fn set_option(o: &mut SampleOptions, key: &str, value: OptionValue<'_>) -> Result<(), String> {
    let num = || match value {
        OptionValue::Num(x) if x.is_finite() => Ok(x),
        _ => Err(format!("`{key}` takes a number, found `{value}`")),
    };
    let count = || match value {
        OptionValue::Num(x) if x >= 0.0 && x.fract() == 0.0 && x < 1e15 => Ok(x as usize),
        _ => Err(format!("`{key}` takes a whole number, found `{value}`")),
    };
    let positive = || match num()? {
        x if x > 0.0 => Ok(x),
        _ => Err(format!("`{key}` must be positive")),
    };
    match key {
        "draws" => o.draws = Some(count()?),
        "chains" => match count()? {
            0 => return Err("`chains` must be at least 1".into()),
            c => o.chains = c,
        },
        "warmup" => o.warmup = Some(count()?),
        "rounds" => match count()? {
            0 => return Err("`rounds` must be at least 1".into()),
            r => o.rounds = Some(r),
        },
        "seed" => o.seed = count()? as u64,
        "steps" => o.steps = Some(count()?.max(1)),
        "step_size" | "eps" => o.step_size = Some(positive()?),
        "target_accept" | "delta" => match num()? {
            x if x > 0.0 && x < 1.0 => o.target_accept = Some(x),
            _ => return Err("`target_accept` must be in (0, 1)".into()),
        },
        "mh" => {
            o.mh = Some(match value {
                OptionValue::Str("exact") => MhMode::Exact,
                OptionValue::Str("score" | "score-only") => MhMode::ScoreOnly { points: o.simpson },
                OptionValue::Str("off") => MhMode::Off,
                _ => return Err("`mh` takes \"exact\", \"score\" or \"off\"".into()),
            })
        }
        "simpson" => {
            o.simpson = count()?.max(1);
            if let Some(MhMode::ScoreOnly { points }) = &mut o.mh {
                *points = o.simpson;
            }
        }
        "zeta" => o.zeta = positive()?,
        "dps_steps" => o.dps_steps = count()?.max(1),
        "dps_variance" => {
            o.dps_small_variance = match value {
                OptionValue::Str("large") => false,
                OptionValue::Str("small") => true,
                _ => return Err("`dps_variance` takes \"large\" (β_t) or \"small\" (β̃_t)".into()),
            }
        }
        "gamma" => match num()? {
            x if x > 0.0 && x < 1.0 => o.gamma = x,
            _ => return Err("`gamma` must be in (0, 1)".into()),
        },
        "sigma0" => o.sigma0 = Some(positive()?),
        "sigma_min" => o.sigma_min = Some(positive()?),
        "t0" => match num()? {
            x if x > 0.0 && x <= 1.0 => o.t0 = x,
            _ => return Err("`t0` must be in (0, 1]".into()),
        },
        "init" => match value {
            OptionValue::Str("adjoint") => o.init = Some(StartSpec::Adjoint),
            OptionValue::Str(path) => o.init = Some(StartSpec::File(PathBuf::from(path))),
            _ => return Err("`init` takes \"adjoint\" or the path of a .npy estimate".into()),
        },
        _ => {
            return Err(format!(
                "unknown option `{key}`; known: {}",
                OPTION_KEYS.join(", ")
            ))
        }
    }
    Ok(())
}
