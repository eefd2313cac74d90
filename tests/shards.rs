//! Sharded runs: 8 chains in one run against 4 shards of 2 (`--chain-offset`) joined by `uq merge`,
//! bit for bit with default settings, for NUTS, annealed HMC and DPS; `uq merge` refusing runs that
//! are not shards of one.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const MODEL: &str = "data y : real[3] = \"y.npy\"\nprior x : real[3] ~ Normal(0, 1)\ny ~ Normal(x, 0.5)\n";

/// A folder with the tiny model (and a variant with another noise level) and its data.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.uq"), MODEL).unwrap();
    std::fs::write(dir.path().join("other.uq"), MODEL.replace("0.5)", "0.6)")).unwrap();
    let y = ndarray::arr1(&[0.3, -0.8, 1.1]);
    ndarray_npy::write_npy(dir.path().join("y.npy"), &y).unwrap();
    ndarray_npy::write_npy(dir.path().join("y2.npy"), &(&y * 2.0)).unwrap();
    dir
}

fn sample(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let o = dir.join(out);
    Command::cargo_bin("uq")
        .unwrap()
        .current_dir(dir)
        .args(["sample", "m.uq", "--quiet", "--out", out])
        .args(args)
        .assert()
        .success();
    o
}

fn merge(dir: &Path, out: &str, runs: &[&Path]) -> std::process::Output {
    Command::cargo_bin("uq")
        .unwrap()
        .current_dir(dir)
        .args(["merge", out])
        .args(runs)
        .output()
        .unwrap()
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

fn bytes(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One run of 8 chains and 4 shards of 2 merged: the same files and summary numbers, bit for bit.
fn one_run_equals_merged_shards(args: &[&str]) {
    let d = setup();
    let dir = d.path();
    let one = sample(dir, "one", &[args, &["--chains", "8"]].concat());
    let shards: Vec<PathBuf> = (0..4)
        .map(|k| {
            let off = (2 * k).to_string();
            sample(
                dir,
                &format!("s{k}"),
                &[args, &["--chains", "2", "--chain-offset", &off]].concat(),
            )
        })
        .collect();
    let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let o = merge(dir, "merged", &refs);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = dir.join("merged");
    for f in ["x/samples.npy", "x/mean.npy", "x/std.npy"] {
        assert!(
            bytes(one.join(f)) == bytes(merged.join(f)),
            "{f} differs ({args:?})"
        );
    }
    let (a, b) = (summary(&one), summary(&merged));
    for key in [
        "latents",
        "rhat_max",
        "ess_bulk_min",
        "ess_tail_min",
        "warnings",
        "acceptance_rate",
        "step_size",
        "divergences",
        "chains",
        "chain_indices",
        "draws",
        "seed",
        "grad_evals",
        "score_evals",
        "progress",
        "sampler",
        "kernel",
    ] {
        assert_eq!(a[key], b[key], "summary `{key}` differs ({args:?})");
    }
    assert_eq!(a["provenance"]["options"], b["provenance"]["options"]);
    // What was adapted per chain (annealed HMC's ε, the corrector's step and acceptance).
    for (outer, inner) in [
        ("schedule", "eps_per_chain"),
        ("corrector", "accept_per_chain"),
        ("corrector", "step_size_per_chain"),
    ] {
        assert_eq!(
            a["extra"][outer][inner], b["extra"][outer][inner],
            "extra.{outer}.{inner} differs ({args:?})"
        );
    }
    assert_eq!(b["chain_indices"], serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7]));
    if one.join("sample_stats.npz").exists() {
        let read = |p: &Path| {
            let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(p.join("sample_stats.npz")).unwrap())
                .unwrap();
            let acc: ndarray::Array2<f64> = r.by_name("acceptance_rate").unwrap();
            let steps: ndarray::Array2<i64> = r.by_name("n_steps").unwrap();
            (acc, steps)
        };
        assert_eq!(read(&one), read(&merged));
    }
}

#[test]
fn nuts_shards_merge_to_the_one_run() {
    one_run_equals_merged_shards(&["--draws", "40", "--warmup", "40"]);
}

#[test]
fn annealed_hmc_shards_merge_to_the_one_run() {
    // Default settings: the heuristic's ε and the corrector's step adapt per annealing run.
    one_run_equals_merged_shards(&["--sampler", "annealed-hmc"]);
}

#[test]
fn annealed_hmc_shards_with_a_warmup_merge_to_the_one_run() {
    // Dual averaging at σ_min from each run's own ε, and rounds split over batches differently
    // (8 chains × 9 rounds = 72 runs > the batch of 64; a shard's 18 runs fit in one).
    one_run_equals_merged_shards(&[
        "--sampler",
        "annealed-hmc",
        "--gamma",
        "0.9",
        "--rounds",
        "9",
        "--warmup",
        "20",
        "--draws",
        "2",
    ]);
}

#[test]
fn dps_shards_merge_to_the_one_run() {
    // Default settings (the corrector on, its step adapted per sample), 2 rounds per chain.
    one_run_equals_merged_shards(&["--sampler", "dps", "--draws", "2"]);
}

#[test]
fn merge_refuses_other_runs_and_marks_a_partial_merge() {
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["--draws", "10", "--warmup", "10", "--chains", "2"][..], extra].concat()
    }
    let d = setup();
    let dir = d.path();
    let base = ["--draws", "10", "--warmup", "10", "--chains", "2"];
    let s0 = sample(dir, "s0", &with(&["--chain-offset", "0"]));
    let s1 = sample(dir, "s1", &with(&["--chain-offset", "2"]));
    let s3 = sample(dir, "s3", &with(&["--chain-offset", "6"]));
    let seed = sample(dir, "seed", &with(&["--chain-offset", "2", "--seed", "7"]));
    let overlap = sample(dir, "overlap", &with(&["--chain-offset", "1"]));
    let data = sample(dir, "data", &with(&["--chain-offset", "2", "--data", "y=y2.npy"]));
    let other = dir.join("other");
    Command::cargo_bin("uq")
        .unwrap()
        .current_dir(dir)
        .args([
            "sample",
            "other.uq",
            "--quiet",
            "--out",
            "other",
            "--chain-offset",
            "2",
        ])
        .args(base)
        .assert()
        .success();
    for (run, says) in [
        (&seed, "seed differ"),
        (&overlap, "both hold chain 1"),
        (&data, "data (SHA-256 per tensor) differ"),
        (&other, "model (SHA-256 of its text) differ"),
    ] {
        let o = merge(dir, "m", &[&s0, run]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "expected `{says}` in: {err}");
        assert!(!dir.join("m").exists());
    }
    let o = merge(dir, "m", &[&s3, &s0, &s1]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("chains [4, 5] are missing"), "{err}");
    let s = summary(&dir.join("m"));
    assert_eq!(s["chain_indices"], serde_json::json!([0, 1, 2, 3, 6, 7]));
    assert_eq!(s["extra"]["merge"]["missing_chains"], serde_json::json!([4, 5]));
    assert_eq!(s["chains"], 6);
}

#[test]
fn shard_from_env_sets_the_offset_and_says_when_it_cannot() {
    let d = setup();
    let dir = d.path();
    let run = |env: &[(&str, &str)], out: &str| {
        let mut c = Command::cargo_bin("uq").unwrap();
        c.current_dir(dir)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .args([
                "sample", "m.uq", "--quiet", "--draws", "5", "--warmup", "5", "--chains", "2",
            ])
            .args(["--shard-from-env", "--out", out]);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = run(&[("SLURM_ARRAY_TASK_ID", "3")], "a");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        summary(&dir.join("a"))["chain_indices"],
        serde_json::json!([6, 7])
    );
    let o = run(&[], "b");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SLURM_ARRAY_TASK_ID"));
    let o = run(&[("JOB_COMPLETION_INDEX", "x")], "c");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a whole number"));
}

/// The network prior gives every image of a batch the same bits whatever the batch's size and the
/// image's place in it (score and VJP): what lets annealed HMC and DPS batch a shard's chains
/// differently from one run's and still match it bit for bit.
#[test]
fn network_batches_give_each_image_the_same_bits() {
    use rand::{Rng, SeedableRng};
    use uq::score::{NetworkPrior, ScoreModel};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let prior = NetworkPrior::load(&root.join("models/head64_ve.safetensors")).unwrap();
    let dim = prior.dim();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let x = ndarray::Array2::from_shape_fn((5, dim), |_| rng.random_range(0.0..1.0));
    let g = ndarray::Array2::from_shape_fn((5, dim), |_| rng.random_range(-1.0..1.0));
    let sigma = 0.1;
    let all = prior.score(x.view(), sigma).unwrap();
    let all_vjp = prior.score_vjp(x.view(), sigma, g.view()).unwrap();
    for (rows, label) in [(vec![3], "alone"), (vec![4, 1, 3], "reordered in 3")] {
        let pick = |a: &ndarray::Array2<f64>| a.select(ndarray::Axis(0), &rows);
        let part = prior.score(pick(&x).view(), sigma).unwrap();
        let part_vjp = prior.score_vjp(pick(&x).view(), sigma, pick(&g).view()).unwrap();
        assert!(part == pick(&all), "score of a batch {label} differs");
        assert!(part_vjp == pick(&all_vjp), "VJP of a batch {label} differs");
    }
}

/// A batch with a level per row (`score_rows`, what a batched stack sends) gives every row the bits
/// of a call at its own level alone, for the VE and the VP prior (score and VJP).
#[test]
fn network_rows_at_their_own_levels_give_the_same_bits() {
    use rand::{Rng, SeedableRng};
    use uq::score::{NetworkPrior, ScoreModel};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (file, levels) in [
        ("models/head64_ve.safetensors", [0.5, 0.02, 0.5, 0.1]),
        ("models/head64_vp.safetensors", [3.0, 500.0, 3.0, 999.0]),
    ] {
        let prior = NetworkPrior::load(&root.join(file)).unwrap();
        let dim = prior.dim();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let x = ndarray::Array2::from_shape_fn((4, dim), |_| rng.random_range(0.0..1.0));
        let g = ndarray::Array2::from_shape_fn((4, dim), |_| rng.random_range(-1.0..1.0));
        let mixed = prior.score_rows(x.view(), &levels).unwrap();
        let mixed_vjp = prior.score_vjp_rows(x.view(), &levels, g.view()).unwrap();
        for (i, &l) in levels.iter().enumerate() {
            let (xi, gi) = (
                x.slice(ndarray::s![i..i + 1, ..]),
                g.slice(ndarray::s![i..i + 1, ..]),
            );
            assert!(
                prior.score(xi, l).unwrap().row(0) == mixed.row(i),
                "{file}: score of row {i}"
            );
            let v = prior.score_vjp(xi, l, gi).unwrap();
            assert!(v.row(0) == mixed_vjp.row(i), "{file}: VJP of row {i}");
        }
    }
}

/// `score_and_vjp` (one forward pass, the cotangent computed from its output, as DPS asks) gives the
/// bits of `score` then `score_vjp` with that cotangent, for the VE and the VP prior.
#[test]
fn network_score_and_vjp_on_one_pass_give_the_same_bits() {
    use rand::{Rng, SeedableRng};
    use uq::score::{NetworkPrior, ScoreModel};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (file, level) in [
        ("models/head64_ve.safetensors", 0.1),
        ("models/head64_vp.safetensors", 500.0),
    ] {
        let prior = NetworkPrior::load(&root.join(file)).unwrap();
        let dim = prior.dim();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let x = ndarray::Array2::from_shape_fn((3, dim), |_| rng.random_range(0.0..1.0));
        // A cotangent that depends on the output, like DPS's.
        let cot = |s: &ndarray::Array2<f64>| s.mapv(|v| (0.3 * v).sin());
        let (s, j) = prior.score_and_vjp(x.view(), level, &mut |s| Ok(cot(s))).unwrap();
        let s2 = prior.score(x.view(), level).unwrap();
        let j2 = prior.score_vjp(x.view(), level, cot(&s2).view()).unwrap();
        assert!(s == s2, "{file}: score differs");
        assert!(j == j2, "{file}: VJP differs");
        // An error of the cotangent is the call's error.
        let e = prior.score_and_vjp(x.view(), level, &mut |_| {
            Err(uq::score::ScoreError("no cotangent".into()))
        });
        assert!(e.is_err_and(|e| e.to_string().contains("no cotangent")), "{file}");
    }
    // The VE network seen as a VP one (how DPS runs on it) passes the one pass through.
    let ve = NetworkPrior::load(&root.join("models/head64_ve.safetensors")).unwrap();
    let view = uq::score::VpView::of_ve(&ve).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let x = ndarray::Array2::from_shape_fn((2, view.dim()), |_| rng.random_range(0.0..1.0));
    let cot = |s: &ndarray::Array2<f64>| s.mapv(|v| (0.3 * v).cos());
    let before = ve.evaluations();
    let (s, j) = view.score_and_vjp(x.view(), 200.0, &mut |s| Ok(cot(s))).unwrap();
    assert_eq!(ve.evaluations() - before, 4, "one forward and one VJP per image");
    let s2 = view.score(x.view(), 200.0).unwrap();
    let j2 = view.score_vjp(x.view(), 200.0, cot(&s2).view()).unwrap();
    assert!(s == s2 && j == j2, "the VP view of the VE network differs");
}
