//! `uq merge OUT PART…` of stack folders: the parts of a `--over` stack run as array tasks
//! (`--shard-from-env`, one block of slices each) joined into one stack folder, as one `--over` run
//! of every slice would have written it.

use super::stack::{write_stack_files, STACK_FILE};
use super::{out_folder, EXIT_MODEL_ERROR};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::output::{Summary, SUMMARY_FILE};
use uq::session;

/// Whether `dir` holds a stack folder (its `summary.json` marker says `"kind": "stack"`).
pub fn is_stack(dir: &Path) -> bool {
    read_json(&dir.join(SUMMARY_FILE)).is_ok_and(|v| v["kind"] == "stack")
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Copy the folder `from` to `to` (created), files and subfolders.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// One part: its folder, its table's rows, and the summary of its first slice.
struct Part {
    dir: PathBuf,
    rows: Vec<Value>,
    first: Summary,
}

/// Read and check the parts; the table's `over` and number of slices must agree.
fn read_parts(parts: &[PathBuf]) -> Result<(Vec<Part>, Value, usize), String> {
    let mut out = Vec::new();
    let mut shape: Option<(Value, usize)> = None;
    for dir in parts {
        let marker = read_json(&dir.join(SUMMARY_FILE))?;
        if marker["kind"] != "stack" {
            return Err(format!(
                "{} is not a stack folder (`uq sample --over`); merge stack parts only with stack parts",
                dir.display()
            ));
        }
        if marker["partial"] == true {
            return Err(format!(
                "{} is an interrupted stack part; rerun that task before merging",
                dir.display()
            ));
        }
        let table = read_json(&dir.join(STACK_FILE))?;
        let over = table["over"].clone();
        let n = table["slices"].as_u64().unwrap_or(0) as usize;
        match &shape {
            None => shape = Some((over, n)),
            Some((o, m)) if *o != over || *m != n => {
                return Err(format!(
                "{} and {} are not parts of one stack: --over {o} over {m} slices vs --over {over} over {n}",
                parts[0].display(),
                dir.display()
            ))
            }
            Some(_) => {}
        }
        let rows = table["rows"].as_array().cloned().unwrap_or_default();
        let Some(folder) = rows.first().and_then(|r| r["folder"].as_str()) else {
            return Err(format!("{}: its {STACK_FILE} lists no slices", dir.display()));
        };
        let path = dir.join(folder).join(SUMMARY_FILE);
        let first = Summary::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(Part {
            dir: dir.clone(),
            rows,
            first,
        });
    }
    let (over, n) = shape.ok_or("no stack parts to merge")?;
    Ok((out, over, n))
}

/// Merge the stack parts `parts` into the stack folder `out`.
pub fn merge(out: &Path, parts: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let fail = |m: String| {
        eprintln!("error: {m}");
        Ok(ExitCode::from(EXIT_MODEL_ERROR))
    };
    let (parts, over, n) = match read_parts(parts) {
        Ok(p) => p,
        Err(m) => return fail(m),
    };
    for p in &parts[1..] {
        let (a, b) = (
            (parts[0].dir.as_path(), &parts[0].first),
            (p.dir.as_path(), &p.first),
        );
        if let Err(e) = session::check_same_run(a, b, false) {
            return fail(e.to_string());
        }
    }
    // Every slice once, in order.
    let mut slices: Vec<(usize, &Part, &Value)> = Vec::new();
    for p in &parts {
        for row in &p.rows {
            let i = row["slice"].as_u64().unwrap_or(u64::MAX) as usize;
            if let Some((_, other, _)) = slices.iter().find(|(k, _, _)| *k == i) {
                return fail(format!(
                    "{} and {} both hold slice {i}; the parts of a stack must hold disjoint slices",
                    other.dir.display(),
                    p.dir.display()
                ));
            }
            if i >= n {
                return fail(format!("{}: slice {i} of a stack of {n}", p.dir.display()));
            }
            slices.push((i, p, row));
        }
    }
    slices.sort_by_key(|(i, _, _)| *i);
    let missing: Vec<usize> = (0..n)
        .filter(|i| !slices.iter().any(|(k, _, _)| k == i))
        .collect();
    let writer = match out_folder::open(out) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    let mut dirs = Vec::new();
    for (_, p, row) in &slices {
        let folder = row["folder"].as_str().unwrap_or_default();
        let to = writer.dir().join(folder);
        if let Err(e) = copy_dir(&p.dir.join(folder), &to) {
            return fail(format!("copying {}: {e}", p.dir.join(folder).display()));
        }
        dirs.push(to);
    }
    let rows: Vec<Value> = slices.iter().map(|(_, _, r)| (*r).clone()).collect();
    let mut table = json!({
        "over": over, "slices": n, "done": rows.len(), "rows": rows,
        "merged_from": parts.iter().map(|p| p.dir.display().to_string()).collect::<Vec<_>>(),
    });
    if !missing.is_empty() {
        let w = format!(
            "partial stack: slices {missing:?} are missing (no part holds them); the stacked means and stds are not written"
        );
        eprintln!("warning: {w}");
        table["missing_slices"] = json!(missing);
        table["warning"] = json!(w);
    }
    let latents: Vec<String> = parts[0].first.latents.iter().map(|l| l.name.clone()).collect();
    if let Err(m) = write_stack_files(&writer, &table, &dirs, &latents, !missing.is_empty()) {
        return fail(m);
    }
    let dir = writer.commit()?;
    println!(
        "merged {} stack parts: {} of {n} slices; wrote {}",
        parts.len(),
        slices.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
