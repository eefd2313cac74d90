//! Reading `.npy` files of float32/float64/complex64/complex128 into graph values, header first.
//!
//! The header is read and checked before any payload is: only regular files (or symlinks to them)
//! are read, so a FIFO or a device (`/dev/zero`) is refused instead of hanging or filling memory; the
//! header is at most [`MAX_HEADER_BYTES`]; its shape must hold at most [`MAX_ELEMENTS`] elements; and
//! the file's length must be exactly the header plus the payload the header declares.

use super::types::MAX_ELEMENTS;
use crate::graph::Value;
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, ReadNpyExt};
use num_complex::{Complex32, Complex64};
use std::io::{Cursor, Read};
use std::path::Path;

/// Longest `.npy` header dictionary read (numpy itself refuses more than 10,000 bytes by default).
pub const MAX_HEADER_BYTES: usize = 1 << 16;

/// Why a `.npy` file could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NpyError {
    #[error("{0}")]
    Io(String),
    /// Not a regular file: a FIFO, a device, a directory or a socket.
    #[error(
        "it is not a regular file ({0}); uq reads .npy data only from regular files or symlinks to them"
    )]
    NotRegular(String),
    #[error("{0}")]
    Corrupt(String),
    /// The header's shape has more elements than any tensor uq accepts.
    #[error("its header declares shape {shape}: more elements than uq reads (a tensor has at most {MAX_ELEMENTS})")]
    TooLarge { shape: String },
    /// An element type uq does not read (the file's descriptor).
    #[error("unsupported dtype {0} (uq reads float32, float64, complex64, complex128)")]
    Dtype(String),
}

/// What the header says: element size in bytes, the shape as written, and the element count.
#[derive(Debug)]
struct Header {
    descr: String,
    item: usize,
    shape: Vec<u64>,
}

/// Outcome of one typed attempt: a value, "wrong element type, try the next", or a hard failure.
enum Attempt {
    Got(Value),
    WrongType(String),
    Failed(NpyError),
}

fn attempt<T: ndarray_npy::ReadableElement>(bytes: &[u8], conv: impl Fn(ArrayD<T>) -> Value) -> Attempt {
    match ArrayD::<T>::read_npy(Cursor::new(bytes)) {
        Ok(a) => Attempt::Got(conv(a)),
        Err(ReadNpyError::WrongDescriptor(d)) => Attempt::WrongType(d.to_string()),
        Err(e) => Attempt::Failed(NpyError::Corrupt(e.to_string())),
    }
}

/// Read a `.npy` file; real files become `Value::Real`, complex ones `Value::Complex` (as f64). A path
/// ending in `.cfl` or `.hdr` is read as a BART pair instead (`super::cfl`).
pub fn read_value(path: &Path) -> Result<Value, NpyError> {
    if super::cfl::is_cfl(path) {
        return super::cfl::read_value(path);
    }
    let bytes = read_bytes(path, MAX_ELEMENTS as u64)?;
    let tries: [fn(&[u8]) -> Attempt; 4] = [
        |b| attempt::<f64>(b, Value::Real),
        |b| attempt::<f32>(b, |a| Value::Real(a.mapv(f64::from))),
        |b| attempt::<Complex64>(b, Value::Complex),
        |b| {
            attempt::<Complex32>(b, |a| {
                Value::Complex(a.mapv(|z| Complex64::new(z.re.into(), z.im.into())))
            })
        },
    ];
    let mut descr = String::from("unknown");
    for t in tries {
        match t(&bytes) {
            Attempt::Got(v) => return Ok(v),
            Attempt::WrongType(d) => descr = d,
            Attempt::Failed(e) => return Err(e),
        }
    }
    Err(NpyError::Dtype(descr))
}

/// The whole file, once its header has been checked against its length (see the module docs), for
/// a shape of at most `max_elements` elements.
pub fn read_bytes(path: &Path, max_elements: u64) -> Result<Vec<u8>, NpyError> {
    let io = |e: std::io::Error| NpyError::Io(e.to_string());
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(NpyError::NotRegular(file_kind(&meta).into()));
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut prefix = [0u8; 12];
    let got = read_up_to(&mut file, &mut prefix).map_err(io)?;
    let (header_len, at) = prefix_len(&prefix[..got])?;
    if header_len > MAX_HEADER_BYTES {
        return Err(NpyError::Corrupt(format!(
            "its header is {header_len} bytes long, more than the {MAX_HEADER_BYTES} uq reads"
        )));
    }
    let mut bytes = prefix[..got].to_vec();
    let header_end = at + header_len;
    (&mut file)
        .take((header_end.saturating_sub(got)) as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let text = bytes
        .get(at..header_end)
        .ok_or_else(|| NpyError::Corrupt("the file ends inside its header".into()))?;
    let header = parse_header(text)?;
    let numel = header
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= max_elements)
        .ok_or_else(|| NpyError::TooLarge {
            shape: format!("{:?}", header.shape),
        })?;
    let payload = numel
        .checked_mul(header.item as u64)
        .ok_or_else(|| NpyError::TooLarge {
            shape: format!("{:?}", header.shape),
        })?;
    let expected = (header_end as u64).saturating_add(payload);
    if meta.len() != expected {
        return Err(mismatch(
            &header,
            payload,
            meta.len().saturating_sub(header_end as u64),
        ));
    }
    bytes.reserve_exact(usize::try_from(payload).unwrap_or(0));
    // One byte more than expected reveals a file that grew after its length was read.
    (&mut file)
        .take(payload + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let found = bytes.len().saturating_sub(header_end) as u64;
    if found != payload {
        return Err(mismatch(&header, payload, found));
    }
    Ok(bytes)
}

fn mismatch(h: &Header, payload: u64, found: u64) -> NpyError {
    NpyError::Corrupt(format!(
        "its header declares shape {:?} of dtype {} ({payload} bytes of data), but {found} bytes follow the header",
        h.shape, h.descr
    ))
}

pub(super) fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a plain file"
    }
}

/// Fill `buf` as far as the file allows; the number of bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// From the magic string and version: the header dictionary's length and where it starts.
fn prefix_len(p: &[u8]) -> Result<(usize, usize), NpyError> {
    if p.len() < 6 || &p[..6] != b"\x93NUMPY" {
        return Err(NpyError::Corrupt(
            "it does not start with the .npy magic string `\\x93NUMPY`".into(),
        ));
    }
    let short = || NpyError::Corrupt("the file ends inside its header".into());
    match p.get(6) {
        Some(1) => {
            let b = p.get(8..10).ok_or_else(short)?;
            Ok((usize::from(u16::from_le_bytes([b[0], b[1]])), 10))
        }
        Some(2 | 3) => {
            let b = p.get(8..12).ok_or_else(short)?;
            let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            Ok((usize::try_from(n).unwrap_or(usize::MAX), 12))
        }
        Some(v) => Err(NpyError::Corrupt(format!(
            "unknown .npy format version {v} (uq reads versions 1 to 3)"
        ))),
        None => Err(short()),
    }
}

/// Parse the header dictionary `{'descr': '<f8', 'fortran_order': False, 'shape': (64, 64), }`.
fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let bad = |why: &str| NpyError::Corrupt(format!("its header is malformed: {why}"));
    let text = std::str::from_utf8(text).map_err(|_| bad("not UTF-8 text"))?;
    let descr = dict_value(text, "descr").ok_or_else(|| bad("no 'descr' entry"))?;
    let shape_text = dict_value(text, "shape").ok_or_else(|| bad("no 'shape' entry"))?;
    let quote = descr.chars().next().filter(|c| *c == '\'' || *c == '"');
    let descr = quote
        .and_then(|q| descr.get(1..)?.split(q).next())
        .ok_or_else(|| NpyError::Dtype(descr.chars().take(40).collect()))?
        .to_string();
    let item = match (descr.chars().next(), descr.get(1..)) {
        (Some('<' | '>' | '=' | '|'), Some("f4")) => 4,
        (Some('<' | '>' | '=' | '|'), Some("f8" | "c8")) => 8,
        (Some('<' | '>' | '=' | '|'), Some("c16")) => 16,
        _ => return Err(NpyError::Dtype(format!("'{descr}'"))),
    };
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("'shape' is not a tuple"))?;
    let mut shape = Vec::new();
    for d in inner.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let d = d.strip_suffix('L').unwrap_or(d);
        shape.push(
            d.parse::<u64>()
                .map_err(|_| bad("'shape' holds a value that is not a dimension"))?,
        );
    }
    Ok(Header { descr, item, shape })
}

/// The text after `'key':` (leading spaces trimmed), as written.
fn dict_value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let at = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = text.get(at + key.len() + 2..)?.trim_start();
    Some(rest.strip_prefix(':')?.trim_start())
}

/// Human name of a value's element type and shape, e.g. `complex values of shape [64, 64]`.
pub fn describe_elem(v: &Value) -> &'static str {
    if v.is_complex() {
        "complex values"
    } else {
        "real values"
    }
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
