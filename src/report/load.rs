//! Reading a run folder for the report: its summary, every latent's draws and diagnostics, the
//! per-draw sampler statistics, the model source, and an optional true image (`--truth`).

use super::ReportError;
use crate::infer::{Diagnostics, SampleStats};
use crate::output::{recognise, Summary, SUMMARY_FILE};
use crate::session::{read_samples, read_stats, MergeError};
use ndarray::{Array3, ArrayD, IxDyn};
use ndarray_npy::ReadNpyExt;
use num_complex::Complex64;
use std::path::{Path, PathBuf};

/// One latent (or derived quantity) of the run.
pub(super) struct Latent {
    pub name: String,
    pub shape: Vec<usize>,
    pub complex: bool,
    /// Draws `[chains, draws, params]` as the run's diagnostics see them (complex: re, im pairs).
    pub draws: Array3<f64>,
    /// What is shown, `[chains, draws, …shape]`: the values, or the magnitudes of complex ones.
    pub shown: ArrayD<f64>,
    /// Per-parameter diagnostics of `draws`.
    pub diag: Diagnostics,
}

impl Latent {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// A 2-D image (real or complex): shown as pictures.
    pub fn is_image(&self) -> bool {
        self.shape.len() == 2 && self.numel() > 0
    }

    /// Label of parameter `p` of `draws` (`x[3,4]`, `z[3,4].im`).
    pub fn param_label(&self, p: usize) -> String {
        let (pixel, part) = if self.complex {
            (p / 2, if p.is_multiple_of(2) { ".re" } else { ".im" })
        } else {
            (p, "")
        };
        if self.shape.is_empty() {
            return format!("{}{part}", self.name);
        }
        let mut idx = vec![0; self.shape.len()];
        let mut rest = pixel;
        for (k, &d) in self.shape.iter().enumerate().rev() {
            idx[k] = rest % d.max(1);
            rest /= d.max(1);
        }
        let idx: Vec<String> = idx.iter().map(usize::to_string).collect();
        format!("{}[{}]{part}", self.name, idx.join(","))
    }

    /// Per-element map of a diagnostic (complex: the worse of the two parts by `worse`).
    pub fn element_map(&self, v: &[f64], worse: fn(f64, f64) -> f64) -> Vec<f64> {
        if self.complex {
            v.chunks(2)
                .map(|p| match (p[0].is_nan(), p.get(1).copied()) {
                    (_, None) => p[0],
                    (true, Some(b)) => b,
                    (false, Some(b)) if b.is_nan() => p[0],
                    (false, Some(b)) => worse(p[0], b),
                })
                .collect()
        } else {
            v.to_vec()
        }
    }
}

/// The model file as recorded in the provenance.
pub(super) enum ModelSource {
    /// The file as read now, and whether its SHA-256 still matches the run's.
    Found { path: String, text: String, same: bool },
    /// Why it cannot be shown.
    Missing(String),
}

/// Everything the report shows.
pub(super) struct Run {
    pub dir: PathBuf,
    pub summary: Summary,
    pub latents: Vec<Latent>,
    pub stats: Option<SampleStats>,
    pub model: ModelSource,
}

fn corrupt(e: MergeError) -> ReportError {
    match e {
        MergeError::Read { path, message } => ReportError::Corrupt { path, message },
        e => ReportError::Corrupt {
            path: PathBuf::new(),
            message: e.to_string(),
        },
    }
}

/// Read the run folder `dir`: it must exist and be a uq run (`summary.json` and only uq's files).
pub(super) fn load(dir: &Path) -> Result<Run, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::Missing {
            path: dir.to_path_buf(),
        });
    }
    let summary_path = dir.join(SUMMARY_FILE);
    if summary_path.is_file() {
        // A summary that is not JSON or lacks uq's fields is a damaged run, not a foreign folder.
        Summary::read(&summary_path).map_err(|e| ReportError::Corrupt {
            path: summary_path.clone(),
            message: e.to_string(),
        })?;
    }
    recognise(dir).map_err(|reason| ReportError::NotARun {
        path: dir.to_path_buf(),
        reason,
    })?;
    let summary = Summary::read(&summary_path).map_err(|e| ReportError::Corrupt {
        path: summary_path.clone(),
        message: e.to_string(),
    })?;
    let mut latents = Vec::new();
    for l in &summary.latents {
        if l.name.is_empty() || l.name.contains(['/', '\\']) || l.name.starts_with('.') {
            return Err(ReportError::Corrupt {
                path: summary_path.clone(),
                message: format!("latent name `{}` is not a folder name", l.name),
            });
        }
        let draws = read_samples(dir, &l.name, &l.dtype).map_err(corrupt)?;
        let complex = l.dtype == "complex128";
        let numel: usize = l.shape.iter().product();
        let (c, n, p) = draws.dim();
        let expected = if complex { 2 * numel } else { numel };
        let path = dir.join(&l.name).join("samples.npy");
        if p != expected {
            return Err(ReportError::Corrupt {
                path,
                message: format!(
                    "{p} values per draw, but summary.json gives shape {:?} ({})",
                    l.shape, l.dtype
                ),
            });
        }
        let values: Vec<f64> = if complex {
            draws
                .as_slice()
                .map(|s| s.chunks(2).map(|z| Complex64::new(z[0], z[1]).norm()).collect())
                .unwrap_or_default()
        } else {
            draws.iter().copied().collect()
        };
        let mut full = vec![c, n];
        full.extend_from_slice(&l.shape);
        let shown = ArrayD::from_shape_vec(IxDyn(&full), values).map_err(|e| ReportError::Corrupt {
            path,
            message: e.to_string(),
        })?;
        let diag = Diagnostics::compute(draws.view());
        latents.push(Latent {
            name: l.name.clone(),
            shape: l.shape.clone(),
            complex,
            draws,
            shown,
            diag,
        });
    }
    let stats = read_stats(dir).map_err(corrupt)?;
    let model = model_source(&summary);
    Ok(Run {
        dir: dir.to_path_buf(),
        summary,
        latents,
        stats,
        model,
    })
}

/// The model file named in the provenance, read now (its path is as given on the command line,
/// relative to where `uq sample` ran).
fn model_source(s: &Summary) -> ModelSource {
    let Some(rec) = &s.provenance.model else {
        return ModelSource::Missing("the run records no model file (a model typed into the REPL)".into());
    };
    match std::fs::read_to_string(&rec.path) {
        Ok(text) => {
            let same = rec.sha256.as_deref() == Some(&crate::output::sha256_hex(text.as_bytes()));
            ModelSource::Found {
                path: rec.path.clone(),
                text,
                same,
            }
        }
        Err(e) => ModelSource::Missing(format!(
            "`{}` cannot be read from here ({e}); run `uq report` from the folder `uq sample` ran in",
            rec.path
        )),
    }
}

/// `--truth [NAME=]FILE.npy`: the latent it is for (by name, else the first 2-D one) and its values
/// (float64 or float32; complex128 truths as magnitudes, as the report shows complex latents).
pub(super) fn truth(run: &Run, name: Option<&str>, path: &Path) -> Result<(usize, ArrayD<f64>), ReportError> {
    let err = |message: String| ReportError::Truth {
        path: path.to_path_buf(),
        message,
    };
    let k =
        match name {
            Some(n) => run
                .latents
                .iter()
                .position(|l| l.name == n)
                .ok_or_else(|| err(format!("the run has no latent `{n}`")))?,
            None => run.latents.iter().position(Latent::is_image).ok_or_else(|| {
                err("the run has no image (2-D) latent; name one with NAME=FILE.npy".into())
            })?,
        };
    let l = &run.latents[k];
    let read = || std::fs::File::open(path).map_err(|e| err(format!("cannot open it ({e})")));
    let values = match ArrayD::<f64>::read_npy(read()?) {
        Ok(a) => a,
        Err(_) => match ArrayD::<f32>::read_npy(read()?) {
            Ok(a) => a.mapv(f64::from),
            Err(_) => ArrayD::<Complex64>::read_npy(read()?)
                .map(|z| z.mapv(|c| c.norm()))
                .map_err(|e| err(format!("not a float64, float32 or complex128 .npy ({e})")))?,
        },
    };
    if values.shape() != l.shape.as_slice() {
        return Err(err(format!(
            "shape {:?}, but latent `{}` has shape {:?}",
            values.shape(),
            l.name,
            l.shape
        )));
    }
    Ok((k, values))
}
