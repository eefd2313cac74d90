//! Atomic writes: a single file via temp + fsync + rename, and a whole run directory via a sibling
//! `<dir>.partial-<pid>` directory renamed into place on commit.

use super::OutputError;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its final component (`a/run` + `.x` → `a/run.x`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "run".into());
    name.push(suffix);
    path.with_file_name(name)
}

/// Parent directory of `path`, `.` for a bare name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Best-effort fsync of a directory (makes renames inside it durable; not supported everywhere).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Write `bytes` to `path` atomically: a temporary sibling is written, fsynced and renamed over `path`.
/// On failure `path` is untouched and the temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    match result {
        Ok(()) => {
            sync_dir(parent_of(path));
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(OutputError::io(path, e))
        }
    }
}

/// A run directory being written. Files go into [`RunWriter::dir`] (a temporary sibling of the final
/// directory); [`RunWriter::commit`] moves it into place, replacing an earlier run only at that moment.
/// Dropping an uncommitted writer deletes the temporary directory and leaves any earlier run intact.
#[derive(Debug)]
pub struct RunWriter {
    final_dir: PathBuf,
    tmp_dir: PathBuf,
    done: bool,
}

impl RunWriter {
    /// Start a run that will end up at `final_dir` (parents are created). A stale temporary directory
    /// of this process is removed first.
    pub fn begin(final_dir: impl AsRef<Path>) -> Result<Self, OutputError> {
        let final_dir = final_dir.as_ref().to_path_buf();
        let parent = parent_of(&final_dir);
        fs::create_dir_all(parent).map_err(|e| OutputError::io(parent, e))?;
        let tmp_dir = sibling(&final_dir, &format!(".partial-{}", std::process::id()));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(|e| OutputError::io(&tmp_dir, e))?;
        }
        fs::create_dir(&tmp_dir).map_err(|e| OutputError::io(&tmp_dir, e))?;
        Ok(RunWriter {
            final_dir,
            tmp_dir,
            done: false,
        })
    }

    /// The directory to write into now (the temporary one).
    pub fn dir(&self) -> &Path {
        &self.tmp_dir
    }

    /// Where the run will be after [`RunWriter::commit`].
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// `dir()/rel`, for a file inside the run.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.tmp_dir.join(rel)
    }

    /// Create (if needed) and return the subdirectory `dir()/name` (e.g. one per latent).
    pub fn subdir(&self, name: impl AsRef<Path>) -> Result<PathBuf, OutputError> {
        let p = self.tmp_dir.join(name);
        fs::create_dir_all(&p).map_err(|e| OutputError::io(&p, e))?;
        Ok(p)
    }

    /// Move the finished run into place. An earlier run at the final path is first renamed aside,
    /// restored if the move fails, and deleted only once the new run is in place.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        sync_dir(&self.tmp_dir);
        let old = sibling(&self.final_dir, &format!(".old-{}", std::process::id()));
        let had_old = fs::symlink_metadata(&self.final_dir).is_ok();
        if had_old {
            if fs::symlink_metadata(&old).is_ok() {
                remove_any(&old).map_err(|e| OutputError::io(&old, e))?;
            }
            fs::rename(&self.final_dir, &old).map_err(|e| OutputError::io(&self.final_dir, e))?;
        }
        if let Err(e) = fs::rename(&self.tmp_dir, &self.final_dir) {
            if had_old {
                let _ = fs::rename(&old, &self.final_dir);
            }
            return Err(OutputError::io(&self.final_dir, e));
        }
        self.done = true;
        sync_dir(parent_of(&self.final_dir));
        if had_old {
            remove_any(&old).map_err(|e| OutputError::io(&old, e))?;
        }
        Ok(self.final_dir.clone())
    }

    /// Abandon the run: delete the temporary directory (also done on drop).
    pub fn abort(mut self) -> Result<(), OutputError> {
        self.done = true;
        fs::remove_dir_all(&self.tmp_dir).map_err(|e| OutputError::io(&self.tmp_dir, e))
    }
}

/// Remove a file or a directory tree.
fn remove_any(p: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(p)?.is_dir() {
        fs::remove_dir_all(p)
    } else {
        fs::remove_file(p)
    }
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp_dir);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    #[test]
    fn commit_replaces_old_run_and_leaves_no_siblings() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("out/model");
        let w = RunWriter::begin(&run).unwrap();
        fs::write(w.path("a.txt"), "first").unwrap();
        assert!(!run.exists(), "nothing visible before commit");
        w.commit().unwrap();
        assert_eq!(read(&run.join("a.txt")), "first");

        let w = RunWriter::begin(&run).unwrap();
        let sub = w.subdir("x").unwrap();
        fs::write(sub.join("b.txt"), "second").unwrap();
        assert_eq!(read(&run.join("a.txt")), "first", "old run intact while writing");
        w.commit().unwrap();
        assert!(!run.join("a.txt").exists());
        assert_eq!(read(&run.join("x/b.txt")), "second");
        let names: Vec<_> = fs::read_dir(root.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("model")]);
    }

    #[test]
    fn failed_write_keeps_old_run() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("model");
        let w = RunWriter::begin(&run).unwrap();
        fs::write(w.path("summary.json"), "old").unwrap();
        w.commit().unwrap();

        let w = RunWriter::begin(&run).unwrap();
        fs::write(w.path("summary.json"), "new, half written").unwrap();
        // A write that fails (into a directory that does not exist) aborts the run by dropping it.
        let err = write_atomic(&w.path("missing/dir/file"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing"));
        let tmp = w.dir().to_path_buf();
        drop(w);
        assert!(!tmp.exists());
        assert_eq!(read(&run.join("summary.json")), "old");
    }

    #[test]
    fn commit_failure_restores_old_run() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("model");
        fs::create_dir(&run).unwrap();
        fs::write(run.join("keep"), "old").unwrap();
        let w = RunWriter::begin(&run).unwrap();
        // Sabotage: remove the temporary directory so the final rename fails.
        fs::remove_dir_all(w.dir()).unwrap();
        assert!(w.commit().is_err());
        assert_eq!(read(&run.join("keep")), "old");
    }

    #[test]
    fn write_atomic_replaces_file() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("f.json");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"2").unwrap();
        assert_eq!(read(&p), "2");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
