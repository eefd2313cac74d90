//! The chumsky parser: tokens → [`Program`]; rule names match `grammar/uq.ebnf`.
//!
//! Pipeline: [`super::lexer`] (text → raw tokens) → [`super::layout`] (balanced brackets, statement
//! newlines, limits) → the rules below (statement-level recovery: a statement that fails to parse
//! becomes `StmtKind::Error` and parsing resumes at the next newline or `;`; call arguments, lists,
//! parentheses and parameter lists recover to `ExprKind::Error` / empty lists at their own brackets).
//!
//! Syntax error codes (stable):
//! - `E0001` unexpected token or character (`expected an expression, found `)``)
//! - `E0002` unterminated string literal
//! - `E0003` unclosed delimiter (`(` or `[` never closed; the opener is a secondary label)
//! - `E0004` invalid dimension in a type (`real[0]`, `real[2.5]`, `real[n]`, `real[]`)
//! - `E0005` invalid number literal (`1.`, `1e`, `.5`, `12abc`, `1e999`)
//! - `E0006` reserved keyword used as a name (`let data = 1`)
//! - `E0007` closing delimiter that matches no open one (`f(x]`, a stray `)`)
//! - `E0008` unknown escape sequence in a string (only `\"` and `\\` exist)
//! - `E0009` statement too complex (more than 100 nested brackets or 1000 operators)
//! - `E0010` text after a complete statement (two statements on one line without `;`)
//! - `E0011` a call whose callee is not a name (`(f)(x)`, `f(x)(y)`)

use super::ast::{InferArg, Program, Stmt, StmtKind, StrLit};
use super::errors::{convert, custom};
use super::expr::{expr, group, name, sp, string, type_expr, Extra};
use super::layout::layout;
use super::lexer::{lex, Keyword, Token};
use crate::diagnostics::Diagnostic;
use crate::source::FileId;
use chumsky::input::ValueInput;
use chumsky::prelude::*;

/// Parse one file. Always returns a program (with `Error` nodes where recovery happened) and every
/// independent syntax error found, sorted by position.
pub fn parse(file: FileId, text: &str) -> (Program, Vec<Diagnostic>) {
    let raw = lex(file, text);
    let laid = layout(file, text.len(), raw.tokens);
    let mut diags = raw.diags;
    diags.extend(laid.diags);
    let tokens: Vec<(Token<'_>, SimpleSpan)> = laid
        .tokens
        .into_iter()
        .map(|(t, r)| (t, SimpleSpan::from(r)))
        .collect();
    let eoi = SimpleSpan::from(text.len()..text.len());
    let input = tokens.as_slice().map(eoi, |(t, s)| (t, s));
    let (program, errors) = program(file).parse(input).into_output_errors();
    for err in &errors {
        let first_word = statement_first_word(&tokens, err.span().start);
        diags.extend(convert(file, err, first_word));
    }
    diags.sort_by_key(|d| (d.span.start, d.span.end));
    diags.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
    (program.unwrap_or_default(), diags)
}

/// True when `text` cannot be complete yet: a bracket is still open at the end (and no later line
/// started a new statement), or the text ends inside a string literal. The REPL then reads another
/// line. Strings never span lines, so a string left open on an earlier line is an error instead.
pub fn is_incomplete(text: &str) -> bool {
    let raw = lex(FileId::default(), text);
    let open_string = raw.open_string_at_end;
    open_string || layout(FileId::default(), text.len(), raw.tokens).open_at_end
}

/// The identifier that starts the statement containing byte `at`, for keyword typo suggestions.
fn statement_first_word<'a>(tokens: &[(Token<'a>, SimpleSpan)], at: usize) -> Option<&'a str> {
    let idx = tokens
        .iter()
        .position(|(_, s)| s.start >= at)
        .unwrap_or(tokens.len());
    let before = tokens.get(..idx)?;
    let start = before
        .iter()
        .rposition(|(t, _)| matches!(t, Token::Newline | Token::Semi))
        .map_or(0, |i| i + 1);
    match before.get(start) {
        Some((Token::Ident(w), _)) if start < idx => Some(w),
        _ => None,
    }
}

/// `program = {statement | separator}`
fn program<'a, I>(file: FileId) -> impl Parser<'a, I, Program, Extra<'a>>
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    let item = statement(file).map(Some).or(separator().to(None));
    item.repeated()
        .collect::<Vec<_>>()
        .map(|items| Program {
            stmts: items.into_iter().flatten().collect(),
        })
        .then_ignore(end())
}

/// `separator = NEWLINE | ";"`
fn separator<'a, I>() -> impl Parser<'a, I, (), Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    just(Token::Newline).or(just(Token::Semi)).ignored()
}

/// One token or bracketed group of a statement, for skipping.
fn statement_piece<'a, I>() -> impl Parser<'a, I, (), Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    group().or(none_of([Token::Newline, Token::Semi]).ignored())
}

/// `statement = import_stmt | data_stmt | let_stmt | fn_stmt | prior_stmt | infer_stmt | output_stmt
/// | observe_stmt`
/// followed by a separator; on failure the statement is skipped to the next separator.
fn statement<'a, I>(file: FileId) -> impl Parser<'a, I, Stmt, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    let kinds = choice((
        import_stmt(file),
        data_stmt(file),
        let_stmt(file),
        fn_stmt(file),
        prior_stmt(file),
        infer_stmt(file),
        output_stmt(file),
        observe_stmt(file),
    ))
    .labelled("a statement");
    let rest = any()
        .and_is(separator().not())
        .then_ignore(statement_piece().repeated())
        .map_with(|tok, e| (tok, e.span()))
        .validate(|(tok, span): (Token<'a>, SimpleSpan), _, emitter| {
            if !matches!(tok, Token::Invalid | Token::BadNum) {
                let msg = format!("expected the end of the statement, found {tok}");
                emitter.emit(Rich::custom(
                    span,
                    custom(
                        "E0010",
                        &msg,
                        "expected a newline or `;` before this",
                        "put each statement on its own line, or separate them with `;`",
                    ),
                ));
            }
        });
    kinds
        .map_with(move |kind, e| Stmt {
            kind,
            span: sp(file, e.span()),
        })
        .then_ignore(rest.or_not())
        .recover_with(via_parser(statement_piece().repeated().at_least(1).map_with(
            move |(), e| Stmt {
                kind: StmtKind::Error,
                span: sp(file, e.span()),
            },
        )))
        .boxed()
}

fn kw<'a, I>(k: Keyword) -> impl Parser<'a, I, Token<'a>, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    just(Token::Kw(k))
}

/// `import_stmt = "import" name`
fn import_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Import)
        .ignore_then(name(file))
        .map(|module| StmtKind::Import { module })
        .labelled("import statement")
        .as_context()
}

/// `data_stmt = "data" name ":" type_expr ["=" string]`
fn data_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Data)
        .ignore_then(name(file))
        .then_ignore(just(Token::Colon))
        .then(type_expr(file))
        .then(just(Token::Eq).ignore_then(default_path(file)).or_not())
        .map(|((name, ty), default)| StmtKind::Data {
            name,
            ty,
            default: default.flatten(),
        })
        .labelled("data declaration")
        .as_context()
}

/// The `string` after `data ... =`: once `=` is read, anything else is reported here.
fn default_path<'a, I>(file: FileId) -> impl Parser<'a, I, Option<StrLit>, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    string(file)
        .map(Some)
        .recover_with(via_parser(statement_piece().repeated().to(None)))
}

/// `let_stmt = "let" name "=" expr`
fn let_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Let)
        .ignore_then(name(file))
        .then_ignore(just(Token::Eq))
        .then(expr(file))
        .map(|(name, value)| StmtKind::Let { name, value })
        .labelled("let binding")
        .as_context()
}

/// `fn_stmt = "fn" name params "=" expr`
fn fn_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Fn)
        .ignore_then(name(file))
        .then(params(file))
        .then_ignore(just(Token::Eq))
        .then(expr(file))
        .map(|((name, params), body)| StmtKind::Fn { name, params, body })
        .labelled("fn definition")
        .as_context()
}

/// `params = "(" [name {"," name} [","]] ")"`
fn params<'a, I>(file: FileId) -> impl Parser<'a, I, Vec<super::ast::Ident>, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    name(file)
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .recover_with(via_parser(nested_delimiters(
            Token::LParen,
            Token::RParen,
            [(Token::LBracket, Token::RBracket)],
            |_| Vec::new(),
        )))
}

/// `prior_stmt = "prior" name [":" type_expr] "~" expr`
fn prior_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Prior)
        .ignore_then(name(file))
        .then(just(Token::Colon).ignore_then(type_expr(file)).or_not())
        .then_ignore(just(Token::Tilde))
        .then(expr(file))
        .map(|((name, ty), dist)| StmtKind::Prior { name, ty, dist })
        .labelled("prior")
        .as_context()
}

/// `observe_stmt = name "~" expr`
fn observe_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    name(file)
        .then_ignore(just(Token::Tilde))
        .then(expr(file))
        .map(|(name, dist)| StmtKind::Observe { name, dist })
        .labelled("observation")
        .as_context()
}

/// `output_stmt = "output" name {"," name}`
fn output_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Output)
        .ignore_then(
            name(file)
                .separated_by(just(Token::Comma))
                .at_least(1)
                .collect::<Vec<_>>(),
        )
        .map(|names| StmtKind::Output { names })
        .labelled("output statement")
        .as_context()
}

/// `infer_stmt = "infer" name [infer_args]`
fn infer_stmt<'a, I>(file: FileId) -> impl Parser<'a, I, StmtKind, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    kw(Keyword::Infer)
        .ignore_then(name(file))
        .then(infer_args(file).or_not())
        .map(|(sampler, args)| StmtKind::Infer {
            sampler,
            args: args.unwrap_or_default(),
        })
        .labelled("infer statement")
        .as_context()
}

/// `infer_args = "(" [infer_arg {"," infer_arg} [","]] ")"`, `infer_arg = name "=" expr`
fn infer_args<'a, I>(file: FileId) -> impl Parser<'a, I, Vec<InferArg>, Extra<'a>> + Clone
where
    I: ValueInput<'a, Token = Token<'a>, Span = SimpleSpan>,
{
    name(file)
        .then_ignore(just(Token::Eq))
        .then(expr(file))
        .map(|(key, value)| InferArg { key, value })
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .recover_with(via_parser(nested_delimiters(
            Token::LParen,
            Token::RParen,
            [(Token::LBracket, Token::RBracket)],
            |_| Vec::new(),
        )))
}
