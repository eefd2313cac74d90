//! Shared helpers of the model-level statistical tests: load a model under `tests/models/`, run
//! chains from Stan's initialisation, z-scores against a known Gaussian, reporting.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::kernels_util::normal_quantile;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uq::check::{bind_data, check_file};
use uq::infer::{run_chains, Diagnostics, Posterior, RunConfig, RunOutput};
use uq::session::{build, Built};
use uq::source::SourceMap;

pub const CHAINS: usize = 4;

pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models")
}

/// Check, bind (with `overrides`) and build the model file `name` under `tests/models/`.
pub fn load(name: &str, overrides: &[(String, PathBuf)]) -> Built {
    let mut sources = SourceMap::new();
    let model = check_file(&models_dir().join(name), &mut sources)
        .unwrap_or_else(|d| panic!("{name} does not check: {d:?}"));
    let data = bind_data(&model, overrides, &mut sources)
        .unwrap_or_else(|d| panic!("{name}: data do not bind: {d:?}"));
    build(&model, data, false).unwrap_or_else(|d| panic!("{name} does not build: {d:?}"))
}

/// Run `CHAINS` chains from Stan's default initialisation, uniform on (−2, 2).
pub fn run(target: &dyn Posterior, cfg: &RunConfig, seed: u64) -> RunOutput {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x1417);
    let init = Array2::from_shape_fn((CHAINS, target.dim()), |_| r.random_range(-2.0..2.0));
    run_chains(target, cfg, init, seed, &|_| {}, &AtomicBool::new(false)).unwrap()
}

/// Quantile `p` of χ²(k) (Wilson–Hilferty; relative error well under 1% for k ≥ 2 at these p).
pub fn chi2_quantile(k: usize, p: f64) -> f64 {
    let k = k as f64;
    let c = 2.0 / (9.0 * k);
    k * (1.0 - c + normal_quantile(p) * c.sqrt()).powi(3)
}

/// z-scores of every coordinate's mean and sd against the truth, with the crate's (ArviZ) MCSEs.
pub struct Zs {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
    pub diag: Diagnostics,
}

pub fn z_scores(out: &RunOutput, mean: &Array1<f64>, sd: &Array1<f64>) -> Zs {
    let diag = Diagnostics::compute(out.draws.view());
    let zm = (0..mean.len())
        .map(|j| (diag.mean[j] - mean[j]) / diag.mcse_mean[j])
        .collect();
    let zs = (0..mean.len())
        .map(|j| (diag.sd[j] - sd[j]) / diag.mcse_sd[j])
        .collect();
    Zs {
        mean: zm,
        sd: zs,
        diag,
    }
}

pub fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, z| m.max(z.abs()))
}

pub fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

pub fn max_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

pub fn report(label: &str, out: &RunOutput, z: &Zs) {
    let s = z.diag.summary();
    eprintln!(
        "{label}: accept {:.3?}, step {:.4?}, divergences {:?}, {:.2}s; max|z| mean {:.2}, sd {:.2}; \
         R̂ max {:.4}, ESS bulk min {:.0}, tail min {:.0}, basic min {:.0}",
        out.acceptance_rate,
        out.step_size,
        out.divergences,
        out.wall_seconds,
        max_abs(&z.mean),
        max_abs(&z.sd),
        s.rhat_max,
        s.ess_bulk_min,
        s.ess_tail_min,
        min_of(&z.diag.ess_mean),
    );
}
