//! The residual U-Net of Ramzi et al. (2020), appendix A.1, in candle: VE (σ-conditional) and VP (ε) heads.
//!
//! Layout for channels `[c0, c1, c2]` (weight names in brackets):
//! - down, scale k: two residual blocks (`down.k.0`, `down.k.1`), then 2×2 average pooling except
//!   at the last scale;
//! - up, scale k (from the bottom): two residual blocks (`up.k.0`, `up.k.1`); above the bottom, first a
//!   2×2 stride-2 transposed conv (`upconv.k`) and concatenation of the skip from the down path;
//! - a 1×1 output conv (`out`).
//!
//! A residual block is 3 × (3×3 conv → GroupNorm → ReLU) with no ReLU after the third norm, a 1×1
//! projection (`proj`) when channels change, and a ReLU after the residual sum. (The paper uses batch
//! norm; GroupNorm keeps a score independent of its batch.)
//!
//! Conditioning. VE: a σ-map is concatenated to the input and the output is divided by |σ| (the
//! paper); because GroupNorm removes most of a constant input offset, the level also enters every
//! block through a sinusoidal embedding of `100 (ln|σ| + 7)` added after the first norm. VP: the
//! same embedding of the timestep `t` (DDPM); the head predicts ε.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{conv2d, conv_transpose2d, linear, Conv2d, Conv2dConfig, ConvTranspose2d};
use candle_nn::{ConvTranspose2dConfig, GroupNorm, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

/// What the network is conditioned on and what it predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetKind {
    /// Noise-conditional score: input `(x, σ)`, output `s(x, σ)` (already divided by |σ|).
    Ve,
    /// DDPM noise predictor: input `(x_t, t)`, output `ε(x_t, t)`.
    Vp,
}

/// Architecture hyper-parameters (everything needed to rebuild the weights' shapes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Channels per scale, top to bottom (the paper: `[32, 64, 128]`).
    pub channels: Vec<usize>,
    /// Image channels: 1 (real) or 2 (complex as real, imaginary).
    pub image_channels: usize,
    pub kind: NetKind,
}

impl Default for UNetConfig {
    fn default() -> Self {
        UNetConfig {
            channels: vec![16, 32, 64],
            image_channels: 1,
            kind: NetKind::Ve,
        }
    }
}

/// Width of the sinusoidal level embedding.
pub(crate) const EMB_DIM: usize = 32;

/// GroupNorm's ε.
pub(crate) const GN_EPS: f64 = 1e-5;

/// Groups for GroupNorm: the largest of 8, 4, 2 dividing `c` with at least 4 channels per group, else 1.
pub(crate) fn groups(c: usize) -> usize {
    [8, 4, 2]
        .into_iter()
        .find(|g| c.is_multiple_of(*g) && c / g >= 4)
        .unwrap_or(1)
}

/// 3×3 "same" convolution as one im2col matmul built from candle ops (narrow, cat, matmul), so its
/// backward pass is matmuls too (candle's own conv backward goes through a slow direct kernel).
/// Weights keep candle's `Conv2d` layout `[out, in, 3, 3]`.
fn conv3_forward(conv: &Conv2d, x: &Tensor) -> Result<Tensor> {
    let (b, cin, h, w) = x.dims4()?;
    let wt = conv.weight();
    let cout = wt.dim(0)?;
    let xp = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let mut cols = Vec::with_capacity(9);
    for dy in 0..3 {
        for dx in 0..3 {
            cols.push(xp.narrow(2, dy, h)?.narrow(3, dx, w)?);
        }
    }
    let cols = Tensor::cat(&cols, 1)?.reshape((b, 9 * cin, h * w))?;
    let wm = wt.permute((0, 2, 3, 1))?.reshape((cout, 9 * cin))?;
    let y = wm.broadcast_left(b)?.matmul(&cols)?;
    let y = match conv.bias() {
        Some(bias) => y.broadcast_add(&bias.reshape((1, cout, 1))?)?,
        None => y,
    };
    y.reshape((b, cout, h, w))
}

/// 1×1 convolution as a matmul.
fn conv1_forward(conv: &Conv2d, x: &Tensor) -> Result<Tensor> {
    let (b, cin, h, w) = x.dims4()?;
    let wt = conv.weight();
    let cout = wt.dim(0)?;
    let y = wt
        .reshape((cout, cin))?
        .broadcast_left(b)?
        .matmul(&x.reshape((b, cin, h * w))?)?;
    let y = match conv.bias() {
        Some(bias) => y.broadcast_add(&bias.reshape((1, cout, 1))?)?,
        None => y,
    };
    y.reshape((b, cout, h, w))
}

/// 2×2 stride-2 transposed convolution (weights `[in, out, 2, 2]`) as a matmul and a pixel shuffle.
fn upconv_forward(conv: &ConvTranspose2d, x: &Tensor) -> Result<Tensor> {
    let (b, cin, h, w) = x.dims4()?;
    let wt = conv.weight();
    let cout = wt.dim(1)?;
    let wm = wt.reshape((cin, cout * 4))?.t()?;
    let y = wm.broadcast_left(b)?.matmul(&x.reshape((b, cin, h * w))?)?;
    let y = y
        .reshape((b, cout, 2, 2, h, w))?
        .permute((0, 1, 4, 2, 5, 3))?
        .reshape((b, cout, 2 * h, 2 * w))?;
    match conv.bias() {
        Some(bias) => y.broadcast_add(&bias.reshape((1, cout, 1, 1))?),
        None => Ok(y),
    }
}

/// The output 1×1 conv starts at zero (as in DDPM), so the initial loss is that of a zero score.
fn zero_conv1(cin: usize, cout: usize, vb: VarBuilder) -> Result<Conv2d> {
    let w = vb.get_with_hints((cout, cin, 1, 1), "weight", candle_nn::Init::Const(0.0))?;
    let b = vb.get_with_hints(cout, "bias", candle_nn::Init::Const(0.0))?;
    Ok(Conv2d::new(w, Some(b), Conv2dConfig::default()))
}

fn conv3(cin: usize, cout: usize, vb: VarBuilder) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    conv2d(cin, cout, 3, cfg, vb)
}

pub(crate) struct ConvNorm {
    pub(crate) conv: Conv2d,
    norm: GroupNorm,
    /// The norm's affine weight and bias (candle's `GroupNorm` keeps them private).
    pub(crate) gamma: Tensor,
    pub(crate) beta: Tensor,
}

impl ConvNorm {
    fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<Self> {
        let conv = conv3(cin, cout, vb.pp("conv"))?;
        // What `candle_nn::group_norm` does, keeping the tensors.
        let vn = vb.pp("norm");
        let gamma = vn.get_with_hints(cout, "weight", candle_nn::Init::Const(1.))?;
        let beta = vn.get_with_hints(cout, "bias", candle_nn::Init::Const(0.))?;
        let norm = GroupNorm::new(gamma.clone(), beta.clone(), cout, groups(cout), GN_EPS)?;
        Ok(ConvNorm {
            conv,
            norm,
            gamma,
            beta,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.norm.forward(&conv3_forward(&self.conv, x)?)
    }
}

/// 3 × (conv → norm → ReLU) with a skip, the level embedding added after the first ReLU.
pub(crate) struct ResBlock {
    pub(crate) layers: [ConvNorm; 3],
    pub(crate) proj: Option<Conv2d>,
    pub(crate) emb: Linear,
}

impl ResBlock {
    fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<Self> {
        let proj = if cin != cout {
            Some(conv2d(cin, cout, 1, Default::default(), vb.pp("proj"))?)
        } else {
            None
        };
        Ok(ResBlock {
            layers: [
                ConvNorm::new(cin, cout, vb.pp("c0"))?,
                ConvNorm::new(cout, cout, vb.pp("c1"))?,
                ConvNorm::new(cout, cout, vb.pp("c2"))?,
            ],
            proj,
            emb: linear(4 * EMB_DIM, cout, vb.pp("emb"))?,
        })
    }

    /// `emb`: the shared level features `[B, 4·EMB_DIM]` (already activated).
    fn forward(&self, x: &Tensor, emb: &Tensor) -> Result<Tensor> {
        let [l0, l1, l2] = &self.layers;
        let e = self.emb.forward(emb)?.unsqueeze(2)?.unsqueeze(3)?;
        let h = l0.forward(x)?.relu()?.broadcast_add(&e)?;
        let h = l1.forward(&h)?.relu()?;
        let h = l2.forward(&h)?;
        let skip = match &self.proj {
            Some(p) => conv1_forward(p, x)?,
            None => x.clone(),
        };
        (h + skip)?.relu()
    }
}

/// Sinusoidal features of a per-sample scalar `c` (`[B]`) → `[B, EMB_DIM]`, in `c`'s dtype.
pub fn sinusoidal(c: &Tensor) -> Result<Tensor> {
    let half = EMB_DIM / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(10_000f64.ln()) * i as f64 / half as f64).exp() as f32)
        .collect();
    let freqs = Tensor::from_vec(freqs, (1, half), c.device())?.to_dtype(c.dtype())?;
    let args = c.unsqueeze(1)?.broadcast_mul(&freqs)?;
    Tensor::cat(&[args.sin()?, args.cos()?], D::Minus1)
}

/// The residual U-Net.
pub struct UNet {
    cfg: UNetConfig,
    pub(crate) emb1: Linear,
    pub(crate) emb2: Linear,
    pub(crate) down: Vec<[ResBlock; 2]>,
    pub(crate) up: Vec<[ResBlock; 2]>,
    pub(crate) upconv: Vec<ConvTranspose2d>,
    pub(crate) out: Conv2d,
}

impl UNet {
    /// Build (or load, depending on `vb`) a U-Net; `cfg.channels` must be non-empty.
    pub fn new(cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        let ch = &cfg.channels;
        let Some(&c0) = ch.first() else {
            candle_core::bail!("a U-Net needs at least one scale")
        };
        let cin = cfg.image_channels + usize::from(cfg.kind == NetKind::Ve);
        let mut down = Vec::with_capacity(ch.len());
        let mut prev = cin;
        for (k, &c) in ch.iter().enumerate() {
            let vk = vb.pp(format!("down.{k}"));
            down.push([
                ResBlock::new(prev, c, vk.pp("0"))?,
                ResBlock::new(c, c, vk.pp("1"))?,
            ]);
            prev = c;
        }
        let mut up = Vec::with_capacity(ch.len());
        let mut upconv = Vec::with_capacity(ch.len().saturating_sub(1));
        for (k, &c) in ch.iter().enumerate() {
            let vk = vb.pp(format!("up.{k}"));
            let first_in = if k + 1 < ch.len() { 2 * c } else { c };
            up.push([
                ResBlock::new(first_in, c, vk.pp("0"))?,
                ResBlock::new(c, c, vk.pp("1"))?,
            ]);
            if let Some(&below) = ch.get(k + 1) {
                let tcfg = ConvTranspose2dConfig {
                    stride: 2,
                    ..Default::default()
                };
                upconv.push(conv_transpose2d(below, c, 2, tcfg, vb.pp(format!("upconv.{k}")))?);
            }
        }
        Ok(UNet {
            cfg: cfg.clone(),
            emb1: linear(EMB_DIM, 4 * EMB_DIM, vb.pp("emb.0"))?,
            emb2: linear(4 * EMB_DIM, 4 * EMB_DIM, vb.pp("emb.1"))?,
            down,
            up,
            upconv,
            out: zero_conv1(c0, cfg.image_channels, vb.pp("out"))?,
        })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.cfg
    }

    /// Spatial sizes must be divisible by this.
    pub fn size_multiple(&self) -> usize {
        1 << self.cfg.channels.len().saturating_sub(1)
    }

    /// `x`: `[B, C, H, W]` in the weights' dtype; `level`: `[B]` (signed σ for VE, timestep t for VP).
    /// Returns the score (VE) or ε (VP), `[B, C, H, W]`.
    pub fn forward(&self, x: &Tensor, level: &Tensor) -> Result<Tensor> {
        let (b, _, h, w) = x.dims4()?;
        let m = self.size_multiple();
        if h % m != 0 || w % m != 0 {
            candle_core::bail!("image size {h}×{w} is not divisible by {m}")
        }
        let level = level.to_dtype(x.dtype())?;
        let (input, c) = match self.cfg.kind {
            NetKind::Ve => {
                let map = level.reshape((b, 1, 1, 1))?.broadcast_as((b, 1, h, w))?;
                let c = ((level.abs()?.log()? + 7.0)? * 100.0)?;
                (Tensor::cat(&[x, &map.contiguous()?], 1)?, c)
            }
            NetKind::Vp => (x.clone(), level.clone()),
        };
        let emb = self.emb1.forward(&sinusoidal(&c)?)?.relu()?;
        let emb = self.emb2.forward(&emb)?.relu()?;

        let mut skips = Vec::with_capacity(self.down.len());
        let mut hcur = input;
        let last = self.down.len().saturating_sub(1);
        for (k, [b0, b1]) in self.down.iter().enumerate() {
            hcur = b1.forward(&b0.forward(&hcur, &emb)?, &emb)?;
            if k < last {
                skips.push(hcur.clone());
                hcur = hcur.avg_pool2d(2)?;
            }
        }
        for (k, [b0, b1]) in self.up.iter().enumerate().rev() {
            if k < last {
                let (Some(uc), Some(skip)) = (self.upconv.get(k), skips.get(k)) else {
                    candle_core::bail!("U-Net scale {k} is incomplete")
                };
                hcur = Tensor::cat(&[skip, &upconv_forward(uc, &hcur)?], 1)?;
            }
            hcur = b1.forward(&b0.forward(&hcur, &emb)?, &emb)?;
        }
        let out = conv1_forward(&self.out, &hcur)?;
        match self.cfg.kind {
            NetKind::Ve => out.broadcast_div(&level.abs()?.reshape((b, 1, 1, 1))?),
            NetKind::Vp => Ok(out),
        }
    }
}

#[cfg(test)]
#[path = "unet_tests.rs"]
mod tests;
