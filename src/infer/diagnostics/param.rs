//! Every statistic of one parameter's draws, with reusable per-thread buffers (no per-parameter allocation).

use super::ess::{ess, var_ddof1, EssPlan, EssScratch};
use super::normal::{fold_sorted, median_sorted, quantile_sorted, z_from_sorted, ZTable};
use super::rhat::{rhat_rows, split_chains};
use std::sync::Arc;

/// The statistics of one parameter (see [`super::Diagnostics`] for their definitions).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParamStats {
    pub mean: f64,
    pub sd: f64,
    pub q05: f64,
    pub q50: f64,
    pub q95: f64,
    pub rhat: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
    pub ess_mean: f64,
    pub mcse_mean: f64,
    pub mcse_sd: f64,
}

impl ParamStats {
    fn nan() -> Self {
        let n = f64::NAN;
        ParamStats {
            mean: n,
            sd: n,
            q05: n,
            q50: n,
            q95: n,
            rhat: n,
            ess_bulk: n,
            ess_tail: n,
            ess_mean: n,
            mcse_mean: n,
            mcse_sd: n,
        }
    }
}

/// Python's `max(a, b)`: `b` only if `b > a` (so a NaN first argument wins), as ArviZ computes it.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min(a, b)`: `b` only if `b < a`.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Scratch buffers for one thread.
pub(crate) struct Buffers {
    chains: usize,
    draws: usize,
    sorted: Vec<f64>,
    tmp: Vec<f64>,
    split: Vec<f64>,
    z: Vec<f64>,
    pairs: Vec<(f64, u32)>,
    folded: Vec<(f64, u32)>,
    means: Vec<f64>,
    ztable: Arc<ZTable>,
    ess: EssScratch,
}

impl Buffers {
    /// Buffers for parameters of `chains` × `draws`; `ztable` must be built for 2·chains·⌊draws/2⌋ values.
    pub(crate) fn new(chains: usize, draws: usize, plan: EssPlan, ztable: Arc<ZTable>) -> Self {
        let total = chains * draws;
        Buffers {
            chains,
            draws,
            sorted: Vec::with_capacity(total),
            tmp: Vec::with_capacity(total),
            split: Vec::with_capacity(total),
            z: vec![0.0; 2 * chains * (draws / 2)],
            pairs: Vec::with_capacity(total),
            folded: Vec::with_capacity(total),
            means: Vec::with_capacity(2 * chains),
            ztable,
            ess: EssScratch::new(plan),
        }
    }

    /// ESS of the values in `tmp` ([chains][draws]) after splitting the chains
    /// (ArviZ `_ess(_split_chains(·))`).
    fn split_ess_of_tmp(&mut self) -> f64 {
        split_chains(&self.tmp, self.chains, self.draws, &mut self.split);
        ess(&self.split, &mut self.ess)
    }

    /// All statistics of `x` = one parameter's draws, [chains][draws] row-major.
    pub(crate) fn stats(&mut self, x: &[f64]) -> ParamStats {
        let (chains, draws) = (self.chains, self.draws);
        let total = x.len();
        if total == 0 || total != chains * draws || x.iter().any(|v| v.is_nan()) {
            return ParamStats::nan();
        }
        let mut out = ParamStats::nan();
        let nf = total as f64;
        out.mean = x.iter().sum::<f64>() / nf;
        out.sd = var_ddof1(x).sqrt();
        let half = draws / 2;
        // Split chains, sorted once as (value, index) pairs: ranks, median and (even draws) quantiles.
        split_chains(x, chains, draws, &mut self.split);
        self.pairs.clear();
        self.pairs
            .extend(self.split.iter().enumerate().map(|(i, &v)| (v, i as u32)));
        self.pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        self.sorted.clear();
        if draws.is_multiple_of(2) {
            self.sorted.extend(self.pairs.iter().map(|p| p.0));
        } else {
            self.sorted.extend_from_slice(x);
            self.sorted.sort_unstable_by(f64::total_cmp);
        }
        let (q05, q95) = (
            quantile_sorted(&self.sorted, 0.05),
            quantile_sorted(&self.sorted, 0.95),
        );
        out.q05 = q05;
        out.q50 = quantile_sorted(&self.sorted, 0.5);
        out.q95 = q95;
        if draws < 4 {
            return out;
        }

        // Bulk: rank-normalised split chains.
        z_from_sorted(&self.pairs, &self.ztable, &mut self.z);
        out.ess_bulk = ess(&self.z, &mut self.ess);
        if chains >= 2 {
            let rhat_bulk = rhat_rows(&self.z, half, &mut self.means);
            // Tail: fold the split chains about their median, then rank-normalise again.
            self.tmp.clear();
            self.tmp.extend(self.pairs.iter().map(|p| p.0));
            let med = median_sorted(&self.tmp);
            fold_sorted(&self.pairs, med, &mut self.folded);
            z_from_sorted(&self.folded, &self.ztable, &mut self.z);
            let rhat_tail = rhat_rows(&self.z, half, &mut self.means);
            out.rhat = py_max(rhat_bulk, rhat_tail);
        }
        // Basic ESS of the mean (split, not rank-normalised) and the MCSE of the mean.
        out.ess_mean = ess(&self.split, &mut self.ess);
        out.mcse_mean = out.sd / out.ess_mean.sqrt();

        // Tail ESS: indicators of x ≤ 5% and 95% quantiles.
        let mut tail = [f64::NAN; 2];
        for (slot, q) in tail.iter_mut().zip([q05, q95]) {
            self.tmp.clear();
            self.tmp.extend(x.iter().map(|&v| if v <= q { 1.0 } else { 0.0 }));
            *slot = self.split_ess_of_tmp();
        }
        out.ess_tail = py_min(tail[0], tail[1]);

        // MCSE of the sd (ArviZ ≥ 0.17): delta method on the squared deviations.
        self.tmp.clear();
        self.tmp
            .extend(x.iter().map(|&v| (v - out.mean) * (v - out.mean)));
        let evar = self.tmp.iter().sum::<f64>() / nf;
        let e2 = self.tmp.iter().map(|s| s * s).sum::<f64>() / nf;
        let ess_sd = self.split_ess_of_tmp();
        let varvar = (e2 - evar * evar) / ess_sd;
        out.mcse_sd = (varvar / evar / 4.0).sqrt();
        out
    }
}
