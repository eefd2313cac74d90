//! The sampler registry: each sampler is one file giving its name, the options it reads with their
//! defaults, the planner's rule and reason, and its run function; everything else reads this table.

mod annealed;
mod corrected;
mod dps;
mod hmc;
mod langevin;
mod mala;
mod mcmc;
mod start;
mod supn;

use super::options::{option, Setting};
use super::plan::{Plan, PlanInput};
use super::sample::RunProgress;
use crate::infer::RunChecks;
use crate::output::Summary;
use crate::session::{Built, SessionError};
use ndarray::Array3;
use std::sync::atomic::AtomicBool;

pub(crate) use start::start_estimate;

/// Progress callback of a run.
pub type Progress<'a> = &'a (dyn Fn(RunProgress<'_>) + Sync);

/// Run a planned sampler: the draws `[chains, draws, dim]` on the flat layout; fills `summary`, and
/// `checks` with what the warnings need (per-draw statistics, annealing levels).
pub type RunFn = fn(
    &Built,
    &Plan,
    &super::Settings,
    Progress<'_>,
    &AtomicBool,
    &mut Summary,
    &mut RunChecks,
) -> Result<Array3<f64>, SessionError>;

/// One sampler.
pub struct SamplerDef {
    /// Its name in `infer NAME(...)`, `--sampler` (where `-` may stand for `_`) and `summary.json`.
    pub name: &'static str,
    /// One line for `--help`, `:help` and the docs.
    pub about: &'static str,
    /// The options it reads besides [`COMMON`], with their defaults.
    pub options: &'static [Uses],
    /// The planner's rule: `Some(reason)` when this is the automatic choice for the model. The
    /// registry's order decides between samplers whose rules both hold.
    pub auto: fn(&PlanInput) -> Option<String>,
    /// Whether it can run on the model when asked for by name; the error says why not.
    pub accepts: fn(&PlanInput) -> Result<(), String>,
    /// The noise levels it evaluates a score prior at; a prior of the other kind is seen through
    /// its view ([`crate::session::PriorView`]).
    pub levels: PriorLevels,
    /// Whether the planner adds its sentence on how the exact latents are sampled (the SUPN
    /// samplers' reasons say it themselves).
    pub terms_note: bool,
    pub run: RunFn,
}

/// The noise levels a sampler evaluates its score prior at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorLevels {
    /// The timesteps `t` of a VP (diffusion) prior (DPS).
    Timesteps,
    /// The noise levels σ of a VE prior, annealed or fixed (everything else).
    Sigmas,
}

impl std::fmt::Debug for SamplerDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for SamplerDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Display for SamplerDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every sampler, in the planner's order of preference.
pub const SAMPLERS: &[&SamplerDef] = &[
    &dps::DPS,
    &langevin::ANNEALED_LANGEVIN,
    &annealed::ANNEALED_HMC,
    &mala::MALA,
    &supn::SUPN_GIBBS,
    &supn::SUPN_MAP,
    &hmc::HMC,
];

/// Options every sampler reads.
pub const COMMON: &[Uses] = &[
    Uses::count("chains", 4),
    Uses::count("seed", 1),
    Uses::count("chain_offset", 0),
];

/// The sampler called `name` (`annealed-hmc` and `annealed_hmc` alike).
pub fn sampler(name: &str) -> Option<&'static SamplerDef> {
    let name = name.replace('-', "_");
    SAMPLERS.iter().copied().find(|s| s.name == name)
}

/// Every name `--sampler` and `infer` take, `auto` first.
pub fn sampler_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("auto").chain(SAMPLERS.iter().map(|s| s.name))
}

/// An option a sampler reads and its default.
#[derive(Debug)]
pub struct Uses {
    pub key: &'static str,
    pub default: OptDefault,
}

/// A sampler's default for one option.
#[derive(Debug)]
pub enum OptDefault {
    Count(u64),
    Real(f64),
    Word(&'static str),
    /// A count with a note on its meaning for this sampler (`1 per round`).
    CountNoted(u64, &'static str),
    /// Computed at run time; the text says how.
    Auto(&'static str),
}

impl OptDefault {
    /// The value when it is fixed.
    pub fn fixed(&self) -> Option<Setting> {
        match self {
            OptDefault::Count(n) | OptDefault::CountNoted(n, _) => Some(Setting::Count(*n)),
            OptDefault::Real(x) => Some(Setting::Real(*x)),
            OptDefault::Word(w) => Some(Setting::Word(w.to_string())),
            OptDefault::Auto(_) => None,
        }
    }
}

impl std::fmt::Display for OptDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptDefault::Count(n) => write!(f, "{n}"),
            OptDefault::Real(x) => write!(f, "{x}"),
            OptDefault::Word(w) => f.write_str(w),
            OptDefault::CountNoted(n, note) => write!(f, "{n} {note}"),
            OptDefault::Auto(how) => f.write_str(how),
        }
    }
}

impl Uses {
    pub const fn count(key: &'static str, n: u64) -> Uses {
        Uses {
            key,
            default: OptDefault::Count(n),
        }
    }
    pub const fn real(key: &'static str, x: f64) -> Uses {
        Uses {
            key,
            default: OptDefault::Real(x),
        }
    }
    pub const fn word(key: &'static str, w: &'static str) -> Uses {
        Uses {
            key,
            default: OptDefault::Word(w),
        }
    }
    pub const fn auto(key: &'static str, how: &'static str) -> Uses {
        Uses {
            key,
            default: OptDefault::Auto(how),
        }
    }
}

/// `sampler: default; …` for every sampler that reads `key` (for `--help` and the docs).
pub fn defaults_of(key: &str) -> Vec<(&'static str, String)> {
    if let Some(u) = COMMON.iter().find(|u| u.key == key) {
        return vec![("all", u.default.to_string())];
    }
    SAMPLERS
        .iter()
        .filter_map(|s| {
            s.options
                .iter()
                .find(|u| u.key == key)
                .map(|u| (s.name, u.default.to_string()))
        })
        .collect()
}

/// The help text of `key` with its defaults, e.g. `Leapfrog steps per transition [hmc: …; annealed_hmc: 4]`.
pub fn help_with_defaults(key: &str) -> String {
    let help = option(key).map_or("", |o| o.help);
    let defaults: Vec<String> = defaults_of(key)
        .into_iter()
        .map(|(s, d)| if s == "all" { d } else { format!("{s}: {d}") })
        .collect();
    format!("{help} [{}]", defaults.join("; "))
}

/// The markdown reference of every sampler and option (`docs/options.md`, checked by a test).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Samplers and their options\n\n\
         Generated from the sampler registry (`src/session/samplers/`); a test keeps this file equal to\n\
         `uq::session::reference_markdown()`. Options are set in a model with `infer NAME(key = value, …)`,\n\
         on the command line with `--key value` (`_` written `-`), and in the REPL with `:sample key=value`;\n\
         the command line wins over the model. An option the running sampler does not read is an error.\n\n\
         ## Samplers\n\n| sampler | what it is |\n|---|---|\n",
    );
    for s in SAMPLERS {
        out.push_str(&format!("| `{}` | {} |\n", s.name, s.about));
    }
    out.push_str("\n## Options\n\n| option | values | meaning | default per sampler |\n|---|---|---|---|\n");
    for o in super::options::OPTIONS {
        let key = match o.alias {
            Some(a) => format!("`{}` (or `{a}`)", o.key),
            None => format!("`{}`", o.key),
        };
        let defaults: Vec<String> = defaults_of(o.key)
            .into_iter()
            .map(|(s, d)| if s == "all" { d } else { format!("{s}: {d}") })
            .collect();
        out.push_str(&format!(
            "| {key} | {} | {} | {} |\n",
            o.expects(),
            o.help,
            defaults.join("; ")
        ));
    }
    out
}
