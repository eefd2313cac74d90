//! A complex (2-channel) score prior in a model, checked and sampled end to end, with its data read
//! from a BART `.cfl/.hdr` pair and the run written with `--format cfl` (read back equal to the npy).
#![allow(clippy::unwrap_used)]

mod net_util;

use assert_cmd::Command;
use ndarray::{Array2, ArrayD};
use ndarray_npy::{read_npy, write_npy};
use net_util::{tiny_network, QUICK_ANNEALED};
use num_complex::Complex64;
use std::path::Path;
use uq::graph::Value;
use uq::score::{HeaderKind, NetKind};

/// A tiny seeded complex VE network (as `uq bench score --image-channels 2` builds), 8×8.
fn tiny_complex_prior(path: &Path) {
    let kind = HeaderKind::Ve {
        sigma_min: 0.05,
        sigma_max: 3.0,
    };
    tiny_network(path, 2, NetKind::Ve, kind, 5);
}

fn complex(v: Value) -> ArrayD<Complex64> {
    match v {
        Value::Complex(a) => a,
        Value::Real(_) => panic!("a .cfl holds complex values"),
    }
}

#[test]
fn complex_score_prior_checks_and_samples_with_bart_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_complex_prior(&d.join("tiny.safetensors"));
    // k-space of a complex 8×8 image as a BART pair (dims [8, 8]), and a mask.
    let y = Array2::from_shape_fn((8, 8), |(r, c)| {
        Complex64::new((r * 8 + c) as f64 / 64.0, (r as f64 - c as f64) / 16.0)
    });
    uq::output::write_cfl(&d.join("kspace.cfl"), &y).unwrap();
    write_npy(
        d.join("mask.npy"),
        &Array2::from_shape_fn((8, 8), |(_, c)| f64::from(c % 2 == 0)),
    )
    .unwrap();
    let model = d.join("m.uq");
    std::fs::write(
        &model,
        "import mri\n\
         data y : complex[8, 8] = \"kspace.cfl\"\n\
         data mask : real[8, 8] = \"mask.npy\"\n\
         prior x : complex[8, 8] ~ score(\"tiny.safetensors\")\n\
         y ~ Normal(mri(x, mask), 0.1)\n",
    )
    .unwrap();
    let check = Command::cargo_bin("uq")
        .unwrap()
        .arg("check")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let out = d.join("run");
    let run = Command::cargo_bin("uq")
        .unwrap()
        .args([
            "sample", "--quiet", "--format", "npy,cfl", "--chains", "2", "--rounds", "1",
        ])
        // The planner picks DPS for a complex VE prior; annealed HMC at quick settings is faster.
        .args(["--sampler", "annealed_hmc"])
        .args(QUICK_ANNEALED)
        .arg("--out")
        .arg(&out)
        .arg(&model)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    // Every .cfl holds the .npy's values (as complex64) in the npy's shape; std is real.
    let x = out.join("x");
    let samples: ArrayD<Complex64> = read_npy(x.join("samples.npy")).unwrap();
    assert_eq!(samples.shape(), &[2, 1, 8, 8]);
    let back = complex(uq::check::read_cfl(&x.join("samples.cfl")).unwrap());
    // [2, 1, 8, 8] → BART [8, 8, 1, 2]: the inner size-1 axis is kept.
    assert_eq!(back.shape(), samples.shape());
    let f32c = |z: &Complex64| Complex64::new(f64::from(z.re as f32), f64::from(z.im as f32));
    assert_eq!(back, samples.map(f32c));
    let mean: ArrayD<Complex64> = read_npy(x.join("mean.npy")).unwrap();
    assert_eq!(
        complex(uq::check::read_cfl(&x.join("mean.hdr")).unwrap()),
        mean.map(f32c)
    );
    let std: ArrayD<f64> = read_npy(x.join("std.npy")).unwrap();
    let std_back = complex(uq::check::read_cfl(&x.join("std.cfl")).unwrap());
    assert_eq!(std_back, std.map(|s| Complex64::new(f64::from(*s as f32), 0.0)));
    assert!(
        samples.iter().any(|z| z.im.abs() > 1e-6),
        "a complex latent has imaginary parts"
    );

    // summary.json lists the pairs, and the data pair is recorded as both files.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let files: Vec<&str> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "x/samples.cfl",
        "x/samples.hdr",
        "x/mean.cfl",
        "x/mean.hdr",
        "x/std.cfl",
        "x/std.hdr",
    ] {
        assert!(files.contains(&f), "{f} not in {files:?}");
    }
    let data = s["provenance"]["data"].to_string();
    assert!(
        data.contains("kspace.cfl") && data.contains("kspace.hdr"),
        "{data}"
    );

    // The folder is uq's own run: a second run with the default format replaces it.
    let again = Command::cargo_bin("uq")
        .unwrap()
        .args([
            "sample", "--quiet", "--chains", "2", "--rounds", "1", "--gamma", "0.5",
        ])
        .args(["--sigma-min", "0.1", "--steps", "2", "--correct", "2"])
        .args(["--sampler", "annealed_hmc", "--out"])
        .arg(&out)
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(!x.join("samples.cfl").exists() && x.join("samples.npy").is_file());
}
