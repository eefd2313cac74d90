//! Expression checking fused with lowering: every well-typed expression becomes graph nodes.

use super::calls::{builtin, builtins, is_builtin};
use super::errors::{CheckError, NameKind};
use super::model::{DataDecl, InferSpec, Latent, Observation};
use super::types::{numel, MAX_ELEMENTS};
use crate::diagnostics::did_you_mean;
use crate::dist::DISTRIBUTIONS;
use crate::graph::{Graph, NodeId, NodeKind, OpDef, Ty, Value};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{BinOp, Expr, ExprKind, Ident, UnOp};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Function parameters bound to argument nodes while inlining.
pub type Locals = HashMap<String, NodeId>;

/// A declared name: what it is and where.
#[derive(Clone, Copy, Debug)]
pub struct Decl {
    pub kind: NameKind,
    pub span: Span,
}

/// A user function (inlined at every call).
#[derive(Clone, Debug)]
pub struct FnDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Expr,
}

/// The checker's state while lowering one model.
pub struct Ctx<'s> {
    pub sources: &'s SourceMap,
    pub model_dir: Option<PathBuf>,
    pub graph: Graph,
    /// Per node: whether it depends on a latent.
    pub on_latent: Vec<bool>,
    pub decls: HashMap<String, Decl>,
    pub fns: HashMap<String, FnDef>,
    /// Names already lowered to a node (data, `let`, latents).
    pub values: HashMap<String, NodeId>,
    /// Names whose definition failed: uses are silently skipped (no cascades).
    pub poisoned: HashSet<String>,
    /// Functions being inlined (for recursion errors), and the spans of their calls.
    pub stack: Vec<String>,
    pub call_spans: Vec<Span>,
    /// Expressions being checked, nested (inlined bodies included), and checked in all: see
    /// [`super::limits`].
    pub depth: usize,
    pub steps: usize,
    pub limit_reported: bool,
    pub errors: Vec<CheckError>,
    pub warnings: Vec<CheckError>,
    pub latents: Vec<Latent>,
    pub data: Vec<DataDecl>,
    pub observations: Vec<Observation>,
    pub outputs: Vec<super::model::Derived>,
    pub infer: Option<(InferSpec, Span)>,
}

impl<'s> Ctx<'s> {
    pub fn new(sources: &'s SourceMap, model_dir: Option<PathBuf>) -> Self {
        Ctx {
            sources,
            model_dir,
            graph: Graph::default(),
            on_latent: Vec::new(),
            decls: HashMap::new(),
            fns: HashMap::new(),
            values: HashMap::new(),
            poisoned: HashSet::new(),
            stack: Vec::new(),
            call_spans: Vec::new(),
            depth: 0,
            steps: 0,
            limit_reported: false,
            errors: Vec::new(),
            warnings: Vec::new(),
            latents: Vec::new(),
            data: Vec::new(),
            observations: Vec::new(),
            outputs: Vec::new(),
            infer: None,
        }
    }

    pub fn error(&mut self, e: CheckError) {
        self.errors.push(e);
    }

    pub fn push(&mut self, kind: NodeKind, ty: Ty, span: Span) -> NodeId {
        let dep = match &kind {
            NodeKind::Latent(_) => true,
            NodeKind::Op(_, inputs) => inputs.iter().any(|i| self.depends_on_latent(*i)),
            _ => false,
        };
        self.on_latent.push(dep);
        self.graph.push(kind, ty, span)
    }

    /// Report (and return false) when `ty` exceeds [`MAX_ELEMENTS`].
    pub fn size_ok(&mut self, ty: &Ty, span: Span) -> bool {
        let ok = numel(&ty.shape).is_some_and(|n| n <= MAX_ELEMENTS);
        if !ok {
            self.error(CheckError::TooLarge {
                ty: ty.to_string(),
                span,
            });
        }
        ok
    }

    pub fn constant(&mut self, v: Value, span: Span) -> NodeId {
        let ty = v.ty();
        self.push(NodeKind::Const(v), ty, span)
    }

    pub fn ty(&self, id: NodeId) -> Ty {
        self.graph
            .nodes
            .get(id.0)
            .map(|n| n.ty.clone())
            .unwrap_or_else(|| Ty::real(vec![]))
    }

    pub fn depends_on_latent(&self, id: NodeId) -> bool {
        self.on_latent.get(id.0).copied().unwrap_or(false)
    }

    pub fn const_value(&self, id: NodeId) -> Option<&Value> {
        match self.graph.nodes.get(id.0).map(|n| &n.kind) {
            Some(NodeKind::Const(v)) => Some(v),
            _ => None,
        }
    }

    /// The number a node stands for, when it is a real scalar constant.
    pub fn static_num(&self, id: NodeId) -> Option<f64> {
        match self.const_value(id)? {
            Value::Real(a) if a.ndim() == 0 => a.iter().next().copied(),
            _ => None,
        }
    }

    /// A path written in file `file`, resolved against that file's folder (or the model's).
    pub fn resolve(&self, file: FileId, path: &str) -> PathBuf {
        let dir = self
            .sources
            .dir(file)
            .map(Path::to_path_buf)
            .or_else(|| self.model_dir.clone());
        match dir {
            Some(d) => d.join(path),
            None => PathBuf::from(path),
        }
    }

    /// Check and lower one expression; `None` when an error was reported.
    pub fn expr(&mut self, e: &Expr, locals: &Locals) -> Option<NodeId> {
        if !self.enter(e.span) {
            return None;
        }
        let out = self.expr_kind(e, locals);
        self.leave();
        out
    }

    fn expr_kind(&mut self, e: &Expr, locals: &Locals) -> Option<NodeId> {
        match &e.kind {
            ExprKind::Num(x) => Some(self.constant(Value::scalar(*x), e.span)),
            ExprKind::Str(_) => {
                self.error(CheckError::StringValue { span: e.span });
                None
            }
            ExprKind::Var(name) => self.lookup(name, e.span, locals),
            ExprKind::Call { callee, args } => self.call(callee, args, e.span, locals),
            ExprKind::List(items) => self.list(items, e.span, locals),
            ExprKind::Unary {
                op: UnOp::Neg,
                operand,
            } => {
                let x = self.expr(operand, locals)?;
                if let Some(v) = self.static_num(x) {
                    return Some(self.constant(Value::scalar(-v), e.span));
                }
                self.operator(OpDef::prefix("-"), "-", &[x], e.span)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs, locals);
                let b = self.expr(rhs, locals);
                self.binary(*op, a?, b?, e.span)
            }
            ExprKind::Named { name, .. } => {
                self.error(CheckError::KeywordArgument {
                    message: format!("keyword argument `{} = …` outside a distribution call", name.name),
                    label: "only distributions take keyword arguments".into(),
                    help: "pass the value positionally, or use `name = value` only right of `~`".into(),
                    span: e.span,
                });
                None
            }
            ExprKind::Error => None,
        }
    }

    /// The node of a top-level name (a data tensor, `let` or latent), reporting why not if none.
    pub(super) fn lookup_value(&mut self, name: &str, span: Span) -> Option<NodeId> {
        self.lookup(name, span, &Locals::new())
    }

    fn lookup(&mut self, name: &str, span: Span, locals: &Locals) -> Option<NodeId> {
        if let Some(id) = locals.get(name).or_else(|| self.values.get(name)) {
            return Some(*id);
        }
        if self.poisoned.contains(name) {
            return None;
        }
        let err = match self.decls.get(name) {
            Some(d) if d.kind == NameKind::Fn => CheckError::FunctionAsValue {
                name: name.into(),
                span,
            },
            Some(d) => CheckError::UsedBeforeDefinition {
                name: name.into(),
                span,
                def: d.span,
            },
            None if is_builtin(name) => CheckError::FunctionAsValue {
                name: name.into(),
                span,
            },
            None if DISTRIBUTIONS.contains(&name) => CheckError::DistributionAsValue {
                name: name.into(),
                span,
            },
            None => {
                let mut cands: Vec<&str> = locals.keys().map(String::as_str).collect();
                cands.extend(
                    self.decls
                        .iter()
                        .filter(|(_, d)| d.kind != NameKind::Fn)
                        .map(|(n, _)| n.as_str()),
                );
                cands.sort_unstable();
                let suggestion = did_you_mean(name, cands).map(str::to_string);
                CheckError::UnknownName {
                    name: name.into(),
                    span,
                    suggestion,
                }
            }
        };
        self.error(err);
        None
    }

    fn call(&mut self, callee: &Ident, args: &[Expr], span: Span, locals: &Locals) -> Option<NodeId> {
        let name = callee.name.as_str();
        let tensor = locals.get(name).or_else(|| self.values.get(name)).copied();
        if let Some(m) = tensor {
            // A tensor applied like a function: the diagonal operator `m * z`.
            let [arg] = args else {
                self.error(CheckError::TensorCallArity {
                    name: name.into(),
                    found: args.len(),
                    span,
                });
                return None;
            };
            let z = self.expr(arg, locals)?;
            return self.binary(BinOp::Mul, m, z, span);
        }
        if let Some(f) = self.fns.get(name).cloned() {
            return self.inline(&f, args, span, locals);
        }
        if self.poisoned.contains(name) {
            return None;
        }
        if let Some(d) = self.decls.get(name).copied() {
            self.error(CheckError::UsedBeforeDefinition {
                name: name.into(),
                span: callee.span,
                def: d.span,
            });
            return None;
        }
        if let Some(b) = builtin(name) {
            return self.call_builtin(b, args, span, locals);
        }
        if DISTRIBUTIONS.contains(&name) {
            self.error(CheckError::DistributionAsValue {
                name: name.into(),
                span,
            });
            return None;
        }
        let mut cands: Vec<&str> = self.fns.keys().map(String::as_str).collect();
        cands.extend(builtins().map(|b| b.name()));
        cands.extend(locals.keys().map(String::as_str));
        cands.extend(self.values.keys().map(String::as_str));
        cands.sort_unstable();
        let suggestion = did_you_mean(name, cands).map(str::to_string);
        self.error(CheckError::UnknownName {
            name: name.into(),
            span: callee.span,
            suggestion,
        });
        None
    }

    fn inline(&mut self, f: &FnDef, args: &[Expr], span: Span, locals: &Locals) -> Option<NodeId> {
        let name = &f.name.name;
        if args.len() != f.params.len() {
            let (expected, found) = (f.params.len(), args.len());
            self.error(CheckError::FnArity {
                name: name.clone(),
                expected,
                found,
                span,
                def: f.name.span,
            });
            return None;
        }
        if let Some(pos) = self.stack.iter().position(|n| n == name) {
            let mut chain = self.stack[pos..].to_vec();
            chain.push(name.clone());
            self.error(CheckError::Recursion { chain, span });
            return None;
        }
        let mut inner = Locals::new();
        let mut ok = true;
        for (p, a) in f.params.iter().zip(args) {
            match self.expr(a, locals) {
                Some(id) => {
                    inner.insert(p.name.clone(), id);
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        self.stack.push(name.clone());
        self.call_spans.push(span);
        let out = self.expr(&f.body, &inner);
        self.call_spans.pop();
        self.stack.pop();
        out
    }
}
