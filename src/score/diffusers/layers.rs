//! Layers of a diffusers `UNet2DModel` in candle, read from its tensors by diffusers' names:
//! convolutions (im2col, so autograd is matmuls), GroupNorm, `ResnetBlock2D`, `Attention`, resamplers.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use candle_core::{Module, Result, Tensor};
use candle_nn::{GroupNorm, Linear};

use super::DiffusersError;

/// The model's tensors, looked up by name and checked by shape; remembers which were used.
pub(super) struct Weights<'a> {
    map: &'a HashMap<String, Tensor>,
    path: &'a str,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Weights<'a> {
    pub fn new(map: &'a HashMap<String, Tensor>, path: &'a str) -> Self {
        Weights {
            map,
            path,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// Tensor `name` of shape `shape`, or an error naming the file and the tensor.
    pub fn get(&self, name: &str, shape: &[usize]) -> std::result::Result<Tensor, DiffusersError> {
        let t = self.map.get(name).ok_or_else(|| DiffusersError::MissingTensor {
            path: self.path.into(),
            name: name.into(),
        })?;
        if t.dims() != shape {
            return Err(DiffusersError::TensorShape {
                path: self.path.into(),
                name: name.into(),
                expected: shape.to_vec(),
                found: t.dims().to_vec(),
            });
        }
        self.used.borrow_mut().insert(name.into());
        Ok(t.clone())
    }

    /// The first tensor of the file no layer used (a config that does not match its weights).
    pub fn unused(&self) -> Option<(String, usize)> {
        let used = self.used.borrow();
        let mut left = self.map.keys().filter(|k| !used.contains(*k));
        let first = left.next()?.clone();
        Some((first, left.count() + 1))
    }
}

type LResult<T> = std::result::Result<T, DiffusersError>;

/// A `k×k` convolution (k = 1 or 3) with stride 1 or 2, zero padding `pad` on every side and
/// `extra` more zeros on the right and bottom (diffusers' `Downsample2D` with `padding = 0`).
pub(super) struct Conv {
    w: Tensor,
    b: Tensor,
    k: usize,
    stride: usize,
    pad: usize,
    extra: usize,
}

impl Conv {
    pub fn load(ws: &Weights, name: &str, cin: usize, cout: usize, k: usize) -> LResult<Self> {
        Ok(Conv {
            w: ws.get(&format!("{name}.weight"), &[cout, cin, k, k])?,
            b: ws.get(&format!("{name}.bias"), &[cout])?,
            k,
            stride: 1,
            pad: k / 2,
            extra: 0,
        })
    }

    pub fn strided(mut self, stride: usize, pad: usize, extra: usize) -> Self {
        (self.stride, self.pad, self.extra) = (stride, pad, extra);
        self
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, cin, h, w) = x.dims4()?;
        let (k, s) = (self.k, self.stride);
        let cout = self.w.dim(0)?;
        let (hp, wp) = (h + 2 * self.pad + self.extra, w + 2 * self.pad + self.extra);
        if hp < k || wp < k {
            candle_core::bail!("a {h}×{w} image is smaller than a {k}×{k} kernel");
        }
        let (ho, wo) = ((hp - k) / s + 1, (wp - k) / s + 1);
        let cols = if k == 1 && s == 1 {
            x.reshape((b, cin, h * w))?
        } else {
            // Pad so that every tap's window of s·ho rows (then every s-th kept) fits.
            let (r, c) = (self.pad + self.extra + s - 1, self.pad + self.extra + s - 1);
            let xp = x.pad_with_zeros(2, self.pad, r)?.pad_with_zeros(3, self.pad, c)?;
            let mut taps = Vec::with_capacity(k * k);
            for dy in 0..k {
                for dx in 0..k {
                    let win = xp.narrow(2, dy, s * ho)?.narrow(3, dx, s * wo)?;
                    let win = if s == 1 {
                        win
                    } else {
                        win.reshape((b, cin, ho, s, wo, s))?
                            .narrow(3, 0, 1)?
                            .narrow(5, 0, 1)?
                            .reshape((b, cin, ho, wo))?
                    };
                    taps.push(win);
                }
            }
            Tensor::cat(&taps, 1)?.reshape((b, k * k * cin, ho * wo))?
        };
        let wm = self.w.permute((0, 2, 3, 1))?.reshape((cout, k * k * cin))?;
        let y = wm.broadcast_left(b)?.matmul(&cols)?;
        y.broadcast_add(&self.b.reshape((1, cout, 1))?)?
            .reshape((b, cout, ho, wo))
    }
}

/// GroupNorm `name` over `c` channels.
pub(super) fn norm(ws: &Weights, name: &str, c: usize, groups: usize, eps: f64) -> LResult<GroupNorm> {
    let w = ws.get(&format!("{name}.weight"), &[c])?;
    let b = ws.get(&format!("{name}.bias"), &[c])?;
    GroupNorm::new(w, b, c, groups, eps).map_err(|e| DiffusersError::Build {
        path: ws.path.into(),
        reason: format!("`{name}`: {e}"),
    })
}

/// Linear layer `name`: `[cout, cin]` weight and a bias.
pub(super) fn linear(ws: &Weights, name: &str, cin: usize, cout: usize) -> LResult<Linear> {
    Ok(Linear::new(
        ws.get(&format!("{name}.weight"), &[cout, cin])?,
        Some(ws.get(&format!("{name}.bias"), &[cout])?),
    ))
}

/// Shared settings of the ResNet and attention layers.
#[derive(Clone, Copy)]
pub(super) struct Norms {
    pub groups: usize,
    pub eps: f64,
    pub temb: usize,
    pub scale_shift: bool,
}

/// diffusers' `ResnetBlock2D` (pre-norm, SiLU, dropout ignored: inference).
pub(super) struct Resnet {
    norm1: GroupNorm,
    conv1: Conv,
    temb: Linear,
    scale_shift: bool,
    norm2: GroupNorm,
    conv2: Conv,
    shortcut: Option<Conv>,
    out_scale: f64,
}

impl Resnet {
    pub fn load(
        ws: &Weights,
        name: &str,
        cin: usize,
        cout: usize,
        n: Norms,
        out_scale: f64,
    ) -> LResult<Self> {
        let temb_out = if n.scale_shift { 2 * cout } else { cout };
        Ok(Resnet {
            norm1: norm(ws, &format!("{name}.norm1"), cin, n.groups, n.eps)?,
            conv1: Conv::load(ws, &format!("{name}.conv1"), cin, cout, 3)?,
            temb: linear(ws, &format!("{name}.time_emb_proj"), n.temb, temb_out)?,
            scale_shift: n.scale_shift,
            norm2: norm(ws, &format!("{name}.norm2"), cout, n.groups, n.eps)?,
            conv2: Conv::load(ws, &format!("{name}.conv2"), cout, cout, 3)?,
            shortcut: if cin != cout {
                Some(Conv::load(ws, &format!("{name}.conv_shortcut"), cin, cout, 1)?)
            } else {
                None
            },
            out_scale,
        })
    }

    /// `x`: `[B, C, H, W]`; `temb`: the time embedding `[B, E]`.
    pub fn forward(&self, x: &Tensor, temb: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(&self.norm1.forward(x)?.silu()?)?;
        let t = self.temb.forward(&temb.silu()?)?.unsqueeze(2)?.unsqueeze(3)?;
        let h = if self.scale_shift {
            let c = t.dim(1)? / 2;
            let (scale, shift) = (t.narrow(1, 0, c)?, t.narrow(1, c, c)?);
            self.norm2
                .forward(&h)?
                .broadcast_mul(&(scale + 1.0)?)?
                .broadcast_add(&shift)?
        } else {
            self.norm2.forward(&h.broadcast_add(&t)?)?
        };
        let h = self.conv2.forward(&h.silu()?)?;
        let x = match &self.shortcut {
            Some(c) => c.forward(x)?,
            None => x.clone(),
        };
        (x + h)? / self.out_scale
    }
}

/// diffusers' `Attention` over the pixels of a `[B, C, H, W]` map: optional GroupNorm, multi-head
/// self-attention with biased q/k/v/out projections, the residual, divided by `rescale`.
pub(super) struct Attn {
    norm: Option<GroupNorm>,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
    rescale: f64,
}

impl Attn {
    /// `head_dim`: `attention_head_dim` (`None`: all channels in one head).
    pub fn load(
        ws: &Weights,
        name: &str,
        c: usize,
        head_dim: Option<usize>,
        groups: Option<usize>,
        eps: f64,
        rescale: f64,
    ) -> LResult<Self> {
        let head_dim = head_dim.unwrap_or(c);
        let heads = c / head_dim;
        if heads == 0 {
            return Err(DiffusersError::Build {
                path: ws.path.into(),
                reason: format!("`{name}`: attention_head_dim {head_dim} exceeds the {c} channels"),
            });
        }
        let inner = heads * head_dim;
        Ok(Attn {
            norm: match groups {
                Some(g) => Some(norm(ws, &format!("{name}.group_norm"), c, g, eps)?),
                None => None,
            },
            q: linear(ws, &format!("{name}.to_q"), c, inner)?,
            k: linear(ws, &format!("{name}.to_k"), c, inner)?,
            v: linear(ws, &format!("{name}.to_v"), c, inner)?,
            out: linear(ws, &format!("{name}.to_out.0"), inner, c)?,
            heads,
            head_dim,
            rescale,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let n = h * w;
        let hs = match &self.norm {
            Some(g) => g.forward(x)?,
            None => x.clone(),
        };
        let hs = hs.reshape((b, c, n))?.transpose(1, 2)?.contiguous()?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, n, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.q.forward(&hs)?)?;
        let k = split(self.k.forward(&hs)?)?;
        let v = split(self.v.forward(&hs)?)?;
        let scores = (q.matmul(&k.transpose(2, 3)?.contiguous()?)? / (self.head_dim as f64).sqrt())?;
        let att = candle_nn::ops::softmax(&scores, 3)?.matmul(&v)?;
        let att = att.transpose(1, 2)?.reshape((b, n, self.heads * self.head_dim))?;
        let o = self.out.forward(&att)?.transpose(1, 2)?.reshape((b, c, h, w))?;
        (o + x)? / self.rescale
    }
}

/// Nearest-neighbour ×2 upsampling (reshape and broadcast, so autograd needs no special kernel).
pub(super) fn upsample2(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h, 1, w, 1))?
        .broadcast_as((b, c, h, 2, w, 2))?
        .contiguous()?
        .reshape((b, c, 2 * h, 2 * w))
}
