//! Output: run folders written beside their destination and put in place in one step, npy/cfl/png/
//! summary.json writers, provenance, and the terminal summary table.
//!
//! A run is written into a sibling temporary folder ([`RunWriter::begin`], which first checks that the
//! destination is empty or an earlier uq run) and put in place only on [`RunWriter::commit`] (or beside
//! it, at `OUT.partial`, by [`RunWriter::commit_partial`]), so an earlier run survives any failure.

mod atomic;
mod cfl;
mod font;
mod npy;
mod plots;
mod png;
mod provenance;
mod run_dir;
mod sample_stats;
mod save;
mod summary;
mod table;
mod writer;

use std::path::PathBuf;

pub use atomic::write_atomic;
pub use cfl::{write_cfl, CflElement};
pub(crate) use font::{format_value, viridis, Raster};
pub use npy::write_npy;
pub use plots::{write_calibration_png, write_rank_histograms_png};
pub(crate) use png::{bar_raster, grey, grid_raster, spread};
pub use png::{
    magnitude, upscale_factor, write_image_pngs, write_mean_png, write_samples_png, write_std_png,
};
pub use provenance::{sha256_file, sha256_hex, FileRecord, Provenance};
pub use run_dir::{inspect, partial_dir, recognise, Existing, FORMAT_VERSION, SUMMARY_FILE};
pub use sample_stats::{stat_names, write_sample_stats, SAMPLE_STATS_FILE};
pub use save::{record_files, save_run};
pub use summary::{peak_memory_bytes, LatentSummary, PhaseCount, PredictiveCheck, Summary};
pub use table::{format_table, LatentDiagnostics};
pub(crate) use table::{table_rows, TABLE_HEADER};
pub use writer::{Discard, RunWriter};

/// Errors while writing run outputs; every variant names the path involved.
///
/// Each message includes its cause, so no variant also exposes it as `source()` (a report printed
/// with its chain, as `uq` does, would say the cause twice).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write `{path}`: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("cannot write `{path}` as .npy: {cause}")]
    Npy {
        path: PathBuf,
        cause: ndarray_npy::WriteNpyError,
    },
    #[error("cannot encode `{path}` as PNG: {cause}")]
    Png { path: PathBuf, cause: image::ImageError },
    #[error("cannot serialise `{path}`: {cause}")]
    Json { path: PathBuf, cause: serde_json::Error },
    #[error("cannot write `{path}`: {message}")]
    Shape { path: PathBuf, message: String },
    #[error(
        "`{path}` is not a uq run folder ({reason}); uq replaces only empty folders and its own \
         earlier runs: choose another output folder (--out) or move it away"
    )]
    NotReplaceable { path: PathBuf, reason: String },
    #[error(
        "cannot put the run at `{path}`: {reason}; the finished run is in `{kept}`: move it where you want it"
    )]
    NotPlaced {
        path: PathBuf,
        kept: PathBuf,
        reason: String,
    },
}

impl OutputError {
    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        OutputError::Io {
            path: path.into(),
            cause,
        }
    }
}
