//! BART pairs: the shape rule, BART-written fixtures against a numpy reader, errors, and uq's writer
//! reproducing BART's own files.
#![allow(clippy::unwrap_used)]

use super::*;
use std::path::Path;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bart")
        .join(name)
}

fn complex(v: Value) -> ArrayD<Complex64> {
    match v {
        Value::Complex(a) => a,
        Value::Real(_) => panic!("a BART pair must read as complex"),
    }
}

#[test]
fn shape_rule_keeps_the_image_plane_and_puts_the_other_axes_first() {
    let mut coils = [1; BART_DIMS];
    coils[..4].copy_from_slice(&[64, 32, 1, 8]);
    assert_eq!(uq_shape(&coils), vec![8, 1, 64, 32]);
    assert_eq!(uq_shape(&[1; BART_DIMS]), Vec::<usize>::new());
    assert_eq!(uq_shape(&[16, 8]), vec![16, 8]);
    assert_eq!(bart_dims(&[8, 1, 64, 32]).unwrap(), coils);
    let mut samples = [1; BART_DIMS];
    samples[..4].copy_from_slice(&[64, 32, 8, 4]);
    assert_eq!(bart_dims(&[4, 8, 64, 32]).unwrap(), samples);
    assert_eq!(bart_dims(&[2; 17]), None);
    for shape in [vec![3, 5], vec![2, 1, 4], vec![6, 2, 1, 4], vec![7], vec![]] {
        assert_eq!(uq_shape(&bart_dims(&shape).unwrap()), shape);
    }
    // Leading size-1 axes are BART's trailing ones: they do not survive a round trip.
    assert_eq!(uq_shape(&bart_dims(&[1, 4, 4, 4]).unwrap()), vec![4, 4, 4]);
}

#[test]
fn bart_written_files_read_as_numpy_reads_them() {
    for (name, shape) in [
        ("kspace", vec![16, 16]),
        ("coils", vec![4, 1, 16, 16]),
        ("kspace_16x8", vec![16, 8]),
    ] {
        let got = complex(read_value(&fixture(&format!("{name}.cfl"))).unwrap());
        let by_hdr = complex(read_value(&fixture(&format!("{name}.hdr"))).unwrap());
        let want = complex(super::super::npy::read_value(&fixture(&format!("{name}_expected.npy"))).unwrap());
        assert_eq!(got.shape(), shape.as_slice(), "{name}");
        assert_eq!(got, want, "{name}");
        assert_eq!(by_hdr, want, "{name}");
        assert!(
            got.iter().any(|z| z.im != 0.0 && z.re != 0.0),
            "{name}: a real test needs complex values"
        );
    }
}

#[test]
fn headers_parse_like_bart_and_bad_ones_say_why() {
    let text = std::fs::read_to_string(fixture("coils.hdr")).unwrap();
    assert_eq!(&parse_header(&text).unwrap()[..5], &[16, 16, 1, 4, 1]);
    assert_eq!(parse_header("# Dimensions\n3 2\n").unwrap()[..3], [3, 2, 1]);
    let err = |t: &str| parse_header(t).unwrap_err();
    assert!(err("16 16\n").contains("no `# Dimensions`"));
    assert!(err("# Dimensions\n").contains("nothing follows"));
    assert!(err("# Dimensions\n4 0 1\n").contains("size 0"));
    assert!(err("# Dimensions\n4 x\n").contains("`x`"));
    assert!(err(&format!("# Dimensions\n{}\n", "2 ".repeat(17))).contains("17 sizes"));
    assert_eq!(
        header_text(&[4, 1, 16, 16]).unwrap().lines().nth(1).unwrap(),
        text.lines().nth(1).unwrap()
    );
}

#[test]
fn broken_pairs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("y");
    std::fs::write(base.with_extension("cfl"), [0u8; 32]).unwrap();
    let e = read_value(&base.with_extension("cfl")).unwrap_err().to_string();
    assert!(e.contains("y.hdr") && e.contains("No such file"), "{e}");
    std::fs::write(base.with_extension("hdr"), "# Dimensions\n2 3\n").unwrap();
    let e = read_value(&base.with_extension("cfl")).unwrap_err().to_string();
    assert!(
        e.contains("[2, 3]") && e.contains("48 bytes") && e.contains("holds 32 bytes") && e.contains("y.cfl"),
        "{e}"
    );
    std::fs::write(base.with_extension("hdr"), "# Dimensions\n2 2\n").unwrap();
    assert_eq!(read_value(&base).unwrap().shape(), &[2, 2]);
    std::fs::write(base.with_extension("hdr"), "# Dimensions\n65536 65536 65536\n").unwrap();
    assert!(matches!(
        read_value(&base.with_extension("hdr")),
        Err(NpyError::TooLarge { .. })
    ));
    std::fs::create_dir(dir.path().join("d.cfl")).unwrap();
    std::fs::write(dir.path().join("d.hdr"), "# Dimensions\n1\n").unwrap();
    let e = read_value(&dir.path().join("d.cfl")).unwrap_err();
    assert!(
        matches!(e, NpyError::NotRegular(_)) && e.to_string().contains("d.cfl"),
        "{e}"
    );
    // Non-finite values are read; data binding refuses them (E0507), as for `.npy`.
    std::fs::write(base.with_extension("hdr"), "# Dimensions\n2 2\n").unwrap();
    let nan = [f32::NAN.to_le_bytes(), 0f32.to_le_bytes()].concat();
    std::fs::write(
        base.with_extension("cfl"),
        [nan.clone(), nan.clone(), nan.clone(), nan].concat(),
    )
    .unwrap();
    assert!(!read_value(&base).unwrap().all_finite());
}

#[test]
fn uq_writes_the_files_bart_wrote() {
    for name in ["coils", "kspace_16x8"] {
        let v = complex(read_value(&fixture(&format!("{name}.cfl"))).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(format!("{name}.cfl"));
        crate::output::write_cfl(&out, &v).unwrap();
        // The values file is byte for byte BART's; the header's dimension line is BART's.
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(fixture(&format!("{name}.cfl"))).unwrap()
        );
        let ours = std::fs::read_to_string(out.with_extension("hdr")).unwrap();
        let bart = std::fs::read_to_string(fixture(&format!("{name}.hdr"))).unwrap();
        assert_eq!(
            ours.lines().take(2).collect::<Vec<_>>(),
            bart.lines().take(2).collect::<Vec<_>>()
        );
        assert_eq!(complex(read_value(&out).unwrap()), v);
    }
    // Real arrays become complex64 with zero imaginary parts.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.cfl");
    let r = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f64 - 1.5);
    crate::output::write_cfl(&out, &r).unwrap();
    let back = complex(read_value(&out).unwrap());
    assert_eq!(back, r.mapv(|x| Complex64::new(x, 0.0)));
}

#[test]
fn size_one_axes_may_be_added_or_left_out() {
    let v = read_value(&fixture("coils.cfl")).unwrap();
    assert_eq!(fit_singletons(v.clone(), &[4, 16, 16]).shape(), &[4, 16, 16]);
    assert_eq!(
        fit_singletons(v.clone(), &[1, 4, 1, 16, 16, 1]).shape(),
        &[1, 4, 1, 16, 16, 1]
    );
    let squeezed = complex(fit_singletons(v.clone(), &[4, 16, 16]));
    assert_eq!(
        squeezed.iter().collect::<Vec<_>>(),
        complex(v.clone()).iter().collect::<Vec<_>>()
    );
    // Other sizes must agree in order: no transposes.
    assert_eq!(fit_singletons(v.clone(), &[16, 16, 4]).shape(), &[4, 1, 16, 16]);
    assert_eq!(fit_singletons(v, &[4, 16, 8]).shape(), &[4, 1, 16, 16]);
}
