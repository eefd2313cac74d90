//! Annealed HMC's rounds: the batches' per-particle draws and σ_min statistics laid out per chain,
//! and the final denoising step (EDS's mean or `denoise.rs`'s draw).

use std::time::Instant;

use ndarray::{Array2, Array3, Axis};

use super::annealed::{AnnealedConfig, AnnealedOutput};
use super::denoise::{denoise_draw, normals, Denoise, DrawStats, LANCZOS as DENOISE_LANCZOS};
use crate::infer::kernels::KernelError;
use crate::infer::run::{particle_stream, stream_rngs, RunError, RunOutput};
use crate::infer::sample_stats::SampleStats;
use crate::infer::target::{EvalError, Posterior};

/// Lay out the batches' `[particles, draws, dim]` raw draws (particle `r · chains + c` within a
/// batch) as `[chains, rounds · draws, dim]`, rounds in order.
pub(super) fn by_chain(batches: &[Array3<f64>], chains: usize) -> Array3<f64> {
    let draws = batches.first().map_or(0, |b| b.len_of(Axis(1)));
    let dim = batches.first().map_or(0, |b| b.len_of(Axis(2)));
    let rounds: usize = batches.iter().map(|b| b.len_of(Axis(0)) / chains).sum();
    let mut out = Array3::zeros((chains, rounds * draws, dim));
    let mut r = 0;
    for b in batches {
        for p in 0..b.len_of(Axis(0)) {
            let (round, c) = (r + p / chains, p % chains);
            out.slice_mut(ndarray::s![c, round * draws..(round + 1) * draws, ..])
                .assign(&b.index_axis(Axis(0), p));
        }
        r += b.len_of(Axis(0)) / chains;
    }
    out
}

/// Per-draw values `[particles, draws]` of every batch laid out as `[chains, rounds · draws]`, as
/// [`by_chain`] lays out the draws.
fn stat_by_chain<T: Clone + Default>(batches: &[&Array2<T>], chains: usize) -> Array2<T> {
    let draws = batches.first().map_or(0, |b| b.ncols());
    let rounds: usize = batches.iter().map(|b| b.nrows() / chains).sum();
    let mut out = Array2::from_elem((chains, rounds * draws), T::default());
    let mut r = 0;
    for b in batches {
        for (p, row) in b.rows().into_iter().enumerate() {
            let (round, c) = (r + p / chains, p % chains);
            out.slice_mut(ndarray::s![c, round * draws..(round + 1) * draws])
                .assign(&row);
        }
        r += b.nrows() / chains;
    }
    out
}

/// The batches' per-draw statistics laid out per chain.
fn stats_by_chain(lasts: &[RunOutput], chains: usize) -> SampleStats {
    let f = |get: &dyn Fn(&SampleStats) -> Option<&Array2<f64>>| -> Option<Array2<f64>> {
        let parts: Option<Vec<&Array2<f64>>> = lasts.iter().map(|l| get(&l.stats)).collect();
        parts.map(|p| stat_by_chain(&p, chains))
    };
    let all = |get: &dyn Fn(&SampleStats) -> &Array2<f64>| {
        stat_by_chain(&lasts.iter().map(|l| get(&l.stats)).collect::<Vec<_>>(), chains)
    };
    let depth: Option<Vec<&Array2<i64>>> = lasts.iter().map(|l| l.stats.tree_depth.as_ref()).collect();
    SampleStats {
        lp: f(&|s| s.lp.as_ref()),
        acceptance_rate: all(&|s| &s.acceptance_rate),
        step_size: all(&|s| &s.step_size),
        tree_depth: depth.map(|p| stat_by_chain(&p, chains)),
        n_steps: stat_by_chain(
            &lasts.iter().map(|l| &l.stats.n_steps).collect::<Vec<_>>(),
            chains,
        ),
        diverging: stat_by_chain(
            &lasts.iter().map(|l| &l.stats.diverging).collect::<Vec<_>>(),
            chains,
        ),
        energy: f(&|s| s.energy.as_ref()),
    }
}

/// The σ_min phases of all batches as one run of `chains` chains: per-draw statistics laid out as
/// the draws, per-chain ones averaged (acceptance, step size) or summed (divergences, evaluations)
/// over its rounds.
pub(super) fn merge_last(lasts: &[RunOutput], chains: usize, raw: &Array3<f64>) -> Option<RunOutput> {
    let first = lasts.first()?;
    let per_chain = |f: &dyn Fn(&RunOutput, usize) -> f64| -> Vec<f64> {
        (0..chains)
            .map(|c| {
                let v: Vec<f64> = lasts
                    .iter()
                    .flat_map(|l| (c..l.step_size.len()).step_by(chains).map(move |p| f(l, p)))
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            })
            .collect()
    };
    let count = |f: &dyn Fn(&RunOutput, usize) -> usize| -> Vec<usize> {
        (0..chains)
            .map(|c| {
                lasts
                    .iter()
                    .flat_map(|l| (c..l.step_size.len()).step_by(chains).map(move |p| f(l, p)))
                    .sum()
            })
            .collect()
    };
    Some(RunOutput {
        draws: raw.clone(),
        stats: stats_by_chain(lasts, chains),
        acceptance_rate: per_chain(&|l, p| l.acceptance_rate[p]),
        step_size: per_chain(&|l, p| l.step_size[p]),
        inv_mass: Array2::ones((chains, first.inv_mass.ncols())),
        metric_rank: vec![0; chains],
        divergences: count(&|l, p| l.divergences[p]),
        warmup_divergences: count(&|l, p| l.warmup_divergences[p]),
        grad_evals: lasts.iter().map(|l| l.grad_evals).sum(),
        score_evals: lasts.iter().map(|l| l.score_evals).sum(),
        wall_seconds: lasts.iter().map(|l| l.wall_seconds).sum(),
        partial: lasts.iter().any(|l| l.partial),
    })
}

/// Expected denoised samples `x + σ² s_prior(x, σ)` of every draw, batched over chains.
fn eds(target: &dyn Posterior, raw: &Array3<f64>, sigma: f64) -> Result<(Array3<f64>, u64), RunError> {
    let mut out = raw.clone();
    let mut n = 0u64;
    for k in 0..raw.len_of(Axis(1)) {
        let xs = raw.index_axis(Axis(1), k);
        let s = target.prior_score(xs, sigma).map_err(|e| match e {
            EvalError::Fatal(m) => RunError::Kernel(KernelError::Fatal(m)),
            other => RunError::Kernel(KernelError::Fatal(format!("EDS step: {other}"))),
        })?;
        n += xs.nrows() as u64;
        out.index_axis_mut(Axis(1), k).scaled_add(sigma * sigma, &s);
    }
    Ok((out, n))
}

/// Draws of p(x | x_σ, y) for every raw draw (`denoise.rs`), `batch` rows at a time; draw `j` of
/// global chain `first + c` uses its own stream, so shards equal the same chains of one run.
fn draws(
    target: &dyn Posterior,
    raw: &Array3<f64>,
    sigma: f64,
    (batch, seed, first): (usize, u64, usize),
) -> Result<(Array3<f64>, DrawStats), RunError> {
    let fatal = |e: EvalError| RunError::Kernel(KernelError::Fatal(format!("the denoising draw: {e}")));
    let lg = target
        .linear_gaussian()
        .map_err(|e| RunError::Config(format!("`denoise = draw`: {e}")))?;
    let (chains, n, dim) = raw.dim();
    let obs = lg.resid().len();
    let mut out = raw.clone();
    let mut stats = DrawStats::default();
    let index: Vec<(usize, usize)> = (0..chains).flat_map(|c| (0..n).map(move |j| (c, j))).collect();
    // The Lanczos basis holds LANCZOS + 1 vectors per row: at most 256 MiB of it at a time.
    let rows = (256usize << 20) / ((DENOISE_LANCZOS + 1) * dim.max(1) * 8);
    for part in index.chunks(batch.min(rows).max(1)) {
        let xs = Array2::from_shape_fn((part.len(), dim), |(r, k)| raw[[part[r].0, part[r].1, k]]);
        let (mut z, mut e) = (Array2::zeros((part.len(), dim)), Array2::zeros((part.len(), obs)));
        for (r, &(c, j)) in part.iter().enumerate() {
            let mut rng = stream_rngs(seed ^ 0xd2a_3d1e, &[particle_stream(first + c, j)]).remove(0);
            z.row_mut(r).assign(&normals(&mut rng, 1, dim).row(0));
            e.row_mut(r).assign(&normals(&mut rng, 1, obs).row(0));
        }
        let x = denoise_draw(target, lg.as_ref(), xs.view(), sigma, (&z, &e), &mut stats).map_err(fatal)?;
        for (r, &(c, j)) in part.iter().enumerate() {
            out.slice_mut(ndarray::s![c, j, ..]).assign(&x.row(r));
        }
    }
    Ok((out, stats))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    target: &dyn Posterior,
    (cfg, seed, first): (&AnnealedConfig, u64, usize),
    raw: Array3<f64>,
    sigma: f64,
    sigmas: Vec<f64>,
    level_accept: Vec<f64>,
    eps: Vec<f64>,
    last: Option<RunOutput>,
    (grad_evals, mut score_evals): (u64, u64),
    started: Instant,
    partial: bool,
) -> Result<AnnealedOutput, RunError> {
    let mut denoise = None;
    let draws = match cfg.denoise {
        _ if raw.len_of(Axis(1)) == 0 => raw.clone(),
        Denoise::Off => raw.clone(),
        // A stopped run keeps what it has at once: the EDS mean instead of the solves of a draw.
        Denoise::Mean | Denoise::Draw if partial => {
            let (d, n) = eds(target, &raw, sigma)?;
            score_evals += n;
            d
        }
        Denoise::Mean => {
            let (d, n) = eds(target, &raw, sigma)?;
            score_evals += n;
            d
        }
        Denoise::Draw => {
            let (d, stats) = draws(target, &raw, sigma, (cfg.batch, seed, first))?;
            score_evals += stats.score_evals;
            denoise = Some(stats);
            d
        }
    };
    Ok(AnnealedOutput {
        draws,
        raw,
        sigmas,
        level_accept,
        eps,
        last,
        grad_evals,
        score_evals,
        wall_seconds: started.elapsed().as_secs_f64(),
        partial,
        levels_done: 0,
        levels_planned: 0,
        rounds_done: 0,
        corrections: Vec::new(),
        denoise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Particle `r · chains + c` of a batch is round `r` of chain `c`; batches follow each other.
    #[test]
    fn by_chain_orders_rounds_within_each_chain() {
        let chains = 2;
        // Two batches of 2 and 1 rounds, 2 draws each, dim 1; value = 100·round + 10·chain + draw.
        let batch = |rounds: std::ops::Range<usize>| {
            let n = rounds.len() * chains;
            Array3::from_shape_fn((n, 2, 1), |(p, k, _)| {
                (100 * (rounds.start + p / chains) + 10 * (p % chains) + k) as f64
            })
        };
        let (b0, b1) = (batch(0..2), batch(2..3));
        let out = by_chain(&[b0.clone(), b1.clone()], chains);
        assert_eq!(out.dim(), (2, 6, 1));
        // Per-draw statistics follow the draws.
        let stat = |b: &Array3<f64>| b.index_axis(Axis(2), 0).mapv(|v| v as i64);
        let stats = stat_by_chain(&[&stat(&b0), &stat(&b1)], chains);
        for c in 0..chains {
            for j in 0..6 {
                assert_eq!(out[[c, j, 0]], (100 * (j / 2) + 10 * c + j % 2) as f64);
                assert_eq!(stats[[c, j]], out[[c, j, 0]] as i64);
            }
        }
    }
}
