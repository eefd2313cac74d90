//! `crop` and `pad`: centred crop of the last two axes and centred zero padding, adjoints of each
//! other (offset `(H - h) / 2` in both).

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{coin, plane_of, plane_shape, Domain, Inputs};
use super::plane::PlaneMap;
use super::tensor::Planes;
use super::types::{plane, with_plane};
use rand::Rng;

pub static CROP: OpDef = OpDef {
    name: "crop",
    syntax: Syntax::Call,
    params: &["h", "w"],
    signatures: &["crop(T[..., H, W], h, w) -> T[..., h, w] (centred, h <= H, w <= W)"],
    doc: "Centred crop of the last two axes to `[h, w]`.",
    linear: true,
    rule: Rule::Unary {
        ty: |op, x| {
            let (h, w) = plane(op, x)?;
            let (ch, cw) = (op.param(0), op.param(1));
            if ch > h || cw > w {
                return Err(format!("`crop` to [{ch}, {cw}] needs a larger input, got {x}"));
            }
            Ok(with_plane(x, ch, cw))
        },
        forward: |op, x, _| {
            let (h, w) = (op.param(0), op.param(1));
            PlaneMap::Crop { h, w }.apply_value(x)
        },
        vjp: |op, x, _, g, _| {
            let p = Planes::of(x.shape(), op.name())?;
            PlaneMap::Pad { h: p.h, w: p.w }.apply_value(g)
        },
    },
    inputs: |r| {
        let shape = plane_shape(r, 6);
        let (h, w) = plane_of(&shape);
        let (dh, dw) = (r.random_range(0..4), r.random_range(0..4));
        let params = vec![h.saturating_sub(dh), w.saturating_sub(dw)];
        Inputs::unary(shape, coin(r), Domain::Any).with_params(params)
    },
};

pub static PAD: OpDef = OpDef {
    name: "pad",
    syntax: Syntax::Call,
    params: &["H", "W"],
    signatures: &["pad(T[..., h, w], H, W) -> T[..., H, W] (centred zeros, H >= h, W >= w)"],
    doc: "Centred zero padding of the last two axes to `[H, W]` (the adjoint of `crop`).",
    linear: true,
    rule: Rule::Unary {
        ty: |op, x| {
            let (h, w) = plane(op, x)?;
            let (ph, pw) = (op.param(0), op.param(1));
            if ph < h || pw < w {
                return Err(format!("`pad` to [{ph}, {pw}] needs a smaller input, got {x}"));
            }
            Ok(with_plane(x, ph, pw))
        },
        forward: |op, x, _| {
            let (h, w) = (op.param(0), op.param(1));
            PlaneMap::Pad { h, w }.apply_value(x)
        },
        vjp: |op, x, _, g, _| {
            let p = Planes::of(x.shape(), op.name())?;
            PlaneMap::Crop { h: p.h, w: p.w }.apply_value(g)
        },
    },
    inputs: |r| {
        let shape = plane_shape(r, 6);
        let (h, w) = plane_of(&shape);
        let params = vec![h + r.random_range(0..4), w + r.random_range(0..4)];
        Inputs::unary(shape, coin(r), Domain::Any).with_params(params)
    },
};
