//! `fftshift` and `ifftshift` of the last two axes (numpy `fftshift(x, axes=(-2, -1))` and its
//! inverse); permutations, so each one's VJP is the other.

use super::def::{OpDef, Rule, Syntax};
use super::inputs::{coin, plane_shape, Domain, Inputs};
use super::plane::PlaneMap;
use super::types::same_planes;
use rand::RngCore;

const FORWARD: PlaneMap = PlaneMap::Roll { inverse: false };
const INVERSE: PlaneMap = PlaneMap::Roll { inverse: true };

pub static FFTSHIFT: OpDef = OpDef {
    name: "fftshift",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["fftshift(T[..., h, w]) -> T[..., h, w]"],
    doc: "Moves the zero frequency of the last two axes to the centre (numpy `fftshift`).",
    linear: true,
    rule: Rule::Unary {
        ty: same_planes,
        forward: |_, x, _| FORWARD.apply_value(x),
        vjp: |_, _, _, g, _| INVERSE.apply_value(g),
    },
    inputs,
};

pub static IFFTSHIFT: OpDef = OpDef {
    name: "ifftshift",
    syntax: Syntax::Call,
    params: &[],
    signatures: &["ifftshift(T[..., h, w]) -> T[..., h, w]"],
    doc: "Inverse of `fftshift` (numpy `ifftshift`; differs from `fftshift` for odd sizes).",
    linear: true,
    rule: Rule::Unary {
        ty: same_planes,
        forward: |_, x, _| INVERSE.apply_value(x),
        vjp: |_, _, _, g, _| FORWARD.apply_value(g),
    },
    inputs,
};

fn inputs(r: &mut dyn RngCore) -> Inputs {
    let shape = plane_shape(r, 5);
    Inputs::unary(shape, coin(r), Domain::Any)
}
