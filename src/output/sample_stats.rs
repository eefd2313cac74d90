//! `sample_stats.npz`: the per-draw sampler statistics of a run, one `[chains, draws]` array per
//! statistic under ArviZ's `sample_stats` names, readable with `numpy.load`.

use super::OutputError;
use crate::infer::SampleStats;
use ndarray_npy::{NpzWriter, WriteNpzError};
use std::fs::File;
use std::path::Path;

/// The file name in a run folder.
pub const SAMPLE_STATS_FILE: &str = "sample_stats.npz";

/// Names of the statistics written for `stats`, in file order.
pub fn stat_names(stats: &SampleStats) -> Vec<&'static str> {
    let mut names = Vec::new();
    if stats.lp.is_some() {
        names.push("lp");
    }
    names.extend(["acceptance_rate", "step_size"]);
    if stats.tree_depth.is_some() {
        names.push("tree_depth");
    }
    names.extend(["n_steps", "diverging"]);
    if stats.energy.is_some() {
        names.push("energy");
    }
    names
}

/// Write `stats` to `path` as an uncompressed `.npz` (float64, int64 and bool arrays) and fsync it.
pub fn write_sample_stats(path: &Path, stats: &SampleStats) -> Result<(), OutputError> {
    let err = |e: WriteNpzError| OutputError::Shape {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::create(path).map_err(|e| OutputError::io(path, e))?;
    let mut npz = NpzWriter::new(file);
    if let Some(lp) = &stats.lp {
        npz.add_array("lp", lp).map_err(err)?;
    }
    npz.add_array("acceptance_rate", &stats.acceptance_rate)
        .map_err(err)?;
    npz.add_array("step_size", &stats.step_size).map_err(err)?;
    if let Some(d) = &stats.tree_depth {
        npz.add_array("tree_depth", d).map_err(err)?;
    }
    npz.add_array("n_steps", &stats.n_steps).map_err(err)?;
    npz.add_array("diverging", &stats.diverging).map_err(err)?;
    if let Some(e) = &stats.energy {
        npz.add_array("energy", e).map_err(err)?;
    }
    let file = npz.finish().map_err(err)?;
    file.sync_all().map_err(|e| OutputError::io(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use ndarray_npy::NpzReader;

    #[test]
    fn round_trips_every_statistic_with_its_dtype() {
        let mut st = SampleStats::new(2, 3, true, true, true);
        st.acceptance_rate = Array2::from_shape_fn((2, 3), |(c, d)| 0.1 * (c * 3 + d) as f64);
        st.diverging[[1, 2]] = true;
        st.n_steps[[0, 1]] = 7;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(SAMPLE_STATS_FILE);
        write_sample_stats(&p, &st).unwrap();
        let mut r = NpzReader::new(File::open(&p).unwrap()).unwrap();
        let mut names = r.names().unwrap();
        names.sort();
        let mut want: Vec<String> = stat_names(&st).iter().map(ToString::to_string).collect();
        want.sort();
        assert_eq!(names, want);
        let acc: Array2<f64> = r.by_name("acceptance_rate").unwrap();
        assert_eq!(acc, st.acceptance_rate);
        let div: Array2<bool> = r.by_name("diverging").unwrap();
        assert_eq!(div, st.diverging);
        let n: Array2<i64> = r.by_name("n_steps").unwrap();
        assert_eq!(n, st.n_steps);
        // MALA on a score prior: no lp, energy or tree depth.
        let bare = SampleStats::new(2, 3, false, false, false);
        assert_eq!(
            stat_names(&bare),
            ["acceptance_rate", "step_size", "n_steps", "diverging"]
        );
    }
}
