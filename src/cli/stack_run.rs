//! The slices of a `--over` stack: when the model's one score prior is a network, every slice runs in
//! its own thread and their network evaluations go through one [`Hub`] as shared batches (slices ×
//! particles in one call, a noise level per row); otherwise one after another. Either way slice i's
//! folder is that of a separate run of slice i: its own data, random streams and adaptation, and the
//! network gives each row the same bits whatever its batch.

use super::sample::{prepare, report_prepare, SampleArgs};
use super::stack::{psnr, Bound};
use super::EXIT_MODEL_ERROR;
use ndarray::ArrayD;
use serde_json::{json, Value};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use uq::check::Model;
use uq::output::{FileRecord, RunWriter};
use uq::score::{Hub, Seat};
use uq::session::{self, Prepared};
use uq::source::SourceMap;

/// What every slice's run shares.
pub(super) struct Ctx<'a> {
    pub args: &'a SampleArgs,
    pub stacks: &'a [Bound],
    /// SHA-256 of every stack file.
    pub hashes: Vec<Option<String>>,
    /// Where the slices' own data files go.
    pub tmp: &'a Path,
    /// The stack folder being written.
    pub out: PathBuf,
    pub truth: Option<&'a ArrayD<f64>>,
    /// Slices in the stack.
    pub n: usize,
    pub stop: &'a AtomicBool,
}

/// A slice's run, written.
pub(super) struct Done {
    pub row: Value,
    pub dir: PathBuf,
    pub latents: Vec<String>,
    pub partial: bool,
}

/// A slice ready to sample.
struct Ready {
    i: usize,
    model: Model,
    sources: SourceMap,
    bindings: Vec<(String, PathBuf)>,
    prepared: Prepared,
}

fn error(m: String) -> ExitCode {
    eprintln!("error: {m}");
    ExitCode::from(EXIT_MODEL_ERROR)
}

/// Bind slice `i`'s data and prepare its run.
fn ready(ctx: &Ctx<'_>, i: usize) -> Result<Ready, ExitCode> {
    let mut bindings = ctx.args.data.clone();
    for (name, _, stack) in ctx.stacks {
        let p = ctx.tmp.join(format!("{name}_{i}.npy"));
        stack.write_slice(i, &p).map_err(error)?;
        bindings.retain(|(n, _)| n != name);
        bindings.push((name.clone(), p));
    }
    let mut sources = SourceMap::new();
    let Some((model, data)) = super::load_model(&ctx.args.model, &bindings, &mut sources) else {
        return Err(error(format!("slice {i} of the stack")));
    };
    let prepared = prepare(&model, data, Some(ctx.args)).map_err(|e| report_prepare(e, &sources))?;
    Ok(Ready {
        i,
        model,
        sources,
        bindings,
        prepared,
    })
}

/// The slice's network prior sent through `hub`.
fn through(hub: &Arc<Hub>, r: Ready) -> Result<Ready, ExitCode> {
    let prepared = r
        .prepared
        .through(hub)
        .map_err(|m| error(format!("slice {}: {m}", r.i)))?;
    Ok(Ready { prepared, ..r })
}

/// Sample slice `r.i` (holding its `seat` at the hub until it has sampled) and write its folder.
fn run(ctx: &Ctx<'_>, r: Ready, seat: Option<Seat>) -> Result<Done, ExitCode> {
    let (i, n) = (r.i, ctx.n);
    let p = &r.prepared;
    let noop = |_: session::RunProgress<'_>| {};
    let sampled = session::run(&p.built, &p.plan, &p.settings, &noop, ctx.stop);
    drop(seat);
    let mut result = sampled.map_err(|e| error(format!("sampling slice {i} failed: {e:#}")))?;
    let command = super::command_line();
    let s = &mut result.summary;
    session::record_inputs(s, command, &ctx.args.model, &r.model, &r.sources, &r.bindings);
    // The data of a slice: the stack file's path and hash, and the slice's index.
    for ((name, path, _), hash) in ctx.stacks.iter().zip(&ctx.hashes) {
        if let Some(rec) = s
            .provenance
            .data
            .iter_mut()
            .find(|d| d.name.as_deref() == Some(name))
        {
            *rec = FileRecord {
                name: Some(name.clone()),
                path: path.display().to_string(),
                sha256: hash.clone(),
            };
        }
    }
    s.extra.insert(
        "slice".into(),
        json!({ "index": i, "of": n, "over": ctx.args.over }),
    );
    let dir = ctx.out.join(format!("slice_{i:03}"));
    let io = |e: &dyn std::fmt::Display| error(format!("writing slice {i}: {e}"));
    let w = RunWriter::begin(&dir).map_err(|e| io(&e))?;
    let formats = session::ArrayFormats::default();
    session::write_run(&r.model, &p.built, &mut result, &w, formats).map_err(|e| io(&e))?;
    let partial = result.summary.partial;
    if partial {
        w.commit_partial().map_err(|e| io(&e))?;
    } else {
        w.commit().map_err(|e| io(&e))?;
    }
    let s = &result.summary;
    let mut row = json!({
        "slice": i, "folder": format!("slice_{i:03}"), "rhat_max": s.rhat_max,
        "ess_bulk_min": s.ess_bulk_min, "ess_tail_min": s.ess_tail_min,
        "warnings": s.warnings.len(), "wall_seconds": s.wall_seconds,
    });
    if let (Some(t), Some(first)) = (ctx.truth, s.latents.first()) {
        row["psnr"] = json!(psnr(t, i, &dir.join(&first.name).join("mean.npy")));
    }
    if !ctx.args.quiet {
        eprintln!("slice {i}: {row}");
    }
    Ok(Done {
        row,
        dir,
        latents: s.latents.iter().map(|l| l.name.clone()).collect(),
        partial,
    })
}

/// Run the slices `range` and write their folders; the results in slice order.
pub(super) fn run_slices(ctx: &Ctx<'_>, range: Range<usize>) -> Result<Vec<Done>, ExitCode> {
    let first = ready(ctx, range.start)?;
    let networks = first.prepared.networks();
    let batched = networks == 1 && range.len() > 1;
    if !ctx.args.quiet {
        let how = match batched {
            true => "each in its own thread, the network batched across them",
            false => "one after another",
        };
        let plan = &first.prepared.plan;
        let last = range.end - 1;
        eprintln!(
            "sampler: {} — {}; slices {}…{last} of {}, {how}",
            plan.sampler, plan.reason, range.start, ctx.n
        );
    }
    if !batched {
        let mut out = vec![run(ctx, first, None)?];
        for i in range.start + 1..range.end {
            if out.last().is_some_and(|d| d.partial) {
                break;
            }
            out.push(run(ctx, ready(ctx, i)?, None)?);
        }
        return Ok(out);
    }
    let hub = Hub::new();
    let first = Mutex::new(Some(through(&hub, first)?));
    let mut results: Vec<Option<Result<Done, ExitCode>>> = range.clone().map(|_| None).collect();
    let job = |i: usize, seat: Seat| {
        let mine = match i == range.start {
            true => first.lock().ok().and_then(|mut f| f.take()),
            false => None,
        };
        let r = match mine {
            Some(r) => r,
            None => through(&hub, ready(ctx, i)?)?,
        };
        run(ctx, r, Some(seat))
    };
    hub.run_seated(range.clone(), job, |i, out| {
        let out = out.unwrap_or_else(|| Err(error("a slice's thread panicked".into())));
        if out.is_err() {
            // One slice failed: the others stop at their next check.
            ctx.stop.store(true, Ordering::Relaxed);
        }
        results[i - range.start] = Some(out);
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(error("a slice's thread ended without a result".into()))))
        .collect()
}
