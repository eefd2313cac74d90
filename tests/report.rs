//! `uq report` end to end on tiny runs: the page is written into the run folder, is self-contained,
//! has the sections of its run, adds PSNR with `--truth`; bad inputs are refused and write nothing.
//! The headless-Chromium rendering check is `#[ignore]`d (CI has no browser): docs/report.md.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn uq() -> Command {
    Command::cargo_bin("uq").unwrap()
}

fn sample(model: &str, out: &Path, extra: &[&str]) {
    uq().args(["sample", model, "--quiet", "--seed", "3", "--out"])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

/// A 32×32 deblurring run (analytic prior, NUTS) of 2 chains × 8 draws, shared by the tests.
fn image_run(root: &Path) -> PathBuf {
    let out = root.join("blur");
    let few = ["--chains", "2", "--draws", "8", "--warmup", "10"];
    sample("models/blur_demo.uq", &out, &few);
    out
}

fn report(dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    uq().arg("report").arg(dir).args(extra).assert()
}

/// No URL to anything outside the page: no http(s), no protocol-relative `//`, every image a
/// `data:` URI, every link an in-page `#` anchor.
fn assert_self_contained(html: &str) {
    for bad in ["http://", "https://", "src=\"//", "href=\"//", "url(", "@import"] {
        assert!(!html.contains(bad), "the report refers outside itself: `{bad}`");
    }
    let imgs = html.matches("<img ").count();
    assert!(imgs > 0);
    assert_eq!(
        html.matches("<img alt=").count(),
        imgs,
        "every <img> is written by png_figure"
    );
    assert_eq!(html.matches(" src=\"data:image/png;base64,").count(), imgs);
    assert_eq!(html.matches(" src=").count(), imgs, "a src that is not an image");
    for (i, _) in html.match_indices(" href=\"") {
        assert_eq!(&html[i + 7..i + 8], "#", "a link out of the page");
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn image_run_report_with_truth_and_refusals() {
    let root = tempfile::tempdir().unwrap();
    let run = image_run(root.path());
    // A truth of the wrong shape is refused; nothing is written.
    let wrong = report(&run, &["--truth", "models/data/reg_y.npy"]).code(2);
    let err = String::from_utf8_lossy(&wrong.get_output().stderr).into_owned();
    assert!(err.contains("reg_y.npy") && err.contains("shape [20]"), "{err}");
    assert!(!run.join("report.html").exists());

    report(&run, &[]).success();
    let plain = read(&run.join("report.html"));
    assert_self_contained(&plain);
    for section in [
        "id=\"run\"",
        "id=\"warnings\"",
        "id=\"model\"",
        "prior x : real[32, 32]",
        "Planner: <b>hmc</b>",
        "N_Eff(bulk)",
        "x[32x32] (all)",
        "posterior mean",
        "posterior standard deviation",
        "alt=\"draws\"",
        "alt=\"R-hat map\"",
        "alt=\"ESS map\"",
        "trace of x[",
        "ranks of x[",
        "mean tree depth",
        "tree depth per chain",
    ] {
        assert!(plain.contains(section), "the report lacks `{section}`");
    }
    assert!(!plain.contains("PSNR"));
    // The report is listed among the run's files: the folder stays uq's (a new report replaces it).
    let summary: serde_json::Value = serde_json::from_str(&read(&run.join("summary.json"))).unwrap();
    assert!(summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "report.html"));

    report(&run, &["--truth", "models/data/blur_truth.npy"]).success();
    let with_truth = read(&run.join("report.html"));
    assert_self_contained(&with_truth);
    for section in [
        "PSNR (dB)",
        "SSIM",
        "coverage 90%",
        "alt=\"error map\"",
        "alt=\"z-score map\"",
    ] {
        assert!(
            with_truth.contains(section),
            "--truth: the report lacks `{section}`"
        );
    }

    // A damaged summary.json is named; the report stays as it was.
    let summary_path = run.join("summary.json");
    let good = read(&summary_path);
    std::fs::write(&summary_path, "{ not json").unwrap();
    let bad = report(&run, &[]).code(1);
    let err = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    assert!(err.contains("summary.json") && err.contains("damaged"), "{err}");
    assert_eq!(read(&run.join("report.html")), with_truth);
    std::fs::write(&summary_path, good).unwrap();

    // A report.html that uq did not write makes the folder foreign: refused, left alone.
    std::fs::write(run.join("report.html"), "<html>mine</html>").unwrap();
    report(&run, &[]).code(2);
    assert_eq!(read(&run.join("report.html")), "<html>mine</html>");
}

#[test]
fn non_runs_are_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let missing = report(&root.path().join("nope"), &[]).code(2);
    let err = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(err.contains("nope") && err.contains("does not exist"), "{err}");
    let mine = root.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    let foreign = report(&mine, &[]).code(2);
    let err = String::from_utf8_lossy(&foreign.get_output().stderr).into_owned();
    assert!(err.contains("not a uq run folder"), "{err}");
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
}

#[test]
fn sample_report_of_a_scalar_model() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("reg");
    let few = ["--chains", "2", "--draws", "20", "--warmup", "20", "--report"];
    sample("models/mixture_regression.uq", &out, &few);
    let html = read(&out.join("report.html"));
    assert_self_contained_scalars(&html);
    for section in [
        "beta[0]",
        "beta[1]",
        "N_Eff(tail)",
        "density of beta[0] per chain",
        "trace of beta[1] per chain",
        "acceptance",
        "step size",
        "divergences",
    ] {
        assert!(html.contains(section), "the report lacks `{section}`");
    }
    // A later report replaces uq's own.
    report(&out, &[]).success();
}

/// `uq merge` writes a report when a shard had one, over all the merged chains.
#[test]
fn merge_writes_a_report_when_a_shard_had_one() {
    let root = tempfile::tempdir().unwrap();
    let (a, b, m) = (
        root.path().join("a"),
        root.path().join("b"),
        root.path().join("m"),
    );
    let few = ["--chains", "2", "--draws", "20", "--warmup", "20"];
    sample(
        "models/mixture_regression.uq",
        &a,
        &[&few[..], &["--report"]].concat(),
    );
    sample(
        "models/mixture_regression.uq",
        &b,
        &[&few[..], &["--chain-offset", "2"]].concat(),
    );
    uq().arg("merge").arg(&m).arg(&a).arg(&b).assert().success();
    let html = read(&m.join("report.html"));
    assert_self_contained_scalars(&html);
    assert!(
        html.contains("4 × 20"),
        "the merged report does not show the 4 chains"
    );
    let s: serde_json::Value = serde_json::from_str(&read(&m.join("summary.json"))).unwrap();
    assert!(
        s["files"].as_array().unwrap().iter().any(|f| f == "report.html"),
        "report.html is not listed as the merged run's own"
    );
}

/// A report without images: no external reference and no <img> at all.
fn assert_self_contained_scalars(html: &str) {
    for bad in ["http://", "https://", "src=", "url(", "@import"] {
        assert!(!html.contains(bad), "the report refers outside itself: `{bad}`");
    }
}

/// Renders the report of an image run in headless Chromium and reads back the page's own check
/// (every image decoded, no script error). Needs `chromium` on PATH: `cargo test --test report --
/// --ignored`.
#[test]
#[ignore = "needs chromium (examples/report/check_render.sh; docs/report.md)"]
fn renders_in_headless_chromium_without_errors() {
    let root = tempfile::tempdir().unwrap();
    let run = image_run(root.path());
    report(&run, &["--truth", "models/data/blur_truth.npy"]).success();
    let status = std::process::Command::new("examples/report/check_render.sh")
        .arg(run.join("report.html"))
        .status()
        .unwrap();
    assert!(status.success());
}
