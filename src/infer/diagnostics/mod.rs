//! MCMC diagnostics (Vehtari et al. 2021, computed exactly as ArviZ): rank-normalised split-R̂,
//! bulk/tail/basic ESS, MCSE of the mean and sd, quantiles; per parameter, in parallel.
//!
//! Definitions, for one parameter with draws `x[chain][draw]` (S = chains·draws):
//! - chains are split in halves (an odd middle draw is dropped), giving 2·chains rows;
//! - rank normalisation: z = Φ⁻¹((r − 3/8)/(S − 1/4)) with average ranks r over all split draws;
//! - `rhat` = max(R̂ of z, R̂ of z-scaled |x − median|), NaN with fewer than 2 chains or 4 draws;
//! - `ess_bulk` = ESS of z; `ess_tail` = min of the ESS of the indicators x ≤ q₀.₀₅ and x ≤ q₀.₉₅;
//!   `ess_mean` (basic ESS) = ESS of the split raw draws; every ESS ≤ S·log10(S), and equals S for
//!   a constant sequence;
//! - ESS uses the FFT autocovariance and Geyer's initial monotone sequence;
//! - `mcse_mean` = sd/√ess_mean, `mcse_sd` from the ESS of the squared deviations;
//! - `sd` uses ddof = 1; quantiles are R type 7.
//!
//! Undefined values are NaN, as in ArviZ: any NaN draw, fewer than 4 draws (all but mean/sd/quantiles),
//! 1 chain (R̂ only), constant parameters (R̂ and `mcse_sd`). [`DiagSummary`] skips NaN and counts them.

mod ess;
mod limits;
mod normal;
mod param;
mod rhat;
mod warnings;

pub use limits::{ess_limit, rhat_limit, rhat_quantile};
pub use normal::quantile_sorted;
pub use warnings::{check, ebfmi, LatentCheck, Levels, RunChecks, SolverCheck, Warning, WarningKind};

use ndarray::{s, ArrayView3};
use param::{Buffers, ParamStats};
use rayon::prelude::*;
use std::ops::Range;

/// Parameters per parallel work item (gathered into a contiguous block first, for cache locality).
const BLOCK: usize = 16;

/// Per-parameter diagnostics; every vector has one entry per parameter (scalar or pixel).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics {
    pub chains: usize,
    pub draws: usize,
    pub mean: Vec<f64>,
    /// Posterior standard deviation (ddof = 1).
    pub sd: Vec<f64>,
    pub q05: Vec<f64>,
    pub q50: Vec<f64>,
    pub q95: Vec<f64>,
    /// Rank-normalised split-R̂ (max of bulk and folded-tail).
    pub rhat: Vec<f64>,
    pub ess_bulk: Vec<f64>,
    pub ess_tail: Vec<f64>,
    /// Basic ESS: split chains, not rank-normalised (the ESS behind `mcse_mean`).
    pub ess_mean: Vec<f64>,
    pub mcse_mean: Vec<f64>,
    pub mcse_sd: Vec<f64>,
}

/// Worst values over a set of parameters. Maxima and minima skip NaN; `*_nan` counts the skipped ones,
/// and the value is NaN with no index when every entry is NaN (or there are none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiagSummary {
    pub params: usize,
    pub rhat_max: f64,
    pub rhat_argmax: Option<usize>,
    pub rhat_nan: usize,
    pub ess_bulk_min: f64,
    pub ess_bulk_argmin: Option<usize>,
    pub ess_bulk_nan: usize,
    pub ess_tail_min: f64,
    pub ess_tail_argmin: Option<usize>,
    pub ess_tail_nan: usize,
}

/// (best value, its index, NaN count) where `better(a, b)` says `a` beats `b`.
fn extremum(xs: &[f64], better: impl Fn(f64, f64) -> bool) -> (f64, Option<usize>, usize) {
    let mut best: Option<(usize, f64)> = None;
    let mut nan = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            nan += 1;
        } else if best.is_none_or(|(_, b)| better(x, b)) {
            best = Some((i, x));
        }
    }
    match best {
        Some((i, x)) => (x, Some(i), nan),
        None => (f64::NAN, None, nan),
    }
}

impl DiagSummary {
    /// A sentence naming the undefined (NaN) diagnostics, if any.
    pub fn nan_note(&self) -> Option<String> {
        if self.rhat_nan == 0 && self.ess_bulk_nan == 0 && self.ess_tail_nan == 0 {
            return None;
        }
        Some(format!(
            "undefined (NaN, skipped in the extremes) for {} of {} parameters: R-hat {}, bulk ESS {}, tail ESS {} \
             (constant values, a single chain, fewer than 4 draws or NaN draws)",
            self.rhat_nan.max(self.ess_bulk_nan).max(self.ess_tail_nan),
            self.params,
            self.rhat_nan,
            self.ess_bulk_nan,
            self.ess_tail_nan
        ))
    }
}

impl Diagnostics {
    /// Diagnostics of `draws` [chains, draws, params], parallel over parameters. Never panics:
    /// degenerate inputs (no chains, 1 chain, < 4 draws, constant or NaN values) give NaN entries.
    pub fn compute(draws: ArrayView3<f64>) -> Self {
        let (chains, n, params) = draws.dim();
        let plan = ess::EssPlan::new((n / 2).max(2));
        let ztable = std::sync::Arc::new(normal::ZTable::new(2 * chains * (n / 2)));
        let per = chains * n;
        let blocks: Vec<Vec<ParamStats>> = (0..params.div_ceil(BLOCK))
            .into_par_iter()
            .map_init(
                || {
                    (
                        Vec::<f64>::new(),
                        Buffers::new(chains, n, plan.clone(), ztable.clone()),
                    )
                },
                |(block, bufs), b| {
                    let p0 = b * BLOCK;
                    let p1 = (p0 + BLOCK).min(params);
                    block.clear();
                    block.resize((p1 - p0) * per, 0.0);
                    for ((c, d, j), v) in draws.slice(s![.., .., p0..p1]).indexed_iter() {
                        block[j * per + c * n + d] = *v;
                    }
                    (0..p1 - p0)
                        .map(|j| bufs.stats(&block[j * per..(j + 1) * per]))
                        .collect()
                },
            )
            .collect();
        let mut out = Diagnostics {
            chains,
            draws: n,
            ..Default::default()
        };
        for st in blocks.into_iter().flatten() {
            out.push(&st);
        }
        out
    }

    fn push(&mut self, st: &ParamStats) {
        self.mean.push(st.mean);
        self.sd.push(st.sd);
        self.q05.push(st.q05);
        self.q50.push(st.q50);
        self.q95.push(st.q95);
        self.rhat.push(st.rhat);
        self.ess_bulk.push(st.ess_bulk);
        self.ess_tail.push(st.ess_tail);
        self.ess_mean.push(st.ess_mean);
        self.mcse_mean.push(st.mcse_mean);
        self.mcse_sd.push(st.mcse_sd);
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// The diagnostics of parameters `range` (e.g. one latent's slice of a flattened state);
    /// the range is clipped to the parameters present.
    pub fn select(&self, range: Range<usize>) -> Diagnostics {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let pick = |v: &Vec<f64>| v.get(start..end).map(<[f64]>::to_vec).unwrap_or_default();
        Diagnostics {
            chains: self.chains,
            draws: self.draws,
            mean: pick(&self.mean),
            sd: pick(&self.sd),
            q05: pick(&self.q05),
            q50: pick(&self.q50),
            q95: pick(&self.q95),
            rhat: pick(&self.rhat),
            ess_bulk: pick(&self.ess_bulk),
            ess_tail: pick(&self.ess_tail),
            ess_mean: pick(&self.ess_mean),
            mcse_mean: pick(&self.mcse_mean),
            mcse_sd: pick(&self.mcse_sd),
        }
    }

    /// Largest R̂ and smallest bulk/tail ESS, with their parameter indices.
    pub fn summary(&self) -> DiagSummary {
        let (rhat_max, rhat_argmax, rhat_nan) = extremum(&self.rhat, |a, b| a > b);
        let (ess_bulk_min, ess_bulk_argmin, ess_bulk_nan) = extremum(&self.ess_bulk, |a, b| a < b);
        let (ess_tail_min, ess_tail_argmin, ess_tail_nan) = extremum(&self.ess_tail, |a, b| a < b);
        DiagSummary {
            params: self.len(),
            rhat_max,
            rhat_argmax,
            rhat_nan,
            ess_bulk_min,
            ess_bulk_argmin,
            ess_bulk_nan,
            ess_tail_min,
            ess_tail_argmin,
            ess_tail_nan,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod calibration;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod warning_tests;
