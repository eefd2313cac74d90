//! The SUPN samplers (`docs/supn.md`): Gibbs with the exact Gaussian conditional x | z, y (the
//! automatic choice for a `supn` prior with a Normal likelihood linear in the image) and the MAP of z
//! (Campbell et al.'s method) followed by exact draws of x | ẑ, y.

use super::{OptDefault, SamplerDef, Uses};
use crate::infer::{
    stream_rngs, supn_gibbs, supn_map, CgStats, Conditional, GraphPosterior, SolverCheck, SupnGibbsConfig,
    SupnLatent, SupnLinear, MALA_TARGET_ACCEPT,
};
use crate::output::{PhaseCount, Summary};
use crate::session::{RunProgress, SessionError};
use ndarray::{s, Array3};
use rayon::prelude::*;
use std::sync::atomic::Ordering;

fn linear(post: &GraphPosterior) -> Result<SupnLinear, SessionError> {
    post.supn_linear()
        .ok_or_else(|| SessionError::Prior("the model has no supn prior".into()))?
        .map_err(|e| {
            SessionError::Prior(format!(
                "the supn prior's Gaussian conditional does not apply: {e}"
            ))
        })
}

fn record_cg(summary: &mut Summary, cg: &CgStats, cond: &Conditional<'_>) -> SolverCheck {
    summary.extra.insert(
        "cg".into(),
        serde_json::json!({
            "solves": cg.solves,
            "mean_iterations": cg.mean_iterations(),
            "max_iterations": cg.max_iterations,
            "not_converged": cg.not_converged,
            "max_rel_residual": cg.max_residual,
            "tol": cond.tol,
            "max_iter": cond.max_iter,
            "preconditioner": "L_c L_cᵀ: the prior's factor L(z) with its diagonal raised to √(L_ii² + c) (two triangular solves)",
            "preconditioner_shift_c": cond.shift().ok(),
        }),
    );
    SolverCheck {
        solves: cg.solves,
        not_converged: cg.not_converged,
        max_residual: cg.max_residual,
        tol: cond.tol,
        max_iter: cond.max_iter,
    }
}

fn streams(s: &crate::session::Settings) -> Result<Vec<u64>, SessionError> {
    let (chains, first) = (s.count("chains")?, s.count("chain_offset")?);
    Ok((first..first + chains).map(|c| c as u64).collect())
}

pub const SUPN_GIBBS: SamplerDef = SamplerDef {
    name: "supn_gibbs",
    about: "Gibbs sampling for a `supn` prior with a Normal likelihood linear in the image: x given z and y drawn exactly (Gaussian; conjugate gradients and perturb-and-optimise), then z given x by MALA steps with exact Metropolis–Hastings, and as many with the whitened residual Lᵀ(x − μ) held instead of x (interweaving)",
    options: &[
        Uses::count("draws", 200),
        Uses::count("warmup", 100),
        Uses { key: "steps", default: OptDefault::CountNoted(5, "(MALA steps on z per sweep, of each kind: given x, then given Lᵀ(x − μ))") },
        Uses::real("step_size", 0.1),
        Uses::real("target_accept", MALA_TARGET_ACCEPT),
    ],
    auto: |m| {
        let fit = m.supn_linear().ok()?;
        Some(match &fit.z {
            Some(z) => format!(
                "`{x}` has a supn prior and the likelihood is Normal and linear in `{x}`, so Gibbs sampling is used: `{x}` given `{z}` and the data is Gaussian and drawn exactly (conjugate gradients, perturb-and-optimise), and `{z}` given `{x}` moves by MALA with exact Metropolis–Hastings (`--sampler hmc` runs NUTS on both, `--sampler supn-map` the MAP of `{z}`)",
                x = fit.x
            ),
            None => format!(
                "`{x}` has a supn prior with a fixed latent and the likelihood is Normal and linear in `{x}`, so the posterior is Gaussian and every draw is exact and independent (conjugate gradients, perturb-and-optimise)",
                x = fit.x
            ),
        })
    },
    accepts: |m| m.supn_linear().map(|_| ()),
    levels: super::PriorLevels::Sigmas,
    terms_note: false,
    run: |built, _plan, s, progress, stop, summary, checks| {
        let post = &built.posterior;
        let lin = linear(post)?;
        let cond = Conditional::new(post, &lin);
        let cfg = SupnGibbsConfig {
            warmup: s.count("warmup")?,
            draws: s.count("draws")?,
            z_steps: s.count("steps")?,
            step_size: s.real("step_size")?,
            target_accept: s.real("target_accept")?,
        };
        let streams = streams(s)?;
        let started = std::time::Instant::now();
        let out = supn_gibbs(&cond, &cfg, (s.seed()?, &streams), &|p| progress(RunProgress::Chains(p)), stop)?;
        let kept = out.iter().map(|c| c.draws.nrows()).min().unwrap_or(0);
        let mut all = Array3::zeros((out.len(), kept, post.layout().dim));
        let mut cg = CgStats::default();
        for (c, ch) in out.iter().enumerate() {
            all.slice_mut(s![c, .., ..]).assign(&ch.draws.slice(s![..kept, ..]));
            cg.merge(&ch.cg);
        }
        let wall = started.elapsed().as_secs_f64();
        summary.kernel = "supn_gibbs".into();
        summary.warmup = cfg.warmup;
        summary.progress.insert("draws".into(), PhaseCount::new(kept, cfg.draws));
        summary.acceptance_rate = out.iter().map(|c| c.accept).collect();
        summary.step_size = out.iter().map(|c| c.step_size).collect();
        summary.divergences = vec![0; out.len()];
        summary.grad_evals = out.iter().map(|c| c.decodes as u64).sum();
        summary.wall_seconds = wall;
        summary.partial = out.iter().any(|c| c.stopped) || stop.load(Ordering::Relaxed);
        let sweeps = (cfg.warmup + kept) * out.len();
        summary.extra.insert("z_steps".into(), serde_json::json!(cfg.z_steps));
        summary.extra.insert(
            "noncentred_z".into(),
            serde_json::json!({
                "steps": cfg.z_steps,
                "acceptance_rate": out.iter().map(|c| c.nc_accept).collect::<Vec<_>>(),
                "step_size": out.iter().map(|c| c.nc_step_size).collect::<Vec<_>>(),
            }),
        );
        summary.extra.insert(
            "decoder_passes".into(),
            serde_json::json!(out.iter().map(|c| c.decodes).sum::<usize>()),
        );
        summary
            .extra
            .insert("seconds_per_sweep".into(), serde_json::json!(wall / sweeps.max(1) as f64));
        checks.solver = Some(record_cg(summary, &cg, &cond));
        Ok(all)
    },
};

pub const SUPN_MAP: SamplerDef = SamplerDef {
    name: "supn_map",
    about: "MAP of the latent of a `supn` prior (Campbell et al.): the conditional mean of the image (conjugate gradients) alternating with gradient steps on z with backtracking line search, from the encoder of the adjoint reconstruction; then exact draws of the image given ẑ and the data, in antithetic pairs (x̂ ± δ: the mean of an even number of draws is x̂)",
    options: &[
        Uses { key: "draws", default: OptDefault::CountNoted(100, "(exact draws of the image given ẑ per chain)") },
        Uses { key: "steps", default: OptDefault::CountNoted(200, "(MAP iterations at most)") },
    ],
    auto: |_| None,
    accepts: |m| m.supn_linear().map(|_| ()),
    levels: super::PriorLevels::Sigmas,
    terms_note: false,
    run: |built, _plan, s, _progress, stop, summary, checks| {
        let post = &built.posterior;
        let lin = linear(post)?;
        let cond = Conditional::new(post, &lin);
        let started = std::time::Instant::now();
        let (x_off, n) = lin.obs.x;
        let z0 = match &lin.z {
            SupnLatent::Fixed(z) => z.clone(),
            SupnLatent::Latent { .. } => {
                let adj = post.adjoint_estimate()?;
                lin.model
                    .encode(&adj.slice(s![x_off..x_off + n]).to_vec())
                    .map_err(|e| SessionError::Prior(format!("supn: the encoder: {e}")))?
            }
        };
        let map = supn_map(&cond, &z0, s.count("steps")?, stop)?;
        let d = cond.decode(&map.z)?;
        let draws = s.count("draws")?;
        let rngs = stream_rngs(s.seed()? ^ 0x3a9_d4a3, &streams(s)?);
        let chains: Vec<(Vec<Vec<f64>>, CgStats)> = rngs
            .into_par_iter()
            .map(|mut rng| -> Result<(Vec<Vec<f64>>, CgStats), crate::infer::EvalError> {
                let mut cg = CgStats::default();
                let mut xs = Vec::with_capacity(draws);
                for k in 0..draws {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Antithetic pairs: x̂ + δ by a solve, then x̂ − δ = 2x̂ − (x̂ + δ) (P is linear),
                    // each an exact draw; the mean of an even number of draws is x̂ itself.
                    if k % 2 == 1 {
                        let prev = &xs[k - 1];
                        xs.push(map.x.iter().zip(prev).map(|(m, p)| 2.0 * m - p).collect());
                        continue;
                    }
                    let sol = cond.draw(&d, &mut rng, map.x.clone())?;
                    cg.add(&sol);
                    xs.push(sol.x);
                }
                Ok((xs, cg))
            })
            .collect::<Result<_, crate::infer::EvalError>>()?;
        let kept = chains.iter().map(|(x, _)| x.len()).min().unwrap_or(0);
        let mut all = Array3::zeros((chains.len(), kept, post.layout().dim));
        let mut cg = map.cg.clone();
        for (c, (xs, st)) in chains.iter().enumerate() {
            cg.merge(st);
            for (k, x) in xs.iter().take(kept).enumerate() {
                let mut row = all.slice_mut(s![c, k, ..]);
                row.slice_mut(s![x_off..x_off + n]).assign(&ndarray::ArrayView1::from(x.as_slice()));
                if let SupnLatent::Latent { offset, len, .. } = &lin.z {
                    row.slice_mut(s![*offset..*offset + *len])
                        .assign(&ndarray::ArrayView1::from(map.z.as_slice()));
                }
            }
        }
        summary.kernel = "supn_map".into();
        summary.progress.insert("draws".into(), PhaseCount::new(kept, draws));
        summary.partial = kept < draws || stop.load(Ordering::Relaxed);
        summary.wall_seconds = started.elapsed().as_secs_f64();
        summary.extra.insert(
            "map".into(),
            serde_json::json!({
                "z": map.z,
                "objective": map.objective,
                "iterations": map.objective.len() - 1,
                "converged": map.converged,
                "grad_norm": map.grad_norm,
                "z_start": "the encoder's mean of the adjoint reconstruction",
            }),
        );
        checks.solver = Some(record_cg(summary, &cg, &cond));
        Ok(all)
    },
};
