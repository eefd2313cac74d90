//! Fast CPU path for the U-Net's score and input-VJP: packed weights, padded channels-last buffers,
//! runtime-dispatched SIMD microkernels (AVX-512, AVX2+FMA, portable), explicit adjoint operators.
//!
//! Pipeline: `kernel` (microkernel over pixel runs) ← `conv` (3×3, 1×1, 2×2 transposed, and their
//! adjoints) and `norm` (GroupNorm and its VJP) and `act` (buffers, pooling, masks) ← `block`
//! (residual block) ← `net` (`FastUNet`). Training keeps candle's autograd; this path is inference only.

pub mod act;
mod block;
pub mod conv;
pub mod kernel;
mod net;
pub mod norm;

pub use kernel::Isa;
pub use net::FastUNet;

#[cfg(test)]
mod tests;
