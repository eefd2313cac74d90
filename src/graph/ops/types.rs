//! Shared pieces of the ops' static type rules: element promotion, plane geometry, result shapes.

use super::tensor::Planes;
use super::Op;
use crate::graph::value::Ty;
use crate::syntax::ast::ElemType;

/// real ⊗ complex → complex.
pub(super) fn promote(a: ElemType, b: ElemType) -> ElemType {
    if a == ElemType::Complex || b == ElemType::Complex {
        ElemType::Complex
    } else {
        ElemType::Real
    }
}

/// The rule of ops whose result has the argument's type.
pub(super) fn same(_: &Op, x: &Ty) -> Result<Ty, String> {
    Ok(x.clone())
}

/// The rule of ops whose result is real with the argument's shape.
pub(super) fn real_of(_: &Op, x: &Ty) -> Result<Ty, String> {
    Ok(Ty::real(x.shape.clone()))
}

/// The rule of ops that map each plane to a plane of the same size and kind.
pub(super) fn same_planes(op: &Op, x: &Ty) -> Result<Ty, String> {
    plane(op, x)?;
    Ok(x.clone())
}

/// The last two dimensions, or an error naming the op.
pub(super) fn plane(op: &Op, x: &Ty) -> Result<(usize, usize), String> {
    match x.shape[..] {
        [.., h, w] => Ok((h, w)),
        _ => Err(format!("`{}` needs at least 2 dimensions, got {x}", op.name())),
    }
}

/// A resampling factor, which must be at least 1.
pub(super) fn factor(op: &Op, f: usize) -> Result<usize, String> {
    if f == 0 {
        Err(format!("`{}` needs a factor of at least 1, got 0", op.name()))
    } else {
        Ok(f)
    }
}

/// `x`'s type with its last two dimensions replaced.
pub(super) fn with_plane(x: &Ty, h: usize, w: usize) -> Ty {
    Ty {
        elem: x.elem,
        shape: Planes::shape_with(&x.shape, h, w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &[usize]) -> Ty {
        Ty::real(s.to_vec())
    }
    fn c(s: &[usize]) -> Ty {
        Ty::complex(s.to_vec())
    }
    fn op(name: &str, params: &[usize]) -> Op {
        Op::new(name, params).unwrap()
    }

    #[test]
    fn result_types() {
        let ok = |o: Op, args: &[Ty]| o.infer_type(args).unwrap();
        assert_eq!(ok(op("mul", &[]), &[r(&[]), c(&[3, 4])]), c(&[3, 4]));
        assert_eq!(ok(op("add", &[]), &[r(&[3, 4]), r(&[])]), r(&[3, 4]));
        assert_eq!(ok(op("fft", &[]), &[r(&[2, 3, 4])]), c(&[2, 3, 4]));
        assert_eq!(ok(op("abs", &[]), &[c(&[5, 5])]), r(&[5, 5]));
        assert_eq!(ok(op("sqrt", &[]), &[c(&[2])]), c(&[2]));
        assert_eq!(ok(op("sum", &[]), &[c(&[2, 2])]), c(&[]));
        assert_eq!(ok(op("sum", &[0]), &[c(&[4, 3, 2])]), c(&[3, 2]));
        assert_eq!(ok(op("mean", &[2]), &[r(&[4, 3, 2])]), r(&[4, 3]));
        // The SENSE example: coil maps broadcast against one image.
        assert_eq!(
            ok(op("mul", &[]), &[c(&[4, 32, 32]), c(&[32, 32])]),
            c(&[4, 32, 32])
        );
        assert_eq!(ok(op("add", &[]), &[r(&[4, 1, 3]), c(&[5, 1])]), c(&[4, 5, 3]));
        assert_eq!(ok(op("conv", &[]), &[r(&[8, 8]), c(&[8, 3])]), c(&[8, 8]));
        assert_eq!(ok(op("downsample", &[2]), &[r(&[3, 8, 6])]), r(&[3, 4, 3]));
        assert_eq!(ok(op("upsample", &[3]), &[c(&[2, 2])]), c(&[6, 6]));
        assert_eq!(ok(op("crop", &[2, 3]), &[r(&[4, 3])]), r(&[2, 3]));
        assert_eq!(ok(op("pad", &[4, 5]), &[r(&[4, 3])]), r(&[4, 5]));
        assert_eq!(ok(op("matmul", &[]), &[r(&[2, 3]), c(&[3])]), c(&[2]));
        assert_eq!(ok(op("matmul", &[]), &[r(&[2, 3]), r(&[3, 4])]), r(&[2, 4]));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |o: Op, args: &[Ty]| o.infer_type(args).unwrap_err();
        let e = err(op("add", &[]), &[r(&[3, 4]), c(&[4, 3])]);
        assert!(
            e.contains("[3, 4]") && e.contains("[4, 3]") && e.contains("broadcast"),
            "{e}"
        );
        let e = err(op("mul", &[]), &[c(&[4, 32, 32]), r(&[4, 32])]);
        assert!(e.contains("[4, 32, 32]") && e.contains("[4, 32]"), "{e}");
        let e = err(op("sum", &[3]), &[r(&[4, 3, 2])]);
        assert!(e.contains("axis 3") && e.contains("0 to 2"), "{e}");
        assert!(Op::new("sum", &[0, 1])
            .unwrap_err()
            .contains("0 to 1 static parameter"));
        assert!(err(op("fft", &[]), &[c(&[8])]).contains("at least 2 dimensions"));
        assert!(err(op("softplus", &[]), &[c(&[2])]).contains("real"));
        assert!(err(op("downsample", &[3]), &[r(&[8, 9])]).contains("divisible by 3"));
        assert!(err(op("downsample", &[0]), &[r(&[8, 8])]).contains("at least 1"));
        assert!(err(op("crop", &[9, 2]), &[r(&[8, 8])]).contains("crop"));
        assert!(err(op("pad", &[7, 8]), &[r(&[8, 8])]).contains("pad"));
        assert!(err(op("conv", &[]), &[r(&[4, 4]), r(&[5, 1])]).contains("larger"));
        assert!(err(op("conv", &[]), &[r(&[4, 4]), r(&[2, 2, 1])]).contains("2-D kernel"));
        assert!(err(op("matmul", &[]), &[r(&[2, 3]), r(&[4])]).contains("inner dimensions"));
        assert!(err(op("matmul", &[]), &[r(&[2]), r(&[2])]).contains("matrix"));
        assert!(err(op("neg", &[]), &[r(&[]), r(&[])]).contains("takes 1 argument, got 2"));
        assert!(err(op("conv", &[]), &[r(&[4, 4])]).contains("takes 2 arguments, got 1"));
        assert!(err(op("upsample", &[usize::MAX - 1]), &[r(&[2, 2])]).contains("too large"));
        assert!(Op::new("upsample", &[usize::MAX])
            .unwrap_err()
            .contains("too large"));
        assert!(Op::new("crop", &[2]).unwrap_err().contains("2 static parameter"));
        assert!(Op::new("flipud", &[]).unwrap_err().contains("no built-in op"));
    }
}
