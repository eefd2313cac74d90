//! Graph-level tests: backward through a composed graph with fan-out against finite differences,
//! located errors, latent dependence, constant evaluation and the text dump.

use super::support::rand_value;
use ndarray::{ArrayD, IxDyn};
use uq::graph::{dump, Domain, FftCache, Graph, NodeId, NodeKind, Op, Ty, Value};
use uq::source::{FileId, SourceMap, Span};

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

fn sp(start: usize) -> Span {
    Span::new(FileId(0), start, start + 1)
}

fn op(g: &mut Graph, name: &str, args: &[NodeId], at: usize) -> NodeId {
    let op = Op::new(name, &[]).unwrap();
    let tys: Vec<Ty> = args.iter().map(|a| g.nodes[a.0].ty.clone()).collect();
    let ty = op.infer_type(&tys).unwrap();
    g.push(NodeKind::Op(op, args.to_vec()), ty, sp(at))
}

/// `L = exp(s) · Σ|mask · fft(conv(x, k)) − y|² + Σ|x|² + s·s`, with `x` and `s` used twice and a
/// third latent unused. Returns the graph and the loss node.
fn composed() -> (Graph, NodeId) {
    let mut g = Graph::new();
    let x = g.push(NodeKind::Latent(0), Ty::complex(vec![4, 5]), sp(0));
    let s = g.push(NodeKind::Latent(1), Ty::real(vec![]), sp(1));
    g.push(NodeKind::Latent(2), Ty::real(vec![2]), sp(2));
    let mask = g.push(NodeKind::Data(0), Ty::real(vec![4, 5]), sp(3));
    let y = g.push(NodeKind::Data(1), Ty::complex(vec![4, 5]), sp(4));
    let kv = rand_value(&mut rng(7), &[3, 2], false, Domain::Any);
    let k = g.push(NodeKind::Const(kv), Ty::real(vec![3, 2]), sp(5));
    let c = op(&mut g, "conv", &[x, k], 6);
    let f = op(&mut g, "fft", &[c], 7);
    let m = op(&mut g, "mul", &[mask, f], 8);
    let r = op(&mut g, "sub", &[m, y], 9);
    let a = op(&mut g, "abs2", &[r], 10);
    let data_fit = op(&mut g, "sum", &[a], 11);
    let es = op(&mut g, "exp", &[s], 12);
    let scaled = op(&mut g, "mul", &[es, data_fit], 13);
    let ax = op(&mut g, "abs2", &[x], 14);
    let reg = op(&mut g, "sum", &[ax], 15);
    let ss = op(&mut g, "mul", &[s, s], 16);
    let t = op(&mut g, "add", &[scaled, reg], 17);
    let loss = op(&mut g, "add", &[t, ss], 18);
    (g, loss)
}

fn data() -> Vec<Value> {
    let mask = ArrayD::from_shape_fn(IxDyn(&[4, 5]), |ix| ((ix[0] + ix[1]) % 2) as f64);
    vec![
        Value::Real(mask),
        rand_value(&mut rng(3), &[4, 5], true, Domain::Any),
    ]
}

fn scalar(v: &Value) -> f64 {
    match v {
        Value::Real(a) => a.iter().next().copied().unwrap(),
        Value::Complex(_) => panic!("real loss expected"),
    }
}

#[test]
fn backward_matches_finite_differences() {
    let (g, loss) = composed();
    let cache = FftCache::new();
    let data = data();
    let latents = vec![
        rand_value(&mut rng(1), &[4, 5], true, Domain::Any),
        Value::scalar(0.3),
        Value::Real(ArrayD::zeros(IxDyn(&[2]))),
    ];
    let values = g.forward(&latents, &data, &cache).unwrap();
    let grads = g
        .backward(&values, &[(loss, Value::scalar(1.0))], &cache)
        .unwrap();
    assert_eq!(grads.len(), 3);
    assert_eq!(
        grads[2],
        Value::Real(ArrayD::zeros(IxDyn(&[2]))),
        "unused latent gets zeros"
    );
    let l_at = |lat: &[Value]| scalar(&g.forward(lat, &data, &cache).unwrap()[loss.0]);
    let h = 1e-5;
    let (mut err, mut scale) = (0.0f64, 1.0f64);
    for j in 0..2 {
        let gj: Vec<_> = grads[j].to_complex().iter().copied().collect();
        for (idx, gz) in gj.iter().enumerate() {
            for imag in [false, true] {
                if imag && !latents[j].is_complex() {
                    continue;
                }
                let mut fd = 0.0;
                for sign in [1.0, -1.0] {
                    let mut lat = latents.clone();
                    match &mut lat[j] {
                        Value::Real(a) => a.as_slice_mut().unwrap()[idx] += sign * h,
                        Value::Complex(a) => {
                            let z = &mut a.as_slice_mut().unwrap()[idx];
                            if imag {
                                z.im += sign * h
                            } else {
                                z.re += sign * h
                            }
                        }
                    }
                    fd += sign * l_at(&lat) / (2.0 * h);
                }
                let an = if imag { gz.im } else { gz.re };
                err = err.max((an - fd).abs());
                scale = scale.max(fd.abs());
            }
        }
    }
    assert!(err <= 1e-6 * scale, "max |grad - fd| = {err:e}, scale {scale:e}");

    // Seeding the loss twice doubles the gradient (seeds accumulate).
    let twice = g
        .backward(
            &values,
            &[(loss, Value::scalar(1.0)), (loss, Value::scalar(1.0))],
            &cache,
        )
        .unwrap();
    let doubled = Op::new("mul", &[])
        .unwrap()
        .forward(&[&Value::scalar(2.0), &grads[0]], &cache)
        .unwrap();
    assert!(twice[0].real_dot(&twice[0]) > 0.0);
    assert_eq!(twice[0], doubled);
}

#[test]
fn runtime_errors_point_at_the_node() {
    let mut g = Graph::new();
    let d = g.push(NodeKind::Data(0), Ty::real(vec![3]), sp(0));
    let l = op(&mut g, "log", &[d], 42);
    let bad = Value::Real(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, -0.5, 0.0]).unwrap());
    let e = g.forward(&[], &[bad], &FftCache::new()).unwrap_err();
    assert_eq!((e.node, e.span, e.domain), (l, sp(42), true));
    assert!(
        e.message.contains("log") && e.message.contains("-0.5"),
        "{}",
        e.message
    );

    // A data tensor of the wrong shape is reported at its node, not as a panic.
    let wrong = Value::Real(ArrayD::zeros(IxDyn(&[4])));
    let e = g.forward(&[], &[wrong], &FftCache::new()).unwrap_err();
    assert_eq!((e.node, e.domain), (d, false));
    assert!(
        e.message.contains("real[4]") && e.message.contains("real[3]"),
        "{}",
        e.message
    );
    // Missing bindings and a forward reference are errors too.
    assert!(g.forward(&[], &[], &FftCache::new()).is_err());
    g.push(
        NodeKind::Op(Op::new("neg", &[]).unwrap(), vec![NodeId(9)]),
        Ty::real(vec![3]),
        sp(50),
    );
    let ok = Value::Real(ArrayD::ones(IxDyn(&[3])));
    assert_eq!(
        g.forward(&[], &[ok], &FftCache::new()).unwrap_err().node,
        NodeId(2)
    );
}

#[test]
fn latent_dependence_and_constants() {
    let (g, loss) = composed();
    assert!(g.depends_on_latent(loss));
    assert!(!g.depends_on_latent(NodeId(3)), "data does not depend on latents");
    assert_eq!(
        g.ancestors(NodeId(8)),
        vec![NodeId(0), NodeId(3), NodeId(5), NodeId(6), NodeId(7), NodeId(8)]
    );

    let mut g = Graph::new();
    let mask = g.push(NodeKind::Data(0), Ty::real(vec![2]), sp(0));
    let two = g.push(NodeKind::Const(Value::scalar(2.0)), Ty::real(vec![]), sp(1));
    let x = g.push(NodeKind::Latent(0), Ty::real(vec![2]), sp(2));
    let scaled = op(&mut g, "mul", &[two, mask], 3);
    let dep = op(&mut g, "add", &[scaled, x], 4);
    let d = Value::Real(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.5, -1.0]).unwrap());
    let got = g
        .eval_const(scaled, std::slice::from_ref(&d), &FftCache::new())
        .unwrap();
    assert_eq!(
        got,
        Value::Real(ArrayD::from_shape_vec(IxDyn(&[2]), vec![3.0, -2.0]).unwrap())
    );
    let e = g.eval_const(dep, &[d], &FftCache::new()).unwrap_err();
    assert_eq!(e.node, x);
}

#[test]
fn dump_lists_nodes_with_locations() {
    let mut sources = SourceMap::new();
    let text = "data y : complex[2, 2]\nprior x : complex[2, 2] ~ Flat()\ny ~ Normal(fft(x), 0.1)\n";
    let file = sources.add("model.uq", None, text);
    let at = |s: &str| {
        let i = text.find(s).unwrap();
        Span::new(file, i, i + s.len())
    };
    let mut g = Graph::new();
    let x = g.push(NodeKind::Latent(0), Ty::complex(vec![2, 2]), at("x :"));
    let f = g.push(
        NodeKind::Op(Op::new("fft", &[]).unwrap(), vec![x]),
        Ty::complex(vec![2, 2]),
        at("fft(x)"),
    );
    g.push(NodeKind::Const(Value::scalar(0.1)), Ty::real(vec![]), at("0.1"));
    g.push(
        NodeKind::Op(Op::new("crop", &[1, 2]).unwrap(), vec![f]),
        Ty::complex(vec![1, 2]),
        at("fft(x)"),
    );
    let out = dump(&g, &sources, &["x".into()], &["y".into()]);
    let want = "\
%0 : complex[2, 2] = latent x         # model.uq:2:7
%1 : complex[2, 2] = fft(%0)          # model.uq:3:12
%2 : real = const 0.1                 # model.uq:3:20
%3 : complex[1, 2] = crop[1, 2](%1)   # model.uq:3:12
";
    assert_eq!(out, want);
}
