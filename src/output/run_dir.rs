//! Which output folders uq may replace (empty ones and its own earlier runs, nothing else), and the
//! clean-up of the temporary folders that a killed uq left beside them.

use super::atomic::sibling;
use super::OutputError;
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the run record inside a run folder.
pub const SUMMARY_FILE: &str = "summary.json";
/// Version of the run-folder format written in `summary.json` (`format_version`).
pub const FORMAT_VERSION: u32 = 1;
/// File inside a run folder that is still being written (removed just before it is put in place).
pub(crate) const WRITING_MARKER: &str = ".uq-writing";
/// Files that earlier versions of uq (before the `files` list) wrote into a latent's folder.
const LEGACY_LATENT_FILES: [&str; 6] = [
    "samples.npy",
    "mean.npy",
    "std.npy",
    "mean.png",
    "std.png",
    "samples.png",
];

/// What is at an output path that uq may write to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    EmptyFolder,
    /// A folder that holds a uq run and nothing else (`partial` as its summary says).
    UqRun {
        partial: bool,
    },
}

/// Where the partial run of an interrupted run whose output folder is `out` goes: `out.partial`.
pub fn partial_dir(out: &Path) -> PathBuf {
    sibling(out, ".partial")
}

/// Look at `path` and say whether uq may replace it; anything else (a file, a link, a folder with
/// anything uq did not write) is [`OutputError::NotReplaceable`].
pub fn inspect(path: &Path) -> Result<Existing, OutputError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(OutputError::io(path, e)),
    };
    let refuse = |reason: String| OutputError::NotReplaceable {
        path: path.to_path_buf(),
        reason,
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is a file, not a folder".into()));
    }
    let empty = fs::read_dir(path)
        .map_err(|e| OutputError::io(path, e))?
        .next()
        .is_none();
    if empty {
        return Ok(Existing::EmptyFolder);
    }
    recognise(path)
        .map(|partial| Existing::UqRun { partial })
        .map_err(refuse)
}

/// `Ok(partial)` when `dir` is a uq run folder holding only what uq wrote, else why it is not.
pub fn recognise(dir: &Path) -> Result<bool, String> {
    let summary = dir.join(SUMMARY_FILE);
    let text = match fs::read_to_string(&summary) {
        Ok(t) => t,
        Err(_) => {
            let first = listing(dir).into_iter().next().unwrap_or_default();
            return Err(format!("it holds `{first}` and no uq summary.json"));
        }
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| "its summary.json is not uq's".to_string())?;
    let partial = v.get("partial").and_then(|p| p.as_bool());
    let allowed: Vec<String> = if v.get("uq_run").and_then(|m| m.as_bool()) == Some(true) {
        // The current format lists every file it wrote.
        v.get("files")
            .and_then(|f| f.as_array())
            .ok_or("its summary.json has no `files` list")?
            .iter()
            .filter_map(|f| f.as_str().map(String::from))
            .collect()
    } else {
        legacy_files(&v).ok_or("its summary.json is not uq's")?
    };
    let partial = partial.ok_or("its summary.json is not uq's")?;
    for rel in listing(dir) {
        let folder = dir.join(&rel).is_dir();
        let ok = rel == SUMMARY_FILE
            || (!folder && allowed.contains(&rel))
            || (folder && allowed.iter().any(|a| a.starts_with(&format!("{rel}/"))));
        if !ok {
            return Err(format!("it holds `{rel}`, which uq did not write"));
        }
    }
    Ok(partial)
}

/// The files an earlier uq (no `uq_run` marker) wrote, when `v` has that summary's exact shape.
fn legacy_files(v: &serde_json::Value) -> Option<Vec<String>> {
    let o = v.as_object()?;
    let keys_ok = o.get("sampler")?.is_string()
        && o.get("reason")?.is_string()
        && o.get("chains")?.is_u64()
        && o.get("draws")?.is_u64()
        && o.get("warmup")?.is_u64()
        && o.get("seed")?.is_u64()
        && o.get("partial")?.is_boolean()
        && o.get("grad_evals")?.is_u64();
    if !keys_ok {
        return None;
    }
    let mut files = Vec::new();
    for latent in o.get("latents")?.as_array()? {
        let name = latent.get("name")?.as_str()?;
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        files.extend(LEGACY_LATENT_FILES.iter().map(|f| format!("{name}/{f}")));
    }
    Some(files)
}

/// Every file and folder under `dir` as `/`-separated relative paths, sorted (folders before their
/// contents). Unreadable folders are listed but not entered.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(base.join(rel)) else {
            return;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            out.push(path.clone());
            let is_dir = fs::symlink_metadata(base.join(&path)).is_ok_and(|m| m.is_dir());
            if is_dir {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out
}

/// Whether process `pid` may still be running (always true where this cannot be asked).
pub(crate) fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(raw) = i32::try_from(pid) else {
            return true;
        };
        match rustix::process::Pid::from_raw(raw) {
            Some(p) => !matches!(
                rustix::process::test_kill_process(p),
                Err(rustix::io::Errno::SRCH)
            ),
            None => true,
        }
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The kinds of temporary sibling a [`super::RunWriter`] makes beside its output folder `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temp {
    /// `out.uq-tmp-PID`: the run being written (or, after a swap, the run it replaced).
    Writing,
    /// `TARGET.uq-old-PID`: a replaced run moved aside (where folders cannot be swapped at once).
    Old,
    /// `out.uq-del-PID`: a discarded run being deleted.
    Deleting,
}

impl Temp {
    fn tag(self) -> &'static str {
        match self {
            Temp::Writing => ".uq-tmp-",
            Temp::Old => ".uq-old-",
            Temp::Deleting => ".uq-del-",
        }
    }

    /// `base` + this kind's tag + `pid`.
    pub(crate) fn path(self, base: &Path, pid: u32) -> PathBuf {
        sibling(base, &format!("{}{pid}", self.tag()))
    }
}

/// Remove what killed uq processes left beside `out`: temporary folders of processes no longer
/// running, when they are recognisably uq's; a run moved aside and never put back is restored.
/// Best effort: what cannot be removed stays (and is tried again next time).
pub(crate) fn clean_stale(out: &Path) {
    let Some(parent) = out.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    }) else {
        return;
    };
    let Some(base) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let partial_base = format!("{base}.partial");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        for (owner, kind) in [
            (&base, Temp::Writing),
            (&base, Temp::Deleting),
            (&base, Temp::Old),
            (&partial_base, Temp::Old),
        ] {
            let Some(pid) = name
                .strip_prefix(owner.as_str())
                .and_then(|rest| rest.strip_prefix(kind.tag()))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid_alive(pid) {
                continue;
            }
            let path = entry.path();
            let target = parent.join(owner);
            match kind {
                Temp::Deleting => {
                    let _ = fs::remove_dir_all(&path);
                }
                Temp::Writing => {
                    if path.join(WRITING_MARKER).exists()
                        || matches!(inspect(&path), Ok(Existing::UqRun { .. } | Existing::EmptyFolder))
                    {
                        let _ = fs::remove_dir_all(&path);
                    }
                }
                Temp::Old => {
                    if !matches!(inspect(&path), Ok(Existing::UqRun { .. })) {
                        continue;
                    }
                    match inspect(&target) {
                        Ok(Existing::Nothing) => {
                            let _ = fs::rename(&path, &target);
                        }
                        Ok(Existing::UqRun { .. }) => {
                            let _ = fs::remove_dir_all(&path);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Exchange the folders `a` and `b` in one step (Linux `renameat2(RENAME_EXCHANGE)`). `Ok(false)`
/// where the system or the file system cannot, and nothing was changed.
pub(crate) fn swap(a: &Path, b: &Path) -> std::io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::NOTSUP) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (a, b);
        Ok(false)
    }
}
