//! Files for `uq fmt`: finding `.uq` files under folders, formatting one file in place (atomically).

use crate::check::MAX_SOURCE_BYTES;
use crate::diagnostics::Diagnostic;
use crate::source::SourceMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What formatting one file found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOutcome {
    /// Already in canonical form: not touched.
    Unchanged,
    /// Not in canonical form: rewritten, or (when only checking) would be.
    Changed,
}

/// Why a file could not be formatted; the file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum FmtError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("`{path}` does not exist (give .uq files or folders that contain them)")]
    Missing { path: PathBuf },
    #[error("`{path}` has syntax errors; fix them, then format it")]
    Syntax {
        path: PathBuf,
        /// Spans in the file added to the caller's `SourceMap`.
        diags: Vec<Diagnostic>,
    },
    #[error("cannot write `{path}`: {reason} (the file is unchanged)")]
    Write { path: PathBuf, reason: String },
}

/// The files named in `paths`, and every `*.uq` file under the folders among them (recursively,
/// skipping hidden folders and `target`), each once, folders' files sorted by path.
pub fn collect_uq_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FmtError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(FmtError::Missing { path: p.clone() });
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), FmtError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FmtError::Read {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else if path.extension().is_some_and(|e| e == "uq") {
            found.push(path);
        }
    }
    Ok(())
}

/// Format the file at `path`. With `write`, a file that changes is replaced atomically (a temporary
/// file in the same folder, renamed over it, permissions kept; through a symbolic link, the file it
/// points to); an unchanged file is not touched.
/// The text is added to `sources` so that syntax errors can be rendered.
pub fn format_path(path: &Path, write: bool, sources: &mut SourceMap) -> Result<FileOutcome, FmtError> {
    let text = read_text(path)?;
    let id = sources.add(path.display().to_string(), Some(path.to_path_buf()), text.clone());
    let formatted = super::format_source(id, &text).map_err(|diags| FmtError::Syntax {
        path: path.to_path_buf(),
        diags,
    })?;
    if formatted == text {
        return Ok(FileOutcome::Unchanged);
    }
    if write {
        replace(path, &formatted)?;
    }
    Ok(FileOutcome::Changed)
}

fn read_text(path: &Path) -> Result<String, FmtError> {
    let err = |reason: String| FmtError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(err(format!("it is larger than {} MiB", MAX_SOURCE_BYTES >> 20)));
    }
    String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn replace(path: &Path, text: &str) -> Result<(), FmtError> {
    let err = |reason: String| FmtError::Write {
        path: path.to_path_buf(),
        reason,
    };
    // Through a symbolic link, the file it points to is replaced, not the link.
    let real = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    let path = real.as_path();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".uq-fmt-")
        .tempfile_in(dir)
        .map_err(|e| err(e.to_string()))?;
    tmp.write_all(text.as_bytes()).map_err(|e| err(e.to_string()))?;
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(|e| err(e.to_string()))?;
    }
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}
