//! Layout: raw tokens → parser tokens. Balances brackets, drops newlines inside them, bounds nesting.
//!
//! After this pass the parser always sees balanced `(`/`)` and `[`/`]`, so delimiter mistakes are
//! reported exactly once here:
//! - a newline inside brackets is whitespace, unless the next line starts a statement (a statement
//!   keyword, or `NAME ~`): then the open brackets are reported (E0003) and closed there;
//! - a closer that matches a deeper opener closes the ones above it (E0003);
//! - a closer that matches nothing open is reported (E0007) and read as the expected closer, or
//!   dropped when nothing is open;
//! - more than [`MAX_NESTING`] open brackets or [`MAX_OPERATORS`] operators in one statement is
//!   reported (E0009) and the excess becomes `Invalid`, which keeps every later stage's recursion
//!   shallow.
//!
//! Closers inserted here have empty spans; the parser's errors about them are not reported again.

use super::lexer::{Lexeme, Token};
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};

/// Deepest bracket nesting accepted in one statement.
pub(crate) const MAX_NESTING: usize = 100;
/// Most operators (`+ - * / @`) accepted in one statement.
pub(crate) const MAX_OPERATORS: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delim {
    Paren,
    Bracket,
}

impl Delim {
    fn open(self) -> &'static str {
        match self {
            Delim::Paren => "(",
            Delim::Bracket => "[",
        }
    }
    fn close(self) -> &'static str {
        match self {
            Delim::Paren => ")",
            Delim::Bracket => "]",
        }
    }
    fn close_token(self) -> Token<'static> {
        match self {
            Delim::Paren => Token::RParen,
            Delim::Bracket => Token::RBracket,
        }
    }
}

struct Open {
    delim: Delim,
    span: std::ops::Range<usize>,
    /// False when the opener was beyond the nesting limit and became `Invalid`.
    emitted: bool,
}

/// Result of [`layout`].
pub(crate) struct Laid<'a> {
    pub tokens: Vec<Lexeme<'a>>,
    pub diags: Vec<Diagnostic>,
    /// Brackets were still open at the end of the text.
    pub open_at_end: bool,
}

pub(crate) fn layout<'a>(file: FileId, text_len: usize, raw: Vec<Lexeme<'a>>) -> Laid<'a> {
    let mut st = State {
        file,
        out: Vec::with_capacity(raw.len()),
        diags: Vec::new(),
        stack: Vec::new(),
        operators: 0,
        limit_reported: false,
    };
    for (i, (tok, span)) in raw.iter().enumerate() {
        match tok {
            Token::Newline if st.stack.is_empty() => st.end_statement(tok.clone(), span.clone()),
            Token::Newline => {
                if starts_statement(raw.get(i + 1..).unwrap_or(&[])) {
                    st.close_all(span.clone(), " before the next statement");
                    st.end_statement(Token::Newline, span.clone());
                }
            }
            Token::Semi if st.stack.is_empty() => st.end_statement(Token::Semi, span.clone()),
            Token::LParen => st.opener(Delim::Paren, tok.clone(), span.clone()),
            Token::LBracket => st.opener(Delim::Bracket, tok.clone(), span.clone()),
            Token::RParen => st.closer(Delim::Paren, span.clone()),
            Token::RBracket => st.closer(Delim::Bracket, span.clone()),
            Token::Plus | Token::Minus | Token::Star | Token::Slash | Token::At => {
                st.operators += 1;
                if st.operators > MAX_OPERATORS {
                    st.limit(
                        span.clone(),
                        format!("statement has more than {MAX_OPERATORS} operators"),
                        "too many operators",
                    );
                    st.out.push((Token::Invalid, span.clone()));
                } else {
                    st.out.push((tok.clone(), span.clone()));
                }
            }
            _ => st.out.push((tok.clone(), span.clone())),
        }
    }
    let open_at_end = !st.stack.is_empty();
    st.close_all(text_len..text_len, " before the end of the file");
    Laid {
        tokens: st.out,
        diags: st.diags,
        open_at_end,
    }
}

/// Does the line starting at `rest` (after any blank lines) begin a statement?
fn starts_statement(rest: &[Lexeme<'_>]) -> bool {
    let mut toks = rest.iter().map(|(t, _)| t).skip_while(|t| **t == Token::Newline);
    match (toks.next(), toks.next()) {
        (Some(Token::Kw(k)), _) => k.starts_statement(),
        (Some(Token::Ident(_)), Some(Token::Tilde)) => true,
        _ => false,
    }
}

struct State<'a> {
    file: FileId,
    out: Vec<Lexeme<'a>>,
    diags: Vec<Diagnostic>,
    stack: Vec<Open>,
    operators: usize,
    limit_reported: bool,
}

impl<'a> State<'a> {
    fn span(&self, r: &std::ops::Range<usize>) -> Span {
        Span::new(self.file, r.start, r.end)
    }

    fn end_statement(&mut self, tok: Token<'a>, span: std::ops::Range<usize>) {
        self.out.push((tok, span));
        self.operators = 0;
        self.limit_reported = false;
    }

    fn limit(&mut self, span: std::ops::Range<usize>, message: String, label: &str) {
        if !self.limit_reported {
            self.limit_reported = true;
            self.diags.push(
                Diagnostic::error("E0009", self.span(&span), message)
                    .with_label(label)
                    .with_help("split the expression into steps with `let` bindings"),
            );
        }
    }

    fn opener(&mut self, delim: Delim, tok: Token<'a>, span: std::ops::Range<usize>) {
        let depth = self.stack.iter().filter(|o| o.emitted).count();
        let emitted = depth < MAX_NESTING;
        if emitted {
            self.out.push((tok, span.clone()));
        } else {
            self.limit(
                span.clone(),
                format!("expression nested too deeply (more than {MAX_NESTING} brackets)"),
                "too deeply nested",
            );
            self.out.push((Token::Invalid, span.clone()));
        }
        self.stack.push(Open { delim, span, emitted });
    }

    fn closer(&mut self, delim: Delim, span: std::ops::Range<usize>) {
        let Some(top) = self.stack.last() else {
            self.diags.push(
                Diagnostic::error("E0007", self.span(&span), format!("unmatched `{}`", delim.close()))
                    .with_label(format!("no `{}` is open here", delim.open()))
                    .with_help("remove it"),
            );
            return;
        };
        if top.delim != delim {
            if let Some(pos) = self.stack.iter().rposition(|o| o.delim == delim) {
                let inner = self.stack.split_off(pos + 1);
                self.report_unclosed(&inner, span.start..span.start, span.clone(), " before this");
            } else {
                let expected = top.delim;
                let diag = Diagnostic::error(
                    "E0007",
                    self.span(&span),
                    format!("mismatched closing delimiter: expected `{}`, found `{}`", expected.close(), delim.close()),
                )
                .with_label(format!("expected `{}`", expected.close()))
                .with_secondary(self.span(&top.span), format!("this `{}` is closed here", expected.open()));
                self.diags.push(diag);
                if let Some(open) = self.stack.pop() {
                    if open.emitted {
                        self.out.push((open.delim.close_token(), span));
                    }
                }
                return;
            }
        }
        if let Some(open) = self.stack.pop() {
            if open.emitted {
                self.out.push((delim.close_token(), span));
            }
        }
    }

    /// Report and close every open bracket at `at` (a statement or file end).
    fn close_all(&mut self, at: std::ops::Range<usize>, label: &str) {
        let open = std::mem::take(&mut self.stack);
        self.report_unclosed(&open, at.start..at.start, at, label);
    }

    /// One E0003 for `open` (outermost first), then empty-span closers at `insert` for them.
    fn report_unclosed(
        &mut self,
        open: &[Open],
        insert: std::ops::Range<usize>,
        primary: std::ops::Range<usize>,
        label: &str,
    ) {
        let Some(innermost) = open.last() else { return };
        let closers: String = open.iter().rev().map(|o| o.delim.close()).collect();
        let message = if open.len() == 1 {
            format!("unclosed delimiter `{}`", innermost.delim.open())
        } else {
            format!("unclosed delimiters: missing `{closers}`")
        };
        let mut diag = Diagnostic::error("E0003", self.span(&primary), message)
            .with_label(format!("expected `{closers}`{label}"))
            .with_help(format!("close it with `{closers}`"));
        let first_labelled = open.len().saturating_sub(3);
        for o in open.get(first_labelled..).unwrap_or(&[]) {
            diag = diag.with_secondary(self.span(&o.span), format!("this `{}` is never closed", o.delim.open()));
        }
        self.diags.push(diag);
        for o in open.iter().rev().filter(|o| o.emitted) {
            self.out.push((o.delim.close_token(), insert.clone()));
        }
    }
}
