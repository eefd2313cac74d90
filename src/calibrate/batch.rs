//! Calibration repetitions run together: in groups of at most `batch_reps`, each repetition in its
//! own thread, their network evaluations sent through one [`Hub`] as shared batches. Every
//! repetition's truth, data, seed and run are those of the sequential path, and the network gives
//! each row the same bits whatever its batch, so its ranks and record are too.

use super::ranks::RepStats;
use super::run::{finish, setup, CalibrateError, Outcome, Rep, RepRun, Spec};
use crate::score::{Hub, Seat};
use crate::session::{self, Prepared, RunProgress};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Run every repetition of `spec` in groups through a hub, into `out` (in repetition order). A
/// failed or interrupted repetition lets the others of its group finish, and no group starts after
/// it; the finished repetitions are kept.
pub(super) fn run_groups(
    spec: &Spec<'_>,
    base: &Prepared,
    seed: u64,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    on_rep: &mut dyn FnMut(usize, usize),
    stop: &AtomicBool,
    out: &mut Outcome,
) -> Result<(), CalibrateError> {
    let (post, reference) = (&base.built.posterior, spec.reference);
    let size = spec.batch_reps.max(1);
    let mut done: Vec<(RepStats, RepRun)> = Vec::new();
    // The first reason to stop, by repetition (the lowest one's wins, as in the sequential order).
    let mut stopped: Option<(usize, String)> = None;
    let mut failed: Option<(usize, CalibrateError)> = None;
    let mut start = 0;
    while start < spec.reps && stopped.is_none() && failed.is_none() {
        if stop.load(Ordering::SeqCst) {
            stopped = Some((start, "interrupted".into()));
            break;
        }
        let group = start..(start + size).min(spec.reps);
        let hub = Hub::new();
        let mut reps = Vec::with_capacity(group.len());
        for r in group.clone() {
            let rep = setup(spec, post, seed, r)?;
            let prepared = rep
                .prepared
                .through(&hub)
                .map_err(|message| CalibrateError::Rep { rep: r, message })?;
            reps.push(Mutex::new(Some(Rep { prepared, ..rep })));
        }
        let job = |r: usize, seat: Seat| {
            let rep = reps[r - group.start].lock().ok()?.take()?;
            let p = &rep.prepared;
            let result = session::run(&p.built, &p.plan, &p.settings, progress, stop);
            drop(seat);
            Some(finish(reference, rep, result))
        };
        hub.run_seated(group.clone(), job, |r, ended| {
            let ended = ended.flatten().unwrap_or_else(|| {
                Ok(Err(format!(
                    "repetition {r}: its thread panicked or lost its run"
                )))
            });
            match ended {
                Ok(Ok(pair)) => {
                    done.push(pair);
                    on_rep(done.len(), spec.reps);
                }
                Ok(Err(why)) => {
                    if stopped.as_ref().is_none_or(|(at, _)| r < *at) {
                        stopped = Some((r, why));
                    }
                }
                Err(e) => {
                    if failed.as_ref().is_none_or(|(at, _)| r < *at) {
                        failed = Some((r, e));
                    }
                }
            }
        });
        start = group.end;
    }
    // As the sequential order would meet them: a failure before the first stop is the outcome.
    if let Some((at, e)) = failed {
        if stopped.as_ref().is_none_or(|(s, _)| at < *s) {
            return Err(e);
        }
    }
    done.sort_by_key(|(_, run)| run.rep);
    (out.stats, out.runs) = done.into_iter().unzip();
    out.stopped = stopped.map(|(_, why)| why);
    Ok(())
}
