//! `uq report`: one self-contained HTML page (`RUN_DIR/report.html`: inline style, PNGs as `data:`
//! URIs, SVG plots, no network) of a run folder: the model and the planner's reason, warnings, the
//! summary table, every latent (images: mean, sd, draws, R̂/ESS maps, worst pixels, and against a
//! true image error/z maps, PSNR, SSIM, coverage; scalars: densities and traces), sampler statistics.
//!
//! The page is built in memory first; then the run's `summary.json` lists `report.html` among its
//! files (so the folder stays recognisably uq's) and the page is written atomically. A report.html
//! that uq did not write is never replaced.

mod html;
mod images;
mod load;
mod metrics;
mod page;
mod sampler;
mod scalars;
mod svg;

use crate::output::{write_atomic, OutputError, Summary, SUMMARY_FILE};
use std::path::{Path, PathBuf};

/// The report's file name inside a run folder.
pub const REPORT_FILE: &str = "report.html";

/// What `uq report` is asked for besides the run folder.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// `--truth [NAME=]FILE.npy`: the true value of latent NAME (default: the first 2-D latent).
    pub truth: Option<(Option<String>, PathBuf)>,
}

/// Why no report was written; each names the file involved and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("`{path}` does not exist or is not a folder: give the run folder that `uq sample` or `uq merge` wrote")]
    Missing { path: PathBuf },
    #[error(
        "`{path}` is not a uq run folder ({reason}); give a folder that `uq sample` or `uq merge` wrote"
    )]
    NotARun { path: PathBuf, reason: String },
    #[error("cannot read `{path}`: {message}; the run folder is damaged: sample again")]
    Corrupt { path: PathBuf, message: String },
    #[error("--truth `{path}`: {message}")]
    Truth { path: PathBuf, message: String },
    #[error("`{path}` was not written by `uq report`; move it away to write the report there")]
    NotOurs { path: PathBuf },
    #[error("cannot draw the {what}: {message}")]
    Png { what: String, message: String },
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// Whether `path` holds a report that uq wrote (its generator tag at the top).
fn is_ours(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).contains(html::GENERATOR)
}

/// Whether the run folder `dir` has a report that uq wrote (`uq merge` writes one if a shard had).
pub fn has_report(dir: &Path) -> bool {
    is_ours(&dir.join(REPORT_FILE))
}

/// Write `dir/report.html` for the run folder `dir` and return its path. Nothing is written when
/// anything fails: a missing or foreign folder, a damaged run, a `--truth` of the wrong shape.
pub fn write_report(dir: &Path, opts: &ReportOptions) -> Result<PathBuf, ReportError> {
    let run = load::load(dir)?;
    let truth = match &opts.truth {
        Some((name, path)) => Some(load::truth(&run, name.as_deref(), path)?),
        None => None,
    };
    let text = page::build(&run, truth.as_ref().map(|(k, a)| (*k, a)))?;
    let path = dir.join(REPORT_FILE);
    if std::fs::symlink_metadata(&path).is_ok() && !is_ours(&path) {
        return Err(ReportError::NotOurs { path });
    }
    // List the report first: a listed file that is missing keeps the folder uq's; an unlisted one
    // would not.
    let summary_path = dir.join(SUMMARY_FILE);
    let mut summary = Summary::read(&summary_path).map_err(|e| ReportError::Corrupt {
        path: summary_path.clone(),
        message: e.to_string(),
    })?;
    if !summary.uq_run {
        return Err(ReportError::NotARun {
            path: dir.to_path_buf(),
            reason: "its summary.json, from an earlier uq, has no file list to add the report to; \
                     sample it again"
                .into(),
        });
    }
    if !summary.files.iter().any(|f| f == REPORT_FILE) {
        summary.files.push(REPORT_FILE.to_string());
        summary.files.sort();
        summary.write(&summary_path)?;
    }
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}
