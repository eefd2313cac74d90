//! Posterior predictive replicates (`--predictive`): a draw of every observed tensor at every
//! posterior draw, and checks of simple statistics of the observed data against them.

use super::{Built, SessionError};
use crate::check::Model;
use crate::graph::{Ty, Value};
use crate::output::PredictiveCheck;
use ndarray::{s, Array3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The replicates (`NAME_rep`, its type, draws [chains, draws, flat length]) and the checks.
pub struct Predictive {
    pub replicates: Vec<(String, Ty, Array3<f64>)>,
    pub checks: Vec<PredictiveCheck>,
}

const STATISTICS: [&str; 4] = ["mean", "sd", "min", "max"];

/// `mean`, `sd`, `min`, `max` of a tensor's elements (complex: of the magnitudes).
fn statistics(v: &[f64], complex: bool) -> [f64; 4] {
    let x: Vec<f64> = if complex {
        v.chunks_exact(2).map(|p| p[0].hypot(p[1])).collect()
    } else {
        v.to_vec()
    };
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = x.iter().copied().fold(f64::INFINITY, f64::min);
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [mean, sd, min, max]
}

/// Replicates of every observation at every draw (`draws` on the constrained scale, as written).
pub fn predictive(
    model: &Model,
    built: &Built,
    draws: &Array3<f64>,
    seed: u64,
) -> Result<Predictive, SessionError> {
    let post = &built.posterior;
    let layout = post.layout();
    let (c, n, _) = draws.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut replicates = Vec::new();
    let mut checks = Vec::new();
    for obs in post.observations() {
        let decl = model
            .data
            .get(obs.data)
            .ok_or_else(|| SessionError::Prior("an observation names no data".into()))?;
        let y = post
            .data()
            .get(obs.data)
            .ok_or_else(|| SessionError::Prior(format!("data `{}` is not bound", decl.name)))?;
        let len = y.shape().iter().product::<usize>() * if y.is_complex() { 2 } else { 1 };
        let mut reps = Array3::zeros((c, n, len));
        let mut stats: Vec<[f64; 4]> = Vec::with_capacity(c * n);
        for i in 0..c {
            for j in 0..n {
                let u = layout.unconstrain(draws.slice(s![i, j, ..]));
                let values = post
                    .forward_values(u.view())
                    .map_err(|e| SessionError::Prior(format!("{}: draw {j} of chain {i}: {e}", obs.label)))?;
                let params = obs
                    .likelihood
                    .params
                    .iter()
                    .map(|id| values.get(id.0))
                    .collect::<Option<Vec<&Value>>>()
                    .ok_or_else(|| SessionError::Prior(format!("{}: a parameter has no value", obs.label)))?;
                let rep = obs.likelihood.dist.sample(&params, y, &mut rng).map_err(|e| {
                    SessionError::Prior(format!("{}: cannot draw a replicate: {e}", obs.label))
                })?;
                let v = rep.interleaved();
                stats.push(statistics(&v, rep.is_complex()));
                reps.slice_mut(s![i, j, ..])
                    .iter_mut()
                    .zip(v)
                    .for_each(|(r, v)| *r = v);
            }
        }
        let observed = statistics(&y.interleaved(), y.is_complex());
        for (k, name) in STATISTICS.iter().enumerate() {
            let t: Vec<f64> = stats.iter().map(|s| s[k]).collect();
            let m = t.len().max(1) as f64;
            let mean = t.iter().sum::<f64>() / m;
            let sd = (t.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
            let p = t.iter().filter(|&&a| a >= observed[k]).count() as f64 / m;
            checks.push(PredictiveCheck {
                data: decl.name.clone(),
                statistic: name.to_string(),
                observed: observed[k],
                replicate_mean: mean,
                replicate_sd: sd,
                p_value: if t.is_empty() { f64::NAN } else { p },
            });
        }
        replicates.push((format!("{}_rep", decl.name), decl.ty.clone(), reps));
    }
    Ok(Predictive { replicates, checks })
}
