//! Warnings after every run, as CmdStan and ArviZ give them: R̂, bulk/tail ESS, divergences, tree
//! depth, E-BFMI, stuck or degenerate acceptance, a warm-up too short for Stan's windows and
//! annealing levels whose acceptance collapsed. Each is one sentence saying what to try, with its
//! figures; none changes the exit status.
//!
//! R̂ and ESS limits depend on the run's shape (see [`super::limits`]): with few draws per chain a
//! healthy image run's worst pixel is far beyond CmdStan's 1.01, so a latent warns only where
//! independent draws of the same chains × draws × parameters would do so in under 1% of runs.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

mod sampler;

pub use sampler::ebfmi;

use super::limits::{ess_limit, rhat_limit, rhat_quantile, ESS_PER_CHAIN, RHAT_FLOOR};
use super::Diagnostics;
use crate::infer::kernels::MhMode;
use crate::infer::run_config::{KernelKind, RunConfig};
use crate::infer::sample_stats::SampleStats;
use sampler::{
    acceptance_warnings, annealing_warning, divergence_warning, ebfmi_warnings, tree_depth_warning,
    warmup_warning,
};

/// False-alarm budget of each R̂ / ESS rule on a healthy run (0.25% each, 1% in all).
pub const ALPHA: f64 = 0.0025;
/// The R̂ map's spread rule: the share of parameters above the limit that a healthy run reaches
/// in under [`ALPHA`] of runs (Markov's inequality, whatever the dependence between parameters).
pub const RHAT_SHARE: f64 = 0.1;
/// Fewest parameters for the spread rule.
const RHAT_SHARE_MIN_PARAMS: usize = 100;

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    Rhat,
    EssBulk,
    EssTail,
    Divergences,
    TreeDepth,
    Ebfmi,
    AcceptanceStuck,
    AcceptanceOne,
    ShortWarmup,
    AnnealingCollapse,
    SolverNotConverged,
}

/// One warning: its kind, the sentence printed on stderr, and the figures behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    #[serde(default)]
    pub figures: Map<String, Value>,
}

pub(super) fn warning(kind: WarningKind, message: String, figures: Value) -> Warning {
    let figures = match figures {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Warning {
        kind,
        message,
        figures,
    }
}

/// One latent's diagnostics.
#[derive(Clone, Copy, Debug)]
pub struct LatentCheck<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub diag: &'a Diagnostics,
}

/// The mean acceptance of every annealing level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Levels {
    pub sigmas: Vec<f64>,
    pub accept: Vec<f64>,
}

/// What the warnings know of a run besides the draws' diagnostics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunChecks {
    /// Per-draw statistics after warm-up.
    pub stats: Option<SampleStats>,
    /// NUTS: the largest tree depth.
    pub max_tree_depth: Option<usize>,
    /// Proposals were Metropolis-corrected (so an acceptance of 0 or 1 means something).
    pub corrected: bool,
    /// Warm-up iterations of a run that adapts a diagonal metric in Stan's windows.
    pub windowed_warmup: Option<usize>,
    /// Annealed HMC's levels.
    pub levels: Option<Levels>,
    /// The linear solves of an exact Gaussian conditional (SUPN Gibbs and MAP).
    pub solver: Option<SolverCheck>,
}

/// How the conjugate-gradient solves of a run went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SolverCheck {
    pub solves: usize,
    pub not_converged: usize,
    /// The worst relative residual `‖b − P x‖ / ‖b‖`.
    pub max_residual: f64,
    pub tol: f64,
    pub max_iter: usize,
}

impl RunChecks {
    /// The checks of a chain run configured by `cfg`, with its per-draw `stats`.
    pub fn of_chains(cfg: &RunConfig, stats: SampleStats) -> Self {
        let windowed = matches!(
            cfg.kernel,
            KernelKind::Hmc { mass, .. } | KernelKind::Nuts { mass, .. } if mass.windowed()
        ) && cfg.adapt
            && cfg.mh != MhMode::Off;
        Self {
            stats: Some(stats),
            max_tree_depth: match cfg.kernel {
                KernelKind::Nuts { max_depth, .. } => Some(max_depth),
                _ => None,
            },
            corrected: cfg.mh != MhMode::Off,
            windowed_warmup: windowed.then_some(cfg.warmup),
            levels: None,
            solver: None,
        }
    }
}

/// Every warning due for a run: per latent (R̂, ESS), then per run (sampler statistics).
pub fn check(latents: &[LatentCheck<'_>], run: &RunChecks) -> Vec<Warning> {
    let mut out = Vec::new();
    for l in latents {
        out.extend(rhat_warning(l));
        out.extend(ess_warnings(l));
    }
    if let Some(st) = &run.stats {
        out.extend(divergence_warning(st));
        if let Some(max) = run.max_tree_depth {
            out.extend(tree_depth_warning(st, max));
        }
        out.extend(ebfmi_warnings(st));
        if run.corrected {
            out.extend(acceptance_warnings(st));
        }
    }
    if let Some(w) = run.windowed_warmup {
        out.extend(warmup_warning(w));
    }
    if let Some(lv) = &run.levels {
        out.extend(annealing_warning(lv));
    }
    if let Some(sv) = run.solver.as_ref().filter(|s| s.not_converged > 0) {
        out.push(warning(
            WarningKind::SolverNotConverged,
            format!(
                "{} of {} conjugate-gradient solves of the Gaussian conditional stopped at the cap of {} iterations above the tolerance {:.0e} (worst relative residual {:.2e}): those draws are not exact; the prior's precision is badly conditioned at some z",
                sv.not_converged, sv.solves, sv.max_iter, sv.tol, sv.max_residual
            ),
            json!({ "solves": sv.solves, "not_converged": sv.not_converged, "max_residual": sv.max_residual }),
        ));
    }
    out
}

/// Row-major index of flat parameter `i` in `shape`, as text (`[3, 5]`; nothing for a scalar).
fn at(i: usize, shape: &[usize]) -> String {
    let n: usize = shape.iter().product();
    if shape.is_empty() {
        return String::new();
    }
    if i >= n {
        return format!(" at parameter {i}");
    }
    let mut rest = i;
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        idx[k] = rest % d;
        rest /= d;
    }
    let parts: Vec<String> = idx.iter().map(ToString::to_string).collect();
    format!(" at [{}]", parts.join(", "))
}

fn shape_words(d: &Diagnostics) -> String {
    let values = if d.len() == 1 {
        "1 value".to_string()
    } else {
        format!("{} values", d.len())
    };
    format!("{} chains × {} draws of {values}", d.chains, d.draws)
}

fn rhat_warning(l: &LatentCheck<'_>) -> Option<Warning> {
    let d = l.diag;
    let s = d.summary();
    let i = s.rhat_argmax?;
    let limit = rhat_limit(d.chains, d.draws, d.len(), ALPHA);
    let defined = d.rhat.iter().filter(|r| !r.is_nan()).count();
    let share_limit = RHAT_FLOOR.max(rhat_quantile(d.chains, d.draws, ALPHA * RHAT_SHARE / 2.0));
    let above = d.rhat.iter().filter(|&&r| r > share_limit).count();
    let share = above as f64 / defined.max(1) as f64;
    let spread = d.len() >= RHAT_SHARE_MIN_PARAMS && share >= RHAT_SHARE;
    let worst = s.rhat_max > limit;
    if !(worst || spread) {
        return None;
    }
    let healthy = if limit > RHAT_FLOOR {
        format!(
            "; independent draws of {} stay below it in 99.75% of runs",
            shape_words(d)
        )
    } else {
        String::new()
    };
    let pct = 100.0 * share;
    let values = d.len();
    let found = match (worst, spread) {
        (true, false) => format!(
            "is {:.3}{} (limit {limit:.3}{healthy})",
            s.rhat_max,
            at(i, l.shape)
        ),
        (true, true) => format!(
            "is {:.3}{} (limit {limit:.3}{healthy}), and above {share_limit:.3} on {pct:.0}% of its \
             {values} values",
            s.rhat_max,
            at(i, l.shape)
        ),
        _ => format!(
            "is above {share_limit:.3} on {pct:.0}% of its {values} values (independent draws reach \
             {:.0}% in under 0.25% of runs; the largest is {:.3}{})",
            100.0 * RHAT_SHARE,
            s.rhat_max,
            at(i, l.shape)
        ),
    };
    let message = format!(
        "R̂ of {} {found}: the chains disagree, they have not mixed; run longer (--warmup, --draws), \
         or look for several modes or a poor parameterisation",
        l.name
    );
    Some(warning(
        WarningKind::Rhat,
        message,
        json!({"latent": l.name, "rhat_max": s.rhat_max, "index": i, "limit": limit,
               "share_limit": share_limit, "share_above": share, "chains": d.chains, "draws": d.draws,
               "params": d.len()}),
    ))
}

fn ess_warnings(l: &LatentCheck<'_>) -> Vec<Warning> {
    let d = l.diag;
    let s = d.summary();
    let per_chain = (ESS_PER_CHAIN * d.chains) as f64;
    let mut out = Vec::new();
    for (kind, word, value, idx, tail) in [
        (
            WarningKind::EssBulk,
            "bulk",
            s.ess_bulk_min,
            s.ess_bulk_argmin,
            false,
        ),
        (
            WarningKind::EssTail,
            "tail",
            s.ess_tail_min,
            s.ess_tail_argmin,
            true,
        ),
    ] {
        let Some(i) = idx else { continue };
        let healthy = ess_limit(d.chains, d.draws, d.len(), ALPHA, tail);
        let limit = per_chain.min(healthy);
        // No warning where either is undefined (NaN).
        if value.partial_cmp(&limit) != Some(std::cmp::Ordering::Less) {
            continue;
        }
        let why = if limit < per_chain {
            format!(
                "; independent draws of {} reach {limit:.0} in 99.75% of runs",
                shape_words(d)
            )
        } else {
            format!(" = {} per chain", ESS_PER_CHAIN)
        };
        let what = if tail {
            "the 5% and 95% quantiles"
        } else {
            "the mean and median"
        };
        let message = format!(
            "{word} ESS of {} is {value:.0}{} (limit {limit:.0}{why}): estimates of {what} are \
             unreliable, the draws are strongly autocorrelated; run longer (--draws)",
            l.name,
            at(i, l.shape)
        );
        out.push(warning(
            kind,
            message,
            json!({"latent": l.name, "ess": value, "index": i, "limit": limit,
                   "chains": d.chains, "draws": d.draws, "params": d.len()}),
        ));
    }
    out
}
