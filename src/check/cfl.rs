//! BART's `.cfl/.hdr` pairs: read as complex data, the shape rule shared with the writer.
//!
//! A pair is `NAME.hdr` (text: a `# Dimensions` line, then up to 16 sizes, missing ones 1) and
//! `NAME.cfl` (complex64, little-endian, column-major over those dimensions). Either file's path names
//! the pair. **Shape rule:** uq's shape is BART's dimensions with the trailing size-1 dimensions
//! dropped, in reverse order: a BART image `[64, 64, 1, 8]` (X, Y, Z, COIL) is uq `[8, 1, 64, 64]`,
//! and a numpy array `a` written as `a.T.tofile("NAME.cfl")` (BART dims = reversed `a.shape`) reads
//! back with `a.shape` (leading size-1 axes of `a` excepted: they are BART's trailing ones). Column-
//! major over the reversed shape is C order, so the values need no reordering. Writing reverses the
//! shape and pads it with 1s to 16 dimensions. Data bound from a pair may be declared with size-1
//! axes added or left out (`complex[8, 64, 64]` for the `[8, 1, 64, 64]` above): BART's 16 fixed
//! dimensions carry many placeholders; the other sizes must agree, in order.

use super::npy::{file_kind, NpyError};
use super::types::MAX_ELEMENTS;
use crate::graph::Value;
use ndarray::{ArrayD, IxDyn};
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

/// uq's shape for BART dimensions `dims`: trailing 1s dropped, then reversed (see the module docs).
pub fn uq_shape(dims: &[usize]) -> Vec<usize> {
    let keep = dims.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1);
    dims[..keep].iter().rev().copied().collect()
}

/// BART's 16 dimensions for a uq shape: reversed, padded with 1s; `None` above 16 axes.
pub fn bart_dims(shape: &[usize]) -> Option<[usize; BART_DIMS]> {
    if shape.len() > BART_DIMS {
        return None;
    }
    let mut dims = [1; BART_DIMS];
    for (d, &s) in dims.iter_mut().zip(shape.iter().rev()) {
        *d = s;
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
    ArrayD::from_shape_vec(IxDyn(&shape), values)
        .map(Value::Complex)
        .map_err(|e| NpyError::Corrupt(e.to_string()))
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
