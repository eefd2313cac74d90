//! Gibbs sampling of a SUPN model with linear-Gaussian data: each sweep draws x | z, y exactly
//! (perturb-and-optimise, `conditional.rs`), then moves z | x by `z_steps` MALA steps with exact
//! Metropolis–Hastings, then z | e, y by as many (e = Lᵀ(x − μ) held, x moving with z: the
//! non-centred step of an interweaving sampler); step sizes adapted by dual averaging in warm-up. The decoder runs once per
//! z: the CG solves of a sweep reuse the μ(z), L(z) of the z-step that produced z.

use super::conditional::{CgStats, Conditional, Decoded};
use super::latent::{mala, mala_z, nc_target, z_target};
use crate::infer::run::stream_rngs;
use crate::infer::target::EvalError;
use crate::infer::{DualAveraging, Phase, Progress};
use ndarray::Array2;
use rand::Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Settings of a Gibbs run.
#[derive(Clone, Debug, PartialEq)]
pub struct SupnGibbsConfig {
    pub warmup: usize,
    pub draws: usize,
    /// MALA steps on z per sweep.
    pub z_steps: usize,
    /// The first MALA step size (then adapted in warm-up).
    pub step_size: f64,
    pub target_accept: f64,
}

/// One chain's draws (rows on the posterior's flat layout) and statistics.
#[derive(Clone, Debug)]
pub struct SupnChain {
    pub draws: Array2<f64>,
    /// Mean MALA acceptance probability of z after warm-up (NaN for a fixed z).
    pub accept: f64,
    pub step_size: f64,
    pub cg: CgStats,
    /// Decoder passes (forward, or forward and VJP in the z-steps).
    pub decodes: usize,
    /// Stopped before the last draw (Ctrl-C).
    pub stopped: bool,
    /// Mean acceptance and final step size of the non-centred z-steps (NaN for a fixed z).
    pub nc_accept: f64,
    pub nc_step_size: f64,
}

/// Run one Gibbs chain per entry of `streams` (seeded by `seed` on that stream).
pub fn supn_gibbs(
    cond: &Conditional<'_>,
    cfg: &SupnGibbsConfig,
    (seed, streams): (u64, &[u64]),
    progress: &(dyn Fn(&Progress) + Sync),
    stop: &AtomicBool,
) -> Result<Vec<SupnChain>, EvalError> {
    let rngs = stream_rngs(seed ^ 0x5b9_61bb, streams);
    rngs.into_par_iter()
        .enumerate()
        .map(|(c, mut rng)| {
            chain(cond, cfg, &mut rng, stop, &|p: &Progress| {
                if c == 0 {
                    progress(p)
                }
            })
        })
        .collect()
}

fn chain(
    cond: &Conditional<'_>,
    cfg: &SupnGibbsConfig,
    rng: &mut rand_chacha::ChaCha8Rng,
    stop: &AtomicBool,
    progress: &dyn Fn(&Progress),
) -> Result<SupnChain, EvalError> {
    let post = cond.post;
    let dim = post.layout().dim;
    let (x_off, n) = cond.lin.obs.x;
    let z_slot = match &cond.lin.z {
        crate::infer::posterior::SupnLatent::Latent { offset, len, .. } => Some((*offset, *len)),
        crate::infer::posterior::SupnLatent::Fixed(_) => None,
    };
    // Stan's start: z uniform on (−2, 2); x is then drawn from x | z, y.
    let z0: Vec<f64> = match (z_slot, cond.fixed_z()) {
        (Some((_, m)), _) => (0..m).map(|_| rng.random_range(-2.0..2.0)).collect(),
        (None, Some(z)) => z.to_vec(),
        (None, None) => return Err(EvalError::Fatal("supn: no z".into())),
    };
    let mut decoded: Decoded = cond.decode(&z0)?;
    let mut decodes = 1;
    let mut x = vec![0.0; n];
    let mut eps = cfg.step_size;
    let mut da = DualAveraging::new(cfg.target_accept, eps);
    let mut nc_eps = cfg.step_size;
    let mut nc_da = DualAveraging::new(cfg.target_accept, nc_eps);
    let (mut nc_sum, mut nc_n) = (0.0, 0usize);
    let (mut acc_sum, mut acc_n) = (0.0, 0usize);
    let mut cg = CgStats::default();
    let mut draws = Array2::zeros((cfg.draws, dim));
    let total = cfg.warmup + cfg.draws;
    let mut kept = 0;
    for it in 0..total {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let s = cond.draw(&decoded, rng, std::mem::take(&mut x))?;
        cg.add(&s);
        x = s.x;
        let warm = it < cfg.warmup;
        if z_slot.is_some() && cfg.z_steps > 0 {
            let mut zp = z_target(cond, &x, &decoded.z)?;
            decodes += 1;
            for _ in 0..cfg.z_steps {
                let (next, a) = mala_z(cond, &x, zp, eps, rng)?;
                zp = next;
                decodes += 1;
                if warm {
                    eps = da.update(a);
                } else {
                    acc_sum += a;
                    acc_n += 1;
                }
            }
            decoded = zp.decoded;
            // Interweaving (Yu & Meng 2011): the same number of steps on z with the whitened
            // residual e = Lᵀ(x − μ) held instead of x, moving x = μ(z) + L(z)⁻ᵀ e with z. Given x, z
            // is pinned by x's fine structure; given e it is free to follow the data.
            let e = decoded.factor.lt_mul(
                &x.iter()
                    .zip(&decoded.mean)
                    .map(|(x, m)| x - m)
                    .collect::<Vec<_>>(),
            );
            let (mut zp, mut zx) = nc_target(cond, &e, &decoded.z)?;
            decodes += 1;
            for _ in 0..cfg.z_steps {
                let mut proposed = None;
                let before = zp.decoded.z.clone();
                let (next, a) = mala(
                    &mut |z: &[f64]| {
                        nc_target(cond, &e, z).map(|(p, x)| {
                            proposed = Some(x);
                            p
                        })
                    },
                    zp,
                    nc_eps,
                    rng,
                )?;
                decodes += 1;
                // Accepted: x follows z (only z is compared, not the decoder's whole output).
                if next.decoded.z != before {
                    zx = proposed.take().unwrap_or(zx);
                }
                zp = next;
                if warm {
                    nc_eps = nc_da.update(a);
                } else {
                    nc_sum += a;
                    nc_n += 1;
                }
            }
            if it + 1 == cfg.warmup {
                eps = da.final_step_size();
                nc_eps = nc_da.final_step_size();
            }
            x = zx;
            decoded = zp.decoded;
        }
        if !warm {
            let mut row = draws.row_mut(it - cfg.warmup);
            for (j, v) in x.iter().enumerate() {
                row[x_off + j] = *v;
            }
            if let Some((off, _)) = z_slot {
                for (j, v) in decoded.z.iter().enumerate() {
                    row[off + j] = *v;
                }
            }
            kept += 1;
        }
        progress(&Progress {
            phase: if warm { Phase::Warmup } else { Phase::Sampling },
            iteration: it + 1,
            total,
            accept_rate: if acc_n > 0 {
                acc_sum / acc_n as f64
            } else {
                f64::NAN
            },
            divergences: 0,
            step_size: eps,
        });
    }
    Ok(SupnChain {
        draws: draws.slice(ndarray::s![..kept, ..]).to_owned(),
        accept: if acc_n > 0 {
            acc_sum / acc_n as f64
        } else {
            f64::NAN
        },
        step_size: eps,
        cg,
        decodes,
        stopped: kept < cfg.draws,
        nc_accept: if nc_n > 0 { nc_sum / nc_n as f64 } else { f64::NAN },
        nc_step_size: nc_eps,
    })
}
