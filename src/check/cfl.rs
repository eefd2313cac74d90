//! BART's `.cfl/.hdr` pairs: read as complex data, the shape rule shared with the writer.
//!
//! A pair is `NAME.hdr` (text: a `# Dimensions` line, then up to 16 sizes, missing ones 1) and
//! `NAME.cfl` (complex64, little-endian, column-major over those dimensions). Either file's path names
//! the pair. **Shape rule:** BART's dimensions 0 and 1 (X, Y: the image or readout axes) are uq's last
//! two axes in that order, as BART's own `python/cfl.py` and numpy's `a.T.tofile` give them (so an
//! image keeps its orientation and BART's `fft -u 3` matches DESIGN §5b); the other dimensions, trailing
//! size-1 ones dropped, come before them in reverse order, so coils lead as uq's broadcasting wants: a
//! BART coil image `[64, 64, 1, 8]` (X, Y, Z, COIL) is uq `[8, 1, 64, 64]`, samples `[chains, draws,
//! 64, 64]` are written as BART `[64, 64, draws, chains]`. Data bound from a pair may be declared with
//! size-1 axes added or left out (`complex[8, 64, 64]` for the `[8, 1, 64, 64]` above): BART's 16
//! fixed dimensions carry many placeholders; the other sizes must agree, in order.

use super::npy::{file_kind, NpyError};
use super::types::MAX_ELEMENTS;
use crate::graph::Value;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use num_complex::Complex64;
use std::io::Read;
use std::path::{Path, PathBuf};

/// BART's number of dimensions.
pub const BART_DIMS: usize = 16;

/// Whether `path` names a BART pair (its extension is `.cfl` or `.hdr`).
pub fn is_cfl(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("cfl" | "hdr"))
}

/// The `.cfl` and `.hdr` paths of the pair that `path` (either of them) names.
pub fn pair(path: &Path) -> (PathBuf, PathBuf) {
    (path.with_extension("cfl"), path.with_extension("hdr"))
}

/// The uq axis order of an array with `n` axes in BART's order: `[n−1, …, 2, 0, 1]` (identity for n ≤ 2).
fn uq_order(n: usize) -> Vec<usize> {
    if n <= 2 {
        (0..n).collect()
    } else {
        (2..n).rev().chain([0, 1]).collect()
    }
}

/// The BART axis order of a uq array with `k` axes: `[k−2, k−1, k−3, …, 0]` (identity for k ≤ 2),
/// the inverse of [`uq_order`].
pub fn bart_order(k: usize) -> Vec<usize> {
    if k <= 2 {
        (0..k).collect()
    } else {
        [k - 2, k - 1].into_iter().chain((0..k - 2).rev()).collect()
    }
}

/// BART's dimensions with the trailing size-1 ones dropped.
fn trimmed(dims: &[usize]) -> &[usize] {
    &dims[..dims.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1)]
}

/// uq's shape for BART dimensions `dims` (see the module docs).
pub fn uq_shape(dims: &[usize]) -> Vec<usize> {
    let t = trimmed(dims);
    uq_order(t.len()).into_iter().map(|a| t[a]).collect()
}

/// BART's 16 dimensions for a uq shape (see the module docs), padded with 1s; `None` above 16 axes.
pub fn bart_dims(shape: &[usize]) -> Option<[usize; BART_DIMS]> {
    if shape.len() > BART_DIMS {
        return None;
    }
    let mut dims = [1; BART_DIMS];
    for (d, a) in dims.iter_mut().zip(bart_order(shape.len())) {
        *d = shape[a];
    }
    Some(dims)
}

/// The `.hdr` text for a uq shape (BART's own layout: the sizes on one line, each followed by a space).
pub fn header_text(shape: &[usize]) -> Option<String> {
    let dims = bart_dims(shape)?;
    let sizes: String = dims.iter().map(|d| format!("{d} ")).collect();
    Some(format!("# Dimensions\n{sizes}\n"))
}

/// The sizes on the line after `# Dimensions` (at most 16, at least one, none zero), padded with 1s.
pub fn parse_header(text: &str) -> Result<Vec<usize>, String> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|l| l.trim() == "# Dimensions")
        .ok_or("it has no `# Dimensions` line")?;
    let line = lines.next().ok_or("nothing follows its `# Dimensions` line")?;
    let mut dims = Vec::new();
    for word in line.split_whitespace() {
        let d: usize = word
            .parse()
            .map_err(|_| format!("`{word}` in its dimensions is not a size"))?;
        if d == 0 {
            return Err("a dimension of size 0 holds no data".into());
        }
        dims.push(d);
    }
    if dims.is_empty() || dims.len() > BART_DIMS {
        return Err(format!(
            "its dimension line has {} sizes; BART writes 1 to {BART_DIMS}",
            dims.len()
        ));
    }
    dims.resize(BART_DIMS, 1);
    Ok(dims)
}

/// Read the pair that `path` names as complex data of uq's shape (see the module docs).
pub fn read_value(path: &Path) -> Result<Value, NpyError> {
    let (cfl, hdr) = pair(path);
    let io = |p: &Path, e: std::io::Error| NpyError::Io(format!("`{}`: {e}", p.display()));
    for p in [&hdr, &cfl] {
        let meta = std::fs::metadata(p).map_err(|e| io(p, e))?;
        if !meta.is_file() {
            return Err(NpyError::NotRegular(format!(
                "`{}` is {}",
                p.display(),
                file_kind(&meta)
            )));
        }
    }
    let mut text = String::new();
    std::fs::File::open(&hdr)
        .map_err(|e| io(&hdr, e))?
        .take(1 << 16)
        .read_to_string(&mut text)
        .map_err(|e| NpyError::Corrupt(format!("its header `{}` is not text: {e}", hdr.display())))?;
    let dims = parse_header(&text)
        .map_err(|why| NpyError::Corrupt(format!("its header `{}`: {why}", hdr.display())))?;
    let shape = uq_shape(&dims);
    let numel = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&n| n <= MAX_ELEMENTS as u64)
        .ok_or_else(|| NpyError::TooLarge {
            shape: format!("{shape:?}"),
        })?;
    let expected = numel * 8;
    let found = std::fs::metadata(&cfl).map_err(|e| io(&cfl, e))?.len();
    if found != expected {
        return Err(NpyError::Corrupt(format!(
            "its header `{}` declares BART dimensions {:?} ({numel} complex64 values, {expected} bytes), \
             but `{}` holds {found} bytes",
            hdr.display(),
            &dims[..dims.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1)],
            cfl.display()
        )));
    }
    let mut bytes = Vec::with_capacity(expected as usize);
    std::fs::File::open(&cfl)
        .map_err(|e| io(&cfl, e))?
        .take(expected + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(&cfl, e))?;
    if bytes.len() as u64 != expected {
        return Err(NpyError::Corrupt(format!(
            "`{}` changed while it was read ({} bytes, expected {expected})",
            cfl.display(),
            bytes.len()
        )));
    }
    let values: Vec<Complex64> = bytes
        .chunks_exact(8)
        .map(|b| {
            let re = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let im = f32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            Complex64::new(re.into(), im.into())
        })
        .collect();
    let t = trimmed(&dims);
    let a = ArrayD::from_shape_vec(IxDyn(t).f(), values).map_err(|e| NpyError::Corrupt(e.to_string()))?;
    let a = a.permuted_axes(IxDyn(&uq_order(t.len())));
    debug_assert_eq!(a.shape(), shape.as_slice());
    Ok(Value::Complex(a.as_standard_layout().into_owned()))
}

/// `value` (read from a pair) reshaped to `declared` when the two differ only in size-1 axes.
pub fn fit_singletons(value: Value, declared: &[usize]) -> Value {
    let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    if value.shape() == declared || squeeze(value.shape()) != squeeze(declared) {
        return value;
    }
    match value {
        Value::Complex(a) => match a.to_shape(IxDyn(declared)) {
            Ok(b) => Value::Complex(b.to_owned()),
            Err(_) => Value::Complex(a),
        },
        Value::Real(a) => match a.to_shape(IxDyn(declared)) {
            Ok(b) => Value::Real(b.to_owned()),
            Err(_) => Value::Real(a),
        },
    }
}

#[cfg(test)]
#[path = "cfl_tests.rs"]
mod tests;
