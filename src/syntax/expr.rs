//! Expression and type rules of the grammar (`expr`, `sum`, `product`, `unary`, `postfix`, `atom`,
//! `call_args`, `list_lit`, `type_expr`, `dims`, `dim`, `name`), with delimiter-level recovery.

use super::ast::{BinOp, ElemType, Expr, ExprKind, Ident, StrLit, TypeExpr, UnOp};
use super::errors::custom;
use super::lexer::{Keyword, Token};
use crate::source::{FileId, Span};
use chumsky::input::ValueInput;
use chumsky::prelude::*;

/// The parser's error and extra state.
pub(super) type Extra<'a> = extra::Err<Rich<'a, Token<'a>>>;

pub(super) fn sp(file: FileId, s: SimpleSpan) -> Span {
    Span::new(file, s.start, s.end)
}

fn error_expr(file: FileId, s: SimpleSpan) -> Expr {
    Expr {
        kind: ExprKind::Error,
        span: sp(file, s),
    }
}

/// A bracketed group skipped as one unit (brackets are balanced after layout).
pub(super) fn group<'a, I>() -> impl Parser<'a, I, (), Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    let paren = nested_delimiters(
        Token::LParen,
        Token::RParen,
        [(Token::LBracket, Token::RBracket)],
        |_| (),
    );
    let bracket = nested_delimiters(
        Token::LBracket,
        Token::RBracket,
        [(Token::LParen, Token::RParen)],
        |_| (),
    );
    paren.or(bracket)
}

/// `name = IDENT`
pub(super) fn name<'a, I>(file: FileId) -> impl Parser<'a, I, Ident, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    select! { Token::Ident(n) = e => Ident { name: n.to_string(), span: sp(file, e.span()) } }
        .labelled("a name")
}

/// `string = STRING`
pub(super) fn string<'a, I>(file: FileId) -> impl Parser<'a, I, StrLit, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    select! { Token::Str(value) = e => StrLit { value, span: sp(file, e.span()) } }
        .labelled("a file name string")
}

/// `type_expr = ("real" | "complex") [dims]`
pub(super) fn type_expr<'a, I>(file: FileId) -> impl Parser<'a, I, TypeExpr, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    let elem = select! {
        Token::Kw(Keyword::Real) => ElemType::Real,
        Token::Kw(Keyword::Complex) => ElemType::Complex,
    }
    .labelled("a type (`real` or `complex`)");
    elem.then(dims(file).or_not())
        .map_with(move |(elem, dims), e| TypeExpr {
            elem,
            dims: dims.unwrap_or_default(),
            span: sp(file, e.span()),
        })
        .boxed()
}

/// `dims = "[" dim {"," dim} [","] "]"`
fn dims<'a, I>(file: FileId) -> impl Parser<'a, I, Vec<(usize, Span)>, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    dim(file)
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .validate(|dims, e, emitter| {
            if dims.is_empty() {
                emitter.emit(Rich::custom(
                    e.span(),
                    custom(
                        "E0004",
                        "a tensor type needs at least one dimension",
                        "empty dimension list",
                        "write `real` for a scalar, or give the shape: `real[64, 64]`",
                    ),
                ));
            }
            dims
        })
        .recover_with(via_parser(nested_delimiters(
            Token::LBracket,
            Token::RBracket,
            [(Token::LParen, Token::RParen)],
            |_| Vec::new(),
        )))
}

/// `dim = INTEGER` (a positive integer literal; anything else is E0004).
fn dim<'a, I>(file: FileId) -> impl Parser<'a, I, (usize, Span), Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    const HELP: &str = "dimensions are positive integer literals, as in `complex[64, 64]`";
    let number =
        select! { Token::Num(t) => Some(t), Token::BadNum => None }.validate(move |lit, e, emitter| {
            let span = sp(file, e.span());
            let Some(lit) = lit else { return (1, span) };
            let why = match lit.parse::<usize>() {
                Ok(0) => "a dimension must be at least 1".to_string(),
                Ok(n) => return (n, span),
                Err(_) if lit.bytes().all(|b| b.is_ascii_digit()) => {
                    "this dimension is too large".to_string()
                }
                Err(_) => "a dimension must be a whole number".to_string(),
            };
            let msg = format!("invalid dimension `{lit}`");
            emitter.emit(Rich::custom(e.span(), custom("E0004", &msg, &why, HELP)));
            (1, span)
        });
    let other = group()
        .or(none_of([Token::Comma, Token::RBracket]).ignored())
        .repeated()
        .at_least(1)
        .validate(move |(), e, emitter| {
            let msg = "a dimension must be a positive integer literal";
            emitter.emit(Rich::custom(
                e.span(),
                custom("E0004", msg, "not an integer literal", HELP),
            ));
            (1, sp(file, e.span()))
        });
    number.or(other)
}

/// `expr = sum`
pub(super) fn expr<'a, I>(file: FileId) -> impl Parser<'a, I, Expr, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    recursive(move |expr| {
        let items = expr
            .clone()
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .collect::<Vec<_>>();

        // arg = name "=" expr | expr
        let named = name(file)
            .then_ignore(just(Token::Eq))
            .then(expr.clone())
            .map_with(move |(name, value), e| Expr {
                kind: ExprKind::Named {
                    name,
                    value: Box::new(value),
                },
                span: sp(file, e.span()),
            })
            // A name starts an expression too: report one expectation, not "a name or an expression".
            .labelled("an expression");
        let args = named
            .or(expr.clone())
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .collect::<Vec<_>>();

        // call_args = "(" [arg {"," arg} [","]] ")"
        let call_args = args
            .delimited_by(just(Token::LParen), just(Token::RParen))
            .recover_with(via_parser(nested_delimiters(
                Token::LParen,
                Token::RParen,
                [(Token::LBracket, Token::RBracket)],
                move |s| vec![error_expr(file, s)],
            )))
            .boxed();

        // list_lit = "[" [expr {"," expr} [","]] "]"
        let list_lit = items
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .map_with(move |xs, e| Expr {
                kind: ExprKind::List(xs),
                span: sp(file, e.span()),
            })
            .recover_with(via_parser(nested_delimiters(
                Token::LBracket,
                Token::RBracket,
                [(Token::LParen, Token::RParen)],
                move |s| error_expr(file, s),
            )));

        let paren = expr
            .delimited_by(just(Token::LParen), just(Token::RParen))
            .recover_with(via_parser(nested_delimiters(
                Token::LParen,
                Token::RParen,
                [(Token::LBracket, Token::RBracket)],
                move |s| error_expr(file, s),
            )));

        let literal = select! {
            Token::Num(t) => ExprKind::Num(t.parse().unwrap_or(f64::NAN)),
            Token::Str(s) => ExprKind::Str(s),
            Token::BadNum => ExprKind::Error,
        }
        .map_with(move |kind, e| Expr {
            kind,
            span: sp(file, e.span()),
        });

        let var_or_call = name(file)
            .then(call_args.clone().or_not())
            .map_with(move |(callee, args), e| {
                let kind = match args {
                    Some(args) => ExprKind::Call { callee, args },
                    None => ExprKind::Var(callee.name),
                };
                Expr {
                    kind,
                    span: sp(file, e.span()),
                }
            });

        // atom = NUMBER | STRING | name [call_args] | list_lit | "(" expr ")"
        let atom = choice((literal, var_or_call, list_lit, paren))
            .labelled("an expression")
            .boxed();

        // postfix = atom {call_args}: only a name can be called.
        let postfix = atom
            .then(call_args.map_with(|_, e| e.span()).repeated().collect::<Vec<_>>())
            .validate(move |(atom, calls), e, emitter| match calls.first() {
                None => atom,
                Some(first) => {
                    emitter.emit(Rich::custom(
                        *first,
                        custom(
                            "E0011",
                            "only a name can be called",
                            "this call follows an expression that is not a name",
                            "bind the value with `let` first, or call a `fn` by its name",
                        ),
                    ));
                    error_expr(file, e.span())
                }
            });

        // unary = {"-"} postfix
        let unary = just(Token::Minus)
            .repeated()
            .foldr_with(postfix, move |_, operand, e| Expr {
                kind: ExprKind::Unary {
                    op: UnOp::Neg,
                    operand: Box::new(operand),
                },
                span: sp(file, e.span()),
            })
            .labelled("an expression")
            .boxed();

        // product = unary {("*" | "/" | "@") unary}
        let product_op = select! {
            Token::Star => BinOp::Mul,
            Token::Slash => BinOp::Div,
            Token::At => BinOp::MatMul,
        }
        .labelled("an operator");
        let product = unary
            .clone()
            .foldl_with(
                product_op.then(operand(unary, file)).repeated(),
                move |lhs, (op, rhs), e| binary(file, op, lhs, rhs, e.span()),
            )
            .boxed();

        // sum = product {("+" | "-") product}
        let sum_op =
            select! { Token::Plus => BinOp::Add, Token::Minus => BinOp::Sub }.labelled("an operator");
        product
            .clone()
            .foldl_with(
                sum_op.then(operand(product, file)).repeated(),
                move |lhs, (op, rhs), e| binary(file, op, lhs, rhs, e.span()),
            )
            .labelled("an expression")
            .boxed()
    })
}

/// The right operand of a binary operator: once the operator is read, a missing operand is an error
/// here (reported as "expected an expression") and the rest of the operand is skipped.
fn operand<'a, I, P>(p: P, file: FileId) -> impl Parser<'a, I, Expr, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
    P: Parser<'a, I, Expr, Extra<'a>> + Clone,
{
    let skip = group()
        .or(none_of([
            Token::Newline,
            Token::Semi,
            Token::Comma,
            Token::RParen,
            Token::RBracket,
        ])
        .ignored())
        .repeated();
    p.recover_with(via_parser(skip.map_with(move |(), e| error_expr(file, e.span()))))
}

fn binary(file: FileId, op: BinOp, lhs: Expr, rhs: Expr, span: SimpleSpan) -> Expr {
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span: sp(file, span),
    }
}
