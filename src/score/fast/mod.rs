//! Fast CPU path for the U-Net's score and input-VJP: packed weights, padded channels-last buffers,
//! runtime-dispatched SIMD microkernels (AVX-512, AVX2+FMA, portable), explicit adjoint operators.
//!
//! Pipeline: `kernel` (microkernel over pixel runs) and `bf16` (its AVX512-BF16 and AMX twins) ←
//! `conv` (3×3, 1×1, 2×2 transposed, and their adjoints) and `norm` (GroupNorm and its VJP) and `act`
//! (buffers, pooling, masks) ← `block` (residual block) ← `net` (`FastUNet`). Training: `wgrad` (weight
//! gradients as GEMMs) and `net::train` (`FastUNet::train_grads`: every weight's gradient, candle names).

/// A function whose loops are compiled three times (AVX-512, AVX2+FMA, baseline) and dispatched on
/// `Isa::detect()`, so element-wise passes vectorise as wide as the CPU allows.
macro_rules! simd_fn {
    ($(#[$m:meta])* fn $name:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        fn $name($($a: $t),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v512($($a: $t),*) {
                    imp($($a),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v256($($a: $t),*) {
                    imp($($a),*)
                }
                match Isa::detect() {
                    // SAFETY: `detect` returns only instruction sets this CPU supports.
                    Isa::Avx512 => return unsafe { v512($($a),*) },
                    Isa::Avx2 => return unsafe { v256($($a),*) },
                    Isa::Portable => {}
                }
            }
            imp($($a),*)
        }
    };
}

pub mod act;
mod bf16;
mod block;
pub mod conv;
pub mod kernel;
mod net;
pub mod norm;
mod wgrad;

pub use bf16::{amx_enabled, bf16_supported, Precision};
pub use kernel::Isa;
pub use net::train::NamedGrads;
pub use net::FastUNet;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_amx;
#[cfg(test)]
mod tests_bf16;
#[cfg(test)]
mod tests_net;
#[cfg(test)]
mod tests_train;
