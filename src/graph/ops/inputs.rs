//! Random valid inputs of an op, drawn by its definition for the registry-wide tests: static
//! parameters, argument shapes, element kinds and the domain where the op is smooth.

use rand::{Rng, RngCore};

/// Where an argument's values are drawn: inside the op's smooth domain, away from kinks (`abs` at
/// 0), poles (`/ 0`) and branch cuts (`log`, `sqrt` on the non-positive reals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Components uniform in [−2, 2].
    Any,
    /// Magnitude in [0.5, 2], random sign or phase.
    NonZero,
    /// Real part in [0.3, 3], imaginary part in [−2, 2].
    RightHalf,
    /// Real values in [−6, 6].
    Wide,
}

/// One tensor argument: its shape, element kind and domain.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub shape: Vec<usize>,
    pub complex: bool,
    pub domain: Domain,
    /// Constant data of the op (a k-space trajectory): its cotangent is zero, and linearity is
    /// over the other arguments with this one held fixed.
    pub constant: bool,
}

/// Static parameters and tensor arguments of one valid application of an op.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    pub params: Vec<usize>,
    pub args: Vec<Arg>,
}

impl Inputs {
    /// Tensor arguments `(shape, complex, domain)` and no static parameters.
    pub fn of(args: impl IntoIterator<Item = (Vec<usize>, bool, Domain)>) -> Inputs {
        Inputs {
            params: Vec::new(),
            args: args
                .into_iter()
                .map(|(shape, complex, domain)| Arg {
                    shape,
                    complex,
                    domain,
                    constant: false,
                })
                .collect(),
        }
    }

    /// One argument, no static parameters.
    pub fn unary(shape: Vec<usize>, complex: bool, domain: Domain) -> Inputs {
        Inputs::of([(shape, complex, domain)])
    }

    /// The same arguments with a constant one (see [`Arg::constant`]) inserted at position `at`.
    pub fn with_constant(mut self, at: usize, shape: Vec<usize>, complex: bool, domain: Domain) -> Inputs {
        let arg = Arg {
            shape,
            complex,
            domain,
            constant: true,
        };
        self.args.insert(at.min(self.args.len()), arg);
        self
    }

    /// The same arguments with static parameters.
    pub fn with_params(mut self, params: Vec<usize>) -> Inputs {
        self.params = params;
        self
    }
}

/// A fair coin.
pub(super) fn coin(r: &mut dyn RngCore) -> bool {
    r.random_bool(0.5)
}

/// A shape of rank 0 to 3 with dimensions 1 to 3.
pub(super) fn any_shape(r: &mut dyn RngCore) -> Vec<usize> {
    let rank = r.random_range(0..=3);
    (0..rank).map(|_| r.random_range(1..4)).collect()
}

/// `[h, w]` or `[b, h, w]` with `b` in 1..=2 and `h`, `w` in `1..=max`.
pub(super) fn plane_shape(r: &mut dyn RngCore, max: usize) -> Vec<usize> {
    let b = r.random_range(0..3);
    let (h, w) = (r.random_range(1..=max), r.random_range(1..=max));
    if b == 0 {
        vec![h, w]
    } else {
        vec![b, h, w]
    }
}

/// `shape` with its last two dimensions multiplied by `f`.
pub(super) fn scale_plane(shape: &[usize], f: usize) -> Vec<usize> {
    let n = shape.len();
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if i + 2 >= n { d * f } else { d })
        .collect()
}

/// The last two dimensions (`(1, 1)` for a shape of rank below 2).
pub(super) fn plane_of(shape: &[usize]) -> (usize, usize) {
    match shape {
        [.., h, w] => (*h, *w),
        _ => (1, 1),
    }
}
