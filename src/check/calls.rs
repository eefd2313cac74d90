//! Built-in functions called by name (the registry's callable ops plus the checker's constant
//! functions) and operators: their signatures for messages, and the lowering of their uses.

use super::constants::{ConstFn, CONSTANTS};
use super::errors::CheckError;
use super::lower::{Ctx, Locals};
use super::types::op_type;
use crate::dist::DISTRIBUTIONS;
use crate::graph::{NodeId, NodeKind, OpDef, Ty, Value, OPS};
use crate::source::Span;
use crate::syntax::ast::{BinOp, Expr};

/// A function the language calls by name: a graph op or a constant function.
#[derive(Clone, Copy)]
pub struct Builtin(Kind);

#[derive(Clone, Copy)]
enum Kind {
    Op(&'static OpDef),
    Const(&'static ConstFn),
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Op(d) => d.name,
            Kind::Const(c) => c.name,
        }
    }

    /// Its signatures, as `Available signatures` and `:type` show them.
    pub fn signatures(self) -> &'static [&'static str] {
        match self.0 {
            Kind::Op(d) => d.signatures,
            Kind::Const(c) => c.signatures,
        }
    }

    /// One sentence for the docs.
    pub fn doc(self) -> &'static str {
        match self.0 {
            Kind::Op(d) => d.doc,
            Kind::Const(c) => c.doc,
        }
    }

    /// Number of arguments as written: tensor arguments, then static parameters.
    pub fn arg_count(self) -> usize {
        match self.0 {
            Kind::Op(d) => d.arity() + d.params.len(),
            Kind::Const(c) => c.arity,
        }
    }

    /// The fewest arguments a call may write (optional static parameters left out).
    pub fn min_args(self) -> usize {
        match self.0 {
            Kind::Op(d) => d.arity() + d.required_params(),
            Kind::Const(c) => c.arity,
        }
    }

    /// The graph op a call lowers to; `None` for a constant function (folded at check time).
    pub fn op(self) -> Option<&'static OpDef> {
        match self.0 {
            Kind::Op(d) => Some(d),
            Kind::Const(_) => None,
        }
    }

    fn signature_list(self) -> Vec<String> {
        self.signatures().iter().map(|s| s.to_string()).collect()
    }
}

/// Every built-in function, in documentation order: the registry's callable ops, then the
/// constant functions.
pub fn builtins() -> impl Iterator<Item = Builtin> {
    let ops = OPS
        .iter()
        .filter(|d| d.is_callable())
        .map(|d| Builtin(Kind::Op(d)));
    ops.chain(CONSTANTS.iter().map(|c| Builtin(Kind::Const(c))))
}

/// The built-in function called `name`.
pub fn builtin(name: &str) -> Option<Builtin> {
    builtins().find(|b| b.name() == name)
}

pub fn is_builtin(name: &str) -> bool {
    builtin(name).is_some()
}

/// A name no definition may take: a built-in function or a distribution.
pub fn is_reserved(name: &str) -> bool {
    is_builtin(name) || DISTRIBUTIONS.contains(&name)
}

impl Ctx<'_> {
    /// Lower a call of the built-in `b`.
    pub(super) fn call_builtin(
        &mut self,
        b: Builtin,
        args: &[Expr],
        span: Span,
        locals: &Locals,
    ) -> Option<NodeId> {
        let (lo, n) = (b.min_args(), b.arg_count());
        if args.len() < lo || args.len() > n {
            let expected = match (lo, n) {
                (1, 1) => "1 argument".to_string(),
                (lo, n) if lo == n => format!("{n} arguments"),
                (lo, n) => format!("{lo} to {n} arguments"),
            };
            self.error(CheckError::Arity {
                name: b.name().into(),
                expected,
                found: args.len(),
                span,
                signatures: b.signature_list(),
            });
            return None;
        }
        match b.0 {
            Kind::Const(c) => (c.fold)(self, args, locals),
            Kind::Op(def) => self.call_op(b, def, args, span, locals),
        }
    }

    /// Tensor arguments become the node's inputs; the static ones its parameters.
    fn call_op(
        &mut self,
        b: Builtin,
        def: &'static OpDef,
        args: &[Expr],
        span: Span,
        locals: &Locals,
    ) -> Option<NodeId> {
        let (tensors, statics) = args.split_at(def.arity().min(args.len()));
        let mut inputs = Vec::with_capacity(tensors.len());
        for a in tensors {
            inputs.push(self.expr(a, locals)?);
        }
        let mut params = Vec::with_capacity(statics.len());
        for (a, pname) in statics.iter().zip(def.params) {
            // An axis counts from 0; sizes and factors from 1.
            let p = if pname.starts_with("axis") {
                self.static_index(def.name, a, locals)?
            } else {
                self.static_usize(def.name, a, locals, "a positive integer")?
            };
            params.push(p);
        }
        let on_latent = |i: &usize| inputs.get(*i).is_some_and(|&n| self.depends_on_latent(n));
        if let Some(i) = def.constant_args().into_iter().find(on_latent) {
            self.error(CheckError::ArgType {
                name: def.name.into(),
                detail: format!(
                    "argument {} (the trajectory) depends on a latent, but it is constant data that no \
                     gradient flows to; bind it as `data` or compute it from data and constants",
                    i + 1
                ),
                span,
                signatures: b.signature_list(),
            });
            return None;
        }
        let tys: Vec<_> = inputs.iter().map(|&i| self.ty(i)).collect();
        match def.with(&params).and_then(|op| Ok((op_type(&op, &tys)?, op))) {
            Ok((ty, op)) if self.size_ok(&ty, span) => Some(self.push(NodeKind::Op(op, inputs), ty, span)),
            Ok(_) => None,
            Err(detail) => {
                self.error(CheckError::ArgType {
                    name: def.name.into(),
                    detail,
                    span,
                    signatures: b.signature_list(),
                });
                None
            }
        }
    }

    /// `a op b`: folded when both sides are numbers, else the registered operator written `op`.
    pub(super) fn binary(&mut self, op: BinOp, a: NodeId, b: NodeId, span: Span) -> Option<NodeId> {
        if let (Some(x), Some(y)) = (self.static_num(a), self.static_num(b)) {
            let v = match op {
                BinOp::Add => Some(x + y),
                BinOp::Sub => Some(x - y),
                BinOp::Mul => Some(x * y),
                BinOp::Div if y != 0.0 => Some(x / y),
                _ => None,
            };
            if let Some(v) = v {
                return Some(self.constant(Value::scalar(v), span));
            }
        }
        self.operator(OpDef::infix(op.symbol()), op.symbol(), &[a, b], span)
    }

    /// Apply the registered operator written `symbol` (found by [`OpDef::infix`] or [`OpDef::prefix`]).
    pub(super) fn operator(
        &mut self,
        def: Option<&'static OpDef>,
        symbol: &str,
        args: &[NodeId],
        span: Span,
    ) -> Option<NodeId> {
        let tys: Vec<Ty> = args.iter().map(|&a| self.ty(a)).collect();
        let op = def.ok_or_else(|| format!("`{symbol}` is not a registered operator"));
        match op
            .and_then(|d| d.with(&[]))
            .and_then(|op| Ok((op_type(&op, &tys)?, op)))
        {
            Ok((ty, op)) if self.size_ok(&ty, span) => {
                Some(self.push(NodeKind::Op(op, args.to_vec()), ty, span))
            }
            Ok(_) => None,
            Err(detail) => {
                self.error(CheckError::OpType {
                    op: symbol.into(),
                    detail,
                    span,
                });
                None
            }
        }
    }

    /// A static positive integer argument.
    pub(super) fn static_usize(
        &mut self,
        name: &str,
        e: &Expr,
        locals: &Locals,
        what: &str,
    ) -> Option<usize> {
        self.static_int(name, e, locals, what, 1.0)
    }

    /// A static axis index: a non-negative integer constant.
    fn static_index(&mut self, name: &str, e: &Expr, locals: &Locals) -> Option<usize> {
        self.static_int(name, e, locals, "a non-negative integer (an axis, from 0)", 0.0)
    }

    fn static_int(&mut self, name: &str, e: &Expr, locals: &Locals, what: &str, min: f64) -> Option<usize> {
        let id = self.expr(e, locals)?;
        match self.static_num(id) {
            Some(v) if v >= min && v.fract() == 0.0 && v <= 1e6 => Some(v as usize),
            _ => {
                self.error(CheckError::StaticArg {
                    name: name.into(),
                    what: what.into(),
                    span: e.span,
                });
                None
            }
        }
    }
}
