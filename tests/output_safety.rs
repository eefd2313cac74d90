//! Output folders are safe: uq replaces only its own earlier runs, checks the folder before sampling,
//! puts an interrupted run beside a complete one, and no signal (SIGINT, SIGTERM, SIGKILL, at seeded
//! random moments) damages a complete run or leaves a partial one that does not load.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MODEL: &str = "models/mixture_regression.uq";
const SMALL: [&str; 6] = ["--chains", "2", "--draws", "20", "--warmup", "20"];

fn uq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uq"))
}

fn sample(out: &Path, extra: &[&str]) -> Output {
    uq().args(["sample", MODEL, "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn spawn(out: &Path, extra: &[&str]) -> Child {
    uq().args(["sample", MODEL, "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not yet waited for.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Wait until the run's temporary folder exists (its signal handler is in place by then).
fn wait_for_tmp(parent: &Path, child: &Child) {
    let tmp = format!("d.uq-tmp-{}", child.id());
    let t0 = Instant::now();
    while !parent.join(&tmp).exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "{tmp} never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A partial run folder loads: summary says partial, lists exactly its files, and every samples.npy
/// parses as .npy with [chains, draws, ...].
fn assert_partial_loads(dir: &Path) {
    let s = summary(dir);
    assert_eq!(s["partial"], true, "{}", dir.display());
    assert_eq!(s["uq_run"], true);
    let mut listed: Vec<String> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut present: Vec<String> = snapshot(dir)
        .keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(listed, present);
    for latent in s["latents"].as_array().unwrap() {
        let name = latent["name"].as_str().unwrap();
        let x: ndarray::ArrayD<f64> = ndarray_npy::read_npy(dir.join(name).join("samples.npy")).unwrap();
        assert_eq!(x.shape()[0], s["chains"].as_u64().unwrap() as usize);
        assert_eq!(x.shape()[1], s["draws"].as_u64().unwrap() as usize);
    }
}

#[test]
fn a_folder_that_is_not_a_uq_run_is_refused_before_sampling() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("important.txt"), "precious").unwrap();
    // Without --quiet: the sampler line would be printed once sampling starts.
    let o = uq()
        .args(["sample", MODEL, "--out"])
        .arg(&d)
        .args(SMALL)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&d.display().to_string()) && err.contains("important.txt"),
        "{err}"
    );
    assert!(err.contains("--out") && !err.contains("sampler:"), "{err}");
    assert_eq!(fs::read_to_string(d.join("important.txt")).unwrap(), "precious");
    assert_eq!(names(root.path()), vec!["d"]);

    let f = root.path().join("f");
    fs::write(&f, "a file").unwrap();
    let o = sample(&f, &SMALL);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is a file"), "{}", text(&o.stderr));
    assert_eq!(fs::read_to_string(&f).unwrap(), "a file");

    // Under a file: the parent cannot be created.
    let o = sample(&f.join("run"), &SMALL);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&f.display().to_string()));
    assert_eq!(names(root.path()), vec!["d", "f"]);
}

#[test]
fn an_unwritable_folder_fails_before_sampling() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let ro = root.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    if fs::write(ro.join("probe"), "x").is_ok() {
        // Running as root: permissions are not enforced, nothing to test here.
        eprintln!("skipped: this user can write into a read-only folder");
        return;
    }
    let o = uq()
        .args(["sample", MODEL, "--out"])
        .arg(ro.join("run"))
        .args(SMALL)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ro/run") && !err.contains("sampler:"), "{err}");
}

#[test]
fn empty_folders_and_earlier_runs_are_replaced_and_summary_says_where_it_came_from() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    fs::create_dir(&d).unwrap();
    assert!(sample(&d, &SMALL).status.success());
    let s = summary(&d);
    assert_eq!(s["uq_run"], true);
    assert_eq!(s["format_version"], 1);
    let p = &s["provenance"];
    assert_eq!(p["uq_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["command"][1], "sample");
    assert_eq!(p["model"]["path"], MODEL);
    let model_hash = uq::output::sha256_hex(&fs::read(MODEL).unwrap());
    assert_eq!(p["model"]["sha256"], model_hash.as_str());
    let data: Vec<&str> = p["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(data, ["A", "y"]);
    let a_hash = uq::output::sha256_hex(&fs::read("models/data/reg_A.npy").unwrap());
    assert_eq!(p["data"][0]["sha256"], a_hash.as_str());
    assert_eq!(p["options"]["seed"], 1);
    assert_eq!(p["options"]["draws"], 20);
    assert_eq!(
        s["progress"]["warmup"],
        serde_json::json!({"done": 20, "planned": 20})
    );
    assert_eq!(
        s["progress"]["draws"],
        serde_json::json!({"done": 20, "planned": 20})
    );
    let files = s["files"].as_array().unwrap();
    assert!(files.contains(&"beta/samples.npy".into()) && files.contains(&"summary.json".into()));

    let first = fs::read(d.join("beta/samples.npy")).unwrap();
    assert!(sample(&d, &[&SMALL[..], &["--seed", "2"]].concat())
        .status
        .success());
    assert_ne!(fs::read(d.join("beta/samples.npy")).unwrap(), first);
    assert_eq!(names(root.path()), vec!["d"]);
}

#[test]
fn an_interrupted_run_goes_beside_the_complete_one_and_says_how_far_it_got() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    assert!(sample(&d, &SMALL).status.success());
    let before = snapshot(&d);
    // Warm-up far too long to finish: the interrupt lands in it.
    let child = spawn(&d, &["--chains", "2", "--warmup", "100000000", "--draws", "10"]);
    wait_for_tmp(root.path(), &child);
    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    let partial = root.path().join("d.partial");
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains(&format!("wrote the partial run to {}", partial.display()))
            && stdout.contains("untouched"),
        "{stdout}"
    );
    assert_eq!(snapshot(&d), before, "the complete run is untouched");
    assert_partial_loads(&partial);
    let s = summary(&partial);
    assert_eq!(s["draws"], 0);
    let warm = s["warmup"].as_u64().unwrap();
    assert!(warm < 100_000_000);
    assert_eq!(
        s["progress"]["warmup"],
        serde_json::json!({"done": warm, "planned": 100_000_000})
    );
    assert_eq!(
        s["progress"]["draws"],
        serde_json::json!({"done": 0, "planned": 10})
    );
    assert_eq!(names(root.path()), vec!["d", "d.partial"]);
}

#[test]
fn an_annealed_run_interrupted_while_annealing_says_which_level_it_reached() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    // γ this close to 1 makes hundreds of thousands of levels: the interrupt lands in the annealing.
    let slow = [
        "--sampler",
        "annealed-hmc",
        "--rounds",
        "2",
        "--chains",
        "2",
        "--gamma",
        "0.99999",
    ];
    let child = spawn(&d, &slow);
    wait_for_tmp(root.path(), &child);
    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    let partial = root.path().join("d.partial");
    assert_partial_loads(&partial);
    let p = &summary(&partial)["progress"];
    let (done, planned) = (
        p["levels"]["done"].as_u64().unwrap(),
        p["levels"]["planned"].as_u64().unwrap(),
    );
    assert!(done < planned && planned > 100_000, "{p}");
    assert_eq!(p["rounds"], serde_json::json!({"done": 0, "planned": 2}));
    assert_eq!(p["draws"], serde_json::json!({"done": 0, "planned": 2}));
    assert_eq!(names(root.path()), vec!["d.partial"]);
}

#[test]
fn a_second_interrupt_aborts_and_leaves_no_temporary_folder() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    assert!(sample(&d, &SMALL).status.success());
    let before = snapshot(&d);
    let child = spawn(&d, &["--chains", "2", "--warmup", "100000000"]);
    wait_for_tmp(root.path(), &child);
    signal(&child, libc::SIGTERM);
    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert_eq!(snapshot(&d), before);
    // Either the abort came first (nothing written) or the partial run was already in place.
    let left = names(root.path());
    assert!(left == ["d"] || left == ["d", "d.partial"], "{left:?}");
    if left.len() == 2 {
        assert_partial_loads(&root.path().join("d.partial"));
    }
}

#[test]
fn what_a_killed_run_left_is_cleaned_by_the_next_one() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    let mut child = spawn(&d, &["--chains", "2", "--warmup", "100000000"]);
    wait_for_tmp(root.path(), &child);
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let tmp = format!("d.uq-tmp-{}", child.id());
    assert_eq!(names(root.path()), vec![tmp]);
    assert!(sample(&d, &SMALL).status.success());
    assert_eq!(names(root.path()), vec!["d"]);
}

/// `moments` runs into a folder holding a complete run, each hit by `sig` at a seeded random moment
/// between its start and a little after the time a whole run takes.
fn inject(sig: i32, seed: u64, moments: usize) {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    let args = ["--chains", "2", "--draws", "200", "--warmup", "200"];
    let t0 = Instant::now();
    assert!(sample(&d, &args).status.success());
    let whole = t0.elapsed().as_secs_f64();
    let reference = snapshot(&d);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Outcomes: earlier run kept, replaced by the new complete run, partial run written, temporary
    // folder left (SIGKILL only; cleaned by the next run).
    let (mut kept, mut replaced, mut partials, mut leftovers) = (0, 0, 0, 0);
    let (mut last_partial, mut before) = (None, reference.clone());
    for _ in 0..moments {
        let delay = Duration::from_secs_f64(rng.random_range(0.0..1.2) * whole);
        let mut child = spawn(&d, &args);
        std::thread::sleep(delay);
        signal(&child, sig);
        child.wait().unwrap();
        // The complete run is intact, or replaced by an identical complete run (same seed) that
        // finished before the signal.
        let now = snapshot(&d);
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &reference {
            if path != Path::new("summary.json") {
                assert_eq!(&now[path], bytes, "{} changed (signal {sig})", path.display());
            }
        }
        assert_eq!(summary(&d)["partial"], false);
        if now == before {
            kept += 1;
        } else {
            replaced += 1;
        }
        before = now;
        let partial = root.path().join("d.partial");
        if partial.exists() {
            assert_partial_loads(&partial);
            let bytes = fs::read(partial.join("summary.json")).ok();
            if bytes != last_partial {
                partials += 1;
                last_partial = bytes;
            }
        }
        leftovers += names(root.path()).iter().filter(|n| n.contains(".uq-")).count();
        if sig != libc::SIGKILL {
            let stray: Vec<String> = names(root.path())
                .into_iter()
                .filter(|n| n.contains(".uq-"))
                .collect();
            assert!(stray.is_empty(), "left behind after signal {sig}: {stray:?}");
        }
    }
    eprintln!(
        "signal {sig}: run {whole:.2} s; earlier run kept {kept}, replaced by the new one {replaced}, \
         partial runs {partials}, temporary folders left {leftovers}"
    );
    // A last run cleans up whatever killed runs left.
    assert!(sample(&d, &args).status.success());
    let left = names(root.path());
    assert!(left == ["d"] || left == ["d", "d.partial"], "{left:?}");
}

#[test]
fn signals_at_random_moments_never_damage_a_complete_run() {
    let runs: Vec<_> = [(libc::SIGINT, 1), (libc::SIGTERM, 2), (libc::SIGKILL, 3)]
        .into_iter()
        .map(|(sig, seed)| std::thread::spawn(move || inject(sig, seed, 20)))
        .collect();
    for r in runs {
        r.join().unwrap();
    }
}

#[test]
fn repl_save_follows_the_same_rules() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("important.txt"), "precious").unwrap();
    let script = format!(
        ":sample 20 warmup=20 chains=2\n:save {}\n:save {}\n:quit\n",
        d.display(),
        root.path().join("run").display()
    );
    let mut child = uq()
        .args(["repl", MODEL])
        .env("NO_COLOR", "1")
        .env("UQ_HISTORY", root.path().join("history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        all.contains("important.txt") && all.contains("not a uq run"),
        "{all}"
    );
    assert_eq!(fs::read_to_string(d.join("important.txt")).unwrap(), "precious");
    assert_eq!(names(&d), vec!["important.txt"]);
    assert_eq!(summary(&root.path().join("run"))["uq_run"], true);
}
