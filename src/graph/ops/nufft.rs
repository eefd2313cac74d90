//! `nufft`, `nufft_adjoint` and `nufft_dcf`: the type-2 non-uniform DFT of the last two axes at a
//! k-space trajectory (`graph/nufft.rs`), its exact adjoint, and Pipe–Menon density weights. The
//! trajectory is constant data: it receives a zero cotangent and the ops are linear in the rest.

use super::def::{keep, OpDef, Rule, Syntax};
use super::inputs::{coin, plane_shape, Domain, Inputs};
use super::tensor::{build, complex_vec, reduce_to, row_major, Planes};
use super::types::plane;
use super::{Op, OpError};
use crate::graph::fft::FftCache;
use crate::graph::nufft::{NufftPlan, OVERSAMPLING};
use crate::graph::value::{Ty, Value};
use rand::Rng;
use std::sync::Arc;

pub static NUFFT: OpDef = OpDef {
    name: "nufft",
    syntax: Syntax::Call,
    params: &[],
    signatures: &[
        "nufft(real[..., H, W], real[M, 2]) -> complex[..., M]",
        "nufft(complex[..., H, W], real[M, 2]) -> complex[..., M]",
    ],
    doc: "Non-uniform DFT of the last two axes at the trajectory `traj` (radians, period 2π): \
          `(HW)^(-1/2) Σ x[p, q] exp(-i(traj[m, 0] p + traj[m, 1] q))`, equal to `fft` at \
          `traj = 2πk/N`; Kaiser–Bessel gridding to 1e-5. `traj` is constant data (no gradient; \
          one that depends on a latent is refused).",
    linear: true,
    rule: Rule::Binary {
        ty: |op, x, traj| {
            let (h, w) = plane(op, x)?;
            let m = samples(op, traj)?;
            nonempty(op, h, w)?;
            let mut shape = x.shape[..x.shape.len() - 2].to_vec();
            shape.push(m);
            Ok(Ty::complex(shape))
        },
        forward: |op, x, traj, cache| {
            let p = Planes::of(x.shape(), op.name())?;
            let plan = plan_of(op, traj, p.h, p.w, cache)?;
            let data = cache.nufft(&plan, &complex_vec(x), p.batch);
            Ok(Value::Complex(build(&sample_shape(x.shape(), plan.samples()), data)?))
        },
        vjp: |op, x, traj, _, g, cache, n| {
            if !n[0] {
                return Ok([None, n[1].then(|| Value::zeros(&traj.ty()))]);
            }
            let p = Planes::of(x.shape(), op.name())?;
            let plan = plan_of(op, traj, p.h, p.w, cache)?;
            let data = cache.nufft_adjoint(&plan, &complex_vec(g), p.batch);
            let gx = Value::Complex(build(x.shape(), data)?);
            Ok(keep(n, [reduce_to(gx, x), Value::zeros(&traj.ty())]))
        },
    },
    inputs: |r| {
        let shape = plane_shape(r, 5);
        let m = r.random_range(1..8);
        trajectory_inputs(Inputs::of([(shape, coin(r), Domain::Any)]), m, 1)
    },
};

pub static NUFFT_ADJOINT: OpDef = OpDef {
    name: "nufft_adjoint",
    syntax: Syntax::Call,
    params: &["H", "W"],
    signatures: &[
        "nufft_adjoint(real[..., M], real[M, 2], H, W) -> complex[..., H, W]",
        "nufft_adjoint(complex[..., M], real[M, 2], H, W) -> complex[..., H, W]",
    ],
    doc: "The adjoint of `nufft` onto `[H, W]` images (gridding; with `nufft_dcf` weights a \
          starting image): `(HW)^(-1/2) Σ_m k[m] exp(i(traj[m, 0] p + traj[m, 1] q))`.",
    linear: true,
    rule: Rule::Binary {
        ty: |op, k, traj| {
            let m = samples(op, traj)?;
            let (h, w) = (op.param(0), op.param(1));
            nonempty(op, h, w)?;
            match k.shape.last() {
                Some(&n) if n == m => {
                    let mut shape = k.shape[..k.shape.len() - 1].to_vec();
                    shape.extend([h, w]);
                    Ok(Ty::complex(shape))
                }
                _ => Err(format!(
                    "`nufft_adjoint`: the samples {k} must end in the trajectory's {m} samples \
                     (traj is real[{m}, 2])"
                )),
            }
        },
        forward: |op, k, traj, cache| {
            let (h, w) = (op.param(0), op.param(1));
            let plan = plan_of(op, traj, h, w, cache)?;
            let batch = leading(k.shape());
            let data = cache.nufft_adjoint(&plan, &complex_vec(k), batch);
            let mut shape = k.shape()[..k.shape().len().saturating_sub(1)].to_vec();
            shape.extend([h, w]);
            Ok(Value::Complex(build(&shape, data)?))
        },
        vjp: |op, k, traj, _, g, cache, n| {
            if !n[0] {
                return Ok([None, n[1].then(|| Value::zeros(&traj.ty()))]);
            }
            let (h, w) = (op.param(0), op.param(1));
            let plan = plan_of(op, traj, h, w, cache)?;
            let data = cache.nufft(&plan, &complex_vec(g), leading(k.shape()));
            let gk = Value::Complex(build(k.shape(), data)?);
            Ok(keep(n, [reduce_to(gk, k), Value::zeros(&traj.ty())]))
        },
    },
    inputs: |r| {
        let m = r.random_range(1..8);
        let mut shape = vec![m];
        if coin(r) {
            shape.insert(0, r.random_range(1..3));
        }
        let (h, w) = (r.random_range(1..6), r.random_range(1..6));
        let inputs = Inputs::of([(shape, coin(r), Domain::Any)]).with_params(vec![h, w]);
        trajectory_inputs(inputs, m, 1)
    },
};

pub static NUFFT_DCF: OpDef = OpDef {
    name: "nufft_dcf",
    syntax: Syntax::Call,
    params: &["H", "W"],
    signatures: &["nufft_dcf(real[M, 2], H, W) -> real[M]"],
    doc: "Pipe–Menon density-compensation weights of the trajectory for `[H, W]` images (1 on a \
          fully sampled Cartesian grid), so `nufft_adjoint(nufft_dcf(traj, H, W) * y, traj, H, W)` \
          is a starting image; constant in `traj` (no gradient).",
    linear: false,
    rule: Rule::Unary {
        ty: |op, traj| {
            let m = samples(op, traj)?;
            nonempty(op, op.param(0), op.param(1))?;
            Ok(Ty::real(vec![m]))
        },
        forward: |op, traj, cache| {
            let plan = plan_of(op, traj, op.param(0), op.param(1), cache)?;
            Ok(Value::Real(build(&[plan.samples()], plan.density())?))
        },
        vjp: |_, traj, _, _, _| Ok(Value::zeros(&traj.ty())),
    },
    inputs: |r| {
        let m = r.random_range(1..8);
        let (h, w) = (r.random_range(1..6), r.random_range(1..6));
        let none: [(Vec<usize>, bool, Domain); 0] = [];
        trajectory_inputs(Inputs::of(none).with_params(vec![h, w]), m, 0)
    },
};

/// `inputs` plus a constant trajectory `real[m, 2]` as argument `at`.
fn trajectory_inputs(inputs: Inputs, m: usize, at: usize) -> Inputs {
    inputs.with_constant(at, vec![m, 2], false, Domain::Any)
}

/// The number of samples `M` of a trajectory type `real[M, 2]`.
fn samples(op: &Op, traj: &Ty) -> Result<usize, String> {
    match traj.shape[..] {
        [m, 2] if !traj.is_complex() => Ok(m),
        _ => Err(format!(
            "`{}` needs a trajectory of type real[M, 2] (radians, one row per sample), got {traj}",
            op.name()
        )),
    }
}

/// The most elements of the oversampled grid (σ² · H · W), as many as a tensor may have.
const MAX_GRID: usize = 1 << 27;

/// An `h × w` image that is non-empty and whose oversampled grid is not too large.
fn nonempty(op: &Op, h: usize, w: usize) -> Result<(), String> {
    let s = OVERSAMPLING;
    let grid = h.checked_mul(s).zip(w.checked_mul(s)).and_then(|(a, b)| a.checked_mul(b));
    if h == 0 || w == 0 {
        Err(format!("`{}` needs a non-empty image, got [{h}, {w}]", op.name()))
    } else if grid.is_none_or(|g| g > MAX_GRID) {
        Err(format!(
            "`{}`: a [{h}, {w}] image needs a {s}× oversampled grid larger than {MAX_GRID} elements; \
             use a smaller image",
            op.name()
        ))
    } else {
        Ok(())
    }
}

/// The product of all but the last dimension.
fn leading(shape: &[usize]) -> usize {
    shape[..shape.len().saturating_sub(1)].iter().product()
}

/// `x`'s leading dimensions followed by `m`.
fn sample_shape(shape: &[usize], m: usize) -> Vec<usize> {
    let mut out = shape[..shape.len().saturating_sub(2)].to_vec();
    out.push(m);
    out
}

/// The cached plan of `traj` for `h × w` images; a non-finite trajectory is a domain error.
fn plan_of(op: &Op, traj: &Value, h: usize, w: usize, cache: &FftCache) -> Result<Arc<NufftPlan>, OpError> {
    let Value::Real(t) = traj else {
        return Err(OpError::Shape(format!(
            "`{}` needs a real trajectory, got {}",
            op.name(),
            traj.ty()
        )));
    };
    let t = row_major(t);
    if let Some(i) = t.iter().position(|v| !v.is_finite()) {
        return Err(OpError::Domain(format!(
            "`{}`: the trajectory has a non-finite value ({}) at sample {}; every k-space \
             coordinate must be a finite number of radians",
            op.name(),
            t[i],
            i / 2
        )));
    }
    Ok(cache.nufft_plan(&t, h, w))
}
