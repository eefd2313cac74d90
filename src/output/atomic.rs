//! Atomic file writes (temporary sibling, fsync, rename) and the path helpers of the run writer.

use super::OutputError;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its final component (`a/run` + `.x` → `a/run.x`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "run".into());
    name.push(suffix);
    path.with_file_name(name)
}

/// Parent directory of `path`, `.` for a bare name.
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Best-effort fsync of a directory (makes renames inside it durable; not supported everywhere).
pub(crate) fn sync_dir(dir: &Path) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
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
