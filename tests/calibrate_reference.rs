//! `--reference gmm`: the exact mixture posterior of a linear-Gaussian model against exact Gaussian
//! draws (one component) and against NUTS (two components, through `calibrate`).

#[path = "kernels_util/mod.rs"]
mod kernels_util;

use kernels_util::{cholesky, gaussian_posterior, normal_vector, rng};
use ndarray::{array, Array1, Array2, Array3};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use uq::calibrate::{calibrate, with_mixture_prior, Gmm, Reference, Spec};
use uq::check::{bind_data, check_file, Model};
use uq::graph::Value;
use uq::session::{prepare, Given, Origin, Raw, Request};
use uq::source::SourceMap;

fn mixing() -> Array2<f64> {
    array![
        [0.6, 0.3, 0.0, 0.3],
        [0.3, 0.6, 0.3, 0.0],
        [0.0, 0.3, 0.6, 0.3],
        [0.3, 0.0, 0.3, 0.6]
    ]
}

fn model_and_data(dir: &Path, y: &Array1<f64>) -> (Model, Vec<Value>) {
    let (a, yp) = (dir.join("A.npy"), dir.join("y.npy"));
    ndarray_npy::write_npy(&a, &mixing()).unwrap();
    ndarray_npy::write_npy(&yp, y).unwrap();
    let mut sources = SourceMap::new();
    let model = check_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/linear4.uq"),
        &mut sources,
    )
    .unwrap();
    let data = bind_data(&model, &[("A".into(), a), ("y".into(), yp)], &mut sources).unwrap();
    (model, data)
}

fn request(flags: &[(&str, &str)]) -> Request {
    Request {
        sampler: Some("hmc".into()),
        sampler_origin: "--sampler",
        given: flags
            .iter()
            .map(|(k, v)| Given {
                key: k.to_string(),
                value: Raw::Text(v.to_string()),
                origin: Origin::Flag,
            })
            .collect(),
    }
}

#[test]
fn one_component_reference_is_the_gaussian_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let y = array![0.5, -0.3, 1.2, 0.1];
    let (model, data) = model_and_data(dir.path(), &y);
    let g = Gmm {
        weights: vec![1.0],
        means: vec![0.2, -0.1, 0.0, 0.3],
        sigmas: vec![0.8],
        dim: 4,
    };
    let m = with_mixture_prior(&model, &g).unwrap();
    let base = prepare(&m, data.clone(), &request(&[])).unwrap_or_else(|_| panic!("prepare"));
    let r = Reference::new(&base.built.posterior, g.clone()).unwrap();
    // Exact draws of N(mean, cov), the closed form (noise sd 0.3 in linear4.uq).
    let prior_mean = Array1::from(g.means.clone());
    let (mean, cov) = gaussian_posterior(&mixing(), &y, 0.3, &prior_mean, &Array1::from_elem(4, 0.8));
    let l = cholesky(&cov);
    let mut rg = rng(5);
    let n = 4000;
    let draws = Array3::from_shape_fn((4, n / 4, 4), |_| 0.0);
    let mut draws = draws;
    for c in 0..4 {
        for j in 0..n / 4 {
            let x = &mean + &l.dot(&normal_vector(&mut rg, 4, 1.0));
            draws.slice_mut(ndarray::s![c, j, ..]).assign(&x);
        }
    }
    let cmp = r
        .compare(
            &data,
            draws.view(),
            &uq::infer::Diagnostics::compute(draws.view()),
        )
        .unwrap();
    // Exact draws: the error is Monte-Carlo noise alone (≈ floor ≈ 1/√n); sd within its own MCSE.
    assert!(cmp.mean_error < 3.0 * cmp.mc_floor, "{cmp:?}");
    assert!(
        (cmp.sd_ratio - 1.0).abs() < 4.0 / (2.0 * n as f64).sqrt(),
        "{cmp:?}"
    );
    assert_eq!(cmp.weights_draws, vec![1.0]);
}

#[test]
fn nuts_matches_a_two_component_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (model, data) = model_and_data(dir.path(), &Array1::zeros(4));
    let g = Gmm {
        weights: vec![0.4, 0.6],
        means: vec![1.0, 1.0, 0.0, 0.0, -0.5, 0.0, 0.5, 0.0],
        sigmas: vec![0.5, 0.7],
        dim: 4,
    };
    let m = with_mixture_prior(&model, &g).unwrap();
    let req = request(&[("draws", "500"), ("warmup", "300")]);
    let base = prepare(&m, data.clone(), &req).unwrap_or_else(|_| panic!("prepare"));
    let r = Reference::new(&base.built.posterior, g).unwrap();
    let spec = Spec {
        reference: Some(&r),
        ..Spec::new(&m, data, req, 12)
    };
    let out = calibrate(&spec, &base, &|_| {}, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    let c: Vec<_> = out.runs.iter().map(|r| r.reference.clone().unwrap()).collect();
    let (err2, floor2): (f64, f64) = c
        .iter()
        .map(|c| (c.mean_error.powi(2), c.mc_floor.powi(2)))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    // Exact sampling: Σ error² ≈ Σ floor² × χ²₄₈/48 (sd 0.2); 3 sd.
    assert!(err2 < 1.6 * floor2, "error² {err2} vs floor² {floor2}");
    let ratio = c.iter().map(|c| c.sd_ratio).sum::<f64>() / c.len() as f64;
    assert!((ratio - 1.0).abs() < 0.1, "sd ratio {ratio}");
    let tv = c
        .iter()
        .map(|c| {
            0.5 * c
                .weights_exact
                .iter()
                .zip(&c.weights_draws)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / c.len() as f64;
    assert!(tv < 0.1, "weights off by {tv}");
}
