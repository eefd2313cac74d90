//! A run folder written beside its destination and put in place in one step: [`RunWriter`] checks the
//! destination before anything is computed, and replaces only an earlier uq run (or an empty folder).

use super::atomic::{parent_of, sibling, sync_dir};
use super::run_dir::{clean_stale, inspect, partial_dir, swap, Existing, Temp, WRITING_MARKER};
use super::OutputError;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The temporary folder, shared with [`Discard`] handles.
#[derive(Debug)]
struct Tmp {
    dir: PathBuf,
    /// Committed or discarded: the folder is no longer the writer's to delete.
    done: bool,
    /// Deleted through a [`Discard`] handle.
    discarded: bool,
}

/// A run folder being written. Files go into [`RunWriter::dir`] (`OUT.uq-tmp-PID`, beside the
/// destination `OUT`); [`RunWriter::commit`] puts it at `OUT`, [`RunWriter::commit_partial`] at
/// `OUT.partial`, replacing what is there in one step. Dropping an uncommitted writer deletes the
/// temporary folder; an earlier run is never touched before the commit.
#[derive(Debug)]
pub struct RunWriter {
    final_dir: PathBuf,
    tmp: Arc<Mutex<Tmp>>,
}

/// A handle that deletes an unfinished run's temporary folder from another thread (a signal handler
/// aborting the run); a commit in progress finishes first.
#[derive(Clone, Debug)]
pub struct Discard(Arc<Mutex<Tmp>>);

impl Discard {
    /// Delete the temporary folder unless the run was already committed. True if it was deleted.
    pub fn discard(&self) -> bool {
        self.discard_then(|removed| removed)
    }

    /// [`Discard::discard`], then `then(deleted)` while still holding the writer's lock: a signal
    /// handler that exits the process in `then` stops the writing thread from reporting the failures
    /// that the deletion causes (it waits on the lock until the process ends).
    pub fn discard_then<R>(&self, then: impl FnOnce(bool) -> R) -> R {
        let mut tmp = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let removed = !tmp.done && {
            tmp.done = true;
            tmp.discarded = true;
            remove_tmp(&tmp.dir)
        };
        then(removed)
    }

    /// Whether the run was discarded (waits while a discard is in progress).
    pub fn is_discarded(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).discarded
    }
}

/// Move the folder out of the way first (so that nothing can be added to it any more), then delete it.
fn remove_tmp(dir: &Path) -> bool {
    let gone = Temp::Deleting.path(dir, std::process::id());
    let target = if fs::rename(dir, &gone).is_ok() {
        gone
    } else {
        dir.to_path_buf()
    };
    (0..3).any(|_| fs::remove_dir_all(&target).is_ok() || !target.exists())
}

impl RunWriter {
    /// Start a run whose destination is `out`. Before anything is computed this checks that `out` and
    /// `out.partial` are each absent, an empty folder or an earlier uq run (else
    /// [`OutputError::NotReplaceable`]), creates the parent folders and the temporary folder (so an
    /// unwritable place fails now), and cleans up what killed uq runs left beside `out`.
    pub fn begin(out: impl AsRef<Path>) -> Result<Self, OutputError> {
        let final_dir = out.as_ref().to_path_buf();
        if final_dir.file_name().is_none() {
            return Err(OutputError::NotReplaceable {
                path: final_dir,
                reason: "it does not name a folder".into(),
            });
        }
        inspect(&final_dir)?;
        inspect(&partial_dir(&final_dir))?;
        let parent = parent_of(&final_dir);
        fs::create_dir_all(parent).map_err(|e| OutputError::io(parent, e))?;
        clean_stale(&final_dir);
        let dir = Temp::Writing.path(&final_dir, std::process::id());
        if fs::symlink_metadata(&dir).is_ok() {
            fs::remove_dir_all(&dir).map_err(|e| OutputError::io(&dir, e))?;
        }
        fs::create_dir(&dir).map_err(|e| OutputError::io(&dir, e))?;
        let writer = RunWriter {
            final_dir,
            tmp: Arc::new(Mutex::new(Tmp {
                dir,
                done: false,
                discarded: false,
            })),
        };
        let marker = writer.path(WRITING_MARKER);
        let note = format!("a uq run being written by process {}\n", std::process::id());
        fs::write(&marker, note).map_err(|e| OutputError::io(&marker, e))?;
        Ok(writer)
    }

    /// The folder to write into now (the temporary one).
    pub fn dir(&self) -> PathBuf {
        self.lock().dir.clone()
    }

    /// Where a complete run will be after [`RunWriter::commit`].
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Where a partial run will be after [`RunWriter::commit_partial`].
    pub fn partial_dir(&self) -> PathBuf {
        partial_dir(&self.final_dir)
    }

    /// `dir()/rel`, for a file inside the run.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir().join(rel)
    }

    /// Create (if needed) and return the subfolder `dir()/name` (one per latent). The temporary
    /// folder itself is never re-created: once discarded, writing into it fails.
    pub fn subdir(&self, name: impl AsRef<Path>) -> Result<PathBuf, OutputError> {
        let p = self.path(name);
        match fs::create_dir(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(OutputError::io(&p, e)),
            _ => Ok(p),
        }
    }

    /// A handle that can delete the temporary folder from another thread.
    pub fn discard_handle(&self) -> Discard {
        Discard(self.tmp.clone())
    }

    /// Put the complete run at the destination, replacing an earlier run there in one step.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let target = self.final_dir.clone();
        self.install(&target)
    }

    /// Put an interrupted run at `OUT.partial` (replacing an earlier partial run); `OUT` is left alone.
    pub fn commit_partial(self) -> Result<PathBuf, OutputError> {
        let target = self.partial_dir();
        self.install(&target)
    }

    /// Abandon the run: delete the temporary folder (also done on drop).
    pub fn abort(self) {
        self.discard_handle().discard();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tmp> {
        self.tmp.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn install(self, target: &Path) -> Result<PathBuf, OutputError> {
        let mut tmp = self.lock();
        if tmp.done {
            return Err(OutputError::io(
                target,
                std::io::Error::other("the run was discarded"),
            ));
        }
        let marker = tmp.dir.join(WRITING_MARKER);
        fs::remove_file(&marker).map_err(|e| OutputError::io(&marker, e))?;
        sync_dir(&tmp.dir);
        let existing = match inspect(target) {
            Ok(e) => e,
            Err(e) => {
                // Something else appeared at the destination while sampling: keep the finished run
                // under a name no clean-up touches, and say where.
                let kept = sibling(target, &format!(".unplaced-{}", std::process::id()));
                let kept = if fs::rename(&tmp.dir, &kept).is_ok() {
                    kept
                } else {
                    tmp.dir.clone()
                };
                tmp.done = true;
                return Err(OutputError::NotPlaced {
                    path: target.to_path_buf(),
                    kept,
                    reason: e.to_string(),
                });
            }
        };
        let placed = match existing {
            Existing::Nothing => fs::rename(&tmp.dir, target),
            // Unix renames over an empty folder; elsewhere it is removed first.
            Existing::EmptyFolder => fs::rename(&tmp.dir, target)
                .or_else(|_| fs::remove_dir(target).and_then(|()| fs::rename(&tmp.dir, target))),
            Existing::UqRun { .. } => replace_run(&tmp.dir, target),
        };
        placed.map_err(|e| OutputError::io(target, e))?;
        tmp.done = true;
        sync_dir(parent_of(target));
        Ok(target.to_path_buf())
    }
}

/// Replace the run folder `target` by `new`: swapped in one step where the system can (the old run,
/// then at `new`, is deleted after), else moved aside to `TARGET.uq-old-PID` first (a killed process
/// leaves it there, and the next run puts it back).
fn replace_run(new: &Path, target: &Path) -> std::io::Result<()> {
    if swap(new, target)? {
        let _ = fs::remove_dir_all(new);
        return Ok(());
    }
    let old = Temp::Old.path(target, std::process::id());
    fs::rename(target, &old)?;
    if let Err(e) = fs::rename(new, target) {
        let _ = fs::rename(&old, target);
        return Err(e);
    }
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        let mut tmp = self.lock();
        if !tmp.done {
            tmp.done = true;
            remove_tmp(&tmp.dir);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "writer_tests.rs"]
mod tests;
