//! The shipped multi-coil data against uq's operators: at the true image, the residual of the
//! 8-coil SENSE and radial likelihoods must be the simulated noise alone (σ 0.02 per real and
//! imaginary part), so χ² = Σ r²/σ² ~ χ²(n) over the acquired components. This checks the coil maps'
//! orientation, broadcasting, `fft`/`nufft` conventions and the masks against
//! `examples/multicoil/simulate.py` (numpy, exact non-uniform DFT).

use ndarray::Array2;
use std::path::Path;
use uq::infer::Posterior;
use uq::source::SourceMap;

const SIGMA: f64 = 0.02;

/// χ² of the residual at `truth` for `model` (the latent `x : real[64, 64]`), from the log-likelihood.
fn chi2_at_truth(model: &str, truth: &str) -> f64 {
    let mut sources = SourceMap::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = uq::check::check_source("t.uq", model, Some(dir), &mut sources).expect("model checks");
    let data = uq::check::bind_data(&model, &[], &mut sources).expect("data binds");
    let built = uq::session::build(&model, data, false)
        .map_err(|_| ())
        .expect("builds");
    let x: Array2<f64> = ndarray_npy::read_npy(dir.join(truth)).expect("truth");
    let xs = x.into_shape_with_order((1, 64 * 64)).expect("flat");
    let ll = built.posterior.log_likelihood(xs.view(), 0.0)[0]
        .clone()
        .expect("finite");
    // ll = −Σ r²/(2σ²) − N log(σ √(2π)) over all N real components; unacquired ones have r = 0.
    let n_all = 2.0 * model.data[model.data_index("y").unwrap()].ty.numel() as f64;
    -2.0 * (ll + n_all * (SIGMA * (2.0 * std::f64::consts::PI).sqrt()).ln())
}

fn assert_chi2(chi2: f64, n: f64, what: &str) {
    let sd = (2.0 * n).sqrt();
    assert!(
        (chi2 - n).abs() < 5.0 * sd,
        "{what}: χ² {chi2:.0}, expected {n} ± {sd:.0}"
    );
}

#[test]
fn sense_residual_at_the_truth_is_the_noise() {
    let model = r#"
import sense
data y : complex[8, 64, 64] = "examples/data/multicoil/kspace8_3.npy"
data smaps : complex[8, 64, 64] = "examples/data/multicoil/smaps8.npy"
data mask : real[64, 64] = "examples/data/multicoil/mask8.npy"
prior x : real[64, 64] ~ Normal(0, 1)
y ~ Normal(sense(x, smaps, mask), 0.02)
"#;
    let chi2 = chi2_at_truth(model, "examples/data/multicoil/truth_3.npy");
    // 8 of 64 columns, 8 coils, real and imaginary parts.
    assert_chi2(chi2, (2 * 8 * 64 * 8) as f64, "SENSE 8×");
}

#[test]
fn radial_residual_at_the_truth_is_the_noise() {
    let model = r#"
import radial
data y : complex[8, 4096] = "examples/data/multicoil/radial32_3.npy"
data smaps : complex[8, 64, 64] = "examples/data/multicoil/smaps8.npy"
data traj : real[4096, 2] = "examples/data/multicoil/traj_radial32.npy"
prior x : real[64, 64] ~ Normal(0, 1)
y ~ Normal(radial(x, smaps, traj), 0.02)
"#;
    let chi2 = chi2_at_truth(model, "examples/data/multicoil/truth_3.npy");
    assert_chi2(chi2, (2 * 8 * 4096) as f64, "radial 32 spokes");
}
