//! Built-in operators: shape/type rules, forward evaluation and vector-Jacobian products.
//!
//! Complex gradients use the convention `∂L/∂re + i ∂L/∂im` for a real loss `L`, so the VJP of a
//! complex-linear map `A` is `Aᴴ`, of a holomorphic `f` is `conj(f'(z)) · g`, and a real input of a
//! complex-output op receives the real part. Every VJP returns one cotangent per argument with
//! that argument's type; a broadcast scalar receives the sum over the broadcast.

mod conv;
mod elementwise;
mod linear;
pub(crate) mod tensor;
mod types;

use super::fft::FftCache;
use super::value::{Ty, Value};
use std::fmt;

/// One built-in operation. Parameters that are static (factors, sizes) live in the variant.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Elementwise with scalar broadcasting; real ⊗ complex → complex.
    Add,
    Sub,
    Mul,
    Div,
    Neg,
    /// Dense matrix `[m, n]` times `[n]` or `[n, k]`.
    MatMul,
    /// Orthonormal unshifted 2-D DFT over the last two axes (numpy `fft2(norm="ortho")`).
    Fft,
    Ifft,
    /// Shift of the last two axes (numpy `fftshift(axes=(-2, -1))`), and its inverse.
    FftShift,
    IfftShift,
    Conj,
    Re,
    Im,
    Abs,
    Abs2,
    Exp,
    Log,
    Sqrt,
    Softplus,
    /// Sum of all elements → scalar.
    Sum,
    /// Circular 2-D convolution of the last two axes of `x` with a 2-D kernel centred at `(kh/2, kw/2)`:
    /// `y[i, j] = Σ_{a,b} k[a, b] x[(i − a + kh/2) mod H, (j − b + kw/2) mod W]`.
    Conv,
    /// Average pooling by `f` over the last two axes.
    Downsample(usize),
    /// Nearest-neighbour upsampling by `f` over the last two axes.
    Upsample(usize),
    /// Centred crop of the last two axes to `[h, w]` (offset `(H - h) / 2`).
    Crop(usize, usize),
    /// Centred zero padding of the last two axes to `[h, w]` (the adjoint of `Crop`).
    Pad(usize, usize),
}

/// A runtime failure of an op (shapes are checked statically, so these are value problems).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Domain(String),
}

impl Op {
    /// The operator's name as written in the language (`add` etc. for the infix operators).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::Neg => "neg",
            Op::MatMul => "matmul",
            Op::Fft => "fft",
            Op::Ifft => "ifft",
            Op::FftShift => "fftshift",
            Op::IfftShift => "ifftshift",
            Op::Conj => "conj",
            Op::Re => "re",
            Op::Im => "im",
            Op::Abs => "abs",
            Op::Abs2 => "abs2",
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Sqrt => "sqrt",
            Op::Softplus => "softplus",
            Op::Sum => "sum",
            Op::Conv => "conv",
            Op::Downsample(_) => "downsample",
            Op::Upsample(_) => "upsample",
            Op::Crop(..) => "crop",
            Op::Pad(..) => "pad",
        }
    }

    /// Number of tensor arguments (static parameters excluded).
    pub fn arity(&self) -> usize {
        match self {
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::MatMul | Op::Conv => 2,
            _ => 1,
        }
    }

    /// True for ops that are linear (over ℝ) in every argument jointly; conj/re/im are ℝ-linear.
    pub fn is_linear(&self) -> bool {
        matches!(
            self,
            Op::Add
                | Op::Sub
                | Op::Neg
                | Op::Fft
                | Op::Ifft
                | Op::FftShift
                | Op::IfftShift
                | Op::Conj
                | Op::Re
                | Op::Im
                | Op::Sum
                | Op::Downsample(_)
                | Op::Upsample(_)
                | Op::Crop(..)
                | Op::Pad(..)
        )
    }

    /// Result type from argument types, or a message saying what is wrong.
    pub fn infer_type(&self, args: &[Ty]) -> Result<Ty, String> {
        types::infer(self, args)
    }

    /// Forward evaluation. Argument types are checked first, so a mismatch is an `OpError::Shape`.
    pub fn forward(&self, args: &[&Value], fft: &FftCache) -> Result<Value, OpError> {
        let tys: Vec<Ty> = args.iter().map(|v| v.ty()).collect();
        self.infer_type(&tys).map_err(OpError::Shape)?;
        match (self, args) {
            (Op::Add | Op::Sub | Op::Mul | Op::Div, [a, b]) => elementwise::binary_forward(self, a, b),
            (Op::MatMul, [a, x]) => linear::matmul_forward(a, x),
            (Op::Conv, [x, k]) => conv::forward(x, k, fft),
            (Op::Fft, [x]) => linear::fft(x, false, fft),
            (Op::Ifft, [x]) => linear::fft(x, true, fft),
            (Op::FftShift | Op::IfftShift | Op::Downsample(_) | Op::Upsample(_), [x])
            | (Op::Crop(..) | Op::Pad(..), [x]) => linear::plane_forward(self, x),
            (_, [x]) => elementwise::unary_forward(self, x),
            _ => Err(arity_error(self, args.len())),
        }
    }

    /// Cotangents of every argument given the output cotangent `g` (same type as the output).
    /// Each returned value has its argument's type (broadcast scalars are summed back).
    pub fn vjp(&self, args: &[&Value], out: &Value, g: &Value, fft: &FftCache) -> Result<Vec<Value>, OpError> {
        let tys: Vec<Ty> = args.iter().map(|v| v.ty()).collect();
        let out_ty = self.infer_type(&tys).map_err(OpError::Shape)?;
        for (what, v) in [("output", out), ("cotangent", g)] {
            let ty = v.ty();
            if ty != out_ty {
                return Err(OpError::Shape(format!(
                    "`{}`: the {what} has type {ty}, expected {out_ty}",
                    self.name()
                )));
            }
        }
        match (self, args) {
            (Op::Add | Op::Sub | Op::Mul | Op::Div, [a, b]) => elementwise::binary_vjp(self, a, b, out, g),
            (Op::MatMul, [a, x]) => linear::matmul_vjp(a, x, g),
            (Op::Conv, [x, k]) => conv::vjp(x, k, g, fft),
            (Op::Fft, [x]) => Ok(vec![linear::fft_vjp(x, g, false, fft)?]),
            (Op::Ifft, [x]) => Ok(vec![linear::fft_vjp(x, g, true, fft)?]),
            (Op::FftShift | Op::IfftShift | Op::Downsample(_) | Op::Upsample(_), [x])
            | (Op::Crop(..) | Op::Pad(..), [x]) => Ok(vec![linear::plane_vjp(self, x, g)?]),
            (_, [x]) => Ok(vec![elementwise::unary_vjp(self, x, out, g)?]),
            _ => Err(arity_error(self, args.len())),
        }
    }
}

fn arity_error(op: &Op, got: usize) -> OpError {
    OpError::Shape(format!("`{}` takes {} argument(s), got {got}", op.name(), op.arity()))
}

impl fmt::Display for Op {
    /// The name with static parameters, e.g. `downsample[2]` or `crop[32, 32]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Downsample(k) | Op::Upsample(k) => write!(f, "{}[{k}]", self.name()),
            Op::Crop(h, w) | Op::Pad(h, w) => write!(f, "{}[{h}, {w}]", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}
