//! Every graph op's VJP against central finite differences (real and complex inputs, random shapes
//! and values), the FFTs against numpy, adjoint identities of the linear ops, and graph-level backward.
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
use support::{check_vjp, rand_value, Dom};
use uq::graph::{FftCache, Op, Value};

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

/// Shapes of rank 0 to 3 with small dims.
fn any_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..4, 0..=3)
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

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn binary_ops(k in 0usize..4, shape in any_shape(), mode in 0usize..4, ca: bool, cb: bool, seed: u64) {
        let op = [Op::Add, Op::Sub, Op::Mul, Op::Div][k].clone();
        let (sa, sb) = match mode {
            0 => (shape.clone(), shape.clone()),
            1 => (vec![], shape.clone()),
            2 => (shape.clone(), vec![]),
            _ => (vec![], vec![]),
        };
        let mut r = rng(seed);
        let a = rand_value(&mut r, &sa, ca, Dom::Any);
        let b = rand_value(&mut r, &sb, cb, if op == Op::Div { Dom::NonZero } else { Dom::Any });
        check_vjp(&op, &[a, b], seed)?;
    }

    #[test]
    fn unary_ops(k in 0usize..12, shape in any_shape(), complex: bool, seed: u64) {
        let (op, dom, complex) = match k {
            0 => (Op::Neg, Dom::Any, complex),
            1 => (Op::Conj, Dom::Any, complex),
            2 => (Op::Re, Dom::Any, complex),
            3 => (Op::Im, Dom::Any, complex),
            4 => (Op::Abs, Dom::NonZero, complex),
            5 => (Op::Abs2, Dom::Any, complex),
            6 => (Op::Exp, Dom::Any, complex),
            7 => (Op::Log, Dom::RightHalf, complex),
            8 => (Op::Sqrt, Dom::RightHalf, complex),
            9 => (Op::Softplus, Dom::Wide, false),
            _ => (Op::Sum, Dom::Any, complex),
        };
        let x = rand_value(&mut rng(seed), &shape, complex, dom);
        check_vjp(&op, &[x], seed)?;
    }

    #[test]
    fn fft_and_shift_ops(k in 0usize..4, shape in plane_shape(5), complex: bool, seed: u64) {
        let op = [Op::Fft, Op::Ifft, Op::FftShift, Op::IfftShift][k].clone();
        let x = rand_value(&mut rng(seed), &shape, complex, Dom::Any);
        check_vjp(&op, &[x], seed)?;
    }

    #[test]
    fn resampling_ops(up: bool, f in 1usize..4, shape in plane_shape(3), complex: bool, seed: u64) {
        let (op, shape) = if up {
            (Op::Upsample(f), shape)
        } else {
            let n = shape.len();
            let scaled = shape.iter().enumerate().map(|(i, &d)| if i + 2 >= n { d * f } else { d }).collect();
            (Op::Downsample(f), scaled)
        };
        let x = rand_value(&mut rng(seed), &shape, complex, Dom::Any);
        check_vjp(&op, &[x], seed)?;
    }

    #[test]
    fn crop_and_pad(pad: bool, shape in plane_shape(6), dh in 0usize..4, dw in 0usize..4, complex: bool, seed: u64) {
        let n = shape.len();
        let (h, w) = (shape[n - 2], shape[n - 1]);
        let op = if pad { Op::Pad(h + dh, w + dw) } else { Op::Crop(h.saturating_sub(dh), w.saturating_sub(dw)) };
        let x = rand_value(&mut rng(seed), &shape, complex, Dom::Any);
        check_vjp(&op, &[x], seed)?;
    }

    /// Image planes up to 7×7 and kernels up to the image size cover both the direct and FFT routes.
    #[test]
    fn conv(shape in plane_shape(7), kh in 1usize..8, kw in 1usize..8, cx: bool, ck: bool, seed: u64) {
        let n = shape.len();
        let (kh, kw) = (kh.min(shape[n - 2]), kw.min(shape[n - 1]));
        let mut r = rng(seed);
        let x = rand_value(&mut r, &shape, cx, Dom::Any);
        let k = rand_value(&mut r, &[kh, kw], ck, Dom::Any);
        check_vjp(&Op::Conv, &[x, k], seed)?;
    }

    #[test]
    fn matmul(m in 1usize..5, n in 1usize..5, k in 0usize..4, ca: bool, cx: bool, seed: u64) {
        let mut r = rng(seed);
        let a = rand_value(&mut r, &[m, n], ca, Dom::Any);
        let x_shape = if k == 0 { vec![n] } else { vec![n, k] };
        let x = rand_value(&mut r, &x_shape, cx, Dom::Any);
        check_vjp(&Op::MatMul, &[a, x], seed)?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// `⟨A x, y⟩ = ⟨x, Aᴴ y⟩` as complex inner products for the complex-linear ops (the VJP is `Aᴴ`).
    #[test]
    fn adjoint_identities(k in 0usize..8, shape in plane_shape(6), f in 1usize..4, seed: u64) {
        let n = shape.len();
        let (h, w) = (shape[n - 2], shape[n - 1]);
        let (op, shape) = match k {
            0 => (Op::Fft, shape),
            1 => (Op::Ifft, shape),
            2 => (Op::FftShift, shape),
            3 => (Op::IfftShift, shape),
            4 => (Op::Crop(h.div_ceil(2), w), shape),
            5 => (Op::Pad(h + 3, w + 2), shape),
            6 => (Op::Upsample(f), shape),
            _ => {
                let scaled = shape.iter().enumerate().map(|(i, &d)| if i + 2 >= n { d * f } else { d }).collect();
                (Op::Downsample(f), scaled)
            }
        };
        support::check_adjoint(&op, &[rand_value(&mut rng(seed), &shape, true, Dom::Any)], 0, seed)?;
    }

    #[test]
    fn adjoint_of_conv_and_matmul(shape in plane_shape(6), kh in 1usize..7, kw in 1usize..7, which in 0usize..2, seed: u64) {
        let n = shape.len();
        let (kh, kw) = (kh.min(shape[n - 2]), kw.min(shape[n - 1]));
        let mut r = rng(seed);
        let x = rand_value(&mut r, &shape, true, Dom::Any);
        let k = rand_value(&mut r, &[kh, kw], true, Dom::Any);
        support::check_adjoint(&Op::Conv, &[x, k], which, seed)?;
        let a = rand_value(&mut r, &[kh, kw], true, Dom::Any);
        let v = rand_value(&mut r, &[kw, 2], true, Dom::Any);
        support::check_adjoint(&Op::MatMul, &[a, v], which, seed)?;
    }

    /// `ifft(fft(x)) = x`, `fft(ifft(x)) = x` and Parseval `‖fft x‖ = ‖x‖` to rounding.
    #[test]
    fn fft_roundtrip_and_parseval(shape in plane_shape(9), seed: u64) {
        let cache = FftCache::new();
        let x = rand_value(&mut rng(seed), &shape, true, Dom::Any);
        let fx = Op::Fft.forward(&[&x], &cache).unwrap();
        let back = Op::Ifft.forward(&[&fx], &cache).unwrap();
        let again = Op::Fft.forward(&[&Op::Ifft.forward(&[&x], &cache).unwrap()], &cache).unwrap();
        let nx = x.real_dot(&x);
        prop_assert!(support::max_abs_diff(&back, &x) < 1e-12);
        prop_assert!(support::max_abs_diff(&again, &x) < 1e-12);
        prop_assert!((fx.real_dot(&fx) - nx).abs() <= 1e-12 * nx.max(1.0));
    }
}

#[test]
fn fft_matches_numpy() {
    let cache = FftCache::new();
    type Case<'a> = (&'a [usize], bool, Op, &'a [(f64, f64)]);
    let cases: [Case; 3] = [
        (&[3, 5], true, Op::Fft, &numpy_ref::FFT2_3X5),
        (&[4, 3], true, Op::Ifft, &numpy_ref::IFFT2_4X3),
        (&[2, 2, 3], false, Op::Fft, &numpy_ref::FFT2_REAL_2X2X3),
    ];
    for (shape, complex, op, want) in cases {
        let got = op.forward(&[&support::input(shape, complex)], &cache).unwrap();
        let Value::Complex(z) = got else {
            panic!("fft gives complex")
        };
        assert_eq!(z.shape(), shape);
        for (g, &(re, im)) in z.iter().zip(want) {
            assert!(
                (g.re - re).abs() < 1e-13 && (g.im - im).abs() < 1e-13,
                "{op:?} {shape:?}: {g} vs {re}+{im}i"
            );
        }
    }
}

#[test]
fn fftshift_matches_numpy() {
    let cache = FftCache::new();
    let cases: [(&[usize], Op, &[f64]); 3] = [
        (&[3, 5], Op::FftShift, &numpy_ref::FFTSHIFT_3X5),
        (&[3, 5], Op::IfftShift, &numpy_ref::IFFTSHIFT_3X5),
        (&[2, 4, 4], Op::FftShift, &numpy_ref::FFTSHIFT_2X4X4),
    ];
    for (shape, op, want) in cases {
        let x = support::input(shape, false);
        let Value::Real(got) = op.forward(&[&x], &cache).unwrap() else {
            panic!("real stays real")
        };
        // A permutation, so exact up to numpy's and Rust's `sin` differing in the last bit.
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{op:?} {shape:?}: {g} vs {w}");
        }
        // ifftshift undoes fftshift, odd sizes included.
        let inv = if op == Op::FftShift {
            Op::IfftShift
        } else {
            Op::FftShift
        };
        assert_eq!(inv.forward(&[&Value::Real(got)], &cache).unwrap(), x);
    }
}
