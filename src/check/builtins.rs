//! Built-in functions and distributions: names, signatures (for messages) and call lowering.

use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use super::npy;
use super::types::op_type;
use crate::dist::DISTRIBUTIONS;
use crate::graph::{NodeId, NodeKind, Op, Value};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind};
use ndarray::{ArrayD, IxDyn};

/// `(name, signatures)` of every built-in function.
pub const BUILTINS: &[(&str, &[&str])] = &[
    (
        "fft",
        &[
            "fft(real[..., h, w]) -> complex[..., h, w]",
            "fft(complex[..., h, w]) -> complex[..., h, w]",
        ],
    ),
    (
        "ifft",
        &[
            "ifft(real[..., h, w]) -> complex[..., h, w]",
            "ifft(complex[..., h, w]) -> complex[..., h, w]",
        ],
    ),
    ("fftshift", &["fftshift(T[..., h, w]) -> T[..., h, w]"]),
    ("ifftshift", &["ifftshift(T[..., h, w]) -> T[..., h, w]"]),
    (
        "conj",
        &[
            "conj(complex[...]) -> complex[...]",
            "conj(real[...]) -> real[...]",
        ],
    ),
    (
        "re",
        &["re(complex[...]) -> real[...]", "re(real[...]) -> real[...]"],
    ),
    (
        "im",
        &["im(complex[...]) -> real[...]", "im(real[...]) -> real[...]"],
    ),
    (
        "abs",
        &["abs(real[...]) -> real[...]", "abs(complex[...]) -> real[...]"],
    ),
    (
        "abs2",
        &["abs2(real[...]) -> real[...]", "abs2(complex[...]) -> real[...]"],
    ),
    (
        "exp",
        &["exp(real[...]) -> real[...]", "exp(complex[...]) -> complex[...]"],
    ),
    (
        "log",
        &["log(real[...]) -> real[...]", "log(complex[...]) -> complex[...]"],
    ),
    (
        "sqrt",
        &[
            "sqrt(real[...]) -> real[...]",
            "sqrt(complex[...]) -> complex[...]",
        ],
    ),
    ("softplus", &["softplus(real[...]) -> real[...]"]),
    ("sum", &["sum(real[...]) -> real", "sum(complex[...]) -> complex"]),
    (
        "conv",
        &[
            "conv(T[..., h, w], real[kh, kw]) -> T[..., h, w] (circular, kernel centred)",
            "conv(T[..., h, w], complex[kh, kw]) -> complex[..., h, w]",
        ],
    ),
    (
        "downsample",
        &["downsample(T[..., h, w], f) -> T[..., h/f, w/f] (average pooling, f divides h and w)"],
    ),
    (
        "upsample",
        &["upsample(T[..., h, w], f) -> T[..., h*f, w*f] (nearest neighbour)"],
    ),
    (
        "crop",
        &["crop(T[..., H, W], h, w) -> T[..., h, w] (centred, h <= H, w <= W)"],
    ),
    (
        "pad",
        &["pad(T[..., h, w], H, W) -> T[..., H, W] (centred zeros, H >= h, W >= w)"],
    ),
    (
        "gaussian_kernel",
        &["gaussian_kernel(n, s) -> real[n, n] (n a positive integer, s > 0, sums to 1)"],
    ),
    ("load", &["load(\"file.npy\") -> the file's type (a constant)"]),
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(n, _)| *n == name)
}

pub fn is_reserved(name: &str) -> bool {
    is_builtin(name) || DISTRIBUTIONS.contains(&name)
}

pub fn signatures(name: &str) -> Vec<String> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

fn unary_op(name: &str) -> Option<Op> {
    Some(match name {
        "fft" => Op::Fft,
        "ifft" => Op::Ifft,
        "fftshift" => Op::FftShift,
        "ifftshift" => Op::IfftShift,
        "conj" => Op::Conj,
        "re" => Op::Re,
        "im" => Op::Im,
        "abs" => Op::Abs,
        "abs2" => Op::Abs2,
        "exp" => Op::Exp,
        "log" => Op::Log,
        "sqrt" => Op::Sqrt,
        "softplus" => Op::Softplus,
        "sum" => Op::Sum,
        _ => return None,
    })
}

/// Number of arguments each built-in takes, as text and as a count.
fn arity(name: &str) -> (usize, &'static str) {
    match name {
        "conv" | "downsample" | "upsample" | "gaussian_kernel" => (2, "2 arguments"),
        "crop" | "pad" => (3, "3 arguments"),
        _ => (1, "1 argument"),
    }
}

impl Ctx<'_> {
    /// Lower a call of the built-in `name`.
    pub(super) fn call_builtin(
        &mut self,
        name: &str,
        args: &[Expr],
        span: Span,
        locals: &Locals,
    ) -> Option<NodeId> {
        let (n, text) = arity(name);
        if args.len() != n {
            self.error(CheckError::Arity {
                name: name.into(),
                expected: text.into(),
                found: args.len(),
                span,
                signatures: signatures(name),
            });
            return None;
        }
        match name {
            "load" => return self.load_const(&args[0]),
            "gaussian_kernel" => return self.gaussian_kernel(name, args, locals),
            _ => {}
        }
        let x = self.expr(&args[0], locals)?;
        let (op, inputs) = if let Some(op) = unary_op(name) {
            (op, vec![x])
        } else if name == "conv" {
            let k = self.expr(&args[1], locals)?;
            (Op::Conv, vec![x, k])
        } else {
            let a = self.static_usize(name, &args[1], locals, "a positive integer")?;
            let op = match name {
                "downsample" => Op::Downsample(a),
                "upsample" => Op::Upsample(a),
                _ => {
                    let b = self.static_usize(name, &args[2], locals, "a positive integer")?;
                    if name == "crop" {
                        Op::Crop(a, b)
                    } else {
                        Op::Pad(a, b)
                    }
                }
            };
            (op, vec![x])
        };
        let tys: Vec<_> = inputs.iter().map(|&i| self.ty(i)).collect();
        match op_type(&op, &tys) {
            Ok(ty) if self.size_ok(&ty, span) => Some(self.push(NodeKind::Op(op, inputs), ty, span)),
            Ok(_) => None,
            Err(detail) => {
                self.error(CheckError::ArgType {
                    name: name.into(),
                    detail,
                    span,
                    signatures: signatures(name),
                });
                None
            }
        }
    }

    /// A static positive integer argument.
    fn static_usize(&mut self, name: &str, e: &Expr, locals: &Locals, what: &str) -> Option<usize> {
        let id = self.expr(e, locals)?;
        match self.static_num(id) {
            Some(v) if v >= 1.0 && v.fract() == 0.0 && v <= 1e6 => Some(v as usize),
            _ => {
                self.error(CheckError::StaticArg {
                    name: name.into(),
                    what: what.into(),
                    span: e.span,
                });
                None
            }
        }
    }

    fn gaussian_kernel(&mut self, name: &str, args: &[Expr], locals: &Locals) -> Option<NodeId> {
        let n = self.static_usize(name, &args[0], locals, "a positive integer (the kernel size)")?;
        let s_id = self.expr(&args[1], locals)?;
        let s = match self.static_num(s_id) {
            Some(s) if s > 0.0 && s.is_finite() => s,
            _ => {
                let span = args[1].span;
                self.error(CheckError::StaticArg {
                    name: name.into(),
                    what: "a positive number (the width)".into(),
                    span,
                });
                return None;
            }
        };
        if n > 4096 {
            let span = args[0].span;
            self.error(CheckError::StaticArg {
                name: name.into(),
                what: "at most 4096".into(),
                span,
            });
            return None;
        }
        let c = (n as f64 - 1.0) / 2.0;
        let mut k = ArrayD::from_shape_fn(IxDyn(&[n, n]), |ix| {
            let (i, j) = (ix[0] as f64 - c, ix[1] as f64 - c);
            (-(i * i + j * j) / (2.0 * s * s)).exp()
        });
        let total = k.sum();
        k.mapv_inplace(|v| v / total);
        let span = args[0].span.join(args[1].span);
        Some(self.constant(Value::Real(k), span))
    }

    fn load_const(&mut self, arg: &Expr) -> Option<NodeId> {
        let ExprKind::Str(file) = &arg.kind else {
            self.error(CheckError::StaticArg {
                name: "load".into(),
                what: "a file name string".into(),
                span: arg.span,
            });
            return None;
        };
        let path = self.resolve(arg.span.file, file);
        match npy::read_value(&path) {
            Ok(v) if v.all_finite() => Some(self.constant(v, arg.span)),
            Ok(_) => {
                let reason = "it contains NaN or infinite values".to_string();
                self.error(CheckError::LoadFailed {
                    path: path.display().to_string(),
                    reason,
                    span: arg.span,
                });
                None
            }
            Err(e) => {
                let reason = e.to_string();
                self.error(CheckError::LoadFailed {
                    path: path.display().to_string(),
                    reason,
                    span: arg.span,
                });
                None
            }
        }
    }
}
