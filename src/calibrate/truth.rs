//! Ground truths for calibration: latents drawn from their priors in declaration order (a prior's
//! parameters may be earlier latents), score latents taken from given images, and data simulated
//! from the likelihood at the truth.

use crate::check::{Model, PriorSpec};
use crate::graph::Value;
use crate::infer::GraphPosterior;
use ndarray::{Array1, ArrayView1};

/// Why a truth or a data set cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    #[error("prior {latent}: {message}")]
    Prior { latent: String, message: String },
    #[error("{label}: cannot simulate the data: {message}")]
    Data { label: String, message: String },
    #[error("latent `{latent}` has a score prior: give its ground truths with --truths FILE.npy")]
    NeedTruths { latent: String },
}

/// One ground truth on the flat constrained layout. Latents with a distribution prior are drawn from
/// it given the earlier latents; a score latent takes `given` (its flat values), else an error.
pub fn draw_truth(
    model: &Model,
    post: &GraphPosterior,
    given: Option<ArrayView1<f64>>,
    rng: &mut dyn rand::RngCore,
) -> Result<Array1<f64>, TruthError> {
    let layout = post.layout();
    // Start at the constrained image of 0 so that every latent not drawn yet is in its support.
    let mut truth = Array1::from(layout.constrain(Array1::zeros(layout.dim).view()).into_owned());
    for (l, &(_, offset, len)) in model.latents.iter().zip(&layout.slots) {
        let err = |message: String| TruthError::Prior {
            latent: l.name.clone(),
            message,
        };
        let values: Vec<f64> = match &l.prior {
            PriorSpec::Score { .. } => {
                let g = given.ok_or_else(|| TruthError::NeedTruths {
                    latent: l.name.clone(),
                })?;
                if g.len() != len {
                    return Err(err(format!(
                        "a given truth has {} values, the latent {len}",
                        g.len()
                    )));
                }
                g.to_vec()
            }
            PriorSpec::Dist(call) => {
                let u = layout.unconstrain(truth.view());
                let at = post.forward_values(u.view()).map_err(|e| err(e.to_string()))?;
                let params = call
                    .params
                    .iter()
                    .map(|id| at.get(id.0))
                    .collect::<Option<Vec<&Value>>>()
                    .ok_or_else(|| err("a parameter has no value".into()))?;
                let like = Value::zeros(&l.ty);
                let draw = call.dist.sample(&params, &like, rng).map_err(|e| {
                    err(format!(
                        "cannot draw from {}: {e} (calibration needs a proper prior to draw truths from)",
                        call.name()
                    ))
                })?;
                draw.interleaved()
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(err("a drawn truth is not finite".into()));
        }
        truth
            .slice_mut(ndarray::s![offset..offset + len])
            .iter_mut()
            .zip(values)
            .for_each(|(t, v)| *t = v);
    }
    Ok(truth)
}

/// The data with every observed tensor replaced by a draw from its likelihood at `truth`.
pub fn simulate_data(
    post: &GraphPosterior,
    data: &[Value],
    truth: ArrayView1<f64>,
    rng: &mut dyn rand::RngCore,
) -> Result<Vec<Value>, TruthError> {
    let u = post.layout().unconstrain(truth);
    let mut out = data.to_vec();
    let values = post.forward_values(u.view()).map_err(|e| TruthError::Data {
        label: "the model".into(),
        message: e.to_string(),
    })?;
    for obs in post.observations() {
        let err = |message: String| TruthError::Data {
            label: obs.label.clone(),
            message,
        };
        let like = data
            .get(obs.data)
            .ok_or_else(|| err("the observed data is not bound".into()))?;
        let params = obs
            .likelihood
            .params
            .iter()
            .map(|id| values.get(id.0))
            .collect::<Option<Vec<&Value>>>()
            .ok_or_else(|| err("a parameter has no value".into()))?;
        let y = obs
            .likelihood
            .dist
            .sample(&params, like, rng)
            .map_err(|e| err(e.to_string()))?;
        out[obs.data] = y;
    }
    Ok(out)
}
