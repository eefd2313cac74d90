//! Helpers for the graph VJP tests: random values, the finite-difference check, adjoint checks.

use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64 as C;
use proptest::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uq::graph::{Arg, Domain, FftCache, Op, Value};

/// Step and tolerance of the finite-difference criterion stated atop `graph_vjp.rs`.
pub const H: f64 = 1e-5;
pub const TOL: f64 = 1e-6;

/// Values in `dom` (see [`Domain`]).
pub fn rand_value(rng: &mut ChaCha8Rng, shape: &[usize], complex: bool, dom: Domain) -> Value {
    let n: usize = shape.iter().product();
    if complex {
        let data = (0..n)
            .map(|_| match dom {
                Domain::Any | Domain::Wide => {
                    C::new(rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0))
                }
                Domain::NonZero => C::from_polar(rng.random_range(0.5..2.0), rng.random_range(0.0..6.3)),
                Domain::RightHalf => C::new(rng.random_range(0.3..3.0), rng.random_range(-2.0..2.0)),
            })
            .collect();
        Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
    } else {
        let data = (0..n)
            .map(|_| match dom {
                Domain::Any => rng.random_range(-2.0..2.0),
                Domain::Wide => rng.random_range(-6.0..6.0),
                Domain::NonZero => rng.random_range(0.5..2.0) * if rng.random_bool(0.5) { 1.0 } else { -1.0 },
                Domain::RightHalf => rng.random_range(0.3..3.0),
            })
            .collect();
        Value::Real(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
    }
}

/// One random value per argument description.
pub fn values(rng: &mut ChaCha8Rng, args: &[Arg]) -> Vec<Value> {
    args.iter()
        .map(|a| rand_value(rng, &a.shape, a.complex, a.domain))
        .collect()
}

/// `a x + b y` for values of one type.
pub fn lincomb(a: f64, x: &Value, b: f64, y: &Value) -> Value {
    match (x, y) {
        (Value::Real(x), Value::Real(y)) => Value::Real(x * a + y * b),
        _ => Value::Complex(x.to_complex() * C::from(a) + y.to_complex() * C::from(b)),
    }
}

/// The deterministic input of the numpy reference script: `sin(0.7k + 0.3) [+ i cos(1.1k)]`.
pub fn input(shape: &[usize], complex: bool) -> Value {
    let n: usize = shape.iter().product();
    let re = |k: usize| (0.7 * k as f64 + 0.3).sin();
    if complex {
        let data = (0..n).map(|k| C::new(re(k), (1.1 * k as f64).cos())).collect();
        Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), data).unwrap())
    } else {
        Value::Real(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(re).collect()).unwrap())
    }
}

pub fn max_abs_diff(a: &Value, b: &Value) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_complex(), b.to_complex());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).norm())
        .fold(0.0, f64::max)
}

/// `Σ conj(a) b` over all elements.
fn cdot(a: &Value, b: &Value) -> C {
    let (a, b) = (a.to_complex(), b.to_complex());
    a.iter().zip(b.iter()).map(|(x, y)| x.conj() * y).sum()
}

fn nudged(args: &[Value], j: usize, idx: usize, imag: bool, d: f64) -> Vec<Value> {
    let mut out = args.to_vec();
    match &mut out[j] {
        Value::Real(x) => x.as_slice_mut().unwrap()[idx] += d,
        Value::Complex(x) => {
            let z = &mut x.as_slice_mut().unwrap()[idx];
            if imag {
                z.im += d
            } else {
                z.re += d
            }
        }
    }
    out
}

fn loss(op: &Op, args: &[Value], v: &Value, cache: &FftCache) -> f64 {
    let refs: Vec<&Value> = args.iter().collect();
    v.real_dot(&op.forward(&refs, cache).unwrap())
}

/// The VJP of `op` at `args` against central differences of `Re⟨v, op(args)⟩`, `v` random;
/// arguments marked `constant` must get a zero cotangent instead.
pub fn check_vjp(op: &Op, args: &[Value], constant: &[bool], seed: u64) -> Result<(), TestCaseError> {
    let cache = FftCache::new();
    let refs: Vec<&Value> = args.iter().collect();
    let tys: Vec<_> = args.iter().map(Value::ty).collect();
    let out = op
        .forward(&refs, &cache)
        .map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
    prop_assert_eq!(op.infer_type(&tys), Ok(out.ty()));
    let mut rng: ChaCha8Rng = rand::SeedableRng::seed_from_u64(seed ^ 0x9e37_79b9);
    let v = rand_value(&mut rng, out.shape(), out.is_complex(), Domain::Any);
    let grads = op.vjp(&refs, &out, &v, &cache).unwrap();
    prop_assert_eq!(grads.len(), args.len());
    let (mut err, mut scale) = (0.0f64, 1.0f64);
    for (j, (arg, g)) in args.iter().zip(&grads).enumerate() {
        prop_assert_eq!(g.ty(), arg.ty(), "{:?}: cotangent {} has the wrong type", op, j);
        let gs: Vec<C> = g.to_complex().iter().copied().collect();
        if constant.get(j).copied().unwrap_or(false) {
            prop_assert!(
                gs.iter().all(|z| *z == C::default()),
                "{:?}: constant argument {} got a non-zero cotangent",
                op,
                j
            );
            continue;
        }
        for (idx, gz) in gs.iter().enumerate() {
            for imag in [false, true] {
                if imag && !arg.is_complex() {
                    continue;
                }
                let lp = loss(op, &nudged(args, j, idx, imag, H), &v, &cache);
                let lm = loss(op, &nudged(args, j, idx, imag, -H), &v, &cache);
                let fd = (lp - lm) / (2.0 * H);
                let an = if imag { gz.im } else { gz.re };
                err = err.max((an - fd).abs());
                scale = scale.max(fd.abs());
            }
        }
    }
    prop_assert!(
        err <= TOL * scale,
        "{:?} on {:?}: max |vjp - fd| = {:e} (scale {:e})",
        op,
        tys.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        err,
        scale
    );
    Ok(())
}

/// `⟨A x, y⟩ = ⟨x, Aᴴ y⟩` where `A` is `op` as a function of argument `which` (others fixed).
pub fn check_adjoint(op: &Op, args: &[Value], which: usize, seed: u64) -> Result<(), TestCaseError> {
    let cache = FftCache::new();
    let refs: Vec<&Value> = args.iter().collect();
    let ax = op.forward(&refs, &cache).unwrap();
    let mut rng: ChaCha8Rng = rand::SeedableRng::seed_from_u64(seed ^ 0x51);
    let y = rand_value(&mut rng, ax.shape(), true, Domain::Any);
    let ahy = op.vjp(&refs, &ax, &y, &cache).unwrap();
    let which = which.min(args.len() - 1);
    let (lhs, rhs) = (cdot(&ax, &y), cdot(&args[which], &ahy[which]));
    let scale = 1.0 + ax.real_dot(&ax).sqrt() * y.real_dot(&y).sqrt();
    prop_assert!(
        (lhs - rhs).norm() <= 1e-12 * scale,
        "{:?}: <Ax,y> = {} but <x,A^H y> = {}",
        op,
        lhs,
        rhs
    );
    Ok(())
}
