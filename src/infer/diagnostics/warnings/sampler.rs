//! The warnings from a run's sampler statistics: divergences, tree depth, E-BFMI, stuck or
//! step-collapsed chains, a warm-up too short for Stan's windows, collapsed annealing levels.

use serde_json::{json, Value};

use super::{warning, Levels, Warning, WarningKind};
use crate::infer::sample_stats::SampleStats;

/// E-BFMI below this (Stan's 0.3) warns.
pub const EBFMI_MIN: f64 = 0.3;
/// A chain whose mean acceptance statistic is below this is stuck.
pub const ACCEPT_STUCK: f64 = 0.01;
/// A chain whose mean acceptance statistic is above this has a vanishing step size.
pub const ACCEPT_ONE: f64 = 0.999;
/// Stan's metric adaptation windows need this many warm-up iterations (75 + 25 + 50).
pub const WINDOWED_WARMUP: usize = 150;
/// Annealing levels whose mean acceptance is below this have collapsed ...
pub const LEVEL_ACCEPT_MIN: f64 = 0.1;
/// ... when at least this many follow each other (or every level, in a shorter schedule).
pub const LEVEL_RUN_MIN: usize = 10;

/// Per-chain counts of `true` in a `[chains, draws]` array.
fn per_chain_counts(a: &ndarray::Array2<bool>) -> Vec<usize> {
    a.rows()
        .into_iter()
        .map(|r| r.iter().filter(|&&b| b).count())
        .collect()
}

fn chain_list(counts: &[usize], draws: usize) -> String {
    counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(c, &n)| format!("chain {}: {n} of {draws}", c + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn divergence_warning(st: &SampleStats) -> Option<Warning> {
    let (chains, draws) = st.dim();
    let counts = per_chain_counts(&st.diverging);
    let total: usize = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let message = format!(
        "{total} of {} transitions after warm-up were divergent ({}): the sampler cannot follow \
         the posterior's curvature there and the draws may be biased; raise --target-accept (e.g. \
         0.95) for smaller steps, run a longer warm-up, or reparameterise",
        chains * draws,
        chain_list(&counts, draws)
    );
    Some(warning(
        WarningKind::Divergences,
        message,
        json!({"divergent": total, "per_chain": counts, "draws": draws}),
    ))
}

pub(super) fn tree_depth_warning(st: &SampleStats, max: usize) -> Option<Warning> {
    let depth = st.tree_depth.as_ref()?;
    let (chains, draws) = st.dim();
    let hit = depth.mapv(|d| d >= max as i64);
    let counts = per_chain_counts(&hit);
    let total: usize = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let message = format!(
        "{total} of {} transitions hit the maximum tree depth {max} ({}): NUTS cut its \
         trajectories short, so the chains move slowly; the posterior is likely badly scaled or \
         strongly correlated: reparameterise, or run a longer warm-up to adapt the metric",
        chains * draws,
        chain_list(&counts, draws)
    );
    Some(warning(
        WarningKind::TreeDepth,
        message,
        json!({"saturated": total, "per_chain": counts, "max_tree_depth": max}),
    ))
}

/// E-BFMI of one chain's energies, as ArviZ's `bfmi` and Stan: Σ(Eₙ − Eₙ₋₁)² / N over the variance
/// (ddof 0); NaN with fewer than 3 values or a non-finite one.
pub fn ebfmi(energy: &[f64]) -> f64 {
    if energy.len() < 3 || energy.iter().any(|e| !e.is_finite()) {
        return f64::NAN;
    }
    let n = energy.len() as f64;
    let mean = energy.iter().sum::<f64>() / n;
    let var = energy.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / n;
    let diff = energy
        .windows(2)
        .map(|w| (w[1] - w[0]) * (w[1] - w[0]))
        .sum::<f64>()
        / n;
    diff / var
}

/// Fewest draws per chain for E-BFMI and the acceptance-of-one rule.
const MIN_DRAWS: usize = 20;
/// Fewest draws per chain for the stuck-chain rule.
const MIN_DRAWS_STUCK: usize = 5;

pub(super) fn ebfmi_warnings(st: &SampleStats) -> Vec<Warning> {
    let Some(energy) = &st.energy else {
        return Vec::new();
    };
    if st.dim().1 < MIN_DRAWS {
        return Vec::new();
    }
    let values: Vec<f64> = energy.rows().into_iter().map(|r| ebfmi(&r.to_vec())).collect();
    let low: Vec<(usize, f64)> = values
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, b)| *b < EBFMI_MIN)
        .collect();
    if low.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = low
        .iter()
        .map(|(c, b)| format!("chain {}: {b:.2}", c + 1))
        .collect();
    let message = format!(
        "E-BFMI is below {EBFMI_MIN} ({}): momentum resampling explores the energy distribution \
         poorly, typical of heavy tails or a poorly adapted metric; run a longer warm-up or \
         reparameterise",
        list.join(", ")
    );
    vec![warning(
        WarningKind::Ebfmi,
        message,
        json!({"ebfmi": values.iter().map(|v| if v.is_finite() { json!(v) } else { Value::Null })
                       .collect::<Vec<_>>(), "limit": EBFMI_MIN}),
    )]
}

pub(super) fn acceptance_warnings(st: &SampleStats) -> Vec<Warning> {
    let (_, draws) = st.dim();
    let means: Vec<f64> = st
        .acceptance_rate
        .rows()
        .into_iter()
        .map(|r| r.iter().sum::<f64>() / draws.max(1) as f64)
        .collect();
    let mut out = Vec::new();
    let pick =
        |f: &dyn Fn(f64) -> bool| -> Vec<usize> { (0..means.len()).filter(|&c| f(means[c])).collect() };
    let names = |cs: &[usize]| -> String {
        let v: Vec<String> = cs
            .iter()
            .map(|c| format!("chain {} ({:.3})", c + 1, means[*c]))
            .collect();
        v.join(", ")
    };
    let stuck = if draws >= MIN_DRAWS_STUCK {
        pick(&|m| m < ACCEPT_STUCK)
    } else {
        Vec::new()
    };
    if !stuck.is_empty() {
        out.push(warning(
            WarningKind::AcceptanceStuck,
            format!(
                "{} rejected almost every proposal over {draws} draws (mean acceptance below \
                 {ACCEPT_STUCK}): the chain is stuck and its draws are repeats; run a longer warm-up, \
                 lower --step-size, or start elsewhere (another --seed)",
                names(&stuck)
            ),
            json!({"chains": stuck, "mean_acceptance": means, "limit": ACCEPT_STUCK}),
        ));
    }
    let one = if draws >= MIN_DRAWS {
        pick(&|m| m > ACCEPT_ONE)
    } else {
        Vec::new()
    };
    if !one.is_empty() {
        out.push(warning(
            WarningKind::AcceptanceOne,
            format!(
                "{} accepted every proposal over {draws} draws (mean acceptance above {ACCEPT_ONE}): \
                 the step size is so small that the chain barely moves; run a longer warm-up \
                 (--warmup) so that the adaptation settles, or check --step-size",
                names(&one)
            ),
            json!({"chains": one, "mean_acceptance": means, "limit": ACCEPT_ONE}),
        ));
    }
    out
}

pub(super) fn warmup_warning(warmup: usize) -> Option<Warning> {
    if warmup >= WINDOWED_WARMUP {
        return None;
    }
    let what = if warmup == 0 {
        "there was no warm-up: the step size and the metric were not adapted".to_string()
    } else if warmup < 20 {
        format!(
            "a warm-up of {warmup} iterations is too short for a metric window (20 at least): only \
             the step size was adapted"
        )
    } else {
        let ends = crate::infer::WindowSchedule::new(warmup).window_ends();
        format!(
            "a warm-up of {warmup} iterations is shorter than the {WINDOWED_WARMUP} that Stan's \
             adaptation windows need (75 + 25 + 50): they were shrunk to 15%/75%/10%, {} metric \
             window{}, so the step size and metric may be poorly adapted",
            ends.len(),
            if ends.len() == 1 { "" } else { "s" }
        )
    };
    Some(warning(
        WarningKind::ShortWarmup,
        format!("{what}; use --warmup {WINDOWED_WARMUP} or more (the default is 1000)"),
        json!({"warmup": warmup, "needed": WINDOWED_WARMUP}),
    ))
}

pub(super) fn annealing_warning(lv: &Levels) -> Option<Warning> {
    let n = lv.accept.len();
    let need = LEVEL_RUN_MIN.min(n).max(1);
    // The longest run of consecutive levels below the threshold.
    let (mut best, mut start) = ((0, 0), None);
    for (i, &a) in lv
        .accept
        .iter()
        .chain(std::iter::once(&f64::INFINITY))
        .enumerate()
    {
        match (a < LEVEL_ACCEPT_MIN, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s > best.1 - best.0 {
                    best = (s, i);
                }
                start = None;
            }
            _ => {}
        }
    }
    let (s, e) = best;
    if e - s < need || n == 0 {
        return None;
    }
    let mean = lv.accept[s..e].iter().sum::<f64>() / (e - s) as f64;
    let sigma = |i: usize| lv.sigmas.get(i).copied().unwrap_or(f64::NAN);
    let message = format!(
        "annealing levels {}–{} of {n} (σ {:.3e} → {:.3e}) accepted under {:.0}% of proposals (mean \
         {mean:.3}): the chains froze there and the later levels start from stale points; lower \
         the step size (--step-size) or anneal more slowly (--gamma closer to 1)",
        s + 1,
        e,
        sigma(s),
        sigma(e - 1),
        100.0 * LEVEL_ACCEPT_MIN
    );
    Some(warning(
        WarningKind::AnnealingCollapse,
        message,
        json!({"first_level": s + 1, "last_level": e, "levels": n, "mean_acceptance": mean,
               "sigma_first": sigma(s), "sigma_last": sigma(e - 1), "limit": LEVEL_ACCEPT_MIN}),
    ))
}
