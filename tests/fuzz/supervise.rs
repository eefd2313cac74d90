//! The long fuzz run: a parent that restarts worker processes, so that an abort or a hang in one
//! case is recorded (from the case the worker wrote down before running it) and the run goes on.

use super::{
    case, corpus_dir, gen, next_case, oracle, portable, root, seeds, Runner, MAX_SAVED, NEW_PER_RUN,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What one worker process is asked to do (passed in environment variables).
pub struct Job {
    seed: u64,
    secs: u64,
    saves_left: usize,
    state: PathBuf,
}

impl Job {
    pub fn from_env() -> Option<Job> {
        let var = |k: &str| std::env::var(k).ok();
        Some(Job {
            state: PathBuf::from(var("UQ_FUZZ_WORKER_STATE")?),
            seed: var("UQ_FUZZ_WORKER_SEED")?.parse().ok()?,
            secs: var("UQ_FUZZ_WORKER_SECS")?.parse().ok()?,
            saves_left: var("UQ_FUZZ_WORKER_SAVES")?.parse().ok()?,
        })
    }
}

/// Totals of a long run.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub seconds: u64,
    pub cases: u64,
    pub failures: u64,
    pub workers: u64,
    pub saved: usize,
    pub features: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fuzz: seed {} ran {} s: {} cases in {} worker process(es), {} failure(s) (under target/fuzz/failures/), \
             {} features, {} new corpus file(s)",
            self.seed, self.seconds, self.cases, self.workers, self.failures, self.features, self.saved
        )
    }
}

fn failures_dir() -> PathBuf {
    root().join("target").join("fuzz").join("failures")
}

/// `key value` lines written by a worker: cases, failures, saved, features.
fn read_stats(state: &Path) -> [u64; 4] {
    let text = std::fs::read_to_string(state.join("stats")).unwrap_or_default();
    let mut out = [0u64; 4];
    for (i, line) in text.lines().take(4).enumerate() {
        out[i] = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    out
}

/// Run workers for `time`, restarting after each abort; totals.
pub fn run(seed: u64, time: Duration) -> Report {
    let start = Instant::now();
    let state = root().join("target").join("fuzz").join(format!("run-{seed}"));
    let _ = std::fs::create_dir_all(&state);
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut report = Report {
        seed,
        ..Report::default()
    };
    while start.elapsed() + Duration::from_secs(5) < time {
        let left = time.saturating_sub(start.elapsed());
        let _ = std::fs::remove_file(state.join("stats"));
        let mut child = Command::new(&exe)
            .args([
                "fuzz_worker",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("UQ_FUZZ_WORKER_STATE", &state)
            .env("UQ_FUZZ_WORKER_SEED", (seed + report.workers).to_string())
            .env("UQ_FUZZ_WORKER_SECS", left.as_secs().to_string())
            .env(
                "UQ_FUZZ_WORKER_SAVES",
                NEW_PER_RUN.saturating_sub(report.saved).to_string(),
            )
            .spawn()
            .expect("start a fuzz worker");
        report.workers += 1;
        let deadline = Instant::now() + left + super::CASE_LIMIT + Duration::from_secs(120);
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let [cases, failures, saved, features] = read_stats(&state);
        report.cases += cases;
        report.failures += failures;
        report.saved += saved as usize;
        report.features = report.features.max(features as usize);
        if !status.is_some_and(|s| s.success()) {
            // The worker died in (or hung on) the case it wrote down last.
            let why = format!("worker ended abnormally: {status:?}");
            let to = failures_dir().join(format!("abort-{seed}-{}", report.workers));
            let _ = std::fs::create_dir_all(&to);
            if let Ok(rd) = std::fs::read_dir(state.join("current")) {
                for e in rd.flatten() {
                    let _ = std::fs::copy(e.path(), to.join(e.file_name()));
                }
            }
            let _ = std::fs::write(to.join("WHY.txt"), &why);
            println!("{why}; its case is in {}", to.display());
            report.failures += 1;
        }
    }
    report.seconds = start.elapsed().as_secs();
    report
}

/// The worker: cases until the time is up, each written to `state/current` before it runs.
pub fn work(job: Job) {
    let start = Instant::now();
    let scratch = job.state.join("scratch");
    case::prepare_scratch(&scratch);
    let runner = Runner::new(scratch.clone());
    let seeds = seeds();
    let strings = gen::strings(&scratch);
    let mut known = oracle::Features::new();
    for s in &seeds {
        let c = case::Case {
            model: s.clone(),
            data: Vec::new(),
            repl: false,
        };
        if let Ok(f) = runner.run(&c) {
            known.extend(f);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(job.seed);
    let (mut cases, mut failures, mut saved) = (0u64, 0u64, 0usize);
    let write_stats = |cases: u64, failures: u64, saved: usize, features: usize| {
        let text = format!("cases {cases}\nfailures {failures}\nsaved {saved}\nfeatures {features}\n");
        let _ = std::fs::write(job.state.join("stats"), text);
    };
    let current = job.state.join("current");
    while start.elapsed().as_secs() < job.secs {
        let c = next_case(&mut rng, &seeds, &strings, &scratch);
        let _ = std::fs::remove_dir_all(&current);
        let _ = std::fs::create_dir_all(&current);
        let _ = std::fs::write(current.join("model.uq"), &c.model);
        let _ = std::fs::write(current.join("case.txt"), format!("{c:?}"));
        cases += 1;
        match runner.run(&c) {
            Ok(f) => {
                let new: Vec<&String> = f.iter().filter(|x| !known.contains(*x)).collect();
                if !new.is_empty() && saved < job.saves_left && c.model.len() <= MAX_SAVED {
                    let name = format!("{:016x}.uq", case::fnv(c.model.as_bytes()));
                    let _ = std::fs::write(corpus_dir().join(name), portable(&c.model, &scratch));
                    saved += 1;
                }
                known.extend(f);
            }
            Err(why) => {
                failures += 1;
                let dir = case::save(&c, &failures_dir(), &why);
                println!("failure: {why}\n  saved in {}", dir.display());
                if why.starts_with("hang") {
                    write_stats(cases, failures, saved, known.len());
                    std::process::exit(0);
                }
            }
        }
        if cases % 100 == 0 {
            write_stats(cases, failures, saved, known.len());
        }
    }
    write_stats(cases, failures, saved, known.len());
}
