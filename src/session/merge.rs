//! `uq merge`: shards of one run (`--chain-offset`) checked against each other and joined into one
//! run folder, with the diagnostics and warnings recomputed over all chains by [`super::write`].

use super::write::{write_items, ArrayFormats, Item};
use super::SessionError;
use crate::graph::Ty;
use crate::infer::{Levels, RunChecks, SampleStats, SolverCheck};
use crate::output::{RunWriter, Summary, SAMPLE_STATS_FILE, SUMMARY_FILE};
use ndarray::{concatenate, Array2, Array3, ArrayD, Axis};
use ndarray_npy::{NpzReader, ReadNpyExt, ReadableElement};
use num_complex::Complex64;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Key in `summary.json`'s `extra` of what the warnings knew of the run besides the draws.
pub const CHECKS_KEY: &str = "run_checks";
/// Key in `extra` of a merged run's record (its shards, missing chains).
pub const MERGE_KEY: &str = "merge";

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] SessionError),
}

/// The [`RunChecks`] of a run as recorded in `summary.json` (the statistics go to their own file).
pub fn checks_record(c: &RunChecks) -> Value {
    json!({
        "max_tree_depth": c.max_tree_depth,
        "corrected": c.corrected,
        "windowed_warmup": c.windowed_warmup,
        "levels": c.levels.as_ref().map(|l| json!({ "sigmas": l.sigmas, "accept": l.accept })),
        "solver": c.solver.as_ref().map(|s| json!({
            "solves": s.solves, "not_converged": s.not_converged, "max_residual": s.max_residual,
            "tol": s.tol, "max_iter": s.max_iter,
        })),
    })
}

/// Entries of `extra` (object, key) with one value per chain: concatenated over the shards in the
/// order of their chains. The rest of `extra` is the first shard's.
const PER_CHAIN_EXTRA: &[(&str, &str)] = &[
    ("schedule", "eps_per_chain"),
    ("corrector", "accept_per_chain"),
    ("corrector", "step_size_per_chain"),
];

/// The entries of `extra` that are means over all of a run's particles rather than per chain: the
/// annealing levels' acceptance (and its mean over levels), from the pooled checks; they equal the one
/// run's up to rounding (it sums over particles in another order). The corrector's jump divides by
/// the spread of all particles of a batch, which no shard has, so a merge of several shards gives
/// `null` there. The per-chain entries are exact.
fn pool_extras(summary: &mut Summary, shards: &[(PathBuf, Summary)], checks: &RunChecks) {
    if let Some(levels) = &checks.levels {
        let mean = levels.accept.iter().sum::<f64>() / levels.accept.len().max(1) as f64;
        if summary.extra.contains_key("level_accept") {
            summary.extra.insert("level_accept".into(), json!(levels.accept));
            summary.extra.insert("level_accept_mean".into(), json!(mean));
        }
    }
    if shards.len() > 1 {
        if let Some(c) = summary.extra.get_mut("corrector").and_then(Value::as_object_mut) {
            if c.contains_key("jump_sq_over_var") {
                c.insert("jump_sq_over_var".into(), Value::Null);
            }
        }
    }
}

/// Shards joined in memory, ready to be written.
pub struct Merged {
    pub summary: Summary,
    /// Every latent and `output` quantity: name, type, flat draws `[chains, draws, len]`.
    pub items: Vec<(String, Ty, Array3<f64>)>,
    pub checks: RunChecks,
    /// What the user should know (missing chains, predictive checks not recomputed).
    pub notes: Vec<String>,
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> MergeError {
    MergeError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What must agree between shards of one run, as (what, value) pairs.
fn identity(s: &Summary) -> Vec<(&'static str, String)> {
    let p = &s.provenance;
    let hash = |r: &crate::output::FileRecord| {
        format!(
            "{}={}",
            r.name.as_deref().unwrap_or(""),
            r.sha256.as_deref().unwrap_or("?")
        )
    };
    let mut options = p.options.clone();
    options.remove("chains");
    options.remove("chain_offset");
    options.remove("seed");
    vec![
        ("format version", s.format_version.to_string()),
        ("uq version", p.uq_version.clone()),
        (
            "model (SHA-256 of its text)",
            p.model.as_ref().map(hash).unwrap_or_default(),
        ),
        (
            "imported modules",
            p.imports.iter().map(hash).collect::<Vec<_>>().join(", "),
        ),
        (
            "data (SHA-256 per tensor)",
            p.data.iter().map(hash).collect::<Vec<_>>().join(", "),
        ),
        (
            "prior files",
            p.priors.iter().map(hash).collect::<Vec<_>>().join(", "),
        ),
        ("sampler", s.sampler.clone()),
        ("seed", s.seed.to_string()),
        ("settings", Value::Object(options).to_string()),
        ("draws per chain", s.draws.to_string()),
        (
            "stack slice",
            s.extra.get("slice").map(Value::to_string).unwrap_or_default(),
        ),
    ]
}

/// Refuse runs `a` and `b` (folder, summary) that are not parts of one run: another model, module,
/// data, prior file, sampler, setting, seed, number of draws or uq version, and with `slice_too`
/// another slice of a stack.
pub fn check_same_run(a: (&Path, &Summary), b: (&Path, &Summary), slice_too: bool) -> Result<(), MergeError> {
    for ((what, x), (_, y)) in identity(a.1).into_iter().zip(identity(b.1)) {
        if x != y && (slice_too || what != "stack slice") {
            return Err(MergeError::Refused(format!(
                "{} and {} are not parts of one run: their {what} differ ({x} vs {y}); merge only runs of the same model, data, settings and seed",
                a.0.display(),
                b.0.display()
            )));
        }
    }
    Ok(())
}

/// Read `dir/NAME/samples.npy` (also for `uq report`) as `[chains, draws, len]` (complex values as re, im pairs).
pub(crate) fn read_samples(dir: &Path, name: &str, dtype: &str) -> Result<Array3<f64>, MergeError> {
    let path = dir.join(name).join("samples.npy");
    let file = std::fs::File::open(&path).map_err(|e| read_err(&path, e))?;
    let flat = |a: ArrayD<f64>| -> Result<Array3<f64>, MergeError> {
        let sh = a.shape().to_vec();
        if sh.len() < 2 {
            return Err(read_err(&path, "expected [chains, draws, …]"));
        }
        let len = sh[2..].iter().product::<usize>();
        let v: Vec<f64> = a.iter().copied().collect();
        Array3::from_shape_vec((sh[0], sh[1], len), v).map_err(|e| read_err(&path, e))
    };
    match dtype {
        "complex128" => {
            let z = ArrayD::<Complex64>::read_npy(file).map_err(|e| read_err(&path, e))?;
            let mut sh = z.shape().to_vec();
            let v: Vec<f64> = z.iter().flat_map(|c| [c.re, c.im]).collect();
            if sh.len() > 2 {
                let k = sh.len() - 1;
                sh[k] *= 2;
            } else {
                sh.push(2);
            }
            flat(ArrayD::from_shape_vec(sh, v).map_err(|e| read_err(&path, e))?)
        }
        _ => flat(ArrayD::<f64>::read_npy(file).map_err(|e| read_err(&path, e))?),
    }
}

fn stat<T: ReadableElement>(
    r: &mut NpzReader<std::fs::File>,
    name: &str,
    path: &Path,
) -> Result<Option<Array2<T>>, MergeError> {
    let names = r.names().map_err(|e| read_err(path, e))?;
    if !names.iter().any(|n| n == name || n == &format!("{name}.npy")) {
        return Ok(None);
    }
    r.by_name(name).map(Some).map_err(|e| read_err(path, e))
}

pub(crate) fn read_stats(dir: &Path) -> Result<Option<SampleStats>, MergeError> {
    let path = dir.join(SAMPLE_STATS_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).map_err(|e| read_err(&path, e))?;
    let mut r = NpzReader::new(file).map_err(|e| read_err(&path, e))?;
    let need = |a: Option<Array2<f64>>, n: &str| a.ok_or_else(|| read_err(&path, format!("no `{n}`")));
    Ok(Some(SampleStats {
        lp: stat(&mut r, "lp", &path)?,
        acceptance_rate: need(stat(&mut r, "acceptance_rate", &path)?, "acceptance_rate")?,
        step_size: need(stat(&mut r, "step_size", &path)?, "step_size")?,
        tree_depth: stat(&mut r, "tree_depth", &path)?,
        n_steps: stat(&mut r, "n_steps", &path)?.ok_or_else(|| read_err(&path, "no `n_steps`"))?,
        diverging: stat(&mut r, "diverging", &path)?.ok_or_else(|| read_err(&path, "no `diverging`"))?,
        energy: stat(&mut r, "energy", &path)?,
    }))
}

/// Chain-wise concatenation of per-shard statistics (`None` when any shard lacks them).
fn join_stats(parts: Vec<Option<SampleStats>>) -> Option<SampleStats> {
    let parts: Vec<SampleStats> = parts.into_iter().collect::<Option<_>>()?;
    fn cat<T: Clone>(xs: Vec<&Array2<T>>) -> Option<Array2<T>> {
        let views: Vec<_> = xs.iter().map(|a| a.view()).collect();
        concatenate(Axis(0), &views).ok()
    }
    fn opt<T: Clone>(xs: Vec<Option<&Array2<T>>>) -> Option<Option<Array2<T>>> {
        match xs.iter().all(Option::is_some) {
            true => Some(cat(xs.into_iter().flatten().collect())),
            false => xs.iter().all(Option::is_none).then_some(None),
        }
    }
    Some(SampleStats {
        lp: opt(parts.iter().map(|s| s.lp.as_ref()).collect())?,
        acceptance_rate: cat(parts.iter().map(|s| &s.acceptance_rate).collect())?,
        step_size: cat(parts.iter().map(|s| &s.step_size).collect())?,
        tree_depth: opt(parts.iter().map(|s| s.tree_depth.as_ref()).collect())?,
        n_steps: cat(parts.iter().map(|s| &s.n_steps).collect())?,
        diverging: cat(parts.iter().map(|s| &s.diverging).collect())?,
        energy: opt(parts.iter().map(|s| s.energy.as_ref()).collect())?,
    })
}

/// The checks recorded by the first shard, with the statistics of all and the annealing levels'
/// acceptance averaged over the shards by their number of chains.
fn join_checks(shards: &[(PathBuf, Summary)], stats: Option<SampleStats>) -> RunChecks {
    let rec = |s: &Summary| s.extra.get(CHECKS_KEY).cloned().unwrap_or(Value::Null);
    let first = rec(&shards[0].1);
    let usize_of = |v: &Value| v.as_u64().map(|n| n as usize);
    let levels = first.get("levels").filter(|l| !l.is_null()).map(|l| {
        let f = |v: &Value| -> Vec<f64> {
            v.as_array()
                .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
                .unwrap_or_default()
        };
        let sigmas = f(&l["sigmas"]);
        let total: usize = shards.iter().map(|(_, s)| s.chains).sum();
        let mut accept = vec![0.0; f(&l["accept"]).len()];
        for (_, s) in shards {
            let a = f(&rec(s)["levels"]["accept"]);
            for (acc, x) in accept.iter_mut().zip(a) {
                *acc += x * s.chains as f64 / total as f64;
            }
        }
        Levels { sigmas, accept }
    });
    // The solves of every shard together.
    let solver = first.get("solver").filter(|s| !s.is_null()).map(|f| {
        let mut sv = SolverCheck {
            tol: f["tol"].as_f64().unwrap_or(f64::NAN),
            max_iter: usize_of(&f["max_iter"]).unwrap_or(0),
            ..SolverCheck::default()
        };
        for (_, s) in shards {
            let r = &rec(s)["solver"];
            sv.solves += usize_of(&r["solves"]).unwrap_or(0);
            sv.not_converged += usize_of(&r["not_converged"]).unwrap_or(0);
            sv.max_residual = sv.max_residual.max(r["max_residual"].as_f64().unwrap_or(0.0));
        }
        sv
    });
    RunChecks {
        stats,
        max_tree_depth: usize_of(&first["max_tree_depth"]),
        corrected: first["corrected"].as_bool().unwrap_or(true),
        windowed_warmup: usize_of(&first["windowed_warmup"]),
        levels,
        solver,
    }
}

/// Read and check the run folders `dirs` and join their chains in the order of their global indices.
pub fn merge_runs(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::Refused("no run folders to merge".into()));
    }
    let mut shards = Vec::new();
    for d in dirs {
        let path = d.join(SUMMARY_FILE);
        let s = Summary::read(&path).map_err(|e| read_err(&path, e))?;
        if !s.uq_run {
            return Err(read_err(&path, "not a uq run folder's summary"));
        }
        if s.partial {
            return Err(MergeError::Refused(format!(
                "{} is an interrupted run (partial: {} draws); rerun that shard before merging",
                d.display(),
                s.draws
            )));
        }
        if s.chain_indices.len() != s.chains {
            return Err(read_err(
                &path,
                "no global chain indices (written by an older uq?)",
            ));
        }
        shards.push((d.clone(), s));
    }
    for (d, s) in &shards[1..] {
        check_same_run((&shards[0].0, &shards[0].1), (d, s), true)?;
    }
    shards.sort_by_key(|(_, s)| s.chain_indices.first().copied());
    let mut seen: Vec<(usize, &Path)> = Vec::new();
    for (d, s) in &shards {
        for &c in &s.chain_indices {
            if let Some((_, other)) = seen.iter().find(|(k, _)| *k == c) {
                return Err(MergeError::Refused(format!(
                    "{} and {} both hold chain {c}; shards must have disjoint chains (--chain-offset)",
                    other.display(),
                    d.display()
                )));
            }
            seen.push((c, d));
        }
    }
    let indices: Vec<usize> = shards.iter().flat_map(|(_, s)| s.chain_indices.clone()).collect();
    let top = indices.iter().copied().max().unwrap_or(0);
    let missing: Vec<usize> = (0..=top).filter(|c| !indices.contains(c)).collect();
    let mut notes = Vec::new();
    let mut summary = shards[0].1.clone();
    let mut record = json!({
        "runs": shards.iter().map(|(d, _)| d.display().to_string()).collect::<Vec<_>>(),
    });
    if !missing.is_empty() {
        let w = format!(
            "partial merge: chains {missing:?} are missing (no shard holds them); the diagnostics are over the {} chains merged",
            indices.len()
        );
        record["missing_chains"] = json!(missing);
        record["warning"] = json!(w);
        notes.push(w);
    }
    if shards.iter().any(|(_, s)| !s.predictive.is_empty()) {
        notes.push("the shards' posterior predictive checks are not recomputed (their replicates are merged as draws); run `uq sample --predictive` on one run for them".into());
    }
    // Draws of every latent and output quantity, chains in order.
    let mut items = Vec::new();
    for l in &shards[0].1.latents {
        let parts = shards
            .iter()
            .map(|(d, _)| read_samples(d, &l.name, &l.dtype))
            .collect::<Result<Vec<_>, _>>()?;
        let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
        let all = concatenate(Axis(0), &views).map_err(|e| read_err(&shards[0].0.join(&l.name), e))?;
        let ty = match l.dtype.as_str() {
            "complex128" => Ty::complex(l.shape.clone()),
            _ => Ty::real(l.shape.clone()),
        };
        items.push((l.name.clone(), ty, all));
    }
    let stats = join_stats(
        shards
            .iter()
            .map(|(d, _)| read_stats(d))
            .collect::<Result<_, _>>()?,
    );
    let checks = join_checks(&shards, stats);
    for (outer, inner) in PER_CHAIN_EXTRA {
        let parts: Option<Vec<Vec<Value>>> = shards
            .iter()
            .map(|(_, s)| s.extra.get(*outer)?.get(*inner)?.as_array().cloned())
            .collect();
        if let (Some(parts), Some(o)) = (parts, summary.extra.get_mut(*outer)) {
            o[*inner] = Value::Array(parts.concat());
        }
    }
    pool_extras(&mut summary, &shards, &checks);
    let cat_f = |f: fn(&Summary) -> &Vec<f64>| shards.iter().flat_map(|(_, s)| f(s).clone()).collect();
    summary.acceptance_rate = cat_f(|s| &s.acceptance_rate);
    summary.step_size = cat_f(|s| &s.step_size);
    summary.divergences = shards.iter().flat_map(|(_, s)| s.divergences.clone()).collect();
    summary.chains = indices.len();
    summary.chain_indices = indices;
    summary.grad_evals = shards.iter().map(|(_, s)| s.grad_evals).sum();
    summary.score_evals = shards.iter().map(|(_, s)| s.score_evals).sum();
    // The shards' wall times added: the compute the merged run took, not its elapsed time.
    summary.wall_seconds = shards.iter().map(|(_, s)| s.wall_seconds).sum();
    summary.peak_memory_bytes = shards.iter().filter_map(|(_, s)| s.peak_memory_bytes).max();
    summary.latents.clear();
    summary.warnings.clear();
    summary.predictive.clear();
    summary.files.clear();
    summary
        .provenance
        .options
        .insert("chains".into(), json!(summary.chains));
    summary
        .provenance
        .options
        .insert("chain_offset".into(), json!(summary.chain_indices[0]));
    summary.extra.insert(MERGE_KEY.into(), record);
    Ok(Merged {
        summary,
        items,
        checks,
        notes,
    })
}

/// Write a merged run into `writer`'s folder as `uq sample` writes a run. Returns the table.
pub fn write_merged(
    m: &mut Merged,
    writer: &RunWriter,
    formats: ArrayFormats,
) -> Result<String, SessionError> {
    let items: Vec<Item<'_>> = m
        .items
        .iter()
        .map(|(n, ty, a)| (n.as_str(), ty, a, 0, a.shape()[2]))
        .collect();
    write_items(&items, &mut m.summary, &m.checks, writer, formats)
}
