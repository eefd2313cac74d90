//! A training batch: seeded augmentation and noise levels, the noisy inputs, and the denoising loss
//! (through candle, or on the fast path with every weight's gradient).

use candle_core::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::super::augment::{augment_full, log_uniform, Augment};
use super::super::data::flipped;
use super::super::phase::{rotate, smooth_phase, PhaseAug};
use super::super::{SigmaDist, TrainError};
use super::Trainer;
use crate::score::fast::{FastUNet, Isa, NamedGrads, Precision};
use crate::score::unet::{NetKind, UNet};

/// One batch: clean images, the noise, and the per-image level (σ or t), all f32.
pub(super) struct Batch {
    pub(super) clean: Vec<f32>,
    pub(super) noise: Vec<f32>,
    pub(super) levels: Vec<f32>,
}

impl Trainer {
    pub(super) fn draw_level(&self, rng: &mut ChaCha8Rng) -> f32 {
        match self.cfg.kind {
            NetKind::Vp => rng.random_range(0..self.schedule.steps()) as f32,
            NetKind::Ve => {
                let s = match self.cfg.sigma {
                    SigmaDist::Normal { s } => s * rng.sample::<f64, _>(StandardNormal),
                    SigmaDist::LogUniform { min, max } => {
                        let mag = log_uniform(rng, min, max);
                        if rng.random::<bool>() {
                            mag
                        } else {
                            -mag
                        }
                    }
                };
                // |σ| ≥ 1e-4 keeps the division by |σ| finite.
                (if s.abs() < 1e-4 { 1e-4f64.copysign(s) } else { s }) as f32
            }
        }
    }

    pub(super) fn make_batch(&self, rng: &mut ChaCha8Rng, images: &[&Vec<f32>], augment: bool) -> Batch {
        let s = self.cfg.size;
        let n = s * s;
        let mut clean = Vec::with_capacity(images.len() * n * self.cfg.image_channels);
        let mut levels = Vec::with_capacity(images.len());
        let mut one = Vec::with_capacity(2 * n);
        for img in images {
            let (fh, fv) = if augment {
                (rng.random::<bool>(), rng.random::<bool>())
            } else {
                (false, false)
            };
            one.clear();
            for plane in img.chunks(n) {
                flipped(plane, s, fh, fv, &mut one);
            }
            if augment && self.cfg.augment == Augment::Full {
                let real = self.data.channels == 1;
                augment_full(rng, &mut one, s, real, &self.cfg.augment_params);
            }
            if self.cfg.phase == PhaseAug::Smooth {
                // Held-out batches draw their phase from their own fixed stream too.
                rotate(&mut one, &smooth_phase(rng, s, s));
            }
            clean.extend_from_slice(&one);
            levels.push(self.draw_level(rng));
        }
        let noise = (0..clean.len())
            .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
            .collect();
        Batch { clean, noise, levels }
    }

    /// The noisy inputs `a·x + c·u` of a batch (VE: `x + σu`; VP: `√ᾱ x + √(1−ᾱ) u`), candle layout.
    pub(super) fn noisy(&self, b: &Batch) -> Vec<f32> {
        let bs = b.levels.len();
        let per = b.clean.len() / bs.max(1);
        let mut noisy = Vec::with_capacity(b.clean.len());
        for (i, lv) in b.levels.iter().enumerate() {
            let (a, c) = match self.cfg.kind {
                NetKind::Ve => (1.0, *lv),
                NetKind::Vp => {
                    let ab = self.schedule.alpha_bar(*lv as usize);
                    (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32)
                }
            };
            let rng = i * per..(i + 1) * per;
            if let (Some(x), Some(u)) = (b.clean.get(rng.clone()), b.noise.get(rng)) {
                noisy.extend(x.iter().zip(u).map(|(x, u)| a * x + c * u));
            }
        }
        noisy
    }

    /// The batch loss as a scalar tensor (mean over pixels and images), through candle.
    pub(super) fn loss(&self, net: &UNet, b: &Batch) -> candle_core::Result<Tensor> {
        let bs = b.levels.len();
        let s = self.cfg.size;
        let shape = (bs, self.cfg.image_channels, s, s);
        let noisy = self.noisy(b);
        let dev = Device::Cpu;
        let xt = Tensor::from_vec(noisy, shape, &dev)?;
        let u = Tensor::from_slice(&b.noise, shape, &dev)?;
        let lv = Tensor::from_slice(&b.levels, bs, &dev)?;
        let out = net.forward(&xt, &lv)?;
        let resid = match self.cfg.kind {
            NetKind::Ve => (u + out.broadcast_mul(&lv.reshape((bs, 1, 1, 1))?)?)?,
            NetKind::Vp => (out - u)?,
        };
        resid.sqr()?.mean_all()
    }

    /// The fast path for this network's current weights (`None` where it does not apply: more
    /// channels than its kernels take).
    pub(super) fn fast_net(&self) -> Option<FastUNet> {
        self.fast_of(&self.net)
    }

    pub(super) fn fast_of(&self, net: &UNet) -> Option<FastUNet> {
        if !self.fast {
            return None;
        }
        FastUNet::with_precision(net, Isa::detect(), Precision::F32).ok()
    }

    /// The batch loss and every weight's gradient on the fast path. The loss is the same mean as
    /// `loss`: VE `‖u + σ·s‖²`, VP `‖ε̂ − u‖²`, over all values of the batch.
    pub(super) fn fast_loss(&self, fast: &FastUNet, b: &Batch) -> Result<(f64, NamedGrads), TrainError> {
        let (bs, s, ic) = (b.levels.len(), self.cfg.size, self.cfg.image_channels);
        let xt = channels_last(&self.noisy(b), bs, ic);
        let u = channels_last(&b.noise, bs, ic);
        let kind = self.cfg.kind;
        let loss = |out: &[f32]| loss_and_grad(kind, &b.levels, &u, out);
        Ok(fast.train_grads(&xt, &b.levels, s, s, loss)?)
    }
}

/// `[B, C, H·W]` planes → `[B, H·W, C]` pixels (a copy when `C = 1`).
pub(super) fn channels_last(v: &[f32], b: usize, c: usize) -> Vec<f32> {
    if c == 1 {
        return v.to_vec();
    }
    let n = v.len() / (b * c).max(1);
    let mut out = Vec::with_capacity(v.len());
    for img in v.chunks_exact(c * n) {
        for p in 0..n {
            out.extend((0..c).map(|ch| img[ch * n + p]));
        }
    }
    out
}

/// The denoising loss of one batch's output (channels-last) and its gradient with respect to the
/// output: VE `mean (u + σ·s)²`, VP `mean (ε̂ − u)²`, over every value of the batch.
pub(super) fn loss_and_grad(kind: NetKind, levels: &[f32], u: &[f32], out: &[f32]) -> (f64, Vec<f32>) {
    let n = u.len().max(1) as f64;
    let per = u.len() / levels.len().max(1);
    let mut g = vec![0f32; out.len()];
    let mut sum = 0f64;
    for (i, lv) in levels.iter().enumerate() {
        let r = i * per..(i + 1) * per;
        for ((gv, o), uv) in g[r.clone()].iter_mut().zip(&out[r.clone()]).zip(&u[r]) {
            let (resid, f) = match kind {
                NetKind::Ve => (f64::from(*uv) + f64::from(*lv) * f64::from(*o), f64::from(*lv)),
                NetKind::Vp => (f64::from(*o) - f64::from(*uv), 1.0),
            };
            sum += resid * resid;
            *gv = (2.0 * resid * f / n) as f32;
        }
    }
    (sum / n, g)
}
