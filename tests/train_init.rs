//! `uq train --init MODEL`: a run starts from a model file's weights; a model of another kind or
//! architecture, or `--init` with `--resume`, is an error that says which. And the augmentation and
//! schedule flags: the shipped prior's recipe runs; a flag out of range or without effect is refused.
//! And `--out` / the checkpoint replace only files uq wrote.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::Array3;
use std::path::Path;

fn train(data: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("uq").unwrap();
    cmd.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args([
            "--size",
            "16",
            "--batch",
            "2",
            "--checkpoint-every",
            "2",
            "--holdout",
            "0.25",
        ])
        .args(extra);
    cmd.assert()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Eight 16 × 16 discs of growing radius, as `images.npy` in `dir`.
fn discs(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("images.npy");
    let images = Array3::from_shape_fn((8, 16, 16), |(i, y, x)| {
        ((y as f32 - 8.0).powi(2) + (x as f32 - 8.0).powi(2) < 20.0 + i as f32) as u8 as f32 * 0.8
    });
    ndarray_npy::write_npy(&data, &images).unwrap();
    data
}

#[test]
fn init_starts_from_a_model_and_refuses_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let data = discs(dir.path());
    let first = dir.path().join("first.safetensors");
    let ve = ["--kind", "ve", "--channels", "4,8", "--steps", "2"];
    train(&data, &first, &ve).success();

    let second = dir.path().join("second.safetensors");
    let init = first.to_str().unwrap();
    train(&data, &second, &[&ve[..], &["--init", init]].concat()).success();
    let (_, meta) = uq::score::read_safetensors(&second).unwrap();
    assert!(meta.values().any(|v| v.contains("--init")), "{meta:?}");

    let out = dir.path().join("x.safetensors");
    let vp = [
        "--kind",
        "vp",
        "--channels",
        "4,8",
        "--steps",
        "2",
        "--init",
        init,
    ];
    let e = stderr(&train(&data, &out, &vp).failure());
    assert!(e.contains("a ve network, but this run trains --kind vp"), "{e}");

    let wide = [
        "--kind",
        "ve",
        "--channels",
        "4,16",
        "--steps",
        "2",
        "--init",
        init,
    ];
    let e = stderr(&train(&data, &out, &wide).failure());
    assert!(e.contains("--init") && e.contains("has shape"), "{e}");

    let both = [&ve[..], &["--init", init, "--resume", init]].concat();
    let e = stderr(&train(&data, &out, &both).failure());
    assert!(e.contains("cannot be used with"), "{e}");
    assert!(!out.exists(), "no model written by a refused run");
}

#[test]
fn wide_augmentation_runs_and_stray_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = discs(dir.path());
    let out = dir.path().join("m.safetensors");
    let base = ["--kind", "ve", "--channels", "4,8", "--steps", "3"];
    let wide = [
        "--augment",
        "full",
        "--rotate",
        "20",
        "--scale",
        "0.8,1.25",
        "--aniso",
        "--elastic",
        "3",
        "--p-warp",
        "0.9",
        "--p-sharp",
        "0.5",
        "--p-bias",
        "0.5",
        "--bias",
        "0.1",
        "--p-noise",
        "0.5",
        "--noise",
        "0.005,0.03",
        "--lr-schedule",
        "cosine",
        "--warmup",
        "2",
    ];
    train(&data, &out, &[&base[..], &wide[..]].concat()).success();
    assert!(out.is_file());

    let fresh = dir.path().join("n.safetensors");
    let cases: [(&[&str], &str); 5] = [
        (&["--p-bias", "0.5"], "add --augment full"),
        (&["--warmup", "50"], "add --lr-schedule cosine"),
        (&["--augment", "full", "--scale", "1.1"], "--scale takes LO,HI"),
        (
            &["--augment", "full", "--p-warp", "2"],
            "--p-warp 2 must be a probability",
        ),
        (
            &["--augment", "full", "--noise", "0.1,0.01"],
            "--noise 0.1,0.01 needs 0 < LO <= HI",
        ),
    ];
    for (flags, want) in cases {
        let e = stderr(&train(&data, &fresh, &[&base[..], flags].concat()).failure());
        assert!(e.contains(want), "{flags:?}: {e}");
        assert!(!fresh.exists(), "{flags:?}: nothing written");
    }
}

#[test]
fn train_replaces_its_own_files_and_never_one_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = discs(dir.path());
    let base = ["--kind", "ve", "--channels", "4,8", "--steps", "2"];
    let notes = dir.path().join("notes.safetensors");
    std::fs::write(&notes, "my notes").unwrap();
    let e = stderr(&train(&data, &notes, &base).failure());
    assert!(
        e.contains("exists and is not a model or checkpoint uq wrote"),
        "{e}"
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes");

    let before = std::fs::read(&data).unwrap();
    let e = stderr(&train(&data, &data, &base).failure());
    assert!(
        e.contains("--out") && e.contains("uq replaces only its own files"),
        "{e}"
    );
    assert_eq!(std::fs::read(&data).unwrap(), before, "the data are untouched");

    let out = dir.path().join("m.safetensors");
    let foreign = dir.path().join("ck.bin");
    std::fs::write(&foreign, "x").unwrap();
    let with_ck = [&base[..], &["--checkpoint", foreign.to_str().unwrap()]].concat();
    let e = stderr(&train(&data, &out, &with_ck).failure());
    assert!(e.contains("the checkpoint (--checkpoint)"), "{e}");
    assert!(!out.exists() && std::fs::read(&foreign).unwrap() == b"x");

    let e = stderr(&train(&data, dir.path(), &base).failure());
    assert!(e.contains("is a folder"), "{e}");

    // uq's own model and checkpoint are replaced by a second run.
    train(&data, &out, &base).success();
    train(&data, &out, &base).success();
    assert!(uq::score::written_by_uq(&out));
    assert!(uq::score::written_by_uq(&dir.path().join("m.ckpt.safetensors")));
}
