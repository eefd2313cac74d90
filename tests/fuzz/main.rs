//! Fuzzing the parser, checker and data binding on the stable toolchain, without a fuzzing library.
//!
//! Inputs are the shipped programs (`models/`, `stdlib/`, `tests/valid/`, `tests/invalid/`) and the
//! committed corpus `tests/fuzz_corpus/`, mutated by [`gen`] (token splices between programs,
//! subtree replacement on the syntax tree and from `grammar/uq.ebnf`, deep nesting, huge numbers and
//! dimensions, odd unicode) and bound to `.npy` files from [`npy`] (fitting, truncated, lying
//! headers, huge shapes, FIFOs, devices). [`oracle`] judges each case: no panic, every failure a
//! catalogued diagnostic with valid spans; each case runs on a worker thread with a time bound.
//!
//! - `cargo test --test fuzz`: a fixed-seed, bounded run (every seed once, then [`CI_CASES`]).
//! - `UQ_FUZZ_SECS=600 cargo test --release --test fuzz -- --ignored --nocapture`: a long run
//!   (`UQ_FUZZ_SEED` picks the seed). It supervises worker processes, so an abort (a stack overflow)
//!   is caught too; inputs that reach new features are saved to `tests/fuzz_corpus/` (at most
//!   [`NEW_PER_RUN`] per run), failing ones under `target/fuzz/failures/` with a replay command.

mod case;
mod gen;
mod grammar;
mod npy;
mod oracle;
mod supervise;

use case::Case;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Mutated cases of the bounded run in `cargo test`, after every seed once.
const CI_CASES: usize = 300;
/// A case that takes longer than this is a hang.
const CASE_LIMIT: Duration = Duration::from_secs(60);
/// Corpus files one long run may add.
const NEW_PER_RUN: usize = 40;
/// Largest input saved to the corpus.
const MAX_SAVED: usize = 8 << 10;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    root().join("tests").join("fuzz_corpus")
}

/// Every seed program: shipped models, the standard library, test programs, the corpus.
fn seeds() -> Vec<String> {
    let dirs = [
        "models",
        "stdlib",
        "tests/valid",
        "tests/invalid",
        "tests/models/refpost",
        "tests/fuzz_corpus",
    ];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(root().join(d)).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "uq"))
        .collect();
    files.sort();
    let root = root().display().to_string();
    let texts: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|t| t.replace("@ROOT@", &root))
        .collect();
    assert!(texts.len() >= 40, "only {} seed programs found", texts.len());
    texts
}

/// `model` as saved in the corpus: the repository's path becomes `@ROOT@` (restored by [`seeds`]),
/// and paths into the scratch folder become relative to it (where the model is checked).
fn portable(model: &str, scratch: &Path) -> String {
    let scratch = format!("{}/", scratch.display());
    model
        .replace(&scratch, "")
        .replace(&root().display().to_string(), "@ROOT@")
}

/// A worker thread that runs cases in `scratch`, with [`CASE_LIMIT`] per case.
struct Runner {
    to: mpsc::Sender<Case>,
    from: mpsc::Receiver<std::thread::Result<Result<oracle::Features, String>>>,
}

impl Runner {
    fn new(scratch: PathBuf) -> Runner {
        let (to, cases) = mpsc::channel::<Case>();
        let (done, from) = mpsc::channel();
        std::thread::Builder::new()
            .name("fuzz-case".into())
            .spawn(move || {
                for c in cases {
                    let r = std::panic::catch_unwind(|| oracle::run(&c, &scratch));
                    if done.send(r).is_err() {
                        break;
                    }
                }
            })
            .expect("start the fuzz worker thread");
        Runner { to, from }
    }

    /// Features of `case`, or why it failed (panic, hang, bad diagnostic).
    fn run(&self, case: &Case) -> Result<oracle::Features, String> {
        self.to
            .send(case.clone())
            .map_err(|_| "the worker thread is gone".to_string())?;
        match self.from.recv_timeout(CASE_LIMIT) {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("panic: {msg}"))
            }
            Err(_) => Err(format!("hang: no result within {CASE_LIMIT:?}")),
        }
    }
}

/// The next case: a seed mutated one to three times, its data bindings, sometimes the REPL.
fn next_case(rng: &mut ChaCha8Rng, seeds: &[String], strings: &[String], scratch: &Path) -> Case {
    let mut model = seeds.choose(rng).cloned().unwrap_or_default();
    for _ in 0..rng.random_range(1..4) {
        model = gen::mutate(rng, &model, seeds, strings);
    }
    let data = case::bindings(rng, &model, scratch);
    Case {
        model,
        data,
        repl: rng.random_bool(0.15),
    }
}

#[test]
fn fuzz_bounded_run_finds_no_failure() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    case::prepare_scratch(scratch.path());
    let runner = Runner::new(scratch.path().to_path_buf());
    let seeds = seeds();
    let strings = gen::strings(scratch.path());
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_f022);
    let mut features = oracle::Features::new();
    let plain: Vec<Case> = seeds
        .iter()
        .map(|s| Case {
            model: s.clone(),
            data: case::bindings(&mut rng, s, scratch.path()),
            repl: true,
        })
        .collect();
    let mutated: Vec<Case> = (0..CI_CASES)
        .map(|_| next_case(&mut rng, &seeds, &strings, scratch.path()))
        .collect();
    for c in plain.into_iter().chain(mutated) {
        match runner.run(&c) {
            Ok(f) => features.extend(f),
            Err(why) => {
                let saved = case::save(&c, &root().join("target/fuzz/failures"), &why);
                panic!(
                    "{why}\ncase saved in {}\nmodel:\n{}",
                    saved.display(),
                    c.model.chars().take(2000).collect::<String>()
                );
            }
        }
    }
    for stage in [
        "checked",
        "bound",
        "built",
        "check:E0309",
        "check:E0310",
        "bind:E0503",
        "bind:E0504",
    ] {
        assert!(
            features.iter().any(|f| f.starts_with(stage)),
            "no case reached {stage}: {features:#?}"
        );
    }
}

/// `UQ_FUZZ_SECS` seconds (default 60) of fuzzing in supervised worker processes.
#[test]
#[ignore = "long run: UQ_FUZZ_SECS=600 cargo test --release --test fuzz -- --ignored --nocapture"]
fn fuzz_long_run() {
    let secs: u64 = std::env::var("UQ_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("UQ_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        });
    let report = supervise::run(seed, Duration::from_secs(secs));
    println!("{report}");
    assert!(report.failures == 0, "{report}");
}

/// The worker process of [`fuzz_long_run`]; does nothing unless started by it.
#[test]
#[ignore = "started by fuzz_long_run"]
fn fuzz_worker() {
    if let Some(job) = supervise::Job::from_env() {
        supervise::work(job);
    }
}

/// Programs that must keep working whatever the fuzzer finds: the deep cases of issue 12.
#[test]
fn nesting_ends_in_a_diagnostic_or_works() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    case::prepare_scratch(scratch.path());
    let runner = Runner::new(scratch.path().to_path_buf());
    let chain = |n: usize| {
        let mut s = String::from("prior x ~ Normal(0, 1)\nfn f0(v) = v\n");
        for i in 1..n {
            s.push_str(&format!("fn f{i}(v) = f{}(v)\n", i - 1));
        }
        s + &format!("let a = f{}(x)\n", n - 1)
    };
    for (model, expect) in [
        (chain(2000), None),
        (chain(5000), Some("check:E0309")),
        (
            format!(
                "prior x ~ Normal(0, 1)\nlet a = {}x{}\n",
                "(".repeat(5000),
                ")".repeat(5000)
            ),
            Some("parse:E0009"),
        ),
        (
            format!(
                "prior x ~ Normal(0, 1)\nlet a = {}1{}\n",
                "[".repeat(99),
                "]".repeat(99)
            ),
            None,
        ),
        (
            format!("prior x ~ Normal(0, 1)\nlet a = x{}\n", " + x".repeat(999)),
            None,
        ),
        (
            format!("prior x ~ Normal(0, 1)\nlet a = {}x\n", "-".repeat(999)),
            None,
        ),
        (
            "prior x ~ Normal(0, 1)\nimport chain0\n".to_string(),
            Some("check:E0110"),
        ),
    ] {
        let c = Case {
            model,
            data: Vec::new(),
            repl: false,
        };
        let f = runner.run(&c).unwrap_or_else(|e| panic!("{e}"));
        match expect {
            Some(code) => assert!(f.iter().any(|x| x.starts_with(code)), "{code} expected: {f:?}"),
            None => assert!(f.contains("checked"), "expected to check: {f:?}"),
        }
    }
}
