//! One residual block (3 × conv → GroupNorm → ReLU, level embedding after the first, 1×1 projection)
//! on packed weights: forward with saved activations, and the input-VJP by explicit adjoints.

use candle_core::{DType, Result, Tensor};

use super::act::{add_channels, relu_mask, Act};
use super::conv::Conv;
use super::kernel::Isa;
use super::norm::{apply, image_channel_sums, vjp as norm_vjp, Norm, NormGrads, Stats, Then};
use super::wgrad::{bias_grad, conv_wgrad};
use crate::score::unet::{groups, ConvNorm, ResBlock, GN_EPS};

/// A tensor's values as f32.
pub(crate) fn values(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
}

/// A dense layer `y = W x + b` (candle's `Linear`, `W: [out, in]`).
pub(crate) struct Dense {
    pub out: usize,
    pub inp: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl Dense {
    pub fn from_linear(l: &candle_nn::Linear) -> Result<Dense> {
        let (out, inp) = l.weight().dims2()?;
        let b = match l.bias() {
            Some(b) => values(b)?,
            None => vec![0.0; out],
        };
        Ok(Dense {
            out,
            inp,
            w: values(l.weight())?,
            b,
        })
    }

    /// Row-wise over `[B, in]` → `[B, out]`, optionally followed by ReLU.
    pub fn apply(&self, x: &[f32], relu: bool) -> Vec<f32> {
        let mut y = Vec::with_capacity(x.len() / self.inp * self.out);
        for row in x.chunks_exact(self.inp) {
            for o in 0..self.out {
                let wr = &self.w[o * self.inp..(o + 1) * self.inp];
                let v = wr.iter().zip(row).map(|(a, b)| a * b).sum::<f32>() + self.b[o];
                y.push(if relu { v.max(0.0) } else { v });
            }
        }
        y
    }
}

pub(crate) struct Layer {
    pub conv: Conv,
    pub norm: Norm,
}

impl Layer {
    fn new(cn: &ConvNorm) -> Result<Layer> {
        let w = cn.conv.weight();
        let (cout, cin, _, _) = w.dims4()?;
        let bias = cn.conv.bias().map(values).transpose()?;
        Ok(Layer {
            conv: Conv::new(3, cout, cin, &values(w)?, bias.as_deref()),
            norm: Norm {
                groups: groups(cout),
                gamma: values(&cn.gamma)?,
                beta: values(&cn.beta)?,
                eps: GN_EPS,
            },
        })
    }
}

/// A 1×1 conv from candle's `Conv2d`.
pub(crate) fn conv1(c: &candle_nn::Conv2d) -> Result<Conv> {
    let (cout, cin, _, _) = c.weight().dims4()?;
    let bias = c.bias().map(values).transpose()?;
    Ok(Conv::new(1, cout, cin, &values(c.weight())?, bias.as_deref()))
}

/// Activations one block keeps for its VJP.
pub(crate) struct Saved {
    /// Conv outputs (the norms' inputs).
    pub a: [Act; 3],
    /// `relu(norm₀) + e` and `relu(norm₁)`.
    pub h: [Act; 2],
    /// The projection of the input, when channels change.
    pub s: Option<Act>,
    /// The block's output.
    pub y: Act,
    pub st: [Stats; 3],
}

impl Saved {
    pub fn new(b: usize, h: usize, w: usize, c: usize, proj: bool) -> Saved {
        let act = || Act::new(b, h, w, c);
        Saved {
            a: [act(), act(), act()],
            h: [act(), act()],
            s: proj.then(act),
            y: act(),
            st: Default::default(),
        }
    }
}

/// Where a block's backward pass sends parameter gradients: its input and `sink(name, gradient)`.
pub(crate) type ParamSink<'a> = Option<(&'a Act, &'a mut dyn FnMut(&str, Vec<f32>))>;

pub(crate) struct Block {
    /// 0 at full resolution.
    pub scale: usize,
    pub cin: usize,
    pub cout: usize,
    pub layers: [Layer; 3],
    pub proj: Option<Conv>,
    pub emb: Dense,
}

impl Block {
    pub fn new(rb: &ResBlock, scale: usize) -> Result<Block> {
        let [l0, l1, l2] = &rb.layers;
        let layers = [Layer::new(l0)?, Layer::new(l1)?, Layer::new(l2)?];
        Ok(Block {
            scale,
            cin: layers[0].conv.cin(),
            cout: layers[0].conv.cout(),
            layers,
            proj: rb.proj.as_ref().map(conv1).transpose()?,
            emb: Dense::from_linear(&rb.emb)?,
        })
    }

    /// Multiply–adds ×2 of the block's convs on an `h × w` image.
    pub fn flops(&self, h: usize, w: usize) -> f64 {
        let px = (h * w) as f64;
        let c = |cv: &Conv| 2.0 * (cv.k * cv.k * cv.cin() * cv.cout()) as f64 * px;
        self.layers.iter().map(|l| c(&l.conv)).sum::<f64>() + self.proj.as_ref().map_or(0.0, c)
    }

    /// `s.y = block(x)` with `e = [B, cout]` level embedding, keeping what the VJP needs in `s`.
    pub fn forward(&self, isa: Isa, x: &Act, e: &[f32], s: &mut Saved) {
        let [l0, l1, l2] = &self.layers;
        l0.conv.forward(isa, x, &mut s.a[0], false);
        l0.norm.stats(&s.a[0], &mut s.st[0]);
        apply(&s.a[0], &s.st[0], Then::Relu(e), &mut s.h[0]);
        l1.conv.forward(isa, &s.h[0], &mut s.a[1], false);
        l1.norm.stats(&s.a[1], &mut s.st[1]);
        apply(&s.a[1], &s.st[1], Then::Relu(&[]), &mut s.h[1]);
        l2.conv.forward(isa, &s.h[1], &mut s.a[2], false);
        l2.norm.stats(&s.a[2], &mut s.st[2]);
        let skip = match (&self.proj, &mut s.s) {
            (Some(p), Some(sb)) => {
                p.forward(isa, x, sb, false);
                &*sb
            }
            _ => x,
        };
        apply(&s.a[2], &s.st[2], Then::AddRelu(skip), &mut s.y);
    }

    /// `gx = (∂y/∂x)ᵀ gy` (overwritten); `gy` is consumed (masked in place); `t`: two scratch buffers
    /// shaped like `y`.
    pub fn vjp(&self, isa: Isa, s: &Saved, gy: &mut Act, gx: &mut Act, t: &mut [Act; 2]) {
        self.backward(isa, s, gy, Some(gx), t, None);
    }

    /// As `vjp`, with `gx` optional (not needed for the network's input), and with `params =
    /// Some((x, sink))` also the parameter gradients: `sink(name, grad)` for each weight, named as in
    /// candle's `ResBlock` (`c0.conv.weight`, …), and the returned `[B, cout]` gradient with respect to
    /// the block's level embedding. `x` is the block's input.
    pub fn backward(
        &self,
        isa: Isa,
        s: &Saved,
        gy: &mut Act,
        gx: Option<&mut Act>,
        t: &mut [Act; 2],
        mut params: ParamSink,
    ) -> Option<Vec<f64>> {
        let [l0, l1, l2] = &self.layers;
        relu_mask(gy, &s.y);
        let [t0, t1] = t;
        t0.d.copy_from_slice(&gy.d);
        let ng = norm_vjp(&l2.norm, &s.a[2], &s.st[2], false, t0);
        if let Some((_, sink)) = params.as_mut() {
            layer_grads(2, l2, &s.h[1], t0, ng, *sink);
        }
        l2.conv.adjoint(isa, t0, t1, false);
        let ng = norm_vjp(&l1.norm, &s.a[1], &s.st[1], true, t1);
        if let Some((_, sink)) = params.as_mut() {
            layer_grads(1, l1, &s.h[0], t1, ng, *sink);
        }
        l1.conv.adjoint(isa, t1, t0, false);
        let ge = params.is_some().then(|| image_channel_sums(t0));
        let ng = norm_vjp(&l0.norm, &s.a[0], &s.st[0], true, t0);
        if let Some((x, sink)) = params.as_mut() {
            layer_grads(0, l0, x, t0, ng, *sink);
        }
        if let Some(gx) = gx {
            l0.conv.adjoint(isa, t0, gx, false);
            match &self.proj {
                Some(p) => p.adjoint(isa, gy, gx, true),
                None => add_channels(gx, 0, gy, 0, gy.c),
            }
        }
        if let (Some((x, sink)), Some(p)) = (params, &self.proj) {
            let mut dw = vec![0f32; p.cout() * p.cin()];
            conv_wgrad(1, x, gy, &mut dw);
            let mut db = vec![0f32; p.cout()];
            bias_grad(gy, 0, &mut db);
            sink("proj.weight", dw);
            sink("proj.bias", db);
        }
        ge
    }
}

/// A conv → norm layer's parameter gradients from its input `x` and the gradient `g` with respect to
/// the conv's output.
fn layer_grads(i: usize, l: &Layer, x: &Act, g: &Act, ng: NormGrads, sink: &mut dyn FnMut(&str, Vec<f32>)) {
    let cv = &l.conv;
    let mut dw = vec![0f32; cv.cout() * cv.cin() * 9];
    conv_wgrad(3, x, g, &mut dw);
    let mut db = vec![0f32; cv.cout()];
    bias_grad(g, 0, &mut db);
    sink(&format!("c{i}.conv.weight"), dw);
    sink(&format!("c{i}.conv.bias"), db);
    sink(
        &format!("c{i}.norm.weight"),
        ng.gamma.iter().map(|&v| v as f32).collect(),
    );
    sink(
        &format!("c{i}.norm.bias"),
        ng.beta.iter().map(|&v| v as f32).collect(),
    );
}
