//! `uq sample`'s output side: signals (stop, then abort), the output folder checked before sampling,
//! and the finished run written and put in place (a partial one beside the complete one).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use uq::check::Model;
use uq::output::{inspect, Discard, Existing, OutputError, RunWriter};
use uq::session::{self, Built, RunResult};

/// Exit code when the output folder cannot be used (checked before sampling): a usage error.
pub const EXIT_OUT_ERROR: u8 = 2;
/// Exit code of an interrupted run (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// The process's signal handler for SIGINT, SIGTERM and SIGHUP: the first signal sets `stop` (the
/// sampler ends after its current iteration and the draws so far are written); a second deletes the
/// unfinished run folder of the armed writer and exits.
pub struct Interrupts {
    pub stop: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Discard>>>,
}

impl Interrupts {
    /// Install the handler (before any temporary folder exists, so none is left by a signal).
    pub fn install() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Discard>>> = Arc::default();
        let (flag, armed) = (stop.clone(), slot.clone());
        let _ = ctrlc::set_handler(move || {
            if !flag.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "\ninterrupted: stopping and writing the draws so far (again to abort, writing nothing)"
                );
                return;
            }
            let handle = armed.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let exit = |removed: bool| {
                if removed {
                    eprintln!("\naborted: nothing written; the output folder is as it was");
                }
                std::process::exit(EXIT_INTERRUPTED.into())
            };
            match handle {
                // Exits while holding the writer's lock: the writing thread cannot report the
                // failures the deletion causes.
                Some(h) => h.discard_then(exit),
                None => exit(false),
            }
        });
        Interrupts { stop, slot }
    }

    /// A second signal from now on deletes `writer`'s folder.
    pub fn arm(&self, writer: &RunWriter) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(writer.discard_handle());
    }
}

/// Check `out` and make the run's temporary folder beside it, before any sampling; on failure print
/// why and return the exit code.
pub fn open(out: &Path) -> Result<RunWriter, ExitCode> {
    RunWriter::begin(out).map_err(|e| {
        match e {
            OutputError::NotReplaceable { .. } => eprintln!("error: --out: {e}"),
            e => eprintln!("error: --out: {e}; choose a folder that can be written (nothing was sampled)"),
        }
        ExitCode::from(EXIT_OUT_ERROR)
    })
}

/// Write the run into `writer`'s folder and put it in place: at `out` when complete, at
/// `out.partial` when interrupted. Prints the table and where the run went; returns the exit code.
pub fn finish(
    model: &Model,
    built: &Built,
    result: &mut RunResult,
    writer: RunWriter,
    out: &Path,
    formats: session::ArrayFormats,
) -> anyhow::Result<ExitCode> {
    let handle = writer.discard_handle();
    let complete_there = matches!(inspect(out), Ok(Existing::UqRun { partial: false }));
    let partial = result.summary.partial;
    let written = session::write_run(model, built, result, &writer, formats).and_then(|table| {
        let dir: PathBuf = if partial {
            writer.commit_partial()?
        } else {
            writer.commit()?
        };
        Ok((table, dir))
    });
    let (table, dir) = match written {
        Ok(w) => w,
        // A second signal deleted the folder while it was written: the handler ends the process.
        Err(_) if handle.is_discarded() => std::process::exit(EXIT_INTERRUPTED.into()),
        Err(e) => return Err(e.into()),
    };
    let s = &result.summary;
    println!("{table}");
    println!(
        "{} chains × {} draws{} in {:.1} s; {} gradient and {} score evaluations; divergences {:?}",
        s.chains,
        s.draws,
        if s.partial { " (partial: interrupted)" } else { "" },
        s.wall_seconds,
        s.grad_evals,
        s.score_evals,
        s.divergences
    );
    for w in &s.warnings {
        eprintln!("warning: {}", w.message);
    }
    if !s.partial {
        println!("wrote {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let kept = if complete_there {
        format!("; the complete run in {} is untouched", out.display())
    } else {
        String::new()
    };
    println!("wrote the partial run to {}{kept}", dir.display());
    Ok(ExitCode::from(EXIT_INTERRUPTED))
}
