//! The SUPN networks in candle-nn: the decoder z → (μ, log L_ii, L's off-diagonal planes) and the
//! encoder x → (mean, log-variance) of q(z | x).
//!
//! Decoder: a linear layer to `channels[0]` planes of `H/2ⁿ × W/2ⁿ` (n = `channels.len() − 1`), then
//! n blocks (nearest 2× upsampling, 3×3 convolution, SiLU) to full size, then two heads: the mean (one
//! 3×3 convolution) and the precision branch (3×3 convolution, SiLU, 3×3 convolution to `1 + K`
//! planes: the log-diagonal, bounded by [`LOG_DIAG_BOUND`], then one plane per causal stencil offset). The encoder mirrors it with
//! stride-2 convolutions. Tensor names are stable: they are the file's.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{conv2d, linear, Conv2d, Conv2dConfig, Linear, VarBuilder};

use super::factor::causal_offsets;

/// |log L_ii| stays below this (L_ii in [e⁻⁸, e⁸]): a constant background would otherwise drive the
/// precision to infinity during training ("bound the terms", Campbell's talk).
pub const LOG_DIAG_BOUND: f64 = 8.0;

/// The architecture a SUPN file describes (stored in its `__metadata__`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SupnConfig {
    pub height: usize,
    pub width: usize,
    /// The latent's length M.
    pub latent: usize,
    /// Stencil radius r: a `(2r+1)×(2r+1)` neighbourhood, `2r² + 2r` off-diagonal planes (r = 0: a
    /// diagonal precision, the baseline SUPN is compared with).
    pub radius: usize,
    /// Decoder channels from the smallest map up (the encoder uses them in reverse).
    pub channels: Vec<usize>,
}

impl SupnConfig {
    /// Why the configuration cannot be built, if it cannot.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err("the channel list must be non-empty and positive".into());
        }
        if self.channels.len() > 7 {
            return Err(format!(
                "{} channel entries (at most 7 resolutions)",
                self.channels.len()
            ));
        }
        let f = 1usize << (self.channels.len() - 1);
        if self.height == 0
            || self.width == 0
            || !self.height.is_multiple_of(f)
            || !self.width.is_multiple_of(f)
        {
            return Err(format!(
                "image {}×{} is not divisible by 2^{} (one halving per channel entry after the first)",
                self.height,
                self.width,
                self.channels.len() - 1
            ));
        }
        if self.height * self.width > 1 << 20 {
            return Err(format!(
                "image {}×{} is larger than 2^20 pixels",
                self.height, self.width
            ));
        }
        if self.latent == 0 || self.latent > 1 << 16 {
            return Err(format!("latent size {} (expected 1 to 65536)", self.latent));
        }
        if self.radius > 4 {
            return Err(format!(
                "stencil radius {} (expected 0 to 4: a diagonal precision, or stencils 3×3 to 9×9)",
                self.radius
            ));
        }
        if self.channels.iter().any(|&c| c > 1024) {
            return Err("a channel count above 1024".into());
        }
        Ok(())
    }

    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// Off-diagonal planes K.
    pub fn n_off(&self) -> usize {
        causal_offsets(self.radius).len()
    }

    /// The smallest map's size.
    pub fn base(&self) -> (usize, usize) {
        let f = 1usize << (self.channels.len() - 1);
        (self.height / f, self.width / f)
    }
}

fn conv(cin: usize, cout: usize, stride: usize, vb: VarBuilder) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: 1,
        stride,
        ..Default::default()
    };
    conv2d(cin, cout, 3, cfg, vb)
}

/// z → (μ, precision planes).
pub struct Decoder {
    cfg: SupnConfig,
    fc: Linear,
    ups: Vec<Conv2d>,
    mean: Conv2d,
    prec0: Conv2d,
    prec1: Conv2d,
}

impl Decoder {
    pub fn new(cfg: &SupnConfig, vb: VarBuilder) -> Result<Self> {
        let (bh, bw) = cfg.base();
        let c = &cfg.channels;
        let last = c[c.len() - 1];
        let fc = linear(cfg.latent, c[0] * bh * bw, vb.pp("dec.fc"))?;
        let ups = (1..c.len())
            .map(|i| conv(c[i - 1], c[i], 1, vb.pp(format!("dec.up{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Decoder {
            cfg: cfg.clone(),
            fc,
            ups,
            mean: conv(last, 1, 1, vb.pp("dec.mean"))?,
            prec0: conv(last, last, 1, vb.pp("dec.prec0"))?,
            prec1: conv(last, 1 + cfg.n_off(), 1, vb.pp("dec.prec1"))?,
        })
    }

    /// Full-resolution features `[B, C, H, W]` from latents `[B, M]`.
    pub fn features(&self, z: &Tensor) -> Result<Tensor> {
        let (bh, bw) = self.cfg.base();
        let b = z.dim(0)?;
        let mut h = self
            .fc
            .forward(z)?
            .reshape((b, self.cfg.channels[0], bh, bw))?
            .silu()?;
        for up in &self.ups {
            let (_, _, hh, ww) = h.dims4()?;
            h = up.forward(&h.upsample_nearest2d(2 * hh, 2 * ww)?)?.silu()?;
        }
        Ok(h)
    }

    /// The mean `[B, 1, H, W]` from features.
    pub fn mean_head(&self, f: &Tensor) -> Result<Tensor> {
        self.mean.forward(f)
    }

    /// The precision planes `[B, 1 + K, H, W]` from features: the log-diagonal first, bounded as
    /// `s = B · tanh(c / B)` with B = [`LOG_DIAG_BOUND`] (c the network's channel), then the
    /// off-diagonal weights as they come.
    pub fn precision_head(&self, f: &Tensor) -> Result<Tensor> {
        let raw = self.prec1.forward(&self.prec0.forward(f)?.silu()?)?;
        let k = raw.dim(1)? - 1;
        let s = ((raw.narrow(1, 0, 1)? / LOG_DIAG_BOUND)?.tanh()? * LOG_DIAG_BOUND)?;
        if k == 0 {
            return Ok(s);
        }
        Tensor::cat(&[&s, &raw.narrow(1, 1, k)?], 1)
    }

    /// Both heads from latents.
    pub fn forward(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let f = self.features(z)?;
        Ok((self.mean_head(&f)?, self.precision_head(&f)?))
    }
}

/// x → (mean, log-variance) of q(z | x).
pub struct Encoder {
    first: Conv2d,
    downs: Vec<Conv2d>,
    fc: Linear,
    latent: usize,
}

impl Encoder {
    pub fn new(cfg: &SupnConfig, vb: VarBuilder) -> Result<Self> {
        let (bh, bw) = cfg.base();
        let c = &cfg.channels;
        let n = c.len();
        let first = conv(1, c[n - 1], 1, vb.pp("enc.in"))?;
        let downs = (1..n)
            .rev()
            .map(|i| conv(c[i], c[i - 1], 2, vb.pp(format!("enc.down{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let fc = linear(c[0] * bh * bw, 2 * cfg.latent, vb.pp("enc.fc"))?;
        Ok(Encoder {
            first,
            downs,
            fc,
            latent: cfg.latent,
        })
    }

    /// `(mean, log_var)`, each `[B, M]`, from images `[B, 1, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut h = self.first.forward(x)?.silu()?;
        for d in &self.downs {
            h = d.forward(&h)?.silu()?;
        }
        let out = self.fc.forward(&h.flatten_from(1)?)?;
        let mean = out.narrow(D::Minus1, 0, self.latent)?;
        let log_var = out.narrow(D::Minus1, self.latent, self.latent)?;
        Ok((mean, log_var))
    }
}

/// Both networks, as stored in one file.
pub struct SupnNets {
    pub decoder: Decoder,
    pub encoder: Encoder,
}

impl SupnNets {
    pub fn new(cfg: &SupnConfig, vb: VarBuilder) -> Result<Self> {
        Ok(SupnNets {
            decoder: Decoder::new(cfg, vb.clone())?,
            encoder: Encoder::new(cfg, vb)?,
        })
    }
}
