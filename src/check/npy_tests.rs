//! Tests of the header-first `.npy` reader: good files, and every way a file can disagree with its header.
#![allow(clippy::unwrap_used)]

use super::*;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;

fn npy_bytes<T: ndarray_npy::WritableElement>(a: &ArrayD<T>) -> Vec<u8> {
    let mut out = Vec::new();
    a.write_npy(&mut out).unwrap();
    out
}

/// A version-1 file with `header` (padded to 64 bytes) followed by `payload`.
fn raw(header: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(payload);
    out
}

fn read_bytes(bytes: &[u8]) -> Result<Value, NpyError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    std::fs::write(&p, bytes).unwrap();
    read_value(&p)
}

#[test]
fn reads_the_four_float_types() {
    let a = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f64);
    let v = read_bytes(&npy_bytes(&a)).unwrap();
    assert_eq!(v, Value::Real(a.clone()));
    let v = read_bytes(&npy_bytes(&a.mapv(|x| x as f32))).unwrap();
    assert_eq!(v, Value::Real(a.clone()));
    let z = a.mapv(|x| Complex64::new(x, -x));
    assert_eq!(read_bytes(&npy_bytes(&z)).unwrap(), Value::Complex(z.clone()));
    let z32 = z.mapv(|c| Complex32::new(c.re as f32, c.im as f32));
    assert_eq!(read_bytes(&npy_bytes(&z32)).unwrap(), Value::Complex(z));
    let scalar = ArrayD::from_elem(IxDyn(&[]), 2.5f64);
    assert_eq!(read_bytes(&npy_bytes(&scalar)).unwrap(), Value::Real(scalar));
}

#[test]
fn payload_must_match_the_header() {
    let good = npy_bytes(&ArrayD::<f64>::zeros(IxDyn(&[4, 4])));
    let short = read_bytes(&good[..good.len() - 8]).unwrap_err();
    assert!(
        matches!(&short, NpyError::Corrupt(m) if m.contains("shape [4, 4]") && m.contains("128 bytes of data") && m.contains("120 bytes follow")),
        "{short}"
    );
    let mut long = good.clone();
    long.extend([0u8; 3]);
    assert!(matches!(read_bytes(&long), Err(NpyError::Corrupt(m)) if m.contains("131 bytes follow")));
    let header_only = read_bytes(&good[..20]).unwrap_err();
    assert!(
        matches!(&header_only, NpyError::Corrupt(m) if m.contains("ends inside its header")),
        "{header_only}"
    );
}

#[test]
fn absurd_shapes_are_refused_before_reading() {
    let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }";
    assert!(matches!(read_bytes(&raw(h, &[])), Err(NpyError::TooLarge { .. })));
    let h = "{'descr': '<c16', 'fortran_order': False, 'shape': (100000, 100000), }";
    let e = read_bytes(&raw(h, &[0; 64])).unwrap_err();
    assert!(e.to_string().contains("[100000, 100000]"), "{e}");
    let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }";
    assert!(matches!(read_bytes(&raw(h, &[])), Err(NpyError::Corrupt(_))));
}

#[test]
fn malformed_headers_are_corrupt_or_unsupported() {
    assert!(
        matches!(read_bytes(b"hello world, not numpy"), Err(NpyError::Corrupt(m)) if m.contains("magic"))
    );
    assert!(matches!(read_bytes(b""), Err(NpyError::Corrupt(_))));
    assert!(
        matches!(read_bytes(b"\x93NUMPY\x09\x00\x10\x00"), Err(NpyError::Corrupt(m)) if m.contains("version 9"))
    );
    let mut huge = b"\x93NUMPY\x02\x00".to_vec();
    huge.extend(u32::MAX.to_le_bytes());
    assert!(matches!(read_bytes(&huge), Err(NpyError::Corrupt(m)) if m.contains("more than the 65536")));
    let h = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    assert_eq!(
        read_bytes(&raw(h, &[0; 16])),
        Err(NpyError::Dtype("'<i8'".into()))
    );
    let h = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }";
    assert!(matches!(read_bytes(&raw(h, &[0; 16])), Err(NpyError::Dtype(_))));
    let h = "{'fortran_order': False, 'shape': (2,), }";
    assert!(matches!(read_bytes(&raw(h, &[0; 16])), Err(NpyError::Corrupt(m)) if m.contains("descr")));
    let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }";
    assert!(matches!(read_bytes(&raw(h, &[0; 16])), Err(NpyError::Corrupt(_))));
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_folders_are_refused_without_reading() {
    let e = read_value(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e, NpyError::NotRegular("a device".into()));
    assert!(e.to_string().contains("only from regular files"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        read_value(dir.path()),
        Err(NpyError::NotRegular("a directory".into()))
    );
    let fifo = dir.path().join("pipe.npy");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a plain libc call with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opening a FIFO with no writer would block: the reader must refuse it from its metadata.
    assert_eq!(read_value(&fifo), Err(NpyError::NotRegular("a FIFO".into())));
    let link = dir.path().join("link.npy");
    let target = dir.path().join("real.npy");
    std::fs::write(&target, npy_bytes(&ArrayD::<f64>::zeros(IxDyn(&[2])))).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(read_value(&link).is_ok());
    assert!(matches!(
        read_value(&dir.path().join("missing.npy")),
        Err(NpyError::Io(_))
    ));
}
