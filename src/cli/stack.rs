//! `uq sample --over NAME`: the model run over the leading axis of a stacked data tensor (slices of a
//! volume, repetitions of an experiment), one run folder per slice (`OUT/slice_000/` …) plus the
//! stacked means and stds (`OUT/NAME/mean.npy`, `std.npy`) and a per-slice table (`OUT/stack.json`,
//! with `--truth`: PSNR per slice). The slices run one after another in this process; with
//! `--shard-from-env`, one contiguous block of them per array task, joined by `uq merge`.

use super::sample::SampleArgs;
use super::{out_folder, EXIT_MODEL_ERROR, EXIT_USAGE};
use ndarray::{ArrayD, Axis};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use num_complex::Complex64;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::output::{record_files, sha256_file, RunWriter, FORMAT_VERSION, SUMMARY_FILE};

/// The table of a stack, in `OUT/stack.json`.
pub const STACK_FILE: &str = "stack.json";

/// A stacked data tensor, real or complex.
pub(super) enum Stack {
    Real(ArrayD<f64>),
    Complex(ArrayD<Complex64>),
}

impl Stack {
    fn read(path: &Path) -> Result<Stack, String> {
        let open = || std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()));
        match ArrayD::<f64>::read_npy(open()?) {
            Ok(a) => Ok(Stack::Real(a)),
            Err(_) => ArrayD::<Complex64>::read_npy(open()?)
                .map(Stack::Complex)
                .map_err(|e| format!("{}: not a float64 or complex128 .npy ({e})", path.display())),
        }
    }
    fn len(&self) -> usize {
        match self {
            Stack::Real(a) => a.shape().first().copied().unwrap_or(0),
            Stack::Complex(a) => a.shape().first().copied().unwrap_or(0),
        }
    }
    pub(super) fn write_slice(&self, i: usize, to: &Path) -> Result<(), String> {
        let f = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
        match self {
            Stack::Real(a) => a.index_axis(Axis(0), i).to_owned().write_npy(f),
            Stack::Complex(a) => a.index_axis(Axis(0), i).to_owned().write_npy(f),
        }
        .map_err(|e| format!("{}: {e}", to.display()))
    }
}

/// A stacked tensor of `--over`: its data name, file and values.
pub(super) type Bound = (String, PathBuf, Stack);

/// The stacked tensors of `--over`, each bound by `--data NAME=PATH`, all with the same leading length.
fn stacks(args: &SampleArgs) -> Result<(Vec<Bound>, usize), String> {
    let mut out = Vec::new();
    for name in &args.over {
        let path = args
            .data
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| format!("--over {name}: bind the stack with --data {name}=STACK.npy"))?;
        let stack = Stack::read(&path).map_err(|e| format!("--over {name}: {e}"))?;
        out.push((name.clone(), path, stack));
    }
    let n = out.first().map_or(0, |(_, _, s)| s.len());
    if let Some((name, path, s)) = out.iter().find(|(_, _, s)| s.len() != n) {
        return Err(format!(
            "--over {name}: {} has {} slices, {} has {n}; stacked data must have the same leading length",
            path.display(),
            s.len(),
            out[0].1.display()
        ));
    }
    if n == 0 {
        return Err("--over: the stack has no slices (leading axis of length 0)".into());
    }
    Ok((out, n))
}

/// Stacked arrays of every latent's `mean.npy` / `std.npy` across the slice folders.
pub(super) fn stack_moments(slices: &[PathBuf], latent: &str, file: &str, to: &Path) -> Result<(), String> {
    let paths: Vec<PathBuf> = slices.iter().map(|d| d.join(latent).join(file)).collect();
    if !paths.iter().all(|p| p.is_file()) {
        return Ok(());
    }
    let read = |p: &PathBuf| Stack::read(p);
    let parts = paths.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let f = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let err = |e: ndarray_npy::WriteNpyError| format!("{}: {e}", to.display());
    let shape_err = |e: ndarray::ShapeError| format!("{}: {e}", to.display());
    if parts.iter().all(|p| matches!(p, Stack::Real(_))) {
        let views: Vec<_> = parts
            .iter()
            .filter_map(|p| match p {
                Stack::Real(a) => Some(a.view().insert_axis(Axis(0))),
                Stack::Complex(_) => None,
            })
            .collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(shape_err)?
            .write_npy(f)
            .map_err(err)
    } else {
        let views: Vec<_> = parts
            .iter()
            .filter_map(|p| match p {
                Stack::Complex(a) => Some(a.view().insert_axis(Axis(0))),
                Stack::Real(_) => None,
            })
            .collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(shape_err)?
            .write_npy(f)
            .map_err(err)
    }
}

/// PSNR (peak 1, as `uq eval-prior`) of `mean` against slice `i` of the truth stack.
pub(super) fn psnr(truth: &ArrayD<f64>, i: usize, mean: &Path) -> Option<f64> {
    let m = ArrayD::<f64>::read_npy(std::fs::File::open(mean).ok()?).ok()?;
    let t = truth.index_axis(Axis(0), i);
    (t.shape() == m.shape()).then(|| {
        let mse = (&t - &m).mapv(|d| d * d).mean().unwrap_or(f64::NAN);
        10.0 * (1.0 / mse.max(1e-20)).log10()
    })
}

/// The stack folder's own files beside its slice folders: the stacked means and stds of `latents`
/// over `dirs` (when `partial` is false), `table` as `stack.json`, and the `summary.json` marker.
pub(super) fn write_stack_files(
    writer: &RunWriter,
    table: &Value,
    dirs: &[PathBuf],
    latents: &[String],
    partial: bool,
) -> Result<(), String> {
    let io = |e: &dyn std::fmt::Display| format!("{}: {e}", writer.dir().display());
    if !partial {
        for l in latents {
            let d = writer.subdir(l).map_err(|e| io(&e))?;
            for f in ["mean.npy", "std.npy"] {
                stack_moments(dirs, l, f, &d.join(f))?;
            }
        }
    }
    let text = serde_json::to_string_pretty(table).map_err(|e| io(&e))?;
    std::fs::write(writer.path(STACK_FILE), text).map_err(|e| io(&e))?;
    let mut files = record_files(&writer.dir());
    files.push(SUMMARY_FILE.to_string());
    files.sort();
    // The marker that lets a later uq run replace this folder (and nothing else).
    let marker: Value = json!({
        "uq_run": true, "format_version": FORMAT_VERSION, "kind": "stack",
        "partial": partial, "files": files,
    });
    let text = serde_json::to_string_pretty(&marker).map_err(|e| io(&e))?;
    std::fs::write(writer.path(SUMMARY_FILE), text).map_err(|e| io(&e))
}

fn fail(m: String, code: u8) -> anyhow::Result<ExitCode> {
    eprintln!("error: {m}");
    Ok(ExitCode::from(code))
}

/// Run the model once per slice of the `--over` stacks and write the stack folder.
pub fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.predictive {
        return fail("--over does not combine with --predictive; run the slice you want to check with --data NAME=SLICE.npy --predictive".into(), EXIT_USAGE);
    }
    let (stacks, n) = match stacks(&args) {
        Ok(s) => s,
        Err(m) => return fail(m, EXIT_USAGE),
    };
    // With --shard-from-env this task runs one contiguous block of the slices.
    let (range, part) = if args.shard_from_env {
        let env = |v: &str| std::env::var(v).ok();
        let block = super::shard::shard_index(env).and_then(|i| {
            let tasks = super::shard::task_count(args.shards, env)?;
            super::shard::slice_range(i, tasks, n).map(|r| (r, (i, tasks)))
        });
        match block {
            Ok((r, (i, tasks))) => {
                let part = json!({ "index": i, "of": tasks, "first": r.start, "end": r.end });
                (r, Some(part))
            }
            Err(m) => return fail(m, EXIT_USAGE),
        }
    } else {
        (0..n, None)
    };
    let truth = match &args.truth {
        Some(p) => match Stack::read(p) {
            Ok(Stack::Real(a)) if a.shape().first() == Some(&n) => Some(a),
            Ok(_) => {
                return fail(
                    format!("--truth {}: needs a real stack of {n} slices", p.display()),
                    EXIT_USAGE,
                )
            }
            Err(m) => return fail(format!("--truth: {m}"), EXIT_USAGE),
        },
        None => None,
    };
    let model_name = args
        .model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("uq-out").join(&model_name));
    let interrupts = out_folder::Interrupts::install();
    let writer = match out_folder::open(&out) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    interrupts.arm(&writer);
    let tmp = tempfile::tempdir()?;
    let ctx = super::stack_run::Ctx {
        args: &args,
        stacks: &stacks,
        hashes: stacks.iter().map(|(_, p, _)| sha256_file(p).ok()).collect(),
        tmp: tmp.path(),
        out: writer.dir(),
        truth: truth.as_ref(),
        n,
        stop: &interrupts.stop,
    };
    let done = match super::stack_run::run_slices(&ctx, range.clone()) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let partial = done.iter().any(|d| d.partial);
    let latents = done.last().map(|d| d.latents.clone()).unwrap_or_default();
    let dirs: Vec<PathBuf> = done.iter().map(|d| d.dir.clone()).collect();
    let rows: Vec<Value> = done.into_iter().map(|d| d.row).collect();
    let done = rows.len();
    let mut table = json!({ "over": args.over, "slices": n, "done": done, "rows": rows });
    if let Some(p) = part {
        table["part"] = p;
    }
    if let Err(m) = write_stack_files(&writer, &table, &dirs, &latents, partial) {
        return fail(m, EXIT_MODEL_ERROR);
    }
    println!("{}", serde_json::to_string_pretty(&table["rows"])?);
    if partial {
        let dir = writer.commit_partial()?;
        println!("wrote the partial stack to {}", dir.display());
        return Ok(ExitCode::from(130));
    }
    let dir = writer.commit()?;
    println!("wrote {} ({} of {n} slices)", dir.display(), range.len());
    Ok(ExitCode::SUCCESS)
}
