//! Copying a finished run folder to a destination under the writer's rules (the REPL's `:save`), and
//! the list of files a run folder holds (`files` in `summary.json`).

use super::run_dir::{listing, WRITING_MARKER};
use super::{OutputError, RunWriter};
use std::fs;
use std::path::{Path, PathBuf};

/// Every file under `dir` (not folders, not the writer's marker) as sorted `/`-separated paths.
pub fn record_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|rel| rel != WRITING_MARKER && dir.join(rel).is_file())
        .collect()
}

/// Copy the run folder `from` to `to` by a [`RunWriter`]: `to` must be absent, empty or an earlier
/// uq run; a `partial` run goes to `to.partial` instead. Returns where it went.
pub fn save_run(from: &Path, to: &Path, partial: bool) -> Result<PathBuf, OutputError> {
    let w = RunWriter::begin(to)?;
    let dir = w.dir();
    for rel in listing(from) {
        let (src, dst) = (from.join(&rel), dir.join(&rel));
        if src.is_dir() {
            fs::create_dir_all(&dst).map_err(|e| OutputError::io(&dst, e))?;
        } else {
            fs::copy(&src, &dst).map_err(|e| OutputError::io(&dst, e))?;
        }
    }
    if partial {
        w.commit_partial()
    } else {
        w.commit()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn save_copies_a_run_and_refuses_foreign_folders() {
        let root = tempfile::tempdir().unwrap();
        let from = root.path().join("from");
        fs::create_dir_all(from.join("x")).unwrap();
        fs::write(from.join("x/samples.npy"), "a").unwrap();
        let files = ["summary.json", "x/samples.npy"];
        let summary = serde_json::json!({"uq_run": true, "partial": false, "files": files});
        fs::write(from.join("summary.json"), summary.to_string()).unwrap();
        assert_eq!(record_files(&from), files);
        let to = root.path().join("to");
        assert_eq!(save_run(&from, &to, false).unwrap(), to);
        assert_eq!(fs::read_to_string(to.join("x/samples.npy")).unwrap(), "a");
        // Saving again replaces the earlier copy; a partial run goes beside it.
        save_run(&from, &to, false).unwrap();
        assert_eq!(
            save_run(&from, &to, true).unwrap(),
            root.path().join("to.partial")
        );
        let mine = root.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("notes.txt"), "keep").unwrap();
        assert!(save_run(&from, &mine, false).is_err());
        assert_eq!(fs::read_to_string(mine.join("notes.txt")).unwrap(), "keep");
    }
}
