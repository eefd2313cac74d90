//! The one place call and operator type rules come from: `op_type` (delegates to the graph's rules).

use crate::graph::{Op, Ty};
use crate::syntax::ast::ElemType;

/// Result type of `op` applied to arguments of types `args`, or why it does not apply.
pub fn op_type(op: &Op, args: &[Ty]) -> Result<Ty, String> {
    interim_rules(op, args)
}

fn join_elem(a: ElemType, b: ElemType) -> ElemType {
    if a == ElemType::Complex || b == ElemType::Complex {
        ElemType::Complex
    } else {
        ElemType::Real
    }
}

/// Scalar broadcasting; real ⊗ complex → complex; otherwise shapes must match.
pub fn broadcast(a: &Ty, b: &Ty) -> Result<Ty, String> {
    let elem = join_elem(a.elem, b.elem);
    if a.shape == b.shape || b.is_scalar() {
        Ok(Ty { elem, shape: a.shape.clone() })
    } else if a.is_scalar() {
        Ok(Ty { elem, shape: b.shape.clone() })
    } else {
        Err(format!("{a} and {b} have different shapes"))
    }
}

fn one(args: &[Ty]) -> Result<&Ty, String> {
    match args {
        [a] => Ok(a),
        _ => Err(format!("expected 1 argument, found {}", args.len())),
    }
}

fn image(t: &Ty) -> Result<(usize, usize), String> {
    match t.shape.as_slice() {
        [.., h, w] => Ok((*h, *w)),
        _ => Err(format!("expected at least two dimensions (an image), found {t}")),
    }
}

fn with_image(t: &Ty, h: usize, w: usize) -> Ty {
    let mut shape = t.shape.clone();
    let n = shape.len();
    if n >= 2 {
        shape[n - 2] = h;
        shape[n - 1] = w;
    }
    Ty { elem: t.elem, shape }
}

fn real_only(t: &Ty) -> Result<Ty, String> {
    if t.is_complex() {
        Err(format!("expected a real argument, found {t}"))
    } else {
        Ok(t.clone())
    }
}

fn interim_rules(op: &Op, args: &[Ty]) -> Result<Ty, String> {
    match op {
        Op::Add | Op::Sub | Op::Mul | Op::Div => match args {
            [a, b] => broadcast(a, b),
            _ => Err("expected 2 arguments".into()),
        },
        Op::Neg | Op::Conj | Op::Exp => one(args).cloned(),
        Op::Log | Op::Sqrt | Op::Softplus => real_only(one(args)?),
        Op::Re | Op::Im | Op::Abs | Op::Abs2 => Ok(Ty::real(one(args)?.shape.clone())),
        Op::Sum => Ok(Ty::scalar(one(args)?.elem)),
        Op::Fft | Op::Ifft => {
            let t = one(args)?;
            image(t)?;
            Ok(Ty::complex(t.shape.clone()))
        }
        Op::FftShift | Op::IfftShift => {
            let t = one(args)?;
            image(t)?;
            Ok(t.clone())
        }
        Op::MatMul => match args {
            [a, x] => match (a.shape.as_slice(), x.shape.as_slice()) {
                ([m, n], [n2]) if n == n2 => Ok(Ty { elem: join_elem(a.elem, x.elem), shape: vec![*m] }),
                ([m, n], [n2, k]) if n == n2 => Ok(Ty { elem: join_elem(a.elem, x.elem), shape: vec![*m, *k] }),
                ([_, _], _) => Err(format!("inner dimensions differ: {a} @ {x}")),
                _ => Err(format!("the left operand must be a matrix, found {a}")),
            },
            _ => Err("expected 2 arguments".into()),
        },
        Op::Conv => match args {
            [x, k] => {
                let (h, w) = image(x)?;
                match k.shape.as_slice() {
                    [kh, kw] if *kh <= h && *kw <= w => Ok(Ty { elem: join_elem(x.elem, k.elem), shape: x.shape.clone() }),
                    [_, _] => Err(format!("kernel {k} is larger than the image {x}")),
                    _ => Err(format!("the kernel must be two-dimensional, found {k}")),
                }
            }
            _ => Err("expected 2 arguments".into()),
        },
        Op::Downsample(f) => {
            let t = one(args)?;
            let (h, w) = image(t)?;
            if *f == 0 || h % f != 0 || w % f != 0 {
                return Err(format!("factor {f} does not divide the image size {h}×{w}"));
            }
            Ok(with_image(t, h / f, w / f))
        }
        Op::Upsample(f) => {
            let t = one(args)?;
            let (h, w) = image(t)?;
            Ok(with_image(t, h * f, w * f))
        }
        Op::Crop(ch, cw) => {
            let t = one(args)?;
            let (h, w) = image(t)?;
            if *ch > h || *cw > w {
                return Err(format!("cannot crop {h}×{w} to the larger {ch}×{cw}"));
            }
            Ok(with_image(t, *ch, *cw))
        }
        Op::Pad(ph, pw) => {
            let t = one(args)?;
            let (h, w) = image(t)?;
            if *ph < h || *pw < w {
                return Err(format!("cannot pad {h}×{w} to the smaller {ph}×{pw}"));
            }
            Ok(with_image(t, *ph, *pw))
        }
    }
}
