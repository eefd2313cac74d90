//! `uq sample --over NAME`: the model run over the leading axis of a stacked data tensor (slices of a
//! volume, repetitions of an experiment), one run folder per slice (`OUT/slice_000/` …) plus the
//! stacked means and stds (`OUT/NAME/mean.npy`, `std.npy`) and a per-slice table (`OUT/stack.json`,
//! with `--truth`: PSNR per slice). The slices run one after another in this process.

use super::sample::{prepare, report_prepare, SampleArgs};
use super::{out_folder, EXIT_MODEL_ERROR, EXIT_USAGE};
use ndarray::{ArrayD, Axis};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use num_complex::Complex64;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::output::{record_files, sha256_file, FileRecord, RunWriter, FORMAT_VERSION, SUMMARY_FILE};
use uq::session;
use uq::source::SourceMap;

/// The table of a stack, in `OUT/stack.json`.
pub const STACK_FILE: &str = "stack.json";

/// A stacked data tensor, real or complex.
enum Stack {
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
    fn write_slice(&self, i: usize, to: &Path) -> Result<(), String> {
        let f = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
        match self {
            Stack::Real(a) => a.index_axis(Axis(0), i).to_owned().write_npy(f),
            Stack::Complex(a) => a.index_axis(Axis(0), i).to_owned().write_npy(f),
        }
        .map_err(|e| format!("{}: {e}", to.display()))
    }
}

/// A stacked tensor of `--over`: its data name, file and values.
type Bound = (String, PathBuf, Stack);

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
fn stack_moments(slices: &[PathBuf], latent: &str, file: &str, to: &Path) -> Result<(), String> {
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
fn psnr(truth: &ArrayD<f64>, i: usize, mean: &Path) -> Option<f64> {
    let m = ArrayD::<f64>::read_npy(std::fs::File::open(mean).ok()?).ok()?;
    let t = truth.index_axis(Axis(0), i);
    (t.shape() == m.shape()).then(|| {
        let mse = (&t - &m).mapv(|d| d * d).mean().unwrap_or(f64::NAN);
        10.0 * (1.0 / mse.max(1e-20)).log10()
    })
}

fn fail(m: String, code: u8) -> anyhow::Result<ExitCode> {
    eprintln!("error: {m}");
    Ok(ExitCode::from(code))
}

/// Run the model once per slice of the `--over` stacks and write the stack folder.
pub fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.shard_from_env || args.predictive {
        return fail("--over runs every slice here; it does not combine with --shard-from-env or --predictive (run one slice per task with --data NAME=SLICE.npy instead)".into(), EXIT_USAGE);
    }
    let (stacks, n) = match stacks(&args) {
        Ok(s) => s,
        Err(m) => return fail(m, EXIT_USAGE),
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
    let stack_hashes: Vec<Option<String>> = stacks.iter().map(|(_, p, _)| sha256_file(p).ok()).collect();
    let (mut rows, mut dirs, mut latents) = (Vec::new(), Vec::new(), Vec::new());
    let mut partial = false;
    for i in 0..n {
        let mut bindings = args.data.clone();
        for (name, _, stack) in &stacks {
            let p = tmp.path().join(format!("{name}_{i}.npy"));
            if let Err(m) = stack.write_slice(i, &p) {
                return fail(m, EXIT_MODEL_ERROR);
            }
            bindings.retain(|(n, _)| n != name);
            bindings.push((name.clone(), p));
        }
        let mut sources = SourceMap::new();
        let Some((model, data)) = super::load_model(&args.model, &bindings, &mut sources) else {
            eprintln!("error: slice {i} of the stack");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        };
        let prepared = match prepare(&model, data, Some(&args)) {
            Ok(p) => p,
            Err(e) => return Ok(report_prepare(e, &sources)),
        };
        if i == 0 && !args.quiet {
            eprintln!(
                "sampler: {} — {}; {n} slices, one after another",
                prepared.plan.sampler, prepared.plan.reason
            );
        }
        let noop = |_: session::RunProgress<'_>| {};
        let mut result = match session::run(
            &prepared.built,
            &prepared.plan,
            &prepared.settings,
            &noop,
            &interrupts.stop,
        ) {
            Ok(r) => r,
            Err(e) => return fail(format!("sampling slice {i} failed: {e:#}"), EXIT_MODEL_ERROR),
        };
        let command = super::command_line();
        session::record_inputs(
            &mut result.summary,
            command,
            &args.model,
            &model,
            &sources,
            &bindings,
        );
        // The data of a slice: the stack file's path and hash, and the slice's index.
        for ((name, path, _), hash) in stacks.iter().zip(&stack_hashes) {
            if let Some(r) = result
                .summary
                .provenance
                .data
                .iter_mut()
                .find(|r| r.name.as_deref() == Some(name))
            {
                *r = FileRecord {
                    name: Some(name.clone()),
                    path: path.display().to_string(),
                    sha256: hash.clone(),
                };
            }
        }
        result
            .summary
            .extra
            .insert("slice".into(), json!({ "index": i, "of": n, "over": args.over }));
        let dir = writer.dir().join(format!("slice_{i:03}"));
        let w = RunWriter::begin(&dir)?;
        session::write_run(
            &model,
            &prepared.built,
            &mut result,
            &w,
            session::ArrayFormats::default(),
        )?;
        partial = result.summary.partial;
        if partial {
            w.commit_partial()?;
        } else {
            w.commit()?;
        }
        let s = &result.summary;
        let mut row = json!({
            "slice": i, "folder": format!("slice_{i:03}"), "rhat_max": s.rhat_max,
            "ess_bulk_min": s.ess_bulk_min, "ess_tail_min": s.ess_tail_min,
            "warnings": s.warnings.len(), "wall_seconds": s.wall_seconds,
        });
        if let (Some(t), Some(first)) = (&truth, s.latents.first()) {
            row["psnr"] = json!(psnr(t, i, &dir.join(&first.name).join("mean.npy")));
        }
        if !args.quiet {
            eprintln!("slice {i}: {row}");
        }
        latents = s.latents.iter().map(|l| l.name.clone()).collect();
        rows.push(row);
        dirs.push(dir);
        if partial {
            break;
        }
    }
    if !partial {
        for l in &latents {
            let d = writer.subdir(l)?;
            for f in ["mean.npy", "std.npy"] {
                if let Err(m) = stack_moments(&dirs, l, f, &d.join(f)) {
                    return fail(m, EXIT_MODEL_ERROR);
                }
            }
        }
    }
    let table = json!({ "over": args.over, "slices": n, "done": rows.len(), "rows": rows });
    std::fs::write(writer.path(STACK_FILE), serde_json::to_string_pretty(&table)?)?;
    let mut files = record_files(&writer.dir());
    files.push(SUMMARY_FILE.to_string());
    files.sort();
    // The marker that lets a later uq run replace this folder (and nothing else).
    let marker: Value = json!({
        "uq_run": true, "format_version": FORMAT_VERSION, "kind": "stack",
        "partial": partial, "files": files,
    });
    std::fs::write(writer.path(SUMMARY_FILE), serde_json::to_string_pretty(&marker)?)?;
    println!("{}", serde_json::to_string_pretty(&rows)?);
    if partial {
        let dir = writer.commit_partial()?;
        println!("wrote the partial stack to {}", dir.display());
        return Ok(ExitCode::from(130));
    }
    let dir = writer.commit()?;
    println!("wrote {} ({n} slices)", dir.display());
    Ok(ExitCode::SUCCESS)
}
