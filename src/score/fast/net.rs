//! `FastUNet`: the U-Net's forward pass and input-VJP on packed weights, padded channels-last
//! buffers and the SIMD kernels, built once from a loaded candle `UNet`.

use std::sync::Mutex;

use candle_core::Result;

use super::act::{add_channels, avg_pool, avg_pool_adjoint, copy_channels, Act};
use super::bf16::{bf16_supported, Precision};
use super::block::{conv1, values, Block, Dense, Saved};
use super::conv::{Conv, UpConv};
use super::kernel::Isa;
use crate::score::unet::{NetKind, UNet, EMB_DIM};

/// Where a block's input comes from.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// The network input (image and σ-map).
    Input,
    /// The previous block's output.
    Prev,
    /// 2×2 average pool of the down path at scale k.
    Pooled(usize),
    /// Skip from the down path at scale k concatenated with the transposed conv from below.
    Cat(usize),
}

/// Buffers for one batch size and image size (kept between calls).
struct Workspace {
    key: (usize, usize, usize),
    input: Act,
    saved: Vec<Saved>,
    pooled: Vec<Act>,
    cat: Vec<Act>,
    out: Act,
    grad: Option<Grads>,
}

struct Grads {
    /// Gradient with respect to each block's output.
    y: Vec<Act>,
    cat: Vec<Act>,
    pooled: Vec<Act>,
    input: Act,
    out: Act,
    tmp: Vec<[Act; 2]>,
}

/// The U-Net's fast path: score, input-VJP and (f32) training gradients.
pub struct FastUNet {
    kind: NetKind,
    ic: usize,
    channels: Vec<usize>,
    isa: Isa,
    precision: Precision,
    emb1: Dense,
    emb2: Dense,
    /// In execution order: down scales top to bottom, then up scales bottom to top, two each.
    blocks: Vec<Block>,
    src: Vec<Src>,
    /// For the second down block at scale k above the bottom: k (its output is pooled and skipped).
    pool_after: Vec<Option<usize>>,
    /// `upconv[k]`: scale k+1 → scale k.
    upconv: Vec<UpConv>,
    out: Conv,
    ws: Mutex<Vec<Workspace>>,
}

/// Workspaces kept for distinct batch/image sizes.
const KEEP: usize = 4;

impl FastUNet {
    /// Pack a network's weights (any float dtype) for the best instruction set, in the precision
    /// `UQ_SCORE_PRECISION` asks for (unset: bf16 where AMX tiles run this network, else f32).
    pub fn from_unet(net: &UNet) -> Result<FastUNet> {
        let precision = Precision::from_env(&net.config().channels);
        Self::with_precision(net, Isa::detect(), precision)
    }

    /// As `from_unet` with a given instruction set (it must be supported), in f32.
    pub fn with_isa(net: &UNet, isa: Isa) -> Result<FastUNet> {
        Self::with_precision(net, isa, Precision::F32)
    }

    /// As `from_unet` with a given instruction set and precision (both must be supported; `isa` is
    /// unused by bf16 convolutions).
    pub fn with_precision(net: &UNet, isa: Isa, precision: Precision) -> Result<FastUNet> {
        if !isa.supported() {
            candle_core::bail!("{isa:?} is not supported on this CPU")
        }
        if precision == Precision::Bf16 && !bf16_supported() {
            candle_core::bail!("bf16 needs AVX512-BF16, which this CPU lacks")
        }
        let cfg = net.config();
        let last = cfg.channels.len().saturating_sub(1);
        let (mut blocks, mut src, mut pool_after) = (Vec::new(), Vec::new(), Vec::new());
        for (k, [b0, b1]) in net.down.iter().enumerate() {
            blocks.push(Block::new(b0, k)?);
            src.push(if k == 0 { Src::Input } else { Src::Pooled(k - 1) });
            pool_after.push(None);
            blocks.push(Block::new(b1, k)?);
            src.push(Src::Prev);
            pool_after.push((k < last).then_some(k));
        }
        for (k, [b0, b1]) in net.up.iter().enumerate().rev() {
            blocks.push(Block::new(b0, k)?);
            src.push(if k == last { Src::Prev } else { Src::Cat(k) });
            pool_after.push(None);
            blocks.push(Block::new(b1, k)?);
            src.push(Src::Prev);
            pool_after.push(None);
        }
        let mut upconv = Vec::new();
        for uc in &net.upconv {
            let (cin, cout, _, _) = uc.weight().dims4()?;
            let bias = uc.bias().map(values).transpose()?;
            upconv.push(UpConv::new(cin, cout, &values(uc.weight())?, bias.as_deref()));
        }
        let mut out = conv1(&net.out)?;
        if precision == Precision::Bf16 {
            for bl in &mut blocks {
                bl.layers.iter_mut().for_each(|l| l.conv.use_bf16());
                bl.proj.iter_mut().for_each(Conv::use_bf16);
            }
            upconv.iter_mut().for_each(UpConv::use_bf16);
            out.use_bf16();
        }
        if blocks.iter().any(|b| b.cout > super::norm::MAX_C) {
            candle_core::bail!("the fast path supports at most {} channels", super::norm::MAX_C)
        }
        Ok(FastUNet {
            kind: cfg.kind,
            ic: cfg.image_channels,
            channels: cfg.channels.clone(),
            isa,
            precision,
            emb1: Dense::from_linear(&net.emb1)?,
            emb2: Dense::from_linear(&net.emb2)?,
            blocks,
            src,
            pool_after,
            upconv,
            out,
            ws: Mutex::new(Vec::new()),
        })
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// 2 × multiply–adds of one forward pass over `b` images of `h × w`.
    pub fn flops(&self, b: usize, h: usize, w: usize) -> f64 {
        let blocks: f64 = self
            .blocks
            .iter()
            .map(|bl| bl.flops(h >> bl.scale, w >> bl.scale))
            .sum();
        let up: f64 = self
            .upconv
            .iter()
            .enumerate()
            .map(|(k, u)| 2.0 * (4 * u.adj.cin * u.adj.cout * (h >> (k + 1)) * (w >> (k + 1))) as f64)
            .sum();
        let out = 2.0 * (self.out.cin() * self.out.cout() * h * w) as f64;
        b as f64 * (blocks + up + out)
    }

    /// Sinusoidal level features `[B, EMB_DIM]` exactly as the candle network computes them (f32).
    fn sinusoid(&self, levels: &[f32]) -> Vec<f32> {
        let half = EMB_DIM / 2;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (-(10_000f64.ln()) * i as f64 / half as f64).exp() as f32)
            .collect();
        let mut s = Vec::with_capacity(levels.len() * EMB_DIM);
        for &l in levels {
            let c = match self.kind {
                NetKind::Ve => (l.abs().ln() + 7.0) * 100.0,
                NetKind::Vp => l,
            };
            s.extend(freqs.iter().map(|f| (c * f).sin()));
            s.extend(freqs.iter().map(|f| (c * f).cos()));
        }
        s
    }

    /// Level features `[B, 4·EMB_DIM]`: the sinusoid through both embedding layers.
    fn features(&self, levels: &[f32]) -> Vec<f32> {
        self.emb2
            .apply(&self.emb1.apply(&self.sinusoid(levels), true), true)
    }

    fn check(&self, x: &[f32], levels: &[f32], h: usize, w: usize) -> Result<usize> {
        let b = levels.len();
        let m = 1 << self.channels.len().saturating_sub(1);
        if !h.is_multiple_of(m) || !w.is_multiple_of(m) || h == 0 || w == 0 {
            candle_core::bail!("image size {h}×{w} is not divisible by {m}")
        }
        if x.len() != b * h * w * self.ic {
            candle_core::bail!("expected {b}×{h}×{w}×{} inputs, got {}", self.ic, x.len())
        }
        Ok(b)
    }

    fn take_ws(&self, b: usize, h: usize, w: usize) -> Workspace {
        let mut pool = self.ws.lock().unwrap_or_else(|e| e.into_inner());
        match pool.iter().position(|ws| ws.key == (b, h, w)) {
            Some(i) => pool.swap_remove(i),
            None => {
                drop(pool);
                self.new_ws(b, h, w)
            }
        }
    }

    fn put_ws(&self, ws: Workspace) {
        let mut pool = self.ws.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() >= KEEP {
            pool.remove(0);
        }
        pool.push(ws);
    }

    fn new_ws(&self, b: usize, h: usize, w: usize) -> Workspace {
        let at = |k: usize, c: usize| Act::new(b, h >> k, w >> k, c);
        let last = self.channels.len() - 1;
        let ch = &self.channels;
        Workspace {
            key: (b, h, w),
            input: at(0, self.blocks[0].cin),
            saved: self
                .blocks
                .iter()
                .map(|bl| Saved::new(b, h >> bl.scale, w >> bl.scale, bl.cout, bl.proj.is_some()))
                .collect(),
            pooled: (0..last).map(|k| at(k + 1, ch[k])).collect(),
            cat: (0..last).map(|k| at(k, 2 * ch[k])).collect(),
            out: at(0, self.ic),
            grad: None,
        }
    }

    fn new_grads(&self, ws: &Workspace) -> Grads {
        let (b, h, w) = ws.key;
        let at = |k: usize, c: usize| Act::new(b, h >> k, w >> k, c);
        let last = self.channels.len() - 1;
        let ch = &self.channels;
        Grads {
            y: self.blocks.iter().map(|bl| at(bl.scale, bl.cout)).collect(),
            cat: (0..last).map(|k| at(k, 2 * ch[k])).collect(),
            pooled: (0..last).map(|k| at(k + 1, ch[k])).collect(),
            input: at(0, self.blocks[0].cin),
            out: at(0, self.ic),
            tmp: ch
                .iter()
                .enumerate()
                .map(|(k, &c)| [at(k, c), at(k, c)])
                .collect(),
        }
    }

    /// Fill the input buffer: image channels, then (VE) the signed σ-map.
    fn load_input(&self, ws: &mut Workspace, x: &[f32], levels: &[f32]) {
        ws.input.fill_from(x, self.ic, 0);
        if self.kind == NetKind::Ve {
            let (b, h, w, c) = (ws.input.b, ws.input.h, ws.input.w, ws.input.c);
            for (n, &l) in levels.iter().enumerate().take(b) {
                for y in 0..h {
                    let o = ws.input.at(n, y, 0);
                    for px in 0..w {
                        ws.input.d[o + px * c + self.ic] = l;
                    }
                }
            }
        }
    }

    /// The forward pass on a loaded workspace (activations kept for the VJP).
    fn run_forward(&self, ws: &mut Workspace, feats: &[f32]) {
        let isa = self.isa;
        for (i, bl) in self.blocks.iter().enumerate() {
            if let Src::Cat(k) = self.src[i] {
                self.upconv[k].forward(isa, &ws.saved[i - 1].y, &mut ws.cat[k], self.channels[k]);
            }
            let e = bl.emb.apply(feats, false);
            let (done, rest) = ws.saved.split_at_mut(i);
            let x = match self.src[i] {
                Src::Input => &ws.input,
                Src::Prev => &done[i - 1].y,
                Src::Pooled(k) => &ws.pooled[k],
                Src::Cat(k) => &ws.cat[k],
            };
            bl.forward(isa, x, &e, &mut rest[0]);
            if let Some(k) = self.pool_after[i] {
                copy_channels(&mut ws.cat[k], 0, &rest[0].y);
                avg_pool(&rest[0].y, &mut ws.pooled[k]);
            }
        }
        let top = &ws.saved[self.blocks.len() - 1].y;
        self.out.forward(isa, top, &mut ws.out, false);
    }

    /// Output rows `[B, H, W, C]`: VE divides by |σ|.
    fn output(&self, ws: &Workspace, levels: &[f32]) -> Vec<f32> {
        let mut out = ws.out.to_dense();
        if self.kind == NetKind::Ve {
            let per = out.len() / levels.len().max(1);
            for (chunk, l) in out.chunks_mut(per.max(1)).zip(levels) {
                chunk.iter_mut().for_each(|v| *v /= l.abs());
            }
        }
        out
    }

    /// `net(x, level)` for `x = [B, H, W, C]` (channels-last, unpadded) and one level per image.
    pub fn forward(&self, x: &[f32], levels: &[f32], h: usize, w: usize) -> Result<Vec<f32>> {
        let b = self.check(x, levels, h, w)?;
        let mut ws = self.take_ws(b, h, w);
        self.load_input(&mut ws, x, levels);
        self.run_forward(&mut ws, &self.features(levels));
        let out = self.output(&ws, levels);
        self.put_ws(ws);
        Ok(out)
    }

    /// `(net(x), vᵀ ∂net/∂x)`, both `[B, H, W, C]`.
    pub fn vjp(
        &self,
        x: &[f32],
        levels: &[f32],
        v: &[f32],
        h: usize,
        w: usize,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        self.vjp_of_output(x, levels, h, w, &mut |_| Ok(v.to_vec()))
    }

    /// `(net(x), vᵀ ∂net/∂x)` with `v = f(net(x))`, on one forward pass: the VJP uses the activations
    /// of the forward that gave `f` its argument (DPS's cotangent depends on the network's output).
    pub fn vjp_of_output(
        &self,
        x: &[f32],
        levels: &[f32],
        h: usize,
        w: usize,
        f: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let b = self.check(x, levels, h, w)?;
        let mut ws = self.take_ws(b, h, w);
        self.load_input(&mut ws, x, levels);
        self.run_forward(&mut ws, &self.features(levels));
        let out = self.output(&ws, levels);
        let v = match f(&out) {
            Ok(v) if v.len() == x.len() => v,
            Ok(v) => {
                self.put_ws(ws);
                candle_core::bail!("VJP vector of {} values for {} inputs", v.len(), x.len())
            }
            Err(e) => {
                self.put_ws(ws);
                return Err(e);
            }
        };
        let mut g = self.out_grads(&mut ws, &v, levels);
        self.run_vjp(&ws, &mut g);
        let full = g.input.to_dense();
        let c = g.input.c;
        let grad: Vec<f32> = full
            .chunks_exact(c)
            .flat_map(|px| px[..self.ic].iter().copied())
            .collect();
        ws.grad = Some(g);
        self.put_ws(ws);
        Ok((out, grad))
    }

    /// The workspace's gradient buffers with `v`, the cotangent of the output (`[B, H, W, C]`), loaded
    /// as the cotangent of the raw network output (VE: divided by |σ| as the output is).
    fn out_grads(&self, ws: &mut Workspace, v: &[f32], levels: &[f32]) -> Grads {
        let mut g = match ws.grad.take() {
            Some(g) => g,
            None => self.new_grads(ws),
        };
        g.out.fill_from(v, self.ic, 0);
        if self.kind == NetKind::Ve {
            let per = g.out.d.len() / levels.len().max(1);
            for (chunk, l) in g.out.d.chunks_mut(per.max(1)).zip(levels) {
                chunk.iter_mut().for_each(|v| *v /= l.abs());
            }
        }
        g
    }

    /// Backward through every block, from `g.out` to `g.input`.
    fn run_vjp(&self, ws: &Workspace, g: &mut Grads) {
        let isa = self.isa;
        let nb = self.blocks.len();
        self.out.adjoint(isa, &g.out, &mut g.y[nb - 1], false);
        for i in (0..nb).rev() {
            let bl = &self.blocks[i];
            if let Some(k) = self.pool_after[i] {
                avg_pool_adjoint(&g.pooled[k], &mut g.y[i]);
                add_channels(&mut g.y[i], 0, &g.cat[k], 0, self.channels[k]);
            }
            let (gdone, grest) = g.y.split_at_mut(i);
            let gx = match self.src[i] {
                Src::Input => &mut g.input,
                Src::Prev => &mut gdone[i - 1],
                Src::Pooled(k) => &mut g.pooled[k],
                Src::Cat(k) => &mut g.cat[k],
            };
            bl.vjp(isa, &ws.saved[i], &mut grest[0], gx, &mut g.tmp[bl.scale]);
            if let Src::Cat(k) = self.src[i] {
                self.upconv[k].adjoint(isa, &g.cat[k], self.channels[k], &mut gdone[i - 1]);
            }
        }
    }
}

#[path = "train.rs"]
pub(super) mod train;
