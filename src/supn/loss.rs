//! Training objectives in candle (autograd): the SUPN log-likelihood with `Lᵀ r` as shifted products,
//! the fixed-diagonal Gaussian of stage 1, and the KL of q(z | x) to N(0, I).

use candle_core::{Result, Tensor};

use super::factor::causal_offsets;

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// `v` moved by offset `(dr, dc)` (dr ≤ 0): the value at pixel i lands on pixel i + o; values whose
/// target leaves the image are dropped. `v` is `[B, 1, H, W]`.
fn shift(v: &Tensor, (dr, dc): (isize, isize)) -> Result<Tensor> {
    let (_, _, h, w) = v.dims4()?;
    let up = dr.unsigned_abs();
    let t = v.narrow(2, up, h - up)?.pad_with_zeros(2, 0, up)?;
    let side = dc.unsigned_abs();
    if dc < 0 {
        t.narrow(3, side, w - side)?.pad_with_zeros(3, 0, side)
    } else if dc > 0 {
        t.narrow(3, 0, w - side)?.pad_with_zeros(3, side, 0)
    } else {
        Ok(t)
    }
}

/// Per-image `log N(x; μ, (L Lᵀ)⁻¹)` `[B]` from images and means `[B, 1, H, W]` and precision
/// planes `[B, 1 + K, H, W]` (log-diagonal first) for stencil radius `radius`.
pub fn supn_log_likelihood(x: &Tensor, mean: &Tensor, prec: &Tensor, radius: usize) -> Result<Tensor> {
    let (b, _, h, w) = x.dims4()?;
    let r = (x - mean)?;
    let s = prec.narrow(1, 0, 1)?;
    let mut u = s.exp()?.mul(&r)?;
    for (k, &o) in causal_offsets(radius).iter().enumerate() {
        let wk = prec.narrow(1, 1 + k, 1)?;
        u = (u + shift(&wk.mul(&r)?, o)?)?;
    }
    let n = (h * w) as f64;
    let log_det = s.reshape((b, h * w))?.sum(1)?;
    let quad = u.sqr()?.reshape((b, h * w))?.sum(1)?;
    (log_det - (quad * 0.5)?)? - 0.5 * n * LN_2PI
}

/// Per-image `log N(x; μ, σ² I)` `[B]` (stage 1's fixed diagonal precision).
pub fn diagonal_log_likelihood(x: &Tensor, mean: &Tensor, sigma: f64) -> Result<Tensor> {
    let (b, _, h, w) = x.dims4()?;
    let n = (h * w) as f64;
    let quad = (x - mean)?.sqr()?.reshape((b, h * w))?.sum(1)?;
    (quad * (-0.5 / (sigma * sigma)))? - n * (sigma.ln() + 0.5 * LN_2PI)
}

/// Per-image `KL(N(m, e^{lv}) ‖ N(0, I))` `[B]`.
pub fn kl_standard(mean: &Tensor, log_var: &Tensor) -> Result<Tensor> {
    let t = ((mean.sqr()? + log_var.exp()?)? - log_var)?;
    (t - 1.0)?.sum(1)? * 0.5
}
