//! Reading `.npy` files of float32/float64/complex64/complex128 into graph values.

use crate::graph::Value;
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, ReadNpyExt};
use num_complex::{Complex32, Complex64};
use std::io::Cursor;
use std::path::Path;

/// Why a `.npy` file could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NpyError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Corrupt(String),
    /// An element type uq does not read (the file's descriptor).
    #[error("unsupported dtype {0} (uq reads float32, float64, complex64, complex128)")]
    Dtype(String),
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

/// Read a `.npy` file; real files become `Value::Real`, complex ones `Value::Complex` (as f64).
pub fn read_value(path: &Path) -> Result<Value, NpyError> {
    let bytes = std::fs::read(path).map_err(|e| NpyError::Io(e.to_string()))?;
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

/// Human name of a value's element type and shape, e.g. `complex values of shape [64, 64]`.
pub fn describe_elem(v: &Value) -> &'static str {
    if v.is_complex() {
        "complex values"
    } else {
        "real values"
    }
}
