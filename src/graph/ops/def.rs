//! One op's definition ([`OpDef`]: name, syntax, signatures, static parameters, type rule, forward,
//! VJP, linearity, test inputs) and one use of it in a graph ([`Op`]: the definition plus its
//! static parameters).

use super::inputs::Inputs;
use super::OPS;
use crate::graph::fft::FftCache;
use crate::graph::value::{Ty, Value};
use rand::{RngCore, SeedableRng};
use std::fmt;

/// How an op is written in the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// Called by name: `fft(x)`, `crop(x, 32, 32)` (tensor arguments first, then static ones).
    Call,
    /// Between two operands: `a + b`.
    Infix(&'static str),
    /// Before one operand: `-x`.
    Prefix(&'static str),
}

/// Result type of a unary op from its argument's type, or what is wrong.
pub(crate) type UnaryTy = fn(&Op, &Ty) -> Result<Ty, String>;
/// Forward map of a unary op (argument types already checked).
pub(crate) type UnaryForward = fn(&Op, &Value, &FftCache) -> Result<Value, OpError>;
/// Cotangent of the argument from `(x, out, g)`, with `x`'s type.
pub(crate) type UnaryVjp = fn(&Op, &Value, &Value, &Value, &FftCache) -> Result<Value, OpError>;
/// Result type of a binary op from its arguments' types, or what is wrong.
pub(crate) type BinaryTy = fn(&Op, &Ty, &Ty) -> Result<Ty, String>;
/// Forward map of a binary op (argument types already checked).
pub(crate) type BinaryForward = fn(&Op, &Value, &Value, &FftCache) -> Result<Value, OpError>;
/// Cotangents of both arguments from `(a, b, out, g)`, each with its argument's type.
/// VJP of a binary op: `need[i]` says whether argument i's cotangent is wanted (`None` where not:
/// a constant or data argument, whose cotangent no latent reads).
pub(crate) type BinaryVjp =
    fn(&Op, &Value, &Value, &Value, &Value, &FftCache, [bool; 2]) -> Result<[Option<Value>; 2], OpError>;

/// The cotangents that are wanted, from ones computed anyway.
pub(crate) fn keep(need: [bool; 2], [a, b]: [Value; 2]) -> [Option<Value>; 2] {
    [need[0].then_some(a), need[1].then_some(b)]
}

/// Type rule, forward map and VJP; the variant fixes the number of tensor arguments.
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    Unary {
        ty: UnaryTy,
        forward: UnaryForward,
        vjp: UnaryVjp,
    },
    Binary {
        ty: BinaryTy,
        forward: BinaryForward,
        vjp: BinaryVjp,
    },
}

/// Everything about one built-in op, stated once; the checker, the REPL, the docs and the tests read it.
pub struct OpDef {
    /// The op's name: what a call writes (`fft`), or the graph's name of an operator (`add`).
    pub name: &'static str,
    pub syntax: Syntax,
    /// Names of the static integer parameters written after the tensor arguments (`crop(x, h, w)`).
    pub params: &'static [&'static str],
    /// Signatures as shown in messages, `:type` and docs.
    pub signatures: &'static [&'static str],
    /// One sentence for the docs.
    pub doc: &'static str,
    /// Linear over ℝ in all tensor arguments jointly (conj, re and im are ℝ-linear), those its
    /// [`OpDef::inputs`] mark constant (see [`super::Arg::constant`]) held fixed.
    pub linear: bool,
    pub(crate) rule: Rule,
    /// Random valid arguments (and static parameters) inside the op's smooth domain: what the
    /// registry-wide gradient, linearity and adjoint tests draw.
    pub inputs: fn(&mut dyn RngCore) -> Inputs,
}

/// The most static parameters an op has.
pub const MAX_PARAMS: usize = 2;

impl OpDef {
    /// Number of tensor arguments (static parameters excluded).
    pub fn arity(&self) -> usize {
        match self.rule {
            Rule::Unary { .. } => 1,
            Rule::Binary { .. } => 2,
        }
    }

    /// Whether the language calls it by name (as opposed to an operator symbol).
    pub fn is_callable(&self) -> bool {
        self.syntax == Syntax::Call
    }

    /// The registered op called `name` (a call's name or an operator's graph name).
    pub fn by_name(name: &str) -> Option<&'static OpDef> {
        OPS.iter().copied().find(|d| d.name == name)
    }

    /// The registered op written `symbol` between two operands.
    pub fn infix(symbol: &str) -> Option<&'static OpDef> {
        OPS.iter()
            .copied()
            .find(|d| matches!(d.syntax, Syntax::Infix(s) if s == symbol))
    }

    /// The registered op written `symbol` before one operand.
    pub fn prefix(symbol: &str) -> Option<&'static OpDef> {
        OPS.iter()
            .copied()
            .find(|d| matches!(d.syntax, Syntax::Prefix(s) if s == symbol))
    }

    /// Positions of the arguments that are constant data (a k-space trajectory): those its
    /// [`OpDef::inputs`] mark constant. Their cotangent is zero, so the checker refuses one that
    /// depends on a latent.
    pub fn constant_args(&self) -> Vec<usize> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let inputs = (self.inputs)(&mut rng);
        inputs
            .args
            .iter()
            .enumerate()
            .filter(|(_, a)| a.constant)
            .map(|(i, _)| i)
            .collect()
    }

    /// Static parameters that must be written; optional ones (named with a trailing `?`) follow.
    pub fn required_params(&self) -> usize {
        self.params.iter().filter(|p| !p.ends_with('?')).count()
    }

    /// This op with its static parameters: every required one, then any of the optional ones
    /// (those left out are stored as [`NOT_GIVEN`]).
    pub fn with(&'static self, params: &[usize]) -> Result<Op, String> {
        let (lo, n) = (self.required_params(), self.params.len());
        if params.len() < lo || params.len() > n || n > MAX_PARAMS {
            let count = if lo == n {
                format!("{n}")
            } else {
                format!("{lo} to {n}")
            };
            return Err(format!(
                "`{}` takes {count} static parameter(s), got {}",
                self.name,
                params.len()
            ));
        }
        if params.contains(&NOT_GIVEN) {
            return Err(format!("`{}`: a static parameter is too large", self.name));
        }
        let mut stored = [NOT_GIVEN; MAX_PARAMS];
        stored[..params.len()].copy_from_slice(params);
        Ok(Op {
            def: self,
            params: stored,
        })
    }
}

/// The stored value of an optional static parameter that was left out.
pub const NOT_GIVEN: usize = usize::MAX;

/// One built-in operation as a graph node holds it: its definition and its static parameters.
#[derive(Clone, Copy)]
pub struct Op {
    def: &'static OpDef,
    params: [usize; MAX_PARAMS],
}

/// A runtime failure of an op (shapes are checked statically, so these are value problems).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Domain(String),
}

impl Op {
    /// The registered op `name` with static parameters `params`.
    pub fn new(name: &str, params: &[usize]) -> Result<Op, String> {
        OpDef::by_name(name)
            .ok_or_else(|| format!("no built-in op `{name}`"))?
            .with(params)
    }

    pub fn def(&self) -> &'static OpDef {
        self.def
    }

    /// The operator's name as written in the language (`add` etc. for the infix operators).
    pub fn name(&self) -> &'static str {
        self.def.name
    }

    /// Number of tensor arguments (static parameters excluded).
    pub fn arity(&self) -> usize {
        self.def.arity()
    }

    /// The static parameters as written (optional ones left out are not listed).
    pub fn params(&self) -> &[usize] {
        let named = &self.params[..self.def.params.len().min(MAX_PARAMS)];
        let given = named.iter().take_while(|&&p| p != NOT_GIVEN).count();
        &named[..given]
    }

    /// Static parameter `i` (0 past the end; [`OpDef::with`] checks their number).
    pub fn param(&self, i: usize) -> usize {
        self.params().get(i).copied().unwrap_or(0)
    }

    /// Optional static parameter `i`, `None` when it was left out.
    pub fn optional_param(&self, i: usize) -> Option<usize> {
        self.params().get(i).copied()
    }

    /// True for ops that are linear (over ℝ) in every argument jointly.
    pub fn is_linear(&self) -> bool {
        self.def.linear
    }

    /// Result type from argument types, or a message saying what is wrong.
    pub fn infer_type(&self, args: &[Ty]) -> Result<Ty, String> {
        let ty = match (&self.def.rule, args) {
            (Rule::Unary { ty, .. }, [x]) => ty(self, x)?,
            (Rule::Binary { ty, .. }, [a, b]) => ty(self, a, b)?,
            _ => {
                let n = self.arity();
                let s = if n == 1 { "" } else { "s" };
                return Err(format!(
                    "`{}` takes {n} argument{s}, got {}",
                    self.name(),
                    args.len()
                ));
            }
        };
        if ty
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none()
        {
            return Err(format!(
                "`{}`: the result {ty} has too many elements",
                self.name()
            ));
        }
        Ok(ty)
    }

    /// Forward evaluation. Argument types are checked first, so a mismatch is an `OpError::Shape`.
    pub fn forward(&self, args: &[&Value], fft: &FftCache) -> Result<Value, OpError> {
        let tys: Vec<Ty> = args.iter().map(|v| v.ty()).collect();
        self.infer_type(&tys).map_err(OpError::Shape)?;
        self.forward_trusted(args, fft)
    }

    /// [`Op::forward`] without the type check, for a graph whose types [`crate::graph::Graph::plan`]
    /// checked (the arguments have the types the op's node was typed with).
    pub(crate) fn forward_trusted(&self, args: &[&Value], fft: &FftCache) -> Result<Value, OpError> {
        match (&self.def.rule, args) {
            (Rule::Unary { forward, .. }, [x]) => forward(self, x, fft),
            (Rule::Binary { forward, .. }, [a, b]) => forward(self, a, b, fft),
            _ => Err(self.arity_error(args.len())),
        }
    }

    /// [`Op::vjp_needed`] without the type checks (see [`Op::forward_trusted`]).
    pub(crate) fn vjp_trusted(
        &self,
        args: &[&Value],
        out: &Value,
        g: &Value,
        fft: &FftCache,
        need: &[bool],
    ) -> Result<Vec<Option<Value>>, OpError> {
        match (&self.def.rule, args) {
            (Rule::Unary { vjp, .. }, [x]) => Ok(vec![match need.first() {
                Some(false) => None,
                _ => Some(vjp(self, x, out, g, fft)?),
            }]),
            (Rule::Binary { vjp, .. }, [a, b]) => {
                let need = [need.first() != Some(&false), need.get(1) != Some(&false)];
                Ok(vjp(self, a, b, out, g, fft, need)?.into())
            }
            _ => Err(self.arity_error(args.len())),
        }
    }

    /// Cotangents of every argument given the output cotangent `g` (same type as the output).
    /// Each returned value has its argument's type (broadcast scalars are summed back).
    pub fn vjp(
        &self,
        args: &[&Value],
        out: &Value,
        g: &Value,
        fft: &FftCache,
    ) -> Result<Vec<Value>, OpError> {
        let need = vec![true; args.len()];
        self.vjp_needed(args, out, g, fft, &need)?
            .into_iter()
            .map(|c| c.ok_or_else(|| OpError::Shape(format!("`{}`: a cotangent is missing", self.name()))))
            .collect()
    }

    /// As `vjp`, computing only the cotangents `need` asks for (`None` for the others): the graph's
    /// backward pass skips arguments no latent reaches (masks, coil maps, trajectories, data).
    pub fn vjp_needed(
        &self,
        args: &[&Value],
        out: &Value,
        g: &Value,
        fft: &FftCache,
        need: &[bool],
    ) -> Result<Vec<Option<Value>>, OpError> {
        let tys: Vec<Ty> = args.iter().map(|v| v.ty()).collect();
        let out_ty = self.infer_type(&tys).map_err(OpError::Shape)?;
        for (what, v) in [("output", out), ("cotangent", g)] {
            let ty = v.ty();
            if ty != out_ty {
                return Err(OpError::Shape(format!(
                    "`{}`: the {what} has type {ty}, expected {out_ty}",
                    self.name()
                )));
            }
        }
        self.vjp_trusted(args, out, g, fft, need)
    }

    fn arity_error(&self, got: usize) -> OpError {
        OpError::Shape(format!(
            "`{}` takes {} argument(s), got {got}",
            self.name(),
            self.arity()
        ))
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        self.name() == other.name() && self.params() == other.params()
    }
}

impl fmt::Display for Op {
    /// The name with static parameters, e.g. `downsample[2]` or `crop[32, 32]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if !self.params().is_empty() {
            let ps: Vec<String> = self.params().iter().map(usize::to_string).collect();
            write!(f, "[{}]", ps.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Op({self})")
    }
}
