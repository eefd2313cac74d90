//! Tests of the fused real filters (`filter.rs`): values and gradients equal to the unfused ops.

use super::{FftCache, Graph, NodeId, NodeKind, Op, Ty, Value};
use crate::source::Span;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;

/// Deterministic values in [−1, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn real(shape: &[usize], seed: u64) -> Value {
    let n = shape.iter().product();
    Value::Real(ArrayD::from_shape_vec(IxDyn(shape), values(n, seed)).unwrap())
}

fn complex(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let (re, im) = (values(n, seed), values(n, seed + 1));
    let z = re.iter().zip(&im).map(|(&a, &b)| Complex64::new(a, b)).collect();
    Value::Complex(ArrayD::from_shape_vec(IxDyn(shape), z).unwrap())
}

fn op(g: &mut Graph, name: &str, args: &[NodeId], ty: Ty) -> NodeId {
    g.push(
        NodeKind::Op(Op::new(name, &[]).unwrap(), args.to_vec()),
        ty,
        Span::default(),
    )
}

/// `re(ifft(C * fft(input)))` appended to `g` (`C` on the right when `swap`).
fn filter(g: &mut Graph, input: NodeId, c: Value, swap: bool) -> NodeId {
    let shape = g.nodes[input.0].ty.shape.clone();
    let c = g.push(NodeKind::Const(c.clone()), c.ty(), Span::default());
    let f = op(g, "fft", &[input], Ty::complex(shape.clone()));
    let args = if swap { [f, c] } else { [c, f] };
    let m = op(g, "mul", &args, Ty::complex(shape.clone()));
    let i = op(g, "ifft", &[m], Ty::complex(shape.clone()));
    op(g, "re", &[i], Ty::real(shape))
}

/// The graph's output `out` and latent gradient under a seed, unfused and fused (`pinned` read).
fn both(g: &Graph, out: NodeId, x: &Value, pinned: &[NodeId]) -> (usize, [(Value, Value); 2]) {
    let fft = FftCache::new();
    let plan = g.plan(&[], &fft).unwrap();
    let fusion = g.fuse(&plan, pinned);
    let seed = real(g.nodes[out.0].ty.shape.as_slice(), 99);
    let plain = g.forward_planned(&plan, vec![x.clone()], &fft).unwrap();
    let fused = g.forward_fused(&plan, &fusion, vec![x.clone()], &fft).unwrap();
    let seeds = [(out, seed)];
    let gp = g.backward_planned(&plan, &plain, &seeds, &fft).unwrap();
    let gf = g.backward_fused(&plan, &fusion, &fused, &seeds, &fft).unwrap();
    let pair = |v: &super::Values<'_>| v.get(out.0).cloned().unwrap();
    (
        fusion.len(),
        [(pair(&plain), pair(&fused)), (gp[0].clone(), gf[0].clone())],
    )
}

fn max_diff(a: &Value, b: &Value) -> f64 {
    match (a, b) {
        (Value::Real(a), Value::Real(b)) => {
            assert_eq!(a.shape(), b.shape());
            a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
        }
        _ => panic!("expected real values, got {} and {}", a.ty(), b.ty()),
    }
}

#[test]
fn fused_filters_equal_the_ops_they_replace() {
    // (shape of a, shape of C, complex C, C on the right)
    let cases: &[(&[usize], &[usize], bool, bool)] = &[
        (&[4, 6], &[4, 6], false, false),
        (&[6, 5], &[6, 5], true, false),
        (&[2, 3], &[2, 3], true, true),
        (&[8, 8], &[], false, false),
        (&[8, 1], &[8, 1], true, false),
        (&[3, 4, 4], &[4, 4], true, false),
        (&[3, 4, 4], &[1, 4, 4], false, true),
        (&[3, 4, 6], &[3, 4, 6], true, false),
        (&[2, 2, 10, 7], &[10, 7], true, false),
    ];
    for (k, &(shape, cshape, cplx, swap)) in cases.iter().enumerate() {
        let mut g = Graph::new();
        let x = g.push(NodeKind::Latent(0), Ty::real(shape.to_vec()), Span::default());
        let c = if cplx {
            complex(cshape, k as u64)
        } else {
            real(cshape, k as u64)
        };
        let out = filter(&mut g, x, c, swap);
        let (n, [(v0, v1), (g0, g1)]) = both(&g, out, &real(shape, 50 + k as u64), &[out]);
        assert_eq!(n, 1, "case {k}: {shape:?} with C {cshape:?} should fuse");
        assert!(
            max_diff(&v0, &v1) < 1e-13,
            "case {k}: values differ by {}",
            max_diff(&v0, &v1)
        );
        assert!(
            max_diff(&g0, &g1) < 1e-13,
            "case {k}: gradients differ by {}",
            max_diff(&g0, &g1)
        );
    }
}

#[test]
fn chained_filters_fuse_like_the_deblurring_model() {
    // x = 0.5 + re(ifft(s * fft(z))), out = re(ifft(H * fft(x))) (benches/models/deblur32.uq).
    let shape = [16, 16];
    let mut g = Graph::new();
    let z = g.push(NodeKind::Latent(0), Ty::real(shape.to_vec()), Span::default());
    let inner = filter(&mut g, z, real(&shape, 1), false);
    let half = g.push(
        NodeKind::Const(Value::scalar(0.5)),
        Ty::real(vec![]),
        Span::default(),
    );
    let x = op(&mut g, "add", &[half, inner], Ty::real(shape.to_vec()));
    let out = filter(&mut g, x, real(&shape, 2), false);
    let (n, [(v0, v1), (g0, g1)]) = both(&g, out, &real(&shape, 3), &[out]);
    assert_eq!(n, 2);
    assert!(max_diff(&v0, &v1) < 1e-13 && max_diff(&g0, &g1) < 1e-13);
}

#[test]
fn chains_that_must_stay_whole_are_not_fused() {
    let shape = [4, 4];
    let build = || {
        let mut g = Graph::new();
        let x = g.push(NodeKind::Latent(0), Ty::real(shape.to_vec()), Span::default());
        let out = filter(&mut g, x, real(&shape, 1), false);
        (g, out)
    };
    // An intermediate the caller reads (an observation's mean, say) keeps its chain unfused.
    let (g, out) = build();
    let fft_node = NodeId(out.0 - 3);
    assert_eq!(both(&g, out, &real(&shape, 2), &[out, fft_node]).0, 0);
    // An intermediate with a second use.
    let (mut g, out) = build();
    let mul = NodeId(out.0 - 2);
    let extra = op(&mut g, "re", &[mul], Ty::real(shape.to_vec()));
    assert_eq!(both(&g, extra, &real(&shape, 2), &[extra]).0, 0);
    // An odd number of rows, a complex input, and a filter of another shape.
    for (xs, cs, cplx) in [
        (&[5usize, 4][..], &[5usize, 4][..], false),
        (&[4, 4], &[4, 4], true),
        (&[2, 4, 4], &[2, 1, 4], false),
    ] {
        let mut g = Graph::new();
        let ty = if cplx {
            Ty::complex(xs.to_vec())
        } else {
            Ty::real(xs.to_vec())
        };
        let x = g.push(NodeKind::Latent(0), ty, Span::default());
        let out = filter(&mut g, x, real(cs, 4), false);
        let fft = FftCache::new();
        let plan = g.plan(&[], &fft).unwrap();
        assert_eq!(g.fuse(&plan, &[out]).len(), 0, "{xs:?} {cs:?} complex {cplx}");
    }
}
