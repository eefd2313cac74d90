//! The abstract syntax tree: what the parser produces and the checker consumes, spans on every node.

use crate::source::Span;

/// A name with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole `.uq` file (or a REPL line): statements in source order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `import mri`
    Import { module: Ident },
    /// `data y : complex[64, 64] = "y.npy"`
    Data {
        name: Ident,
        ty: TypeExpr,
        default: Option<StrLit>,
    },
    /// `let sigma = 0.1`
    Let { name: Ident, value: Expr },
    /// `fn A(x) = mask * fft(x)`
    Fn {
        name: Ident,
        params: Vec<Ident>,
        body: Expr,
    },
    /// `prior x : complex[64, 64] ~ score("brain64.safetensors")`
    Prior {
        name: Ident,
        ty: Option<TypeExpr>,
        dist: Expr,
    },
    /// `y ~ Normal(A(x), sigma)`
    Observe { name: Ident, dist: Expr },
    /// `infer annealed_hmc(gamma = 0.995, eps = 10)`
    Infer { sampler: Ident, args: Vec<InferArg> },
    /// `output phase, residual`: `let`s of latents written like latents (derived quantities)
    Output { names: Vec<Ident> },
    /// A statement that failed to parse (an error was reported; the checker skips it).
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InferArg {
    pub key: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    Real,
    Complex,
}

/// `real`, `complex[64, 64]`, …
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub elem: ElemType,
    /// Each dimension with its span (empty for a scalar).
    pub dims: Vec<(usize, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `A @ x`: dense matrix times vector (or matrix).
    MatMul,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A number literal (integers are numbers too: `10`, `0.995`, `1e-3`).
    Num(f64),
    /// A string literal (file names).
    Str(String),
    /// A name: a data tensor, `let` binding, latent, or function parameter.
    Var(String),
    /// `f(a, b)`: built-in, user `fn`, distribution, or a data tensor applied as a diagonal operator.
    Call {
        callee: Ident,
        args: Vec<Expr>,
    },
    /// `[a, b, c]`: a literal vector (mixture weights, means).
    List(Vec<Expr>),
    /// `name = value` as a call argument (keyword arguments of distributions: `Flat(lower = 0)`).
    Named {
        name: Ident,
        value: Box<Expr>,
    },
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// An expression that failed to parse (already reported).
    Error,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
        }
    }
}
