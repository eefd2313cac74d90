//! Output: atomic run directories, npy/png/summary.json writers, and the terminal summary table.
//!
//! A run is written into a sibling temporary directory ([`RunWriter::begin`]) and renamed over the final
//! directory only on [`RunWriter::commit`], so an earlier run there survives any failure.

mod atomic;
mod font;
mod npy;
mod png;
mod sample_stats;
mod summary;
mod table;

use std::path::PathBuf;

pub use atomic::{write_atomic, RunWriter};
pub use npy::write_npy;
pub use png::{
    magnitude, upscale_factor, write_image_pngs, write_mean_png, write_samples_png, write_std_png,
};
pub use sample_stats::{stat_names, write_sample_stats, SAMPLE_STATS_FILE};
pub use summary::{LatentSummary, Summary};
pub use table::{format_table, LatentDiagnostics};

/// Errors while writing run outputs; every variant names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{path}` as .npy: {source}")]
    Npy {
        path: PathBuf,
        #[source]
        source: ndarray_npy::WriteNpyError,
    },
    #[error("cannot encode `{path}` as PNG: {source}")]
    Png {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("cannot serialise `{path}`: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write `{path}`: {message}")]
    Shape { path: PathBuf, message: String },
}

impl OutputError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.into(),
            source,
        }
    }
}
