//! Runtime values and static types of the operator graph: real or complex f64 tensors.

use crate::syntax::ast::ElemType;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex64;
use std::fmt;

/// A static type: element kind and shape (`[]` is a scalar).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ty {
    pub elem: ElemType,
    pub shape: Vec<usize>,
}

impl Ty {
    pub fn real(shape: Vec<usize>) -> Self {
        Ty {
            elem: ElemType::Real,
            shape,
        }
    }
    pub fn complex(shape: Vec<usize>) -> Self {
        Ty {
            elem: ElemType::Complex,
            shape,
        }
    }
    pub fn scalar(elem: ElemType) -> Self {
        Ty { elem, shape: vec![] }
    }
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
    pub fn is_complex(&self) -> bool {
        self.elem == ElemType::Complex
    }
    /// Number of scalar elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.elem {
            ElemType::Real => "real",
            ElemType::Complex => "complex",
        };
        if self.shape.is_empty() {
            write!(f, "{e}")
        } else {
            let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
            write!(f, "{e}[{}]", dims.join(", "))
        }
    }
}

/// numpy's broadcasting of two shapes (trailing axes align, an axis of length 1 stretches), or
/// `None` when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], k: usize| if k + s.len() >= n { s[k + s.len() - n] } else { 1 };
    (0..n)
        .map(|k| match (at(a, k), at(b, k)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// A tensor value. Real tensors stay real; anything touching a complex value is complex.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Real(ArrayD<f64>),
    Complex(ArrayD<Complex64>),
}

impl Value {
    pub fn scalar(x: f64) -> Self {
        Value::Real(ArrayD::from_elem(IxDyn(&[]), x))
    }

    pub fn zeros(ty: &Ty) -> Self {
        match ty.elem {
            ElemType::Real => Value::Real(ArrayD::zeros(IxDyn(&ty.shape))),
            ElemType::Complex => Value::Complex(ArrayD::zeros(IxDyn(&ty.shape))),
        }
    }

    pub fn ty(&self) -> Ty {
        match self {
            Value::Real(a) => Ty::real(a.shape().to_vec()),
            Value::Complex(a) => Ty::complex(a.shape().to_vec()),
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Real(a) => a.shape(),
            Value::Complex(a) => a.shape(),
        }
    }

    pub fn is_complex(&self) -> bool {
        matches!(self, Value::Complex(_))
    }

    /// Promote to complex (a copy for real values).
    pub fn to_complex(&self) -> ArrayD<Complex64> {
        match self {
            Value::Real(a) => a.mapv(|x| Complex64::new(x, 0.0)),
            Value::Complex(a) => a.clone(),
        }
    }

    /// The elements as reals, a complex one as its real then imaginary part (the flat layout of
    /// latents and of replicate draws).
    pub fn interleaved(&self) -> Vec<f64> {
        match self {
            Value::Real(a) => a.iter().copied().collect(),
            Value::Complex(a) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
        }
    }

    /// True if every element is finite.
    pub fn all_finite(&self) -> bool {
        match self {
            Value::Real(a) => a.iter().all(|x| x.is_finite()),
            Value::Complex(a) => a.iter().all(|z| z.re.is_finite() && z.im.is_finite()),
        }
    }

    /// Real inner product `Re <a, b>` = Σ Re(conj(a) b): the pairing under which VJPs are adjoints.
    pub fn real_dot(&self, other: &Value) -> f64 {
        match (self, other) {
            (Value::Real(a), Value::Real(b)) => a.iter().zip(b.iter()).map(|(x, y)| x * y).sum(),
            _ => {
                let a = self.to_complex();
                let b = other.to_complex();
                a.iter().zip(b.iter()).map(|(x, y)| (x.conj() * y).re).sum()
            }
        }
    }

    /// This value stretched to `shape` by numpy's broadcasting rules (trailing axes align, an axis of
    /// length 1 stretches); `None` when the shapes do not broadcast.
    pub fn broadcast_to(&self, shape: &[usize]) -> Option<Value> {
        match self {
            Value::Real(a) => a.broadcast(IxDyn(shape)).map(|v| Value::Real(v.to_owned())),
            Value::Complex(a) => a.broadcast(IxDyn(shape)).map(|v| Value::Complex(v.to_owned())),
        }
    }

    /// The adjoint of [`Value::broadcast_to`]: sum over the axes that broadcasting added or
    /// stretched, giving `shape` (which must broadcast to this value's shape).
    pub fn sum_to(&self, shape: &[usize]) -> Option<Value> {
        fn reduce<T: ndarray::LinalgScalar>(a: &ArrayD<T>, shape: &[usize]) -> Option<ArrayD<T>> {
            let extra = a.ndim().checked_sub(shape.len())?;
            let mut out = a.clone();
            for _ in 0..extra {
                out = out.sum_axis(ndarray::Axis(0));
            }
            for (k, &n) in shape.iter().enumerate() {
                match (n, out.shape()[k]) {
                    (n, m) if n == m => {}
                    (1, _) => out = out.sum_axis(ndarray::Axis(k)).insert_axis(ndarray::Axis(k)),
                    _ => return None,
                }
            }
            Some(out)
        }
        match self {
            Value::Real(a) => reduce(a, shape).map(Value::Real),
            Value::Complex(a) => reduce(a, shape).map(Value::Complex),
        }
    }
}
