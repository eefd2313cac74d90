//! Cached rustfft plans for the 2-D orthonormal DFT over the last two axes.

/// Plans built once per size and reused (thread-safe).
#[derive(Default)]
pub struct FftCache {}
