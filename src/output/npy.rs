//! `.npy` writers (ndarray-npy): f64 → `<f8`, Complex<f64> → `<c16`, any dimension, fsynced.

use super::OutputError;
use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyExt};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Write `array` to `path` as `.npy` (C order whatever the memory layout) and fsync it.
/// Real samples are `f64`, complex latents `num_complex::Complex64` (numpy `complex128`).
pub fn write_npy<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), OutputError>
where
    A: WritableElement + Clone,
    S: Data<Elem = A>,
    D: Dimension,
{
    let npy_err = |cause| OutputError::Npy {
        path: path.to_path_buf(),
        cause,
    };
    let file = File::create(path).map_err(|e| OutputError::io(path, e))?;
    let mut w = BufWriter::new(file);
    array.as_standard_layout().write_npy(&mut w).map_err(npy_err)?;
    w.flush().map_err(|e| OutputError::io(path, e))?;
    let file = w
        .into_inner()
        .map_err(|e| OutputError::io(path, e.into_error()))?;
    file.sync_all().map_err(|e| OutputError::io(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ndarray::{Array, Array3, ArrayD, IxDyn, ShapeBuilder};
    use ndarray_npy::read_npy;
    use num_complex::Complex64;

    fn header(path: &Path) -> String {
        let bytes = std::fs::read(path).unwrap();
        String::from_utf8_lossy(&bytes[..128.min(bytes.len())]).into_owned()
    }

    #[test]
    fn real_round_trip_any_dimension_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("samples.npy");
        // [chains, draws, 2, 3] in Fortran order: written in C order.
        let a = Array::from_shape_fn((2, 4, 2, 3).f(), |(c, d, i, j)| {
            (c * 1000 + d * 100 + i * 10 + j) as f64
        });
        write_npy(&p, &a).unwrap();
        let back: ArrayD<f64> = read_npy(&p).unwrap();
        assert_eq!(back.shape(), &[2, 4, 2, 3]);
        assert_eq!(back, a.into_dyn());
        let h = header(&p);
        assert!(
            h.contains("'descr': '<f8'") && h.contains("'fortran_order': False"),
            "{h}"
        );
        // scalar latent: [chains, draws]
        let s = ArrayD::<f64>::zeros(IxDyn(&[]));
        write_npy(&dir.path().join("scalar.npy"), &s).unwrap();
    }

    #[test]
    fn complex_is_complex128() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z.npy");
        let z = Array3::from_shape_fn((2, 3, 4), |(a, b, c)| {
            Complex64::new(a as f64, (b * c) as f64 - 0.5)
        });
        write_npy(&p, &z).unwrap();
        assert!(header(&p).contains("'descr': '<c16'"));
        let back: Array3<Complex64> = read_npy(&p).unwrap();
        assert_eq!(back, z);
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_npy(&dir.path().join("no/such.npy"), &Array3::<f64>::zeros((1, 1, 1))).unwrap_err();
        assert!(matches!(err, OutputError::Io { .. }));
    }
}
