//! `downsample` (average pooling by `f`) and `upsample` (nearest neighbour by `f`) of the last two
//! axes; each one's adjoint is the other scaled.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{coin, plane_shape, scale_plane, Domain, Inputs};
use super::plane::PlaneMap;
use super::types::{factor, plane, with_plane};
use rand::Rng;

/// `out[i, j] = Σ_{a,b<f} x[f i + a, f j + b] / f²`.
pub static DOWNSAMPLE: OpDef = OpDef {
    name: "downsample",
    syntax: Syntax::Call,
    params: &["f"],
    signatures: &["downsample(T[..., h, w], f) -> T[..., h/f, w/f] (average pooling, f divides h and w)"],
    doc: "Average pooling of the last two axes by `f`.",
    linear: true,
    rule: Rule::Unary {
        ty: |op, x| {
            let (h, w) = plane(op, x)?;
            let f = factor(op, op.param(0))?;
            if h % f != 0 || w % f != 0 {
                return Err(format!(
                    "`downsample` by {f} needs the last two dimensions divisible by {f}, got {x}"
                ));
            }
            Ok(with_plane(x, h / f, w / f))
        },
        forward: |op, x, _| pool(op.param(0)).apply_value(x),
        vjp: |op, _, _, g, _| {
            let f = op.param(0);
            PlaneMap::Repeat { f, scale: mean(f) }.apply_value(g)
        },
    },
    inputs: |r| {
        let f = r.random_range(1..4);
        let shape = scale_plane(&plane_shape(r, 3), f);
        Inputs::unary(shape, coin(r), Domain::Any).with_params(vec![f])
    },
};

/// `out[p, q] = x[p / f, q / f]`.
pub static UPSAMPLE: OpDef = OpDef {
    name: "upsample",
    syntax: Syntax::Call,
    params: &["f"],
    signatures: &["upsample(T[..., h, w], f) -> T[..., h*f, w*f] (nearest neighbour)"],
    doc: "Nearest-neighbour upsampling of the last two axes by `f`.",
    linear: true,
    rule: Rule::Unary {
        ty: |op, x| {
            let (h, w) = plane(op, x)?;
            let f = factor(op, op.param(0))?;
            match (h.checked_mul(f), w.checked_mul(f)) {
                (Some(h2), Some(w2)) => Ok(with_plane(x, h2, w2)),
                _ => Err(format!("`upsample` by {f} of {x} is too large")),
            }
        },
        forward: |op, x, _| PlaneMap::Repeat { f: op.param(0), scale: 1.0 }.apply_value(x),
        vjp: |op, _, _, g, _| PlaneMap::Pool { f: op.param(0), scale: 1.0 }.apply_value(g),
    },
    inputs: |r| {
        let f = r.random_range(1..4);
        let shape = plane_shape(r, 3);
        Inputs::unary(shape, coin(r), Domain::Any).with_params(vec![f])
    },
};

/// `1 / f²`, the weight of one pixel in an `f × f` average.
fn mean(f: usize) -> f64 {
    1.0 / (f * f) as f64
}

fn pool(f: usize) -> PlaneMap {
    PlaneMap::Pool { f, scale: mean(f) }
}
