//! The `UNet2DModel` forward pass assembled from its checked config: time embedding, down blocks,
//! mid block, up blocks with skip connections, output head (diffusers' module and tensor names).

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{GroupNorm, Linear};

use super::config::UNetSpec;
use super::layers::{linear, norm, upsample2, Attn, Conv, Norms, Resnet, Weights};
use super::DiffusersError;

type LResult<T> = std::result::Result<T, DiffusersError>;

/// The mid block's first ResNet, then (attention, ResNet) pairs.
type Mid = (Resnet, Vec<(Option<Attn>, Resnet)>);

/// A block's ResNets, their attentions (empty without), and its resampling conv.
struct Block {
    resnets: Vec<Resnet>,
    attns: Vec<Attn>,
    resample: Option<Conv>,
}

/// The network of a diffusers `UNet2DModel`.
pub(super) struct UNet2D {
    spec: UNetSpec,
    conv_in: Conv,
    lin1: Linear,
    lin2: Linear,
    down: Vec<Block>,
    mid: Option<Mid>,
    up: Vec<Block>,
    norm_out: GroupNorm,
    conv_out: Conv,
}

impl UNet2D {
    /// Build from the tensors `ws` as `spec` describes them (every tensor checked by shape).
    pub fn load(spec: &UNetSpec, ws: &Weights) -> LResult<Self> {
        let s = spec;
        let n = s.down.len();
        let c0 = s.down[0].channels;
        let norms = Norms {
            groups: s.groups,
            eps: s.eps,
            temb: s.time_embed_dim,
            scale_shift: s.scale_shift,
        };
        let attn = |name: &str, c: usize, groups: Option<usize>, rescale: f64| {
            Attn::load(ws, name, c, s.head_dim, groups, s.eps, rescale)
        };
        let mut down = Vec::with_capacity(n);
        let mut cout = c0;
        for (i, b) in s.down.iter().enumerate() {
            let cin = cout;
            cout = b.channels;
            let mut blk = Block {
                resnets: Vec::new(),
                attns: Vec::new(),
                resample: None,
            };
            for j in 0..s.layers_per_block {
                let name = format!("down_blocks.{i}.resnets.{j}");
                let ci = if j == 0 { cin } else { cout };
                blk.resnets.push(Resnet::load(ws, &name, ci, cout, norms, 1.0)?);
                if b.attention {
                    let name = format!("down_blocks.{i}.attentions.{j}");
                    blk.attns.push(attn(&name, cout, Some(s.groups), 1.0)?);
                }
            }
            if i + 1 < n {
                let name = format!("down_blocks.{i}.downsamplers.0.conv");
                let pad = s.downsample_padding;
                let conv = Conv::load(ws, &name, cout, cout, 3)?.strided(2, pad, usize::from(pad == 0));
                blk.resample = Some(conv);
            }
            down.push(blk);
        }
        let cl = s.down[n - 1].channels;
        let mid = match s.mid {
            None => None,
            Some(has_attn) => {
                let first = Resnet::load(ws, "mid_block.resnets.0", cl, cl, norms, s.mid_scale)?;
                let a = if has_attn {
                    Some(attn(
                        "mid_block.attentions.0",
                        cl,
                        s.mid_attn_groups,
                        s.mid_scale,
                    )?)
                } else {
                    None
                };
                let second = Resnet::load(ws, "mid_block.resnets.1", cl, cl, norms, s.mid_scale)?;
                Some((first, vec![(a, second)]))
            }
        };
        let rev: Vec<usize> = s.down.iter().rev().map(|b| b.channels).collect();
        let mut up = Vec::with_capacity(n);
        let mut out = rev[0];
        for (i, b) in s.up.iter().enumerate() {
            let prev = out;
            out = rev[i];
            let input = rev[(i + 1).min(n - 1)];
            let layers = s.layers_per_block + 1;
            let mut blk = Block {
                resnets: Vec::new(),
                attns: Vec::new(),
                resample: None,
            };
            for j in 0..layers {
                let skip = if j + 1 == layers { input } else { out };
                let rin = if j == 0 { prev } else { out };
                let name = format!("up_blocks.{i}.resnets.{j}");
                blk.resnets
                    .push(Resnet::load(ws, &name, rin + skip, out, norms, 1.0)?);
                if b.attention {
                    let name = format!("up_blocks.{i}.attentions.{j}");
                    blk.attns.push(attn(&name, out, Some(s.groups), 1.0)?);
                }
            }
            if i + 1 < n {
                let name = format!("up_blocks.{i}.upsamplers.0.conv");
                blk.resample = Some(Conv::load(ws, &name, out, out, 3)?);
            }
            up.push(blk);
        }
        let ch = s.channels;
        Ok(UNet2D {
            spec: s.clone(),
            conv_in: Conv::load(ws, "conv_in", ch, c0, 3)?,
            lin1: linear(ws, "time_embedding.linear_1", c0, s.time_embed_dim)?,
            lin2: linear(ws, "time_embedding.linear_2", s.time_embed_dim, s.time_embed_dim)?,
            down,
            mid,
            up,
            norm_out: norm(ws, "conv_norm_out", c0, s.groups, s.eps)?,
            conv_out: Conv::load(ws, "conv_out", c0, ch, 3)?,
        })
    }

    /// diffusers' `Timesteps`: `[B, C]` sinusoids of the timesteps, in f32 as PyTorch computes them.
    fn timestep_features(&self, t: &[f32]) -> Result<Tensor> {
        let c = self.spec.down[0].channels;
        let half = c / 2;
        let denom = half as f32 - self.spec.freq_shift as f32;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (-(10000f64.ln() as f32) * i as f32 / denom).exp())
            .collect();
        let mut data = Vec::with_capacity(t.len() * c);
        for &ti in t {
            let args = freqs.iter().map(|f| ti * f);
            let (sin, cos): (Vec<f32>, Vec<f32>) = args.map(|a| (a.sin(), a.cos())).unzip();
            let (first, second) = if self.spec.flip_sin_to_cos {
                (cos, sin)
            } else {
                (sin, cos)
            };
            data.extend(first);
            data.extend(second);
            if c % 2 == 1 {
                data.push(0.0);
            }
        }
        Tensor::from_vec(data, (t.len(), c), &Device::Cpu)
    }

    /// The network's output for `x` `[B, C, H, W]` at timesteps `t` (one per row).
    pub fn forward(&self, x: &Tensor, t: &[f32]) -> Result<Tensor> {
        let x = if self.spec.center_input {
            ((x * 2.0)? - 1.0)?
        } else {
            x.clone()
        };
        let emb = self
            .lin2
            .forward(&self.lin1.forward(&self.timestep_features(t)?)?.silu()?)?;
        let mut h = self.conv_in.forward(&x)?;
        let mut skips = vec![h.clone()];
        for blk in &self.down {
            for (j, r) in blk.resnets.iter().enumerate() {
                h = r.forward(&h, &emb)?;
                if let Some(a) = blk.attns.get(j) {
                    h = a.forward(&h)?;
                }
                skips.push(h.clone());
            }
            if let Some(conv) = &blk.resample {
                h = conv.forward(&h)?;
                skips.push(h.clone());
            }
        }
        if let Some((first, rest)) = &self.mid {
            h = first.forward(&h, &emb)?;
            for (a, r) in rest {
                if let Some(a) = a {
                    h = a.forward(&h)?;
                }
                h = r.forward(&h, &emb)?;
            }
        }
        for blk in &self.up {
            for (j, r) in blk.resnets.iter().enumerate() {
                let Some(skip) = skips.pop() else {
                    candle_core::bail!("the U-Net ran out of skip connections");
                };
                h = r.forward(&Tensor::cat(&[&h, &skip], 1)?, &emb)?;
                if let Some(a) = blk.attns.get(j) {
                    h = a.forward(&h)?;
                }
            }
            if let Some(conv) = &blk.resample {
                h = conv.forward(&upsample2(&h)?)?;
            }
        }
        self.conv_out.forward(&self.norm_out.forward(&h)?.silu()?)
    }
}
