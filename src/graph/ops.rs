//! Built-in operators: shape/type rules, forward evaluation and vector-Jacobian products.
//!
//! Complex gradients use the convention `∂L/∂re + i ∂L/∂im` for a real loss `L`, so the VJP of a
//! complex-linear map `A` is `Aᴴ`, and of a holomorphic `f` is `conj(f'(z)) · g`.

use super::fft::FftCache;
use super::value::{Ty, Value};

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
    /// Circular 2-D convolution of the last two axes of `x` with a 2-D kernel centred at `(kh/2, kw/2)`.
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
    /// Result type from argument types, or a message saying what is wrong.
    pub fn infer_type(&self, args: &[Ty]) -> Result<Ty, String> {
        let _ = args;
        todo!("graph ops helper")
    }

    /// Forward evaluation.
    pub fn forward(&self, args: &[&Value], fft: &FftCache) -> Result<Value, OpError> {
        let _ = (args, fft);
        todo!("graph ops helper")
    }

    /// Cotangents of every argument given the output cotangent `g` (same type as the output).
    /// Each returned value has its argument's type (broadcast scalars are summed back).
    pub fn vjp(
        &self,
        args: &[&Value],
        out: &Value,
        g: &Value,
        fft: &FftCache,
    ) -> Result<Vec<Value>, OpError> {
        let _ = (args, out, g, fft);
        todo!("graph ops helper")
    }
}
