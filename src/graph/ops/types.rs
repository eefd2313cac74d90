//! Static typing of the built-in ops: element kind and shape of the result, or a message.

use super::tensor::Planes;
use super::Op;
use crate::graph::value::Ty;
use crate::syntax::ast::ElemType;

/// Result type of `op` applied to `args` (see [`Op::infer_type`]).
pub(super) fn infer(op: &Op, args: &[Ty]) -> Result<Ty, String> {
    if args.len() != op.arity() {
        let s = if op.arity() == 1 { "" } else { "s" };
        return Err(format!(
            "`{}` takes {} argument{s}, got {}",
            op.name(),
            op.arity(),
            args.len()
        ));
    }
    let ty = match (op, args) {
        (Op::Add | Op::Sub | Op::Mul | Op::Div, [a, b]) => broadcast(op, a, b)?,
        (Op::MatMul, [a, x]) => matmul(a, x)?,
        (Op::Conv, [x, k]) => conv(x, k)?,
        (Op::Neg | Op::Conj | Op::Exp | Op::Log | Op::Sqrt, [x]) => x.clone(),
        (Op::Re | Op::Im | Op::Abs | Op::Abs2, [x]) => Ty::real(x.shape.clone()),
        (Op::Softplus, [x]) => {
            if x.is_complex() {
                return Err(format!("`softplus` needs a real argument, got {x}"));
            }
            x.clone()
        }
        (Op::Sum, [x]) => Ty::scalar(x.elem),
        (Op::Fft | Op::Ifft, [x]) => {
            plane(op, x)?;
            Ty::complex(x.shape.clone())
        }
        (Op::FftShift | Op::IfftShift, [x]) => {
            plane(op, x)?;
            x.clone()
        }
        (Op::Downsample(f), [x]) => {
            let (h, w) = plane(op, x)?;
            let f = factor(op, *f)?;
            if h % f != 0 || w % f != 0 {
                return Err(format!(
                    "`downsample` by {f} needs the last two dimensions divisible by {f}, got {x}"
                ));
            }
            with_plane(x, h / f, w / f)
        }
        (Op::Upsample(f), [x]) => {
            let (h, w) = plane(op, x)?;
            let f = factor(op, *f)?;
            match (h.checked_mul(f), w.checked_mul(f)) {
                (Some(h2), Some(w2)) => with_plane(x, h2, w2),
                _ => return Err(format!("`upsample` by {f} of {x} is too large")),
            }
        }
        (Op::Crop(ch, cw), [x]) => {
            let (h, w) = plane(op, x)?;
            if *ch > h || *cw > w {
                return Err(format!("`crop` to [{ch}, {cw}] needs a larger input, got {x}"));
            }
            with_plane(x, *ch, *cw)
        }
        (Op::Pad(ph, pw), [x]) => {
            let (h, w) = plane(op, x)?;
            if *ph < h || *pw < w {
                return Err(format!("`pad` to [{ph}, {pw}] needs a smaller input, got {x}"));
            }
            with_plane(x, *ph, *pw)
        }
        _ => return Err(format!("`{}`: wrong number of arguments", op.name())),
    };
    if ty.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).is_none() {
        return Err(format!("`{}`: the result {ty} has too many elements", op.name()));
    }
    Ok(ty)
}

fn promote(a: ElemType, b: ElemType) -> ElemType {
    if a == ElemType::Complex || b == ElemType::Complex {
        ElemType::Complex
    } else {
        ElemType::Real
    }
}

fn verb(op: &Op) -> &'static str {
    match op {
        Op::Add => "add",
        Op::Sub => "subtract",
        Op::Mul => "multiply",
        _ => "divide",
    }
}

/// Elementwise binary rule: scalars broadcast, otherwise shapes match exactly.
fn broadcast(op: &Op, a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = promote(a.elem, b.elem);
    if a.is_scalar() {
        Ok(Ty { elem, shape: b.shape.clone() })
    } else if b.is_scalar() || a.shape == b.shape {
        Ok(Ty { elem, shape: a.shape.clone() })
    } else {
        Err(format!(
            "cannot {} {a} and {b}: shapes {:?} and {:?} differ (only scalars broadcast)",
            verb(op),
            a.shape,
            b.shape
        ))
    }
}

fn matmul(a: &Ty, x: &Ty) -> Result<Ty, String> {
    let elem = promote(a.elem, x.elem);
    let [m, n] = a.shape[..] else {
        return Err(format!("`@` needs a matrix [m, n] on the left, got {a}"));
    };
    match x.shape[..] {
        [n2] if n2 == n => Ok(Ty { elem, shape: vec![m] }),
        [n2, k] if n2 == n => Ok(Ty { elem, shape: vec![m, k] }),
        [_] | [_, _] => Err(format!(
            "`@`: inner dimensions differ: {a} @ {x} (the left has {n} columns)"
        )),
        _ => Err(format!("`@` needs a vector [n] or a matrix [n, k] on the right, got {x}")),
    }
}

fn conv(x: &Ty, k: &Ty) -> Result<Ty, String> {
    let (h, w) = plane(&Op::Conv, x)?;
    let [kh, kw] = k.shape[..] else {
        return Err(format!("`conv` needs a 2-D kernel, got {k}"));
    };
    if kh == 0 || kw == 0 {
        return Err(format!("`conv` needs a non-empty kernel, got {k}"));
    }
    if kh > h || kw > w {
        return Err(format!("`conv`: the kernel {k} is larger than the image planes of {x}"));
    }
    Ok(Ty {
        elem: promote(x.elem, k.elem),
        shape: x.shape.clone(),
    })
}

/// The last two dimensions, or an error naming the op.
fn plane(op: &Op, x: &Ty) -> Result<(usize, usize), String> {
    match x.shape[..] {
        [.., h, w] => Ok((h, w)),
        _ => Err(format!("`{}` needs at least 2 dimensions, got {x}", op.name())),
    }
}

fn factor(op: &Op, f: usize) -> Result<usize, String> {
    if f == 0 {
        Err(format!("`{}` needs a factor of at least 1, got 0", op.name()))
    } else {
        Ok(f)
    }
}

fn with_plane(x: &Ty, h: usize, w: usize) -> Ty {
    Ty {
        elem: x.elem,
        shape: Planes::shape_with(&x.shape, h, w),
    }
}
