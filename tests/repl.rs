//! `uq repl` with a piped script: transcripts (inputs echoed, stdout and stderr interleaved) as snapshots.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use uq::repl::Session;

/// An 8×8 observation of counts 0..4 (valid for Normal and Poisson likelihoods).
fn write_y(dir: &Path) {
    let y = ndarray::Array2::from_shape_fn((8, 8), |(i, j)| ((i * j + i) % 5) as f64);
    ndarray_npy::write_npy(dir.join("y.npy"), &y).unwrap();
}

/// Run `uq repl --echo ARGS` in `dir` with `script` on stdin; stdout and stderr go to one file so the
/// transcript keeps their order. The exit code must be `code` (1 when any input failed).
fn transcript(dir: &Path, args: &[&str], script: &str, code: i32) -> String {
    let script_path = dir.join("script.txt");
    std::fs::write(&script_path, script).unwrap();
    let log = dir.join("transcript.txt");
    let out = std::fs::File::create(&log).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_uq"))
        .arg("repl")
        .arg("--echo")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("UQ_HISTORY", dir.join("history"))
        .stdin(std::fs::File::open(&script_path).unwrap())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .status()
        .unwrap();
    let t = std::fs::read_to_string(log).unwrap();
    assert_eq!(status.code(), Some(code), "uq repl exited with {status}:\n{t}");
    t
}

/// After the first `:sample`, output numbers depend on the sampler's arithmetic: they become `#`
/// (with whitespace runs collapsed, as table columns are right-aligned), and the per-element rows of
/// the table (which element has the largest R-hat) are left out. The snapshot records the shape of
/// the output, not the digits of a Monte-Carlo estimate.
fn mask_run_numbers(t: &str) -> String {
    let mut sampled = false;
    let mut out = String::new();
    for line in t.lines() {
        sampled |= line.starts_with("uq> :sample");
        let input = line.starts_with("uq> ") || line.starts_with("...> ");
        if !sampled || input {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if line.contains("(max R_hat)") || line.contains("(min N_Eff)") {
            continue;
        }
        let mut masked = String::new();
        let mut in_num = false;
        for c in line.chars() {
            if c.is_ascii_digit() || (in_num && matches!(c, '.' | 'e' | '-')) {
                if !in_num {
                    if masked.ends_with('-') {
                        masked.pop();
                    }
                    masked.push('#');
                }
                in_num = true;
            } else {
                in_num = false;
                if !(c == ' ' && masked.ends_with(' ')) {
                    masked.push(c);
                }
            }
        }
        out.push_str(&masked);
        out.push('\n');
    }
    out
}

#[test]
fn linear_gaussian_step_by_step_with_mistakes_swap_sample_and_write() {
    let dir = tempfile::tempdir().unwrap();
    write_y(dir.path());
    let script = "\
import blur
data y : real[8, 8]
y
:data y=y.npy
y
let sigma = 0.2
prior x : real[8, 8] ~ Normal(0, 1)
y ~ Normal(blur_with(x, 5 1.0), sigma)
y ~ Normal(blur_with(x, 5, 1.0), sigmaa)
y ~ Normal(fft(x), sigma)
y ~ Normal(blur_with(x, 5, 1.0),
           sigma)
:type blur_with(x, 5, 1.0)
blur_with(x, 5, 1.0)
sum(y) / 64
:plan
y ~ Poisson(10 * softplus(blur_with(x, 5, 1.0)))
:model
y ~ Normal(blur_with(x, 5, 1.0), sigma)
:sample 100 warmup=100 chains=2
:summary
:save run
blur_with(x, 5, 1.0)
:write deblur.uq
:quit
";
    let t = transcript(dir.path(), &[], script, 1);
    assert!(
        t.contains("(max R_hat)"),
        "the table names the worst element:\n{t}"
    );
    insta::assert_snapshot!(mask_run_numbers(&t));
    for f in [
        "summary.json",
        "x/samples.npy",
        "x/mean.npy",
        "x/std.npy",
        "x/mean.png",
    ] {
        assert!(
            dir.path().join("run").join(f).is_file(),
            "`:save run` wrote no {f}"
        );
    }
    let written = std::fs::read_to_string(dir.path().join("deblur.uq")).unwrap();
    insta::assert_snapshot!("written_model", written);
    let check = Command::new(env!("CARGO_BIN_EXE_uq"))
        .args(["check", "deblur.uq", "--data", "y=y.npy"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "uq check rejects the written model:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn load_commands_and_errors_that_do_not_end_the_session() {
    let dir = tempfile::tempdir().unwrap();
    write_y(dir.path());
    let model = "import blur\ndata y : real[8, 8]\nprior x : real[8, 8] ~ Normal(0, 1)\ny ~ Normal(blur_with(x, 5, 1.0), 0.2)\n";
    std::fs::write(dir.path().join("blur8.uq"), model).unwrap();
    let script = "\
:help
:graph
:load missing.uq
prior x : real[4, 4] ~ Normal(0, 1)
:model
:type blur_with
:type Poisson
:sampel
:sample draws=ten
:summary
let k = gaussian_kernel(3, 1.0)
k
[1, 2, 3] * 2
fft(k)
:reset
:model
x
:quit
this line is never read
";
    let t = transcript(dir.path(), &["blur8.uq", "--data", "y=y.npy"], script, 1);
    insta::assert_snapshot!(t);
}

#[test]
fn a_script_exits_1_when_any_input_failed_and_still_runs_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = "let a = 1\nprior x ~ Normal(a, 1)\nx + 1\n:model\n";
    transcript(dir.path(), &[], good, 0);
    // Every line fails; each is still echoed and answered.
    let bad = "let a = b\n:nonsense\nprior x ~ Normal(0, -1)\n1 +\n:load missing.uq\n";
    let t = transcript(dir.path(), &[], bad, 1);
    for line in bad.lines() {
        assert!(
            t.contains(&format!("uq> {line}")),
            "{line} not in the transcript:\n{t}"
        );
    }
    assert_eq!(
        t.matches("Error: ").count() + t.matches("error: ").count(),
        5,
        "{t}"
    );
    // One failure at the very end is enough; a failing `uq repl MODEL` load too.
    transcript(dir.path(), &[], "let a = 1\nlet b = nope\n", 1);
    transcript(dir.path(), &["missing.uq"], "let a = 1\n", 1);
    // A byte-order mark on the first line and a line that is not UTF-8.
    let t = transcript(dir.path(), &[], "\u{feff}let a = 1\na\n", 0);
    assert!(t.contains("real = 1"), "{t}");
    std::fs::write(dir.path().join("script.bin"), b"let a = 1\nlet b = \xff\na + 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_uq"))
        .arg("repl")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(std::fs::File::open(dir.path().join("script.bin")).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("input line 2 is not UTF-8"), "{stderr}");
    assert!(
        stdout.contains("real = 2"),
        "the line after it still runs: {stdout}"
    );
}

#[test]
fn a_rejected_statement_keeps_the_previous_model() {
    let mut s = Session::new(false);
    let ok = s.eval_line("prior x : real[2] ~ Normal(0, 1)");
    assert_eq!(ok.err, "");
    assert!(!ok.failed);
    let bad = s.eval_line("let y = x + [1, 2, 3]");
    assert!(bad.err.contains("E0201"), "{}", bad.err);
    assert!(bad.failed);
    assert!(
        bad.err.contains("<input>:1:9"),
        "points into the typed line: {}",
        bad.err
    );
    assert_eq!(s.eval_line(":model").out, "prior x : real[2] ~ Normal(0, 1)\n");
    // Redefinition replaces in place, and `infer` replaces `infer`.
    s.eval_line("let a = 1");
    s.eval_line("infer hmc(steps = 5)");
    s.eval_line("let a = [1, 2]");
    s.eval_line("infer mala()");
    assert_eq!(
        s.eval_line(":model").out,
        "prior x : real[2] ~ Normal(0, 1)\nlet a = [1, 2]\ninfer mala()\n"
    );
    assert_eq!(s.eval_line("a * 2").out, "real[2] = [2, 4]\n");
    // Several statements on one line.
    let two = s.eval_line("let p = 1; let q = p + 1");
    assert_eq!(two.out, "let p : real = 1\nlet q : real = 2\n");
    // A latent-free expression before any `prior` exists, in a fresh session.
    let mut fresh = Session::new(false);
    assert_eq!(fresh.eval_line("sum([1, 2, 3])").out, "real = 6\n");
    assert!(s.eval_line(":quit").quit);
}
