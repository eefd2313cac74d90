//! U-Net tests: batch independence, VE scaling, forward/VJP against finite differences, save → load, corrupt files.

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
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels,
        kind,
    };
    let (vb, vars) = seeded_builder(3);
    (UNet::new(&cfg, vb).unwrap(), vars)
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
    let one = net.forward(&x.narrow(0, 1, 1).unwrap(), &lv.narrow(0, 0, 1).unwrap()).unwrap();
    let diff = (one - out.narrow(0, 1, 1).unwrap()).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    // −σ gives the same σ-embedding, the sign only enters through the σ-map; both divide by |σ|.
    assert!(net.forward(&x, &Tensor::new(&[0.5f32, 0.5, 0.0], &Device::Cpu).unwrap()).is_ok());
    assert!(net.forward(&Tensor::zeros((1, 1, 6, 6), candle_core::DType::F32, &Device::Cpu).unwrap(), &lv).is_err());
}

/// Directional derivative check: ⟨v, J d⟩ from the VJP against central differences of ⟨v, s(x)⟩.
/// Tolerance: the truncation error estimated by Richardson (|fd(h) − fd(h/2)|, times 4 for safety)
/// plus the f32 round-off of the difference quotient, 16 ε₃₂ Σ|v s| / h.
fn check_vjp(prior: &NetworkPrior, level: f64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = prior.dim();
    let x = rand_rows(&mut rng, 2, n).mapv(|v| 0.5 + 0.3 * v);
    let v = rand_rows(&mut rng, 2, n);
    let d = rand_rows(&mut rng, 2, n);
    let vjp = prior.score_vjp(x.view(), level, v.view()).unwrap();
    let s0 = prior.score(x.view(), level).unwrap();
    for row in 0..2 {
        let f = |h: f64| -> f64 {
            let xp = &x + &(&d * h);
            let xm = &x - &(&d * h);
            let sp = prior.score(xp.view(), level).unwrap();
            let sm = prior.score(xm.view(), level).unwrap();
            (sp.row(row).dot(&v.row(row)) - sm.row(row).dot(&v.row(row))) / (2.0 * h)
        };
        let h = 1e-2;
        let (fd, fd2) = (f(h), f(h / 2.0));
        let analytic = vjp.row(row).dot(&d.row(row));
        let scale: f64 = s0.row(row).iter().zip(v.row(row)).map(|(a, b)| (a * b).abs()).sum();
        let tol = 4.0 * (fd - fd2).abs() + 16.0 * f64::from(f32::EPSILON) * scale / (h / 2.0);
        assert!(
            (fd2 - analytic).abs() <= tol,
            "row {row}: fd {fd2} vs vjp {analytic} (tol {tol})"
        );
        assert!(analytic.abs() > 10.0 * tol, "check is vacuous: {analytic} vs tol {tol}");
    }
}

#[test]
fn ve_vjp_matches_finite_differences_real_and_complex() {
    for ch in [1, 2] {
        let (net, _) = tiny(NetKind::Ve, ch);
        let prior = NetworkPrior::from_net(net, header(NetKind::Ve, ch, 8));
        check_vjp(&prior, 0.3, 10 + ch as u64);
        assert_eq!(prior.evaluations(), 2 + 2 * 8);
    }
}

#[test]
fn vp_vjp_matches_finite_differences() {
    let (net, _) = tiny(NetKind::Vp, 1);
    let prior = NetworkPrior::from_net(net, header(NetKind::Vp, 1, 8));
    check_vjp(&prior, 500.0, 5);
}

#[test]
fn complex_rows_are_interleaved_re_im() {
    // Flat row = [H, W, C]: the real part of pixel (0, 0) is element 0, its imaginary part element 1.
    let (net, _) = tiny(NetKind::Ve, 2);
    let prior = NetworkPrior::from_net(net, header(NetKind::Ve, 2, 8));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = rand_rows(&mut rng, 1, 128);
    let s = prior.score(x.view(), 0.2).unwrap();
    let xt = Tensor::from_vec(x.iter().map(|&v| v as f32).collect::<Vec<_>>(), (1, 8, 8, 2), &Device::Cpu)
        .unwrap()
        .permute((0, 3, 1, 2))
        .unwrap()
        .contiguous()
        .unwrap();
    let direct = prior_net_forward(&prior, &xt, 0.2);
    let im00 = direct.get(0).unwrap().get(1).unwrap().get(0).unwrap().get(0).unwrap();
    assert!((f64::from(im00.to_scalar::<f32>().unwrap()) - s[[0, 1]]).abs() < 1e-6);
}

/// The same seeded network as `prior`'s, called directly on a `[B, C, H, W]` tensor.
fn prior_net_forward(_prior: &NetworkPrior, x: &Tensor, sigma: f32) -> Tensor {
    let (net, _) = tiny(NetKind::Ve, 2);
    net.forward(x, &Tensor::new(&[sigma], &Device::Cpu).unwrap()).unwrap()
}

fn save_tiny(vars: &crate::score::init::VarStore, kind: NetKind, ch: usize, path: &Path) {
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels: ch,
        kind,
    };
    let h = header(kind, ch, 8);
    let hk = h.kind.clone();
    let w: BTreeMap<String, Tensor> =
        vars.lock().unwrap().iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
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

fn rewrite(path: &Path, edit: impl FnOnce(&mut BTreeMap<String, Tensor>, &mut std::collections::HashMap<String, String>)) {
    let (mut t, mut m) = read_safetensors(path).unwrap();
    edit(&mut t, &mut m);
    write_safetensors(path, &t, m).unwrap();
}

#[test]
fn corrupt_files_are_typed_errors() {
    let e = NetworkPrior::load(Path::new("/nonexistent/m.safetensors")).err().unwrap();
    assert!(matches!(e, ScoreFileError::Header(HeaderError::Io { .. })), "{e}");

    let e = load_err(|p| {
        let b = std::fs::read(p).unwrap();
        std::fs::write(p, &b[..b.len() - 100]).unwrap();
    });
    assert!(matches!(e, ScoreFileError::Header(HeaderError::Format { .. })), "truncated: {e}");

    let e = load_err(|p| std::fs::write(p, b"\x10\0\0\0\0\0\0\0{not json at all}").unwrap());
    assert!(matches!(e, ScoreFileError::Header(HeaderError::Format { .. })), "garbage: {e}");

    let e = load_err(|p| rewrite(p, |_, m| m.clear()));
    assert!(matches!(e, ScoreFileError::Header(HeaderError::Metadata { .. })), "no metadata: {e}");

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("kind".into(), "sde".into()))));
    assert!(e.to_string().contains("kind `sde`"), "wrong kind: {e}");

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("architecture".into(), "resnet".into()))));
    assert!(matches!(e, ScoreFileError::Architecture { .. }), "{e}");

    let e = load_err(|p| rewrite(p, |_, m| drop(m.insert("image_shape".into(), "6,6".into()))));
    assert!(matches!(e, ScoreFileError::Build { .. }), "indivisible shape: {e}");

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
            t.insert("out.weight".into(), Tensor::zeros((1, 5, 1, 1), candle_core::DType::F32, &Device::Cpu).unwrap());
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
