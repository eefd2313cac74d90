//! Tests of the run writer: what it replaces and refuses, partial runs, discarding, stale clean-up.

use super::*;
use crate::output::run_dir::{listing, recognise};

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

/// A finished run as the writer leaves it: one file and a summary that lists it.
fn finish(w: &RunWriter, text: &str, partial: bool) {
    fs::write(w.path("a.txt"), text).unwrap();
    let summary = serde_json::json!({"uq_run": true, "partial": partial, "files": ["a.txt", "summary.json"]});
    fs::write(w.path("summary.json"), summary.to_string()).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn commit_replaces_old_run_and_leaves_no_siblings() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("out/model");
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "first", false);
    assert!(!run.exists(), "nothing visible before commit");
    w.commit().unwrap();
    assert_eq!(read(&run.join("a.txt")), "first");
    assert!(!run.join(WRITING_MARKER).exists());

    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "second", false);
    assert_eq!(read(&run.join("a.txt")), "first", "old run intact while writing");
    w.commit().unwrap();
    assert_eq!(read(&run.join("a.txt")), "second");
    assert_eq!(names(&root.path().join("out")), vec!["model"]);
}

#[test]
fn dropped_writer_keeps_old_run_and_removes_its_folder() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("model");
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "old", false);
    w.commit().unwrap();
    let w = RunWriter::begin(&run).unwrap();
    fs::write(w.path("a.txt"), "new, half written").unwrap();
    drop(w);
    assert_eq!(read(&run.join("a.txt")), "old");
    assert_eq!(names(root.path()), vec!["model"]);
}

#[test]
fn refuses_what_uq_did_not_write_before_creating_anything() {
    let root = tempfile::tempdir().unwrap();
    let user = root.path().join("d");
    fs::create_dir(&user).unwrap();
    fs::write(user.join("important.txt"), "precious").unwrap();
    let err = RunWriter::begin(&user).unwrap_err().to_string();
    assert!(
        err.contains("important.txt") && err.contains("not a uq run"),
        "{err}"
    );
    let file = root.path().join("f");
    fs::write(&file, "x").unwrap();
    let err = RunWriter::begin(&file).unwrap_err().to_string();
    assert!(err.contains("is a file"), "{err}");
    // A uq run that the user added a file to is not uq's alone any more.
    let run = root.path().join("run");
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "x", false);
    w.commit().unwrap();
    fs::write(run.join("notes.txt"), "mine").unwrap();
    let err = RunWriter::begin(&run).unwrap_err().to_string();
    assert!(err.contains("notes.txt"), "{err}");
    // `out.partial` is checked as well.
    fs::remove_file(run.join("notes.txt")).unwrap();
    fs::create_dir(root.path().join("run.partial")).unwrap();
    fs::write(root.path().join("run.partial/x"), "mine").unwrap();
    assert!(RunWriter::begin(&run).is_err());
    assert_eq!(read(&user.join("important.txt")), "precious");
    assert_eq!(read(&file), "x");
    assert_eq!(names(root.path()), vec!["d", "f", "run", "run.partial"]);
}

#[test]
fn empty_folder_is_used() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("empty");
    fs::create_dir(&run).unwrap();
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "x", false);
    w.commit().unwrap();
    assert_eq!(read(&run.join("a.txt")), "x");
}

#[test]
fn partial_run_goes_beside_the_complete_one() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("model");
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "complete", false);
    w.commit().unwrap();
    for text in ["partial 1", "partial 2"] {
        let w = RunWriter::begin(&run).unwrap();
        finish(&w, text, true);
        assert_eq!(w.commit_partial().unwrap(), root.path().join("model.partial"));
    }
    assert_eq!(read(&run.join("a.txt")), "complete");
    assert_eq!(read(&root.path().join("model.partial/a.txt")), "partial 2");
    assert_eq!(recognise(&root.path().join("model.partial")), Ok(true));
    assert_eq!(names(root.path()), vec!["model", "model.partial"]);
}

#[test]
fn discard_removes_the_folder_and_later_writes_fail() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("model");
    let w = RunWriter::begin(&run).unwrap();
    let handle = w.discard_handle();
    fs::write(w.path("a.txt"), "x").unwrap();
    assert!(handle.discard());
    assert!(!handle.discard(), "only once");
    assert!(w.subdir("x").is_err(), "the temporary folder is not re-created");
    assert!(w.commit().is_err());
    assert!(names(root.path()).is_empty());
}

#[test]
fn legacy_summary_shape_is_recognised() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("model");
    fs::create_dir_all(run.join("x")).unwrap();
    let summary = serde_json::json!({"sampler": "hmc", "reason": "r", "chains": 2, "draws": 0,
        "warmup": 100, "seed": 1, "partial": true, "grad_evals": 5, "latents": [{"name": "x"}]});
    fs::write(run.join("summary.json"), summary.to_string()).unwrap();
    fs::write(run.join("x/samples.npy"), "npy").unwrap();
    assert_eq!(recognise(&run), Ok(true));
    fs::write(run.join("x/other.npy"), "npy").unwrap();
    assert!(recognise(&run).unwrap_err().contains("x/other.npy"));
    fs::remove_file(run.join("x/other.npy")).unwrap();
    let w = RunWriter::begin(&run).unwrap();
    finish(&w, "new", false);
    w.commit().unwrap();
    assert_eq!(listing(&run), vec!["a.txt", "summary.json"]);
}

/// A process id that is not running (from a child that has exited and been reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(unix)]
#[test]
fn stale_folders_of_dead_processes_are_cleaned_or_restored() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("model");
    let pid = dead_pid();
    // A run being written when its process died, one being deleted, and a foreign folder of the same
    // shape of name (not uq's: kept).
    let tmp = Temp::Writing.path(&run, pid);
    fs::create_dir(&tmp).unwrap();
    fs::write(tmp.join(WRITING_MARKER), "").unwrap();
    fs::create_dir(Temp::Deleting.path(&run, pid)).unwrap();
    let foreign = Temp::Writing.path(&run, pid + 1_000_000);
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("mine.txt"), "x").unwrap();
    // A complete run moved aside and never put back.
    let old = Temp::Old.path(&run, pid);
    fs::create_dir(&old).unwrap();
    fs::write(old.join("a.txt"), "old").unwrap();
    let summary = serde_json::json!({"uq_run": true, "partial": false, "files": ["a.txt"]});
    fs::write(old.join("summary.json"), summary.to_string()).unwrap();
    let w = RunWriter::begin(&run).unwrap();
    assert_eq!(read(&run.join("a.txt")), "old", "restored");
    drop(w);
    let mut expect = vec![
        "model".to_string(),
        foreign.file_name().unwrap().to_string_lossy().into_owned(),
    ];
    expect.sort();
    assert_eq!(names(root.path()), expect);
}

#[test]
fn parent_that_is_a_file_fails_at_begin() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("f"), "x").unwrap();
    let err = RunWriter::begin(root.path().join("f/run"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("f"), "{err}");
    assert_eq!(read(&root.path().join("f")), "x");
}
