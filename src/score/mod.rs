//! Score priors: the `ScoreModel` trait, analytic priors, candle U-Nets, schedules and training.

use ndarray::{Array1, Array2, ArrayView2};

/// How a prior's noise level is parameterised.
#[derive(Clone, Debug, PartialEq)]
pub enum NoiseKind {
    /// Exact at every σ ≥ 0 (analytic priors: `Normal`, `GaussianMixture`, `Flat`).
    Analytic,
    /// Noise-conditional (VE) network trained for σ in `[sigma_min, sigma_max]`.
    Ve { sigma_min: f64, sigma_max: f64 },
    /// DDPM (VP) ε-network over `t = 0..steps` with β from `beta_start` to `beta_end`: linear,
    /// unless the prior's [`ScoreModel::vp_schedule`] says otherwise (a diffusers cosine schedule).
    Vp {
        beta_start: f64,
        beta_end: f64,
        steps: usize,
    },
    /// A score at one fixed noise level only (not noise-conditional).
    Fixed { sigma: f64 },
}

/// Error from evaluating a prior (network failure, bad shape).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScoreError(pub String);

/// The first check of every score VJP: the cotangent `v` has the input's shape.
pub(crate) fn check_vjp_shape(x: ArrayView2<f64>, v: ArrayView2<f64>) -> Result<(), ScoreError> {
    if v.dim() == x.dim() {
        Ok(())
    } else {
        Err(ScoreError(format!(
            "VJP vector shape {:?} differs from the input shape {:?}",
            v.dim(),
            x.dim()
        )))
    }
}

/// [`ScoreModel::score_and_vjp`] by two calls: [`ScoreModel::score`], then [`ScoreModel::score_vjp`].
pub(crate) fn score_then_vjp<M: ScoreModel + ?Sized>(
    model: &M,
    x: ArrayView2<f64>,
    level: f64,
    f: &mut Cotangent<'_>,
) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
    let s = model.score(x, level)?;
    let v = f(&s)?;
    let j = model.score_vjp(x, level, v.view())?;
    Ok((s, j))
}

/// The cotangent of [`ScoreModel::score_and_vjp`] as a function of the score.
pub type Cotangent<'a> = dyn FnMut(&Array2<f64>) -> Result<Array2<f64>, ScoreError> + 'a;

/// A prior known through its score `∇ log p_σ(x)`, batched over chains.
///
/// Positions are flat real vectors, one row per chain; a complex latent is stored as interleaved
/// (re, im) pairs, so the flat gradient is exactly the `∂/∂re + i ∂/∂im` convention.
/// `level` is σ for `Analytic`/`Ve`/`Fixed` priors and the timestep `t` for `Vp` priors.
pub trait ScoreModel: Send + Sync {
    /// Length of one flat sample.
    fn dim(&self) -> usize;
    fn noise_kind(&self) -> NoiseKind;
    /// `s(x, level)` for each row of `x`.
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError>;
    /// Row-wise `vᵀ ∂s(x, level)/∂x` (vector-Jacobian product with respect to the input).
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError>;
    /// `s(x, level)` and the VJP `vᵀ ∂s/∂x` with `v = f(s)` (a cotangent that depends on the score,
    /// as DPS's does). A network runs one forward pass for both; by default this is
    /// [`ScoreModel::score`] then [`ScoreModel::score_vjp`], with the same bits.
    fn score_and_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        f: &mut Cotangent<'_>,
    ) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
        score_then_vjp(self, x, level, f)
    }
    /// `s(x_i, levels[i])` for each row: a level per row (a batch gathered from several runs, see
    /// [`Hub`]). Each row's bits equal those of [`ScoreModel::score`] at its level; by default the
    /// rows of each level are evaluated together.
    fn score_rows(&self, x: ArrayView2<f64>, levels: &[f64]) -> Result<Array2<f64>, ScoreError> {
        by_level(x, levels, None, |x, level, _| self.score(x, level))
    }
    /// Row-wise VJPs at a level per row, as [`ScoreModel::score_rows`].
    fn score_vjp_rows(
        &self,
        x: ArrayView2<f64>,
        levels: &[f64],
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        by_level(x, levels, Some(v), |x, level, v| match v {
            Some(v) => self.score_vjp(x, level, v),
            None => Err(ScoreError("a VJP needs its vectors".into())),
        })
    }
    /// Exact `log p_σ(x)` per row up to a constant, when the prior has one (analytic priors).
    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        let _ = (x, level);
        None
    }
    /// For VP priors: the diffusion runs on `x₀ = data × data_scale` (1 for everything else).
    fn data_scale(&self) -> f64 {
        1.0
    }
    /// For VP priors: the exact β schedule (by default the linear one [`NoiseKind::Vp`] names).
    fn vp_schedule(&self) -> Option<VpSchedule> {
        match self.noise_kind() {
            NoiseKind::Vp {
                beta_start,
                beta_end,
                steps,
            } => Some(VpSchedule::linear(beta_start, beta_end, steps)),
            _ => None,
        }
    }
    /// Network evaluations so far (each batched call counts once per row).
    fn evaluations(&self) -> u64 {
        0
    }
    /// Whether an analytic prior's diffused scores are exact under a VP schedule too (a proper
    /// `Normal` or `GaussianMixture`), so that [`VpView`] can run DPS on it.
    fn has_vp_view(&self) -> bool {
        false
    }
}

/// A borrowed prior is a prior (for views such as [`VpView`] over `&dyn ScoreModel`).
impl<T: ScoreModel + ?Sized> ScoreModel for &T {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn noise_kind(&self) -> NoiseKind {
        (**self).noise_kind()
    }
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        (**self).score(x, level)
    }
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        (**self).score_vjp(x, level, v)
    }
    fn score_and_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        f: &mut Cotangent<'_>,
    ) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
        (**self).score_and_vjp(x, level, f)
    }
    fn score_rows(&self, x: ArrayView2<f64>, levels: &[f64]) -> Result<Array2<f64>, ScoreError> {
        (**self).score_rows(x, levels)
    }
    fn score_vjp_rows(
        &self,
        x: ArrayView2<f64>,
        levels: &[f64],
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        (**self).score_vjp_rows(x, levels, v)
    }
    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        (**self).log_density(x, level)
    }
    fn data_scale(&self) -> f64 {
        (**self).data_scale()
    }
    fn vp_schedule(&self) -> Option<VpSchedule> {
        (**self).vp_schedule()
    }
    fn evaluations(&self) -> u64 {
        (**self).evaluations()
    }
    fn has_vp_view(&self) -> bool {
        (**self).has_vp_view()
    }
}

/// An owned prior is a prior (for views that replace a posterior's prior: [`VeView`], [`VpView`]).
impl<T: ScoreModel + ?Sized> ScoreModel for Box<T> {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn noise_kind(&self) -> NoiseKind {
        (**self).noise_kind()
    }
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        (**self).score(x, level)
    }
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        (**self).score_vjp(x, level, v)
    }
    fn score_and_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        f: &mut Cotangent<'_>,
    ) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
        (**self).score_and_vjp(x, level, f)
    }
    fn score_rows(&self, x: ArrayView2<f64>, levels: &[f64]) -> Result<Array2<f64>, ScoreError> {
        (**self).score_rows(x, levels)
    }
    fn score_vjp_rows(
        &self,
        x: ArrayView2<f64>,
        levels: &[f64],
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        (**self).score_vjp_rows(x, levels, v)
    }
    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        (**self).log_density(x, level)
    }
    fn data_scale(&self) -> f64 {
        (**self).data_scale()
    }
    fn vp_schedule(&self) -> Option<VpSchedule> {
        (**self).vp_schedule()
    }
    fn evaluations(&self) -> u64 {
        (**self).evaluations()
    }
    fn has_vp_view(&self) -> bool {
        (**self).has_vp_view()
    }
}

/// `f` on the rows of each distinct level (with their rows of `v`), the results put back in row order.
fn by_level(
    x: ArrayView2<f64>,
    levels: &[f64],
    v: Option<ArrayView2<f64>>,
    f: impl Fn(ArrayView2<f64>, f64, Option<ArrayView2<f64>>) -> Result<Array2<f64>, ScoreError>,
) -> Result<Array2<f64>, ScoreError> {
    if levels.len() != x.nrows() || v.is_some_and(|v| v.dim() != x.dim()) {
        return Err(ScoreError(format!(
            "{} levels (and VJP vectors {:?}) for {} rows of {}",
            levels.len(),
            v.map(|v| v.dim()),
            x.nrows(),
            x.ncols()
        )));
    }
    let mut out = Array2::zeros(x.raw_dim());
    let mut done = vec![false; levels.len()];
    for i in 0..levels.len() {
        if done[i] {
            continue;
        }
        let rows: Vec<usize> = (i..levels.len())
            .filter(|&j| levels[j].to_bits() == levels[i].to_bits())
            .collect();
        let pick = |a: ArrayView2<f64>| a.select(ndarray::Axis(0), &rows);
        let part = f(pick(x).view(), levels[i], v.map(pick).as_ref().map(|a| a.view()))?;
        for (k, &j) in rows.iter().enumerate() {
            out.row_mut(j).assign(&part.row(k));
            done[j] = true;
        }
    }
    Ok(out)
}

mod header;
pub use header::{HeaderError, HeaderKind, ScoreHeader};
mod hub;
pub use hub::{Hub, Seat};

mod analytic;
pub mod fast;
pub use analytic::{FlatPrior, GaussianMixturePrior, NormalPrior};
mod diffusers;
pub use diffusers::{
    is_diffusers_path as is_diffusers_model, DiffusersError, DiffusersPrior, Prediction,
    ARCHITECTURE as DIFFUSERS_ARCHITECTURE,
};
mod file;
mod init;
mod network;
mod schedule;
pub mod train;
mod unet;
mod ve_view;
mod vp_view;
pub use file::{header_metadata, load_net, net_config, read_safetensors, write_safetensors, LoadedNet};
pub use file::{load_prior, read_prior_header, written_by_uq, ScoreFileError, ARCHITECTURE};
pub use init::{expected_tensors, seeded_builder, VarStore};
pub use network::{evaluation_label, Backend, NetworkPrior};
pub use schedule::{max_pairwise_distance, VpSchedule};
pub use unet::{sinusoidal, NetKind, UNet, UNetConfig};
pub use ve_view::VeView;
pub use vp_view::{VpNormalPrior, VpView};
