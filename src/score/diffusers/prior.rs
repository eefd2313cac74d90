//! A diffusers `UNet2DModel` as a VP prior: the network's ε (or v, x₀ converted to ε) at timestep t,
//! the score of the diffusion of `x₀ = 2·data − 1`, and its VJP by candle autograd.
//!
//! Units: uq's VP samplers diffuse `x₀' = data_scale · data` with `data_scale = 2`; the model was
//! trained on `x₀ = 2·data − 1 = x₀' − 1`, so its `x_t = x_t' − √ᾱ_t`. The prior takes `x_t'`,
//! shifts it by `−√ᾱ_t` before the network and returns `∇ log p_t(x_t') = −ε/√(1 − ᾱ_t)` (a shift
//! does not change a score).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor, Var};
use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use super::config::UNetSpec;
use super::layers::Weights;
use super::net::UNet2D;
use super::scheduler::{Prediction, SchedulerSpec};
use super::{locate, read_text, DiffusersError, ARCHITECTURE};
use crate::score::{
    read_safetensors, HeaderKind, NoiseKind, ScoreError, ScoreHeader, ScoreModel, VpSchedule,
};

/// uq data in [0, 1] ↦ the model's [−1, 1]: `x₀ = DATA_SCALE · data + DATA_OFFSET`.
pub const DATA_SCALE: f64 = 2.0;
pub const DATA_OFFSET: f64 = -1.0;

fn cerr(e: candle_core::Error) -> ScoreError {
    ScoreError(format!("diffusers network evaluation failed: {e}"))
}

/// A diffusers `UNet2DModel` with its scheduler, loaded from a `save_pretrained` folder.
pub struct DiffusersPrior {
    net: UNet2D,
    spec: UNetSpec,
    scheduler: SchedulerSpec,
    header: ScoreHeader,
    evals: AtomicU64,
}

/// Config and scheduler only (no weights read): what `uq check` needs.
pub(super) fn read_specs(path: &Path) -> Result<(UNetSpec, SchedulerSpec, ScoreHeader), DiffusersError> {
    let files = locate(path)?;
    let cfg_path = files.config.display().to_string();
    let spec = UNetSpec::from_json(&cfg_path, &read_text(&files.config)?)?;
    let sch_path = files.scheduler.display().to_string();
    let scheduler = SchedulerSpec::from_json(&sch_path, &read_text(&files.scheduler)?)?;
    let s = &scheduler.schedule;
    let raw = [
        ("config", cfg_path),
        ("scheduler", sch_path),
        ("weights", files.weights.display().to_string()),
        ("prediction_type", scheduler.prediction.name().into()),
    ];
    let header = ScoreHeader {
        format: 1,
        architecture: ARCHITECTURE.into(),
        channels: spec.down.iter().map(|b| b.channels).collect(),
        kind: HeaderKind::Vp {
            beta_start: s.beta(0),
            beta_end: s.beta(s.steps() - 1),
            timesteps: s.steps(),
        },
        image_shape: spec.image_shape,
        image_channels: spec.channels,
        data_scale: DATA_SCALE,
        raw: raw.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    };
    Ok((spec, scheduler, header))
}

impl DiffusersPrior {
    /// Load a model folder (or its `config.json`): config, scheduler, then every tensor by name and
    /// shape; a tensor the config does not use is an error too (config and weights disagree).
    pub fn load(path: &Path) -> Result<Self, DiffusersError> {
        let (spec, scheduler, header) = read_specs(path)?;
        let weights = locate(path)?.weights;
        let wp = weights.display().to_string();
        let (tensors, _) = read_safetensors(&weights).map_err(|e| DiffusersError::Weights {
            path: wp.clone(),
            reason: e.to_string(),
        })?;
        let map = tensors.into_iter().collect();
        let ws = Weights::new(&map, &wp);
        let net = UNet2D::load(&spec, &ws)?;
        if let Some((name, count)) = ws.unused() {
            return Err(DiffusersError::UnusedTensor {
                path: wp,
                name,
                count,
            });
        }
        Ok(DiffusersPrior {
            net,
            spec,
            scheduler,
            header,
            evals: AtomicU64::new(0),
        })
    }

    /// A header describing the model (architecture `diffusers_unet2d`, VP, `data_scale` 2).
    pub fn header(&self) -> &ScoreHeader {
        &self.header
    }

    pub fn schedule(&self) -> &VpSchedule {
        &self.scheduler.schedule
    }

    pub fn prediction(&self) -> Prediction {
        self.scheduler.prediction
    }

    /// `(channels, height, width)` of one sample.
    pub fn chw(&self) -> (usize, usize, usize) {
        let [h, w] = self.spec.image_shape;
        (self.spec.channels, h, w)
    }

    /// The integer timestep `t`, or an error when it is not one of `0..steps`.
    pub fn timestep(&self, t: f64) -> Result<usize, ScoreError> {
        let n = self.schedule().steps();
        if t.is_finite() && t >= 0.0 && t.fract() == 0.0 && (t as usize) < n {
            Ok(t as usize)
        } else {
            Err(ScoreError(format!("timestep {t} is not an integer in 0..{n}")))
        }
    }

    fn check_nchw(&self, x: &ArrayView4<f32>) -> Result<(), ScoreError> {
        let (c, h, w) = self.chw();
        if x.shape()[1..] != [c, h, w] {
            return Err(ScoreError(format!(
                "the model takes [B, {c}, {h}, {w}] inputs, got {:?}",
                x.shape()
            )));
        }
        Ok(())
    }

    /// The network's raw output (ε, v or x₀, as [`Self::prediction`] says) for model-unit inputs
    /// `[B, C, H, W]` at integer timestep `t`, exactly as diffusers' `model(x, t).sample`.
    pub fn predict(&self, x: ArrayView4<f32>, t: usize) -> Result<Array4<f32>, ScoreError> {
        self.check_nchw(&x)?;
        let xt = nchw_tensor(&x)?;
        let out = self
            .net
            .forward(&xt, &vec![t as f32; x.shape()[0]])
            .map_err(cerr)?;
        self.count(x.shape()[0]);
        to_array4(&out)
    }

    /// `vᵀ ∂out/∂x` of [`Self::predict`], by autograd.
    pub fn predict_vjp(
        &self,
        x: ArrayView4<f32>,
        t: usize,
        v: ArrayView4<f32>,
    ) -> Result<Array4<f32>, ScoreError> {
        self.check_nchw(&x)?;
        if v.shape() != x.shape() {
            return Err(ScoreError(format!(
                "VJP vector shape {:?} differs from the input's {:?}",
                v.shape(),
                x.shape()
            )));
        }
        let xv = Var::from_tensor(&nchw_tensor(&x)?).map_err(cerr)?;
        let vt = nchw_tensor(&v)?;
        let out = self
            .net
            .forward(xv.as_tensor(), &vec![t as f32; x.shape()[0]])
            .map_err(cerr)?;
        let grads = (out * vt)
            .and_then(|p| p.sum_all())
            .and_then(|l| l.backward())
            .map_err(cerr)?;
        self.count(x.shape()[0]);
        let g = grads
            .get(xv.as_tensor())
            .ok_or_else(|| ScoreError("the network output does not depend on its input".into()))?;
        to_array4(g)
    }

    fn count(&self, rows: usize) {
        self.evals.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// Flat rows (`[H, W, C]` order) of `x_t'` → the model's `[B, C, H, W]` input `x_t' − √ᾱ_t`.
    fn rows_to_input(&self, x: ArrayView2<f64>, shift: f64) -> Result<Tensor, ScoreError> {
        let (c, h, w) = self.chw();
        if x.ncols() != c * h * w {
            return Err(ScoreError(format!(
                "the diffusers prior expects rows of {} values ({h}×{w}×{c}), got {}",
                c * h * w,
                x.ncols()
            )));
        }
        let data: Vec<f32> = x.iter().map(|&v| (v + shift) as f32).collect();
        Tensor::from_vec(data, (x.nrows(), h, w, c), &Device::Cpu)
            .and_then(|t| t.permute((0, 3, 1, 2)))
            .and_then(|t| t.contiguous())
            .map_err(cerr)
    }

    /// The score `−ε(x, t)/√(1 − ᾱ_t)` of the model input `x` (a tensor, so autograd can follow).
    fn score_tensor(&self, x: &Tensor, t: usize) -> candle_core::Result<Tensor> {
        let ab = self.schedule().alpha_bar(t);
        let (a, s) = (ab.sqrt(), (1.0 - ab).sqrt());
        let out = self.net.forward(x, &vec![t as f32; x.dim(0)?])?;
        let eps = match self.prediction() {
            Prediction::Epsilon => out,
            Prediction::V => ((out * a)? + (x * s)?)?,
            Prediction::Sample => ((x - (out * a)?)? / s)?,
        };
        eps * (-1.0 / s)
    }

    /// The timestep and the input shift `DATA_OFFSET · √ᾱ_t` at a level.
    fn level(&self, level: f64) -> Result<(usize, f64), ScoreError> {
        let s = self.schedule();
        let t = s
            .index(level)
            .ok_or_else(|| ScoreError(format!("timestep t = {level} is not in 0..{}", s.steps())))?;
        Ok((t, DATA_OFFSET * s.alpha_bar(t).sqrt()))
    }
}

/// `[B, C, H, W]` f32 array → tensor.
fn nchw_tensor(x: &ArrayView4<f32>) -> Result<Tensor, ScoreError> {
    let data: Vec<f32> = x.iter().copied().collect();
    let s = x.shape();
    Tensor::from_vec(data, (s[0], s[1], s[2], s[3]), &Device::Cpu).map_err(cerr)
}

fn to_array4(t: &Tensor) -> Result<Array4<f32>, ScoreError> {
    let (b, c, h, w) = t.dims4().map_err(cerr)?;
    let v: Vec<f32> = t.flatten_all().and_then(|t| t.to_vec1()).map_err(cerr)?;
    Array4::from_shape_vec((b, c, h, w), v).map_err(|e| ScoreError(e.to_string()))
}

/// `[B, C, H, W]` → flat f64 rows in `[H, W, C]` order.
fn to_rows(t: &Tensor) -> Result<Array2<f64>, ScoreError> {
    let b = t.dim(0).map_err(cerr)?;
    let v: Vec<f32> = t
        .permute((0, 2, 3, 1))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .map_err(cerr)?;
    let n = v.len() / b.max(1);
    Array2::from_shape_vec((b, n), v.into_iter().map(f64::from).collect())
        .map_err(|e| ScoreError(e.to_string()))
}

impl ScoreModel for DiffusersPrior {
    fn dim(&self) -> usize {
        let (c, h, w) = self.chw();
        c * h * w
    }

    fn noise_kind(&self) -> NoiseKind {
        let s = self.schedule();
        NoiseKind::Vp {
            beta_start: s.beta(0),
            beta_end: s.beta(s.steps() - 1),
            steps: s.steps(),
        }
    }

    fn vp_schedule(&self) -> Option<VpSchedule> {
        Some(self.schedule().clone())
    }

    fn data_scale(&self) -> f64 {
        DATA_SCALE
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let (t, shift) = self.level(level)?;
        let xt = self.rows_to_input(x, shift)?;
        let s = self.score_tensor(&xt, t).map_err(cerr)?;
        self.count(x.nrows());
        to_rows(&s)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        crate::score::check_vjp_shape(x, v)?;
        let (t, shift) = self.level(level)?;
        let xv = Var::from_tensor(&self.rows_to_input(x, shift)?).map_err(cerr)?;
        let vt = self.rows_to_input(v, 0.0)?;
        let grads = self
            .score_tensor(xv.as_tensor(), t)
            .and_then(|s| (s * vt)?.sum_all())
            .and_then(|l| l.backward())
            .map_err(cerr)?;
        self.count(x.nrows());
        let g = grads
            .get(xv.as_tensor())
            .ok_or_else(|| ScoreError("the network output does not depend on its input".into()))?;
        to_rows(g)
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }
}
