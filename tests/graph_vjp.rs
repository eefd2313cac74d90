//! Every registered op's VJP against central finite differences and its linearity flag against
//! the map (on the random valid inputs its definition draws), the adjoint identity of every linear
//! op, the FFTs against numpy, and graph-level backward. The registry-wide tests iterate over
//! `OPS`, so a new op is tested as soon as it is registered.
//!
//! Finite-difference criterion: with a random cotangent `v` and `L(x) = Re⟨v, f(x)⟩`, every real and
//! every imaginary input component `c` gets `fd_c = (L(x + h e_c) − L(x − h e_c)) / 2h`, `h = 1e-5`,
//! and the VJP (whose components are `∂L/∂re + i ∂L/∂im`) passes when
//! `max_c |vjp_c − fd_c| ≤ 1e-6 · max(1, max_c |fd_c|)`.

#[path = "graph_vjp/graph_level.rs"]
mod graph_level;
#[path = "graph_vjp/numpy_ref.rs"]
mod numpy_ref;
#[path = "graph_vjp/support.rs"]
mod support;

use proptest::prelude::*;
use support::{check_vjp, lincomb, max_abs_diff, rand_value, values};
use uq::graph::{Domain, FftCache, Op, OpDef, Value, OPS};

/// Cases drawn per op by the registry-wide tests.
const CASES: u64 = 64;

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

fn op(name: &str, params: &[usize]) -> Op {
    Op::new(name, params).unwrap()
}

/// Shapes with at least two dims: optional batch dim, then `[h, w]`.
fn plane_shape(max: usize) -> impl Strategy<Value = Vec<usize>> {
    (0usize..3, 1..=max, 1..=max).prop_map(|(b, h, w)| if b == 0 { vec![h, w] } else { vec![b, h, w] })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A fixed seed per (op, case): FNV-1a of the name, plus the case number.
fn seed_of(name: &str, case: u64) -> u64 {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    h.wrapping_add(case)
}

/// Which arguments of case `case` of `def` are constant data (held fixed, zero cotangent).
fn constants(def: &'static OpDef, case: u64) -> Vec<bool> {
    let inputs = (def.inputs)(&mut rng(seed_of(def.name, case)));
    inputs.args.iter().map(|a| a.constant).collect()
}

/// Case `case` of `def`: the op with its static parameters, two independent argument draws (the
/// second sharing the first's constant arguments), a seed.
fn instance(def: &'static OpDef, case: u64) -> (Op, Vec<Value>, Vec<Value>, u64) {
    let seed = seed_of(def.name, case);
    let mut r = rng(seed);
    let inputs = (def.inputs)(&mut r);
    let op = def
        .with(&inputs.params)
        .unwrap_or_else(|e| panic!("{}: its inputs have bad parameters: {e}", def.name));
    assert_eq!(
        inputs.args.len(),
        def.arity(),
        "{}: inputs and arity differ",
        def.name
    );
    let x = values(&mut r, &inputs.args);
    let mut y = values(&mut r, &inputs.args);
    for ((a, xj), yj) in inputs.args.iter().zip(&x).zip(&mut y) {
        if a.constant {
            yj.clone_from(xj);
        }
    }
    (op, x, y, seed)
}

#[test]
fn every_op_vjp_matches_finite_differences() {
    for def in OPS {
        for case in 0..CASES {
            let (op, x, _, seed) = instance(def, case);
            if let Err(e) = check_vjp(&op, &x, &constants(def, case), seed) {
                panic!("{op} (case {case}, seed {seed}): {e}");
            }
        }
    }
}

/// Asking for a subset of the cotangents (what the graph's backward pass does for arguments no latent
/// reaches) gives exactly those of the full VJP, and `None` for the others.
#[test]
fn partial_vjp_equals_the_full_one_on_what_it_computes() {
    let cache = FftCache::new();
    for def in OPS {
        for case in 0..8 {
            let (op, x, _, seed) = instance(def, case);
            let refs: Vec<&Value> = x.iter().collect();
            let out = op.forward(&refs, &cache).unwrap();
            let mut r = rng(seed ^ 0xC07);
            let g = rand_value(&mut r, out.shape(), out.is_complex(), Domain::Any);
            let full = op.vjp(&refs, &out, &g, &cache).unwrap();
            for mask in 0..(1u32 << x.len()) {
                let need: Vec<bool> = (0..x.len()).map(|i| mask & (1 << i) != 0).collect();
                let part = op.vjp_needed(&refs, &out, &g, &cache, &need).unwrap();
                for (i, (p, f)) in part.iter().zip(&full).enumerate() {
                    match (need[i], p) {
                        (true, Some(p)) => assert!(
                            max_abs_diff(p, f) == 0.0,
                            "{op} case {case}: argument {i} differs when computed alone"
                        ),
                        (false, None) => {}
                        _ => panic!("{op} case {case}: argument {i}: need {} but got {p:?}", need[i]),
                    }
                }
            }
        }
    }
}

/// `f(a x + b y) = a f(x) + b f(y)` (arguments jointly, real `a`, `b`, constant arguments held
/// fixed) holds to rounding for every op declared linear, and fails on some case for every op
/// declared non-linear.
#[test]
fn linearity_flags_match_the_maps() {
    let cache = FftCache::new();
    let (a, b) = (0.75, 1.25);
    for def in OPS {
        let mut worst = 0.0f64;
        for case in 0..CASES {
            let (op, x, y, _) = instance(def, case);
            let f = |args: &[Value]| op.forward(&args.iter().collect::<Vec<_>>(), &cache).unwrap();
            let fixed = constants(def, case);
            let mixed: Vec<Value> = x
                .iter()
                .zip(&y)
                .zip(&fixed)
                .map(|((x, y), &c)| if c { x.clone() } else { lincomb(a, x, b, y) })
                .collect();
            let (fx, fy) = (f(&x), f(&y));
            let scale = 1.0 + fx.real_dot(&fx).sqrt() + fy.real_dot(&fy).sqrt();
            let err = max_abs_diff(&f(&mixed), &lincomb(a, &fx, b, &fy)) / scale;
            if def.linear {
                assert!(
                    err <= 1e-12,
                    "{op} is declared linear but is not (case {case}): {err:e}"
                );
            }
            worst = worst.max(err);
        }
        if !def.linear {
            assert!(
                worst > 1e-6,
                "{} is declared non-linear but was linear on every case",
                def.name
            );
        }
    }
}

/// `Re⟨A x, y⟩ = Σ_j Re⟨x_j, (Aᴴ y)_j⟩` for every linear op, with its VJP as `Aᴴ`.
#[test]
fn linear_ops_vjp_is_the_adjoint() {
    let cache = FftCache::new();
    for def in OPS.iter().filter(|d| d.linear) {
        for case in 0..CASES {
            let (op, x, _, seed) = instance(def, case);
            let refs: Vec<&Value> = x.iter().collect();
            let ax = op.forward(&refs, &cache).unwrap();
            let y = rand_value(&mut rng(seed ^ 0x51), ax.shape(), ax.is_complex(), Domain::Any);
            let ahy = op.vjp(&refs, &ax, &y, &cache).unwrap();
            let lhs = ax.real_dot(&y);
            let rhs: f64 = x.iter().zip(&ahy).map(|(x, g)| x.real_dot(g)).sum();
            let norm = |v: &Value| v.real_dot(v).sqrt();
            let scale =
                1.0 + norm(&ax) * norm(&y) + x.iter().zip(&ahy).map(|(x, g)| norm(x) * norm(g)).sum::<f64>();
            assert!(
                (lhs - rhs).abs() <= 1e-12 * scale,
                "{op} (case {case}): <Ax,y> = {lhs} but <x,A^H y> = {rhs}"
            );
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn adjoint_of_conv_and_matmul(shape in plane_shape(6), kh in 1usize..7, kw in 1usize..7, which in 0usize..2, seed: u64) {
        let n = shape.len();
        let (kh, kw) = (kh.min(shape[n - 2]), kw.min(shape[n - 1]));
        let mut r = rng(seed);
        let x = rand_value(&mut r, &shape, true, Domain::Any);
        let k = rand_value(&mut r, &[kh, kw], true, Domain::Any);
        support::check_adjoint(&op("conv", &[]), &[x, k], which, seed)?;
        let a = rand_value(&mut r, &[kh, kw], true, Domain::Any);
        let v = rand_value(&mut r, &[kw, 2], true, Domain::Any);
        support::check_adjoint(&op("matmul", &[]), &[a, v], which, seed)?;
    }

    /// `ifft(fft(x)) = x`, `fft(ifft(x)) = x` and Parseval `‖fft x‖ = ‖x‖` to rounding.
    #[test]
    fn fft_roundtrip_and_parseval(shape in plane_shape(9), seed: u64) {
        let cache = FftCache::new();
        let x = rand_value(&mut rng(seed), &shape, true, Domain::Any);
        let fx = op("fft", &[]).forward(&[&x], &cache).unwrap();
        let back = op("ifft", &[]).forward(&[&fx], &cache).unwrap();
        let again = op("fft", &[]).forward(&[&op("ifft", &[]).forward(&[&x], &cache).unwrap()], &cache).unwrap();
        let nx = x.real_dot(&x);
        prop_assert!(max_abs_diff(&back, &x) < 1e-12);
        prop_assert!(max_abs_diff(&again, &x) < 1e-12);
        prop_assert!((fx.real_dot(&fx) - nx).abs() <= 1e-12 * nx.max(1.0));
    }
}

#[test]
fn fft_matches_numpy() {
    let cache = FftCache::new();
    type Case<'a> = (&'a [usize], bool, &'a str, &'a [(f64, f64)]);
    let cases: [Case; 3] = [
        (&[3, 5], true, "fft", &numpy_ref::FFT2_3X5),
        (&[4, 3], true, "ifft", &numpy_ref::IFFT2_4X3),
        (&[2, 2, 3], false, "fft", &numpy_ref::FFT2_REAL_2X2X3),
    ];
    for (shape, complex, name, want) in cases {
        let f = op(name, &[]);
        let got = f.forward(&[&support::input(shape, complex)], &cache).unwrap();
        let Value::Complex(z) = got else {
            panic!("fft gives complex")
        };
        assert_eq!(z.shape(), shape);
        for (g, &(re, im)) in z.iter().zip(want) {
            assert!(
                (g.re - re).abs() < 1e-13 && (g.im - im).abs() < 1e-13,
                "{f:?} {shape:?}: {g} vs {re}+{im}i"
            );
        }
    }
}

#[test]
fn fftshift_matches_numpy() {
    let cache = FftCache::new();
    let cases: [(&[usize], &str, &[f64]); 3] = [
        (&[3, 5], "fftshift", &numpy_ref::FFTSHIFT_3X5),
        (&[3, 5], "ifftshift", &numpy_ref::IFFTSHIFT_3X5),
        (&[2, 4, 4], "fftshift", &numpy_ref::FFTSHIFT_2X4X4),
    ];
    for (shape, name, want) in cases {
        let f = op(name, &[]);
        let x = support::input(shape, false);
        let Value::Real(got) = f.forward(&[&x], &cache).unwrap() else {
            panic!("real stays real")
        };
        // A permutation, so exact up to numpy's and Rust's `sin` differing in the last bit.
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{f:?} {shape:?}: {g} vs {w}");
        }
        // ifftshift undoes fftshift, odd sizes included.
        let inv = op(
            if name == "fftshift" {
                "ifftshift"
            } else {
                "fftshift"
            },
            &[],
        );
        assert_eq!(inv.forward(&[&Value::Real(got)], &cache).unwrap(), x);
    }
}
