//! Training on the fast path: one forward pass, the loss's gradient at the output, and the gradient of
//! every weight by explicit adjoints, named as the candle network's variables.

use std::collections::BTreeMap;

use candle_core::Result;

use super::super::act::{add_channels, avg_pool_adjoint, Act};
use super::super::wgrad::{bias_grad, conv_wgrad, dense_backward, upconv_wgrad};
use super::{FastUNet, Precision, Src};

/// Weight gradients by variable name, each in its candle layout (row-major).
pub type NamedGrads = BTreeMap<String, Vec<f32>>;

impl FastUNet {
    /// Block `i`'s variable prefix: `down.k.j` or `up.k.j` (blocks run down top to bottom, then up).
    fn block_name(&self, i: usize) -> String {
        let n = self.channels.len();
        if i < 2 * n {
            format!("down.{}.{}", i / 2, i % 2)
        } else {
            let j = i - 2 * n;
            format!("up.{}.{}", n - 1 - j / 2, j % 2)
        }
    }

    /// One training evaluation. Runs the network on `x` (`[B, H, W, C]`, channels-last) at one level
    /// per image, calls `loss(out)` on its output (`[B, H, W, C]`; for VE the score, already divided by
    /// |σ|), which returns the loss and its gradient with respect to `out`, and returns the loss and
    /// the gradient of every weight.
    pub fn train_grads(
        &self,
        x: &[f32],
        levels: &[f32],
        h: usize,
        w: usize,
        loss: impl FnOnce(&[f32]) -> (f64, Vec<f32>),
    ) -> Result<(f64, NamedGrads)> {
        if self.precision != Precision::F32 {
            candle_core::bail!("the fast path trains in f32 only")
        }
        let b = self.check(x, levels, h, w)?;
        let mut ws = self.take_ws(b, h, w);
        self.load_input(&mut ws, x, levels);
        let sin = self.sinusoid(levels);
        let h1 = self.emb1.apply(&sin, true);
        let feats = self.emb2.apply(&h1, true);
        self.run_forward(&mut ws, &feats);
        let out = self.output(&ws, levels);
        let (value, gout) = loss(&out);
        if gout.len() != out.len() {
            candle_core::bail!("loss gradient of {} values for {} outputs", gout.len(), out.len())
        }
        let mut g = self.out_grads(&mut ws, &gout, levels);
        let isa = self.isa;
        let nb = self.blocks.len();
        let mut named = NamedGrads::new();
        let top = &ws.saved[nb - 1].y;
        let mut dw = vec![0f32; self.out.cout() * self.out.cin()];
        conv_wgrad(1, top, &g.out, &mut dw);
        let mut db = vec![0f32; self.out.cout()];
        bias_grad(&g.out, 0, &mut db);
        named.insert("out.weight".into(), dw);
        named.insert("out.bias".into(), db);
        self.out.adjoint(isa, &g.out, &mut g.y[nb - 1], false);
        let mut gfeat = vec![0f32; feats.len()];
        for i in (0..nb).rev() {
            let bl = &self.blocks[i];
            if let Some(k) = self.pool_after[i] {
                avg_pool_adjoint(&g.pooled[k], &mut g.y[i]);
                add_channels(&mut g.y[i], 0, &g.cat[k], 0, self.channels[k]);
            }
            let (gdone, grest) = g.y.split_at_mut(i);
            let (xin, gx): (&Act, Option<&mut Act>) = match self.src[i] {
                Src::Input => (&ws.input, None),
                Src::Prev => (&ws.saved[i - 1].y, Some(&mut gdone[i - 1])),
                Src::Pooled(k) => (&ws.pooled[k], Some(&mut g.pooled[k])),
                Src::Cat(k) => (&ws.cat[k], Some(&mut g.cat[k])),
            };
            let prefix = self.block_name(i);
            let mut sink = |name: &str, v: Vec<f32>| {
                named.insert(format!("{prefix}.{name}"), v);
            };
            let ge = bl
                .backward(
                    isa,
                    &ws.saved[i],
                    &mut grest[0],
                    gx,
                    &mut g.tmp[bl.scale],
                    Some((xin, &mut sink)),
                )
                .unwrap_or_default();
            let ge: Vec<f32> = ge.iter().map(|&v| v as f32).collect();
            let (mut dw, mut db) = (vec![0f32; bl.emb.out * bl.emb.inp], vec![0f32; bl.emb.out]);
            let gf = dense_backward(&bl.emb.w, bl.emb.inp, &feats, &ge, &mut dw, &mut db);
            gfeat.iter_mut().zip(&gf).for_each(|(a, b)| *a += b);
            named.insert(format!("{prefix}.emb.weight"), dw);
            named.insert(format!("{prefix}.emb.bias"), db);
            if let Src::Cat(k) = self.src[i] {
                let (cin, cout) = (self.channels[k + 1], self.channels[k]);
                let mut dw = vec![0f32; cin * cout * 4];
                upconv_wgrad(&ws.saved[i - 1].y, &g.cat[k], cout, &mut dw);
                let mut db = vec![0f32; cout];
                bias_grad(&g.cat[k], cout, &mut db);
                named.insert(format!("upconv.{k}.weight"), dw);
                named.insert(format!("upconv.{k}.bias"), db);
                self.upconv[k].adjoint(isa, &g.cat[k], cout, &mut gdone[i - 1]);
            }
        }
        // The level embedding: feats = relu(emb2(h1)), h1 = relu(emb1(sin)).
        mask_relu(&mut gfeat, &feats);
        let (e1, e2) = (&self.emb1, &self.emb2);
        let (mut dw2, mut db2) = (vec![0f32; e2.out * e2.inp], vec![0f32; e2.out]);
        let mut gh1 = dense_backward(&e2.w, e2.inp, &h1, &gfeat, &mut dw2, &mut db2);
        mask_relu(&mut gh1, &h1);
        let (mut dw1, mut db1) = (vec![0f32; e1.out * e1.inp], vec![0f32; e1.out]);
        dense_backward(&e1.w, e1.inp, &sin, &gh1, &mut dw1, &mut db1);
        named.insert("emb.1.weight".into(), dw2);
        named.insert("emb.1.bias".into(), db2);
        named.insert("emb.0.weight".into(), dw1);
        named.insert("emb.0.bias".into(), db1);
        ws.grad = Some(g);
        self.put_ws(ws);
        Ok((value, named))
    }
}

/// `g ← g · [y > 0]`.
fn mask_relu(g: &mut [f32], y: &[f32]) {
    g.iter_mut()
        .zip(y)
        .filter(|(_, &y)| y <= 0.0)
        .for_each(|(g, _)| *g = 0.0);
}
