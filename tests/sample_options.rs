//! `uq sample`'s options come from the registry: flag values out of range, options the sampler would
//! ignore and unknown samplers are usage errors (exit 2) before anything runs; the summary names the
//! kernel that ran and every option's value.

use assert_cmd::Command;

fn sample(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("uq")
        .unwrap()
        .arg("sample")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn usage_error(args: &[&str], needle: &str) {
    let (code, _, stderr) = sample(args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: `{needle}` not in {stderr}");
    assert!(
        !stderr.contains("error["),
        "{args:?}: a usage error rendered as a diagnostic: {stderr}"
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let m = "models/blur_demo.uq";
    usage_error(&[m, "--chains", "0"], "--chains");
    usage_error(&[m, "--chains", "4294967296"], "--chains");
    usage_error(&[m, "--steps", "0"], "--steps");
    usage_error(&[m, "--target-accept", "1.5"], "--target-accept");
    usage_error(&[m, "--mh", "maybe"], "--mh");
    usage_error(&[m, "--sampler", "gibbs"], "--sampler");
}

#[test]
fn options_the_sampler_ignores_are_errors() {
    // NUTS does not read `init` (only the score samplers warm-start).
    usage_error(
        &["models/blur_demo.uq", "--init", "adjoint"],
        "--init does not apply to hmc",
    );
    usage_error(
        &["models/blur_demo.uq", "--gamma", "0.9"],
        "--gamma does not apply to hmc",
    );
}

#[test]
fn runs_too_large_for_memory_are_refused_before_allocating() {
    let (code, _, stderr) = sample(&["models/blur_demo.uq", "--chains", "65536", "--draws", "100000000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("memory"), "{stderr}");
}

#[test]
fn summary_names_the_kernel_and_the_options() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, kernel) in [(vec![], "nuts"), (vec!["--steps", "5"], "static_hmc")] {
        let out = dir.path().join(kernel);
        let mut args = vec![
            "models/blur_demo.uq",
            "--chains",
            "2",
            "--draws",
            "20",
            "--warmup",
            "20",
            "--quiet",
        ];
        args.extend(extra);
        args.extend(["--out", out.to_str().unwrap()]);
        let (code, _, stderr) = sample(&args);
        assert_eq!(code, 0, "{stderr}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["sampler"], "hmc");
        assert_eq!(summary["kernel"], kernel);
        let options = &summary["provenance"]["options"];
        assert_eq!(options["draws"], 20);
        assert_eq!(options["chains"], 2);
        assert_eq!(options["target_accept"], 0.8);
    }
}

#[test]
fn infer_options_of_another_sampler_are_set_aside_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // inpaint_demo.uq says `infer hmc(steps = 20)`; MALA has no `steps`.
    let (code, _, stderr) = sample(&[
        "models/inpaint_demo.uq",
        "--sampler",
        "mala",
        "--chains",
        "2",
        "--draws",
        "10",
        "--warmup",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note: the model's `infer hmc(…)` options are not used"),
        "{stderr}"
    );
}
