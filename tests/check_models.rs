//! `uq check` accepts every shipped model (`models/*.uq`, `tests/valid/*.uq`), and the checked models
//! have the structure, types and data their files describe.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use uq::check::{bind_data, check_file, check_source, PriorSpec, STDLIB};
use uq::graph::{FftCache, NodeKind, Ty, Value};
use uq::source::SourceMap;

fn models() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["models", "tests/valid"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "uq") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn uq_check_passes_on_every_model() {
    let all = models();
    assert!(all.len() >= 8, "{all:?}");
    for path in all {
        let out = Command::cargo_bin("uq")
            .unwrap()
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}:\n{stderr}", path.display());
        assert!(stdout.contains("valid"), "{}: {stdout}", path.display());
    }
}

#[test]
fn every_stdlib_module_has_a_model() {
    let text: String = models()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for (name, _) in STDLIB {
        assert!(
            text.contains(&format!("import {name}")),
            "no model imports `{name}`"
        );
    }
}

fn load(path: &str) -> (uq::check::Model, Vec<Value>) {
    let mut sources = SourceMap::new();
    let model = check_file(Path::new(path), &mut sources).unwrap();
    let data = bind_data(&model, &[], &mut sources).unwrap();
    (model, data)
}

#[test]
fn mri_model_lowers_to_mask_times_fft_and_fits_its_data() {
    let (model, data) = load("models/mri_gauss.uq");
    assert_eq!(model.name, "mri_gauss");
    assert_eq!(model.latents.len(), 1);
    assert_eq!(model.latents[0].ty, Ty::real(vec![32, 32]));
    assert_eq!(
        model.data[model.data_index("y").unwrap()].ty,
        Ty::complex(vec![32, 32])
    );
    // Real file promoted? No: y is complex64 on disk, read as complex.
    assert!(data[0].is_complex());
    let l = &model.observations[0].likelihood;
    assert_eq!(l.name(), "Normal");
    let (Some(mean), Some(sigma)) = (l.param("mean"), l.param("sigma")) else {
        panic!("{l:?}")
    };
    let NodeKind::Op(op, _) = &model.graph.nodes[mean.0].kind else {
        panic!()
    };
    assert_eq!(op.name(), "mul");
    // At the true image the residual is the simulated noise (sd 0.05 per part on sampled rows).
    let truth = uq::check::read_npy(Path::new("models/data/mri_truth.npy")).unwrap();
    let values = model
        .graph
        .forward(&[truth], &data, &FftCache::default())
        .unwrap();
    let (Value::Complex(mu), Value::Complex(y)) = (&values[mean.0], &data[0]) else {
        panic!()
    };
    let r: Vec<f64> = mu
        .iter()
        .zip(y.iter())
        .filter(|(_, y)| y.norm() > 0.0)
        .map(|(m, y)| (m - y).norm_sqr())
        .collect();
    let per_part = (r.iter().sum::<f64>() / (2.0 * r.len() as f64)).sqrt();
    assert!((per_part - 0.05).abs() < 0.01, "residual sd {per_part}");
    assert_eq!(
        model.graph.nodes[sigma.0].kind,
        NodeKind::Const(Value::scalar(0.05))
    );
}

#[test]
fn card_forms_take_the_type_from_the_score_file() {
    let (model, _) = load("tests/checker_only/card_score.uq");
    let x = &model.latents[0];
    assert_eq!(x.ty, Ty::real(vec![32, 32]));
    let PriorSpec::Score {
        header: Some(h),
        path,
        ..
    } = &x.prior
    else {
        panic!("{:?}", x.prior)
    };
    assert_eq!(h.image_shape, [32, 32]);
    assert!(path.ends_with("knee.safetensors"));
}

#[test]
fn declared_score_type_without_file_is_a_warning() {
    let (model, _) = load("tests/checker_only/score_declared_missing.uq");
    assert_eq!(model.warnings.len(), 1);
    assert_eq!(model.warnings[0].code, "E0601");
    let (model, _) = load("models/mri_score.uq");
    assert!(model.warnings.is_empty());
    assert_eq!(model.infer.as_ref().unwrap().sampler.name, "annealed_hmc");
}

#[test]
fn prior_only_and_mixture_models() {
    let (model, _) = load("models/prior_only.uq");
    assert!(model.is_prior_only());
    let (model, _) = load("models/mixture_regression.uq");
    assert_eq!(model.latents[0].ty, Ty::real(vec![2]));
    assert!(matches!(
        &model.latents[0].prior,
        PriorSpec::Dist(c) if c.name() == "GaussianMixture"
    ));
}

#[test]
fn check_source_uses_the_stdlib_without_a_folder() {
    let mut sources = SourceMap::new();
    let text = "import superres\nprior x : real[8, 8] ~ Normal(0, 1)\ndata y : real[4, 4]\ny ~ Normal(superres(superres_adjoint(superres(x, 2), 2), 2), 0.1)\n";
    let model = check_source("repl", text, None, &mut sources).unwrap();
    assert_eq!(model.name, "repl");
    let l = &model.observations[0].likelihood;
    assert_eq!(l.name(), "Normal");
    let Some(mean) = l.param("mean") else {
        panic!("{l:?}")
    };
    assert_eq!(model.graph.nodes[mean.0].ty, Ty::real(vec![4, 4]));
}

#[test]
fn real_files_feed_complex_data() {
    let mut sources = SourceMap::new();
    let text = "data y : complex[4] = \"tests/invalid/data/real4.npy\"\nprior x : complex[4] ~ Normal(0, 1)\ny ~ Normal(x, 1)\n";
    let model = check_source("t", text, Some(Path::new("")), &mut sources).unwrap();
    let data = bind_data(&model, &[], &mut sources).unwrap();
    assert!(data[0].is_complex());
    assert_eq!(data[0].shape(), &[4]);
}

#[test]
fn mutated_models_never_panic_the_checker() {
    // Delete, duplicate or replace one byte at many positions of every model: the checker must
    // answer with a model or diagnostics, never a panic.
    let repl = [b'(', b')', b'~', b'[', b'0', b'x', b'\n', b'"', b'*', b','];
    for path in models() {
        let text = std::fs::read_to_string(&path).unwrap();
        let bytes = text.as_bytes();
        for (k, i) in (0..bytes.len()).step_by(7).enumerate() {
            let mut variants = vec![[&bytes[..i], &bytes[i + 1..]].concat()];
            variants.push([&bytes[..i], &[repl[k % repl.len()]][..], &bytes[i + 1..]].concat());
            variants.push([&bytes[..i], &bytes[i..]].concat());
            for v in variants {
                let Ok(s) = String::from_utf8(v) else { continue };
                let mut sources = SourceMap::new();
                let _ = check_source("mutant.uq", &s, path.parent(), &mut sources);
            }
        }
    }
}
