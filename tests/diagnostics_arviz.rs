//! R̂, ESS and MCSE agree with ArviZ on stored draws (fixture made by tests/fixtures/arviz/make_fixture.py).
//! Observed agreement is ~1e-14 relative (FFT and summation order); the test demands 1e-9.

use ndarray::Array3;
use ndarray_npy::read_npy;
use serde_json::Value;
use uq::infer::Diagnostics;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arviz");

fn expected() -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn check(name: &str) {
    let draws: Array3<f64> = read_npy(format!("{DIR}/{name}.npy")).unwrap();
    let exp = expected();
    let exp = &exp[name];
    let d = Diagnostics::compute(draws.view());
    let ours = [
        ("rhat", &d.rhat),
        ("ess_bulk", &d.ess_bulk),
        ("ess_tail", &d.ess_tail),
        ("ess_mean", &d.ess_mean),
        ("mcse_mean", &d.mcse_mean),
        ("mcse_sd", &d.mcse_sd),
    ];
    let mut worst = 0.0f64;
    for (key, got) in ours {
        let want: Vec<f64> = exp[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{name}.{key}");
        for (p, (g, w)) in got.iter().zip(&want).enumerate() {
            let rel = (g - w).abs() / w.abs();
            worst = worst.max(rel);
            assert!(rel < 1e-9, "{name}.{key}[{p}]: ours {g}, arviz {w} (rel {rel:e})");
        }
    }
    eprintln!("{name}: worst relative difference to ArviZ {worst:e}");
}

#[test]
fn matches_arviz_even_draws() {
    assert_eq!(expected()["arviz_version"].as_str().unwrap(), "0.23.4");
    check("draws");
}

#[test]
fn matches_arviz_odd_draws() {
    check("draws_odd");
}
