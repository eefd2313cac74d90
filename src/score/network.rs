//! `ScoreModel` for a loaded U-Net file: flat f64 rows ↔ `[B, C, H, W]` f32 tensors, VE/VP scores, VJPs, Tweedie.
//!
//! Units: the network sees `z = data_scale · x`. VE: `s_x(x, σ) = scale · net(z, scale·σ)`.
//! VP: the diffusion runs in network units; `level = t` and `s_x = scale · (−ε(z, t)/√(1 − ᾱ_t))`.
//! Complex images are flat interleaved (re, im) pairs, i.e. a row is `[H, W, C]` in C order.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor, Var};
use ndarray::{Array2, ArrayView2};

use super::fast::{amx_enabled, FastUNet, Isa, Precision};
use super::file::{load_net, ScoreFileError};
use super::header::{HeaderKind, ScoreHeader};
use super::schedule::VpSchedule;
use super::unet::UNet;
use super::{Cotangent, NoiseKind, ScoreError, ScoreModel};

fn cerr(e: candle_core::Error) -> ScoreError {
    ScoreError(format!("network evaluation failed: {e}"))
}

/// Which implementation evaluates the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Packed weights and SIMD kernels (`score::fast`), the default.
    Fast,
    /// The candle network, with autograd for the VJP (the reference).
    Candle,
}

/// A trained U-Net prior read from a `.safetensors` file.
pub struct NetworkPrior {
    net: UNet,
    /// Built once from `net` unless `UQ_SCORE_BACKEND=candle`.
    fast: Option<FastUNet>,
    header: ScoreHeader,
    schedule: Option<VpSchedule>,
    evals: AtomicU64,
}

/// Whether `UQ_SCORE_BACKEND=candle` asks for the candle reference instead of the fast path.
fn candle_asked() -> bool {
    matches!(std::env::var("UQ_SCORE_BACKEND").as_deref(), Ok("candle"))
}

/// How [`NetworkPrior::from_net`] evaluates a network with these channels per scale in this process
/// (backend and arithmetic, as `summary.json` records it).
pub fn evaluation_label(channels: &[usize]) -> String {
    if candle_asked() {
        return "candle, f32".into();
    }
    match Precision::from_env(channels) {
        Precision::F32 => format!("fast path, f32 ({:?})", Isa::detect()),
        Precision::Bf16 if amx_enabled() => "fast path, bf16 on AMX tiles where they fit".into(),
        Precision::Bf16 => "fast path, bf16 (AVX512-BF16)".into(),
    }
}

impl NetworkPrior {
    /// Load and validate a model file (every failure is a typed error).
    pub fn load(path: &Path) -> Result<Self, ScoreFileError> {
        let l = load_net(path)?;
        Ok(Self::from_net(l.net, l.header))
    }

    /// Wrap an already built network with its header.
    pub fn from_net(net: UNet, header: ScoreHeader) -> Self {
        let schedule = match header.kind {
            HeaderKind::Vp {
                beta_start,
                beta_end,
                timesteps,
            } => Some(VpSchedule::linear(beta_start, beta_end, timesteps)),
            HeaderKind::Ve { .. } => None,
        };
        let fast = if candle_asked() {
            None
        } else {
            FastUNet::from_unet(&net).ok()
        };
        NetworkPrior {
            net,
            fast,
            header,
            schedule,
            evals: AtomicU64::new(0),
        }
    }

    /// Choose the implementation; `Fast` fails only if the network cannot be packed.
    pub fn set_backend(&mut self, backend: Backend) -> Result<(), ScoreError> {
        self.fast = match backend {
            Backend::Candle => None,
            Backend::Fast => Some(FastUNet::from_unet(&self.net).map_err(cerr)?),
        };
        Ok(())
    }

    /// Use the fast path with its convolutions in `precision` (instead of `UQ_SCORE_PRECISION`'s);
    /// fails if the CPU lacks it or the network cannot be packed.
    pub fn set_precision(&mut self, precision: Precision) -> Result<(), ScoreError> {
        self.fast = Some(FastUNet::with_precision(&self.net, Isa::detect(), precision).map_err(cerr)?);
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        if self.fast.is_some() {
            Backend::Fast
        } else {
            Backend::Candle
        }
    }

    /// The candle network (the reference implementation).
    pub fn net(&self) -> &UNet {
        &self.net
    }

    pub fn header(&self) -> &ScoreHeader {
        &self.header
    }

    /// The VP schedule (`None` for VE networks).
    pub fn schedule(&self) -> Option<&VpSchedule> {
        self.schedule.as_ref()
    }

    fn chw(&self) -> (usize, usize, usize) {
        let [h, w] = self.header.image_shape;
        (self.header.image_channels, h, w)
    }

    /// Flat rows (data units) → `[B, C, H, W]` f32 in data units.
    fn to_tensor(&self, x: ArrayView2<f64>) -> Result<Tensor, ScoreError> {
        let (c, h, w) = self.chw();
        if x.ncols() != self.dim() {
            return Err(ScoreError(format!(
                "the prior expects rows of {} values ({h}×{w}×{c}), got {}",
                self.dim(),
                x.ncols()
            )));
        }
        let b = x.nrows();
        let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let t = Tensor::from_vec(data, (b, h, w, c), &Device::Cpu).map_err(cerr)?;
        t.permute((0, 3, 1, 2)).and_then(|t| t.contiguous()).map_err(cerr)
    }

    /// `[B, C, H, W]` → flat f64 rows.
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

    /// The per-call level tensor and the output factor `scale · (VP: −1/√(1−ᾱ_t))` turning raw network
    /// output into the data-unit score.
    fn level(&self, level: f64, b: usize) -> Result<(Tensor, f64), ScoreError> {
        let (lv, factor) = self.level_value(level)?;
        let lt = Tensor::from_vec(vec![lv as f32; b], b, &Device::Cpu).map_err(cerr)?;
        Ok((lt, factor))
    }

    /// The network's level input and the output factor.
    fn level_value(&self, level: f64) -> Result<(f64, f64), ScoreError> {
        let scale = self.header.data_scale;
        let (lv, factor) = match &self.schedule {
            None => {
                if !(level.is_finite() && level != 0.0) {
                    return Err(ScoreError(format!(
                        "noise level σ = {level} must be finite and non-zero"
                    )));
                }
                (level.abs() * scale, scale)
            }
            Some(s) => {
                let t = s
                    .index(level)
                    .ok_or_else(|| ScoreError(format!("timestep t = {level} is not in 0..{}", s.steps())))?;
                (t as f64, -scale / (1.0 - s.alpha_bar(t)).sqrt())
            }
        };
        Ok((lv, factor))
    }

    /// Flat data-unit rows → the fast path's network-unit `[B, H, W, C]` f32 input (rows are already
    /// channels-last).
    fn fast_input(&self, x: ArrayView2<f64>) -> Result<Vec<f32>, ScoreError> {
        let (c, h, w) = self.chw();
        if x.ncols() != self.dim() {
            return Err(ScoreError(format!(
                "the prior expects rows of {} values ({h}×{w}×{c}), got {}",
                self.dim(),
                x.ncols()
            )));
        }
        let scale = self.header.data_scale as f32;
        Ok(x.iter().map(|&v| v as f32 * scale).collect())
    }

    /// `factor · net(scale · x)` as rows, by the fast path.
    fn fast_score(&self, fast: &FastUNet, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let xs = self.fast_input(x)?;
        let (lv, factor) = self.level_value(level)?;
        let (_, h, w) = self.chw();
        let out = fast
            .forward(&xs, &vec![lv as f32; x.nrows()], h, w)
            .map_err(cerr)?;
        let rows = out.into_iter().map(|o| f64::from(o) * factor).collect();
        Array2::from_shape_vec(x.dim(), rows).map_err(|e| ScoreError(e.to_string()))
    }

    /// Raw network output (VE: score in network units; VP: ε) for data-unit input `x`.
    fn raw(&self, x: &Tensor, level: &Tensor) -> candle_core::Result<Tensor> {
        self.net.forward(&(x * self.header.data_scale)?, level)
    }

    fn count(&self, rows: usize) {
        self.evals.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// The VP network's ε prediction at timestep `t` (network units); an error for VE priors.
    pub fn eps(&self, x: ArrayView2<f64>, t: f64) -> Result<Array2<f64>, ScoreError> {
        if self.schedule.is_none() {
            return Err(ScoreError("ε is only defined for VP (DDPM) priors".into()));
        }
        self.count(x.nrows());
        if let Some(fast) = &self.fast {
            let (_, factor) = self.level_value(t)?;
            return Ok(self.fast_score(fast, x, t)? / factor);
        }
        let xt = self.to_tensor(x)?;
        let (lt, _) = self.level(t, x.nrows())?;
        Self::to_rows(&self.raw(&xt, &lt).map_err(cerr)?)
    }

    /// Tweedie's denoiser in data units: VE `x + σ² s(x, σ)`; VP `(x_t + (1 − ᾱ_t) s(x_t, t))/√ᾱ_t`.
    pub fn denoise(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let s = self.score(x, level)?;
        Ok(match &self.schedule {
            None => &x + &(s * (level * level)),
            Some(sch) => {
                let ab = sch.alpha_bar(sch.index(level).unwrap_or(0));
                (&x + &(s * (1.0 - ab))) / ab.sqrt()
            }
        })
    }
}

impl ScoreModel for NetworkPrior {
    fn dim(&self) -> usize {
        let (c, h, w) = self.chw();
        c * h * w
    }

    fn noise_kind(&self) -> NoiseKind {
        match self.header.kind {
            HeaderKind::Ve { sigma_min, sigma_max } => NoiseKind::Ve { sigma_min, sigma_max },
            HeaderKind::Vp {
                beta_start,
                beta_end,
                timesteps,
            } => NoiseKind::Vp {
                beta_start,
                beta_end,
                steps: timesteps,
            },
        }
    }

    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        if let Some(fast) = &self.fast {
            let s = self.fast_score(fast, x, level)?;
            self.count(x.nrows());
            return Ok(s);
        }
        let xt = self.to_tensor(x)?;
        let (lt, factor) = self.level(level, x.nrows())?;
        self.count(x.nrows());
        let out = self.raw(&xt, &lt).and_then(|o| o * factor).map_err(cerr)?;
        Self::to_rows(&out)
    }

    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        super::check_vjp_shape(x, v)?;
        if let Some(fast) = &self.fast {
            let xs = self.fast_input(x)?;
            let (lv, factor) = self.level_value(level)?;
            let (f32f, scale) = (factor as f32, self.header.data_scale);
            let vs: Vec<f32> = v.iter().map(|&a| a as f32 * f32f).collect();
            let (_, h, w) = self.chw();
            let (_, g) = fast
                .vjp(&xs, &vec![lv as f32; x.nrows()], &vs, h, w)
                .map_err(cerr)?;
            self.count(x.nrows());
            let rows = g.into_iter().map(|a| f64::from(a) * scale).collect();
            return Array2::from_shape_vec(x.dim(), rows).map_err(|e| ScoreError(e.to_string()));
        }
        let xv = Var::from_tensor(&self.to_tensor(x)?).map_err(cerr)?;
        let vt = self.to_tensor(v)?;
        let (lt, factor) = self.level(level, x.nrows())?;
        self.count(x.nrows());
        let grads = self
            .raw(xv.as_tensor(), &lt)
            .and_then(|o| (o * factor)?.mul(&vt)?.sum_all())
            .and_then(|l| l.backward())
            .map_err(cerr)?;
        let g = grads
            .get(xv.as_tensor())
            .ok_or_else(|| ScoreError("the network output does not depend on its input".into()))?;
        Self::to_rows(g)
    }

    fn score_and_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        f: &mut Cotangent<'_>,
    ) -> Result<(Array2<f64>, Array2<f64>), ScoreError> {
        let Some(fast) = &self.fast else {
            return super::score_then_vjp(self, x, level, f);
        };
        // The bits of `score` then `score_vjp`: the same conversions around one forward pass.
        let xs = self.fast_input(x)?;
        let (lv, factor) = self.level_value(level)?;
        let (_, h, w) = self.chw();
        let mut score = None;
        let mut cotangent = |out: &[f32]| -> candle_core::Result<Vec<f32>> {
            let rows = out.iter().map(|&o| f64::from(o) * factor).collect();
            let s =
                Array2::from_shape_vec(x.dim(), rows).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            let v = f(&s).map_err(|e| candle_core::Error::Msg(e.0))?;
            if v.dim() != x.dim() {
                candle_core::bail!("VJP vectors of shape {:?} for inputs {:?}", v.dim(), x.dim())
            }
            score = Some(s);
            Ok(v.iter().map(|&a| a as f32 * factor as f32).collect())
        };
        let (_, g) = fast
            .vjp_of_output(&xs, &vec![lv as f32; x.nrows()], h, w, &mut cotangent)
            .map_err(cerr)?;
        self.count(2 * x.nrows());
        let scale = self.header.data_scale;
        let rows = g.into_iter().map(|a| f64::from(a) * scale).collect();
        let j = Array2::from_shape_vec(x.dim(), rows).map_err(|e| ScoreError(e.to_string()))?;
        let s = score.ok_or_else(|| ScoreError("the network gave no output".into()))?;
        Ok((s, j))
    }

    fn score_rows(&self, x: ArrayView2<f64>, levels: &[f64]) -> Result<Array2<f64>, ScoreError> {
        let Some(fast) = &self.fast else {
            return super::by_level(x, levels, None, |x, level, _| self.score(x, level));
        };
        let (lv, factors) = self.row_levels(x, levels)?;
        let xs = self.fast_input(x)?;
        let (_, h, w) = self.chw();
        let out = fast.forward(&xs, &lv, h, w).map_err(cerr)?;
        self.count(x.nrows());
        let d = self.dim().max(1);
        let rows = out
            .into_iter()
            .enumerate()
            .map(|(k, o)| f64::from(o) * factors[k / d])
            .collect();
        Array2::from_shape_vec(x.dim(), rows).map_err(|e| ScoreError(e.to_string()))
    }

    fn score_vjp_rows(
        &self,
        x: ArrayView2<f64>,
        levels: &[f64],
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        let Some(fast) = self.fast.as_ref().filter(|_| v.dim() == x.dim()) else {
            return super::by_level(x, levels, Some(v), |x, level, v| match v {
                Some(v) => self.score_vjp(x, level, v),
                None => Err(ScoreError("a VJP needs its vectors".into())),
            });
        };
        let (lv, factors) = self.row_levels(x, levels)?;
        let xs = self.fast_input(x)?;
        let d = self.dim().max(1);
        let vs: Vec<f32> = v
            .iter()
            .enumerate()
            .map(|(k, &a)| a as f32 * factors[k / d] as f32)
            .collect();
        let (_, h, w) = self.chw();
        let (_, g) = fast.vjp(&xs, &lv, &vs, h, w).map_err(cerr)?;
        self.count(x.nrows());
        let scale = self.header.data_scale;
        let rows = g.into_iter().map(|a| f64::from(a) * scale).collect();
        Array2::from_shape_vec(x.dim(), rows).map_err(|e| ScoreError(e.to_string()))
    }

    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }
}

impl NetworkPrior {
    /// The network's level input (f32) and the output factor of every row's level.
    fn row_levels(&self, x: ArrayView2<f64>, levels: &[f64]) -> Result<(Vec<f32>, Vec<f64>), ScoreError> {
        if levels.len() != x.nrows() {
            return Err(ScoreError(format!(
                "{} levels for {} rows",
                levels.len(),
                x.nrows()
            )));
        }
        let pairs = levels
            .iter()
            .map(|&l| self.level_value(l))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pairs.iter().map(|(l, f)| (*l as f32, *f)).unzip())
    }
}
