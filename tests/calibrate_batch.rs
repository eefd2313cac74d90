//! `uq calibrate --batch-reps`: repetitions run together through one network batch give every
//! repetition exactly what it has run alone (`--batch-reps 1`), for a VE network (annealed HMC) and
//! a VP network (DPS, whose VJPs go through the batch too), over groups of uneven size.
#![allow(clippy::unwrap_used)]

mod net_util;

use assert_cmd::Command;
use ndarray::Array3;
use net_util::{tiny_network, QUICK_ANNEALED};
use std::path::Path;
use uq::score::{HeaderKind, NetKind};

/// calibration.json without what may differ between the two runs: wall times and the command.
fn comparable(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("calibration.json")).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("command");
    for run in v["runs"].as_array_mut().unwrap() {
        run.as_object_mut().unwrap().remove("wall_seconds");
    }
    v
}

#[test]
fn batched_repetitions_equal_the_sequential_ones() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    tiny_network(
        &dir.join("ve.safetensors"),
        1,
        NetKind::Ve,
        HeaderKind::Ve {
            sigma_min: 0.05,
            sigma_max: 3.0,
        },
        7,
    );
    tiny_network(
        &dir.join("vp.safetensors"),
        1,
        NetKind::Vp,
        HeaderKind::Vp {
            beta_start: 1e-4,
            beta_end: 0.02,
            timesteps: 100,
        },
        7,
    );
    let truths = Array3::from_shape_fn((5, 8, 8), |(r, i, j)| {
        0.1 * ((r + 2 * i + 3 * j) % 7) as f64 - 0.3
    });
    ndarray_npy::write_npy(dir.join("truths.npy"), &truths).unwrap();
    let annealed: Vec<&str> = QUICK_ANNEALED.into_iter().chain(["--rounds", "1"]).collect();
    let dps = [
        "--sampler",
        "dps",
        "--dps-steps",
        "6",
        "--correct",
        "2",
        "--draws",
        "2",
    ];
    for (net, flags) in [("ve", &annealed[..]), ("vp", &dps[..])] {
        std::fs::write(
            dir.join(format!("{net}.uq")),
            format!(
                "data y : real[8, 8]\nprior x : real[8, 8] ~ score(\"{net}.safetensors\")\ny ~ Normal(x, 0.3)\n"
            ),
        )
        .unwrap();
        let calibrate = |batch: &str, out: &str| {
            let o = Command::cargo_bin("uq")
                .unwrap()
                .current_dir(dir)
                .args(["calibrate", &format!("{net}.uq"), "--truths", "truths.npy"])
                .args([
                    "--reps",
                    "5",
                    "--seed",
                    "3",
                    "--chains",
                    "2",
                    "--batch-reps",
                    batch,
                ])
                .args(["--out", out])
                .args(flags)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr).to_string();
            assert!(o.status.success(), "{net}, --batch-reps {batch}: {err}");
            err
        };
        let err = calibrate("2", "batched");
        assert!(err.contains("2 at a time, the network batched"), "{net}: {err}");
        let err = calibrate("1", "alone");
        assert!(!err.contains("at a time"), "{net}: {err}");
        for f in ["ranks.npy", "truths.npy", "post_mean.npy", "post_sd.npy"] {
            let bytes = |p: &str| std::fs::read(dir.join(p).join(f)).unwrap();
            assert!(
                bytes("batched") == bytes("alone"),
                "{net}: {f} differs between --batch-reps 2 and 1"
            );
        }
        let (a, b) = (comparable(&dir.join("batched")), comparable(&dir.join("alone")));
        assert_eq!(a["reps"], 5, "{net}");
        let reps: Vec<_> = a["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rep"].clone())
            .collect();
        assert_eq!(reps, (0..5).map(serde_json::Value::from).collect::<Vec<_>>());
        assert_eq!(a, b, "{net}: calibration.json differs beyond wall times");
    }
}
