//! U-Net tests: batch independence, VE scaling, forward/VJP against finite differences, save → load, corrupt files.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::score::file::{header_metadata, read_safetensors, write_safetensors, ScoreFileError};
use crate::score::header::{HeaderError, HeaderKind, ScoreHeader};
use crate::score::init::seeded_builder;
use crate::score::network::NetworkPrior;
use crate::score::ScoreModel;

fn tiny(kind: NetKind, image_channels: usize) -> (UNet, crate::score::init::VarStore) {
    tiny_dtype(kind, image_channels, candle_core::DType::F32)
}

/// The same seeded weights in any dtype (values drawn in f32, then converted).
fn tiny_dtype(
    kind: NetKind,
    image_channels: usize,
    dtype: candle_core::DType,
) -> (UNet, crate::score::init::VarStore) {
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels,
        kind,
    };
    let (vb, vars) = seeded_builder(3);
    let net = UNet::new(&cfg, vb.set_dtype(dtype)).unwrap();
    // The output conv starts at zero; give it weights so the tests see a non-trivial function.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for name in ["out.weight", "out.bias"] {
        let guard = vars.lock().unwrap();
        let var = &guard[name];
        let vals: Vec<f32> = (0..var.elem_count())
            .map(|_| rng.random_range(-0.5..0.5))
            .collect();
        var.set(
            &Tensor::from_vec(vals, var.shape(), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap(),
        )
        .unwrap();
    }
    (net, vars)
}

fn header(kind: NetKind, image_channels: usize, size: usize) -> ScoreHeader {
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels,
        kind,
    };
    let hk = match kind {
        NetKind::Ve => HeaderKind::Ve {
            sigma_min: 0.01,
            sigma_max: 10.0,
        },
        NetKind::Vp => HeaderKind::Vp {
            beta_start: 1e-4,
            beta_end: 0.02,
            timesteps: 1000,
        },
    };
    let meta = header_metadata(&cfg, &hk, [size, size], 1.0, &BTreeMap::new());
    ScoreHeader::from_metadata("test", &meta).unwrap()
}

fn rand_rows(rng: &mut ChaCha8Rng, b: usize, n: usize) -> Array2<f64> {
    Array2::from_shape_fn((b, n), |_| rng.random_range(-1.0..1.0))
}

#[test]
fn output_shape_batch_independence_and_ve_scaling() {
    let (net, _) = tiny(NetKind::Ve, 1);
    let x = Tensor::randn(0f32, 1.0, (3, 1, 8, 8), &Device::Cpu).unwrap();
    let lv = Tensor::new(&[0.5f32, 0.5, 0.5], &Device::Cpu).unwrap();
    let out = net.forward(&x, &lv).unwrap();
    assert_eq!(out.dims(), &[3, 1, 8, 8]);
    // One sample alone gives the same output as inside the batch (GroupNorm is per sample).
    let one = net
        .forward(&x.narrow(0, 1, 1).unwrap(), &lv.narrow(0, 0, 1).unwrap())
        .unwrap();
    let diff = (one - out.narrow(0, 1, 1).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    // −σ gives the same σ-embedding, the sign only enters through the σ-map; both divide by |σ|.
    assert!(net
        .forward(&x, &Tensor::new(&[0.5f32, 0.5, 0.0], &Device::Cpu).unwrap())
        .is_ok());
    assert!(net
        .forward(
            &Tensor::zeros((1, 1, 6, 6), candle_core::DType::F32, &Device::Cpu).unwrap(),
            &lv
        )
        .is_err());
}

/// `⟨v, net(x)⟩` and its input gradient for f64 rows in uq's flat `[H, W, C]` layout (8×8), by candle
/// autograd; the gradient comes back in the same layout.
fn f64_value_and_grad(net: &UNet, x: &[f64], v: &[f64], level: f64, b: usize) -> (f64, Vec<f64>) {
    let dev = Device::Cpu;
    let c = x.len() / (b * 64);
    let nchw = |d: &[f64]| {
        Tensor::from_vec(d.to_vec(), (b, 8, 8, c), &dev)
            .unwrap()
            .permute((0, 3, 1, 2))
            .unwrap()
            .contiguous()
            .unwrap()
    };
    let xv = candle_core::Var::from_tensor(&nchw(x)).unwrap();
    let vt = nchw(v);
    let lv = Tensor::from_vec(vec![level; b], b, &dev).unwrap();
    let l = net
        .forward(xv.as_tensor(), &lv)
        .unwrap()
        .mul(&vt)
        .unwrap()
        .sum_all()
        .unwrap();
    let g = l.backward().unwrap();
    let gx = g
        .get(xv.as_tensor())
        .unwrap()
        .permute((0, 2, 3, 1))
        .unwrap()
        .flatten_all()
        .unwrap();
    let gx = gx.to_vec1::<f64>().unwrap();
    (l.to_scalar::<f64>().unwrap(), gx)
}

/// In f64 the input-VJP of the U-Net (VE and VP) matches central differences of the forward pass to
/// the Richardson-estimated truncation error plus round-off (16 ε₆₄ Σ|v·s| / h).
#[test]
fn f64_forward_and_vjp_match_finite_differences() {
    for (kind, level, ch) in [
        (NetKind::Ve, 0.3, 1),
        (NetKind::Ve, 0.3, 2),
        (NetKind::Vp, 400.0, 1),
    ] {
        let (net, _) = tiny_dtype(kind, ch, candle_core::DType::F64);
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let b = 2;
        let n = b * 64 * ch;
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let d: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (val, g) = f64_value_and_grad(&net, &x, &v, level, b);
        let analytic: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
        let f = |h: f64| {
            let xp: Vec<f64> = x.iter().zip(&d).map(|(x, d)| x + h * d).collect();
            let xm: Vec<f64> = x.iter().zip(&d).map(|(x, d)| x - h * d).collect();
            (f64_value_and_grad(&net, &xp, &v, level, b).0 - f64_value_and_grad(&net, &xm, &v, level, b).0)
                / (2.0 * h)
        };
        let h = 1e-5;
        let (fd, fd2) = (f(h), f(h / 2.0));
        let tol = 4.0 * (fd - fd2).abs() + 16.0 * f64::EPSILON * val.abs().max(1.0) * n as f64 / (h / 2.0);
        assert!(
            (fd2 - analytic).abs() <= tol,
            "{kind:?}: fd {fd2} vs vjp {analytic} (tol {tol})"
        );
        assert!(
            tol < 1e-5 * analytic.abs(),
            "{kind:?}: tolerance {tol} too loose for {analytic}"
        );
    }
}

/// The f32 `NetworkPrior` VJP (layout conversion, scaling, autograd) agrees with the f64 reference to
/// f32 accuracy. (Central differences in f32 itself are not a usable reference here: with step sizes
/// where f32 round-off is small, h ≈ 5e-3, many ReLU kinks lie inside the stencil.)
#[test]
fn f32_prior_vjp_matches_f64_reference() {
    for (kind, level, ch) in [
        (NetKind::Ve, 0.3, 1),
        (NetKind::Ve, 0.3, 2),
        (NetKind::Vp, 400.0, 1),
    ] {
        let (net32, _) = tiny(kind, ch);
        let (net64, _) = tiny_dtype(kind, ch, candle_core::DType::F64);
        let mut prior = NetworkPrior::from_net(net32, header(kind, ch, 8));
        prior.set_precision(crate::score::fast::Precision::F32).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let x = rand_rows(&mut rng, 2, 64 * ch).mapv(|v| 0.5 + 0.4 * v);
        let v = rand_rows(&mut rng, 2, 64 * ch);
        let g32 = prior.score_vjp(x.view(), level, v.view()).unwrap();
        // The prior's score is −ε/√(1−ᾱ_t) for VP; apply the same factor to the f64 reference.
        let factor = match kind {
            NetKind::Ve => 1.0,
            NetKind::Vp => -1.0 / (1.0 - prior.schedule().unwrap().alpha_bar(400)).sqrt(),
        };
        let (_, g64) = f64_value_and_grad(&net64, x.as_slice().unwrap(), v.as_slice().unwrap(), level, 2);
        let norm: f64 = g64.iter().map(|g| g * g).sum::<f64>().sqrt() * factor.abs();
        let err: f64 = g32
            .iter()
            .zip(&g64)
            .map(|(a, b)| (a - factor * b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err < 1e-4 * norm, "{kind:?}: |g32 − g64| = {err}, |g64| = {norm}");
        assert_eq!(prior.evaluations(), 2, "one batched VJP of two rows");
    }
}

#[test]
fn complex_rows_are_interleaved_re_im() {
    // Flat row = [H, W, C]: the real part of pixel (0, 0) is element 0, its imaginary part element 1.
    let (net, _) = tiny(NetKind::Ve, 2);
    let prior = NetworkPrior::from_net(net, header(NetKind::Ve, 2, 8));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = rand_rows(&mut rng, 1, 128);
    let s = prior.score(x.view(), 0.2).unwrap();
    let xt = Tensor::from_vec(
        x.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        (1, 8, 8, 2),
        &Device::Cpu,
    )
    .unwrap()
    .permute((0, 3, 1, 2))
    .unwrap()
    .contiguous()
    .unwrap();
    let direct = prior_net_forward(&prior, &xt, 0.2);
    let im00 = direct
        .get(0)
        .unwrap()
        .get(1)
        .unwrap()
        .get(0)
        .unwrap()
        .get(0)
        .unwrap();
    assert!((f64::from(im00.to_scalar::<f32>().unwrap()) - s[[0, 1]]).abs() < 1e-6);
}

/// The same seeded network as `prior`'s, called directly on a `[B, C, H, W]` tensor.
fn prior_net_forward(_prior: &NetworkPrior, x: &Tensor, sigma: f32) -> Tensor {
    let (net, _) = tiny(NetKind::Ve, 2);
    net.forward(x, &Tensor::new(&[sigma], &Device::Cpu).unwrap())
        .unwrap()
}

fn save_tiny(vars: &crate::score::init::VarStore, kind: NetKind, ch: usize, path: &Path) {
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels: ch,
        kind,
    };
    let h = header(kind, ch, 8);
    let hk = h.kind.clone();
    let w: BTreeMap<String, Tensor> = vars
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let mut extra = BTreeMap::new();
    extra.insert("note".to_string(), "test".to_string());
    write_safetensors(path, &w, header_metadata(&cfg, &hk, [8, 8], 1.0, &extra)).unwrap();
}

#[test]
fn save_then_load_gives_identical_outputs() {
    for kind in [NetKind::Ve, NetKind::Vp] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let (net, vars) = tiny(kind, 1);
        save_tiny(&vars, kind, 1, &path);
        let a = NetworkPrior::from_net(net, header(kind, 1, 8));
        let b = NetworkPrior::load(&path).unwrap();
        assert_eq!(b.header().raw.get("note").map(String::as_str), Some("test"));
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = rand_rows(&mut rng, 3, 64);
        let lvl = if kind == NetKind::Ve { 0.1 } else { 250.0 };
        assert_eq!(a.score(x.view(), lvl).unwrap(), b.score(x.view(), lvl).unwrap());
    }
}

/// Write a valid tiny model, let `corrupt` damage it, and return the load error.
fn load_err(corrupt: impl FnOnce(&Path)) -> ScoreFileError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (_, vars) = tiny(NetKind::Ve, 1);
    save_tiny(&vars, NetKind::Ve, 1, &path);
    corrupt(&path);
    match NetworkPrior::load(&path) {
        Ok(_) => panic!("corrupt file loaded"),
        Err(e) => e,
    }
}

fn rewrite(
    path: &Path,
    edit: impl FnOnce(&mut BTreeMap<String, Tensor>, &mut std::collections::HashMap<String, String>),
) {
    let (mut t, mut m) = read_safetensors(path).unwrap();
    edit(&mut t, &mut m);
    write_safetensors(path, &t, m).unwrap();
}

#[test]
fn corrupt_files_are_typed_errors() {
    let e = NetworkPrior::load(Path::new("/nonexistent/m.safetensors"))
        .err()
        .unwrap();
    assert!(matches!(e, ScoreFileError::Header(HeaderError::Io { .. })), "{e}");

    let e = load_err(|p| {
        let b = std::fs::read(p).unwrap();
        std::fs::write(p, &b[..b.len() - 100]).unwrap();
    });
    assert!(
        matches!(e, ScoreFileError::Header(HeaderError::Format { .. })),
        "truncated: {e}"
    );

    let e = load_err(|p| std::fs::write(p, b"\x10\0\0\0\0\0\0\0{not json at all}").unwrap());
    assert!(
        matches!(e, ScoreFileError::Header(HeaderError::Format { .. })),
        "garbage: {e}"
    );

    let e = load_err(|p| rewrite(p, |_, m| m.clear()));
    assert!(
        matches!(e, ScoreFileError::Header(HeaderError::Metadata { .. })),
        "no metadata: {e}"
    );

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("kind".into(), "sde".into()))));
    assert!(e.to_string().contains("kind `sde`"), "wrong kind: {e}");

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("architecture".into(), "resnet".into()))));
    assert!(matches!(e, ScoreFileError::Architecture { .. }), "{e}");

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("image_shape".into(), "7,7".into()))));
    assert!(
        matches!(e, ScoreFileError::Build { .. }),
        "indivisible shape: {e}"
    );

    let e = load_err(|p| rewrite(p, |t, _| drop(t.remove("up.0.1.c2.conv.weight"))));
    assert_eq!(
        e,
        ScoreFileError::MissingTensor {
            path: e_path(&e),
            name: "up.0.1.c2.conv.weight".into()
        }
    );

    let e = load_err(|p| {
        rewrite(p, |t, _| {
            t.insert(
                "out.weight".into(),
                Tensor::zeros((1, 5, 1, 1), candle_core::DType::F32, &Device::Cpu).unwrap(),
            );
        })
    });
    assert!(
        matches!(&e, ScoreFileError::TensorShape { name, expected, found, .. }
            if name == "out.weight" && expected == &[1, 4, 1, 1] && found == &[1, 5, 1, 1]),
        "{e}"
    );

    // Metadata for a wider network than the weights: a shape error, not a panic.
    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("channels".into(), "4,16".into()))));
    assert!(matches!(e, ScoreFileError::TensorShape { .. }), "{e}");
}

fn e_path(e: &ScoreFileError) -> String {
    match e {
        ScoreFileError::MissingTensor { path, .. } => path.clone(),
        _ => String::new(),
    }
}

#[test]
fn ve_denoise_and_level_errors() {
    let (net, _) = tiny(NetKind::Ve, 1);
    let prior = NetworkPrior::from_net(net, header(NetKind::Ve, 1, 8));
    let x = Array2::from_elem((1, 64), 0.5);
    assert!(prior.score(x.view(), 0.0).is_err());
    assert!(prior.score(x.view(), f64::NAN).is_err());
    assert!(prior.score(Array2::zeros((1, 63)).view(), 0.1).is_err());
    assert!(prior.eps(x.view(), 3.0).is_err());
    let s = prior.score(x.view(), 0.2).unwrap();
    let d = prior.denoise(x.view(), 0.2).unwrap();
    assert!(((&x + &(s * 0.04)) - d).iter().all(|v| v.abs() < 1e-12));
}
