//! Lexer: source text → raw tokens with byte spans (numbers, strings, names, punctuation, comments).
//!
//! Newlines are kept as raw tokens here; [`super::layout`] decides which of them end statements.
//! Every malformed piece of text becomes a token the parser can step over (`BadNum`, `Invalid`, a
//! `Str` with what was read) plus one diagnostic, so a bad character never cascades.

use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};
use std::fmt;

/// Reserved words: never usable as names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    Import,
    Data,
    Let,
    Fn,
    Prior,
    Infer,
    Output,
    Real,
    Complex,
}

impl Keyword {
    pub(crate) const ALL: [Keyword; 9] = [
        Keyword::Import,
        Keyword::Data,
        Keyword::Let,
        Keyword::Fn,
        Keyword::Prior,
        Keyword::Infer,
        Keyword::Output,
        Keyword::Real,
        Keyword::Complex,
    ];

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Keyword::Import => "import",
            Keyword::Data => "data",
            Keyword::Let => "let",
            Keyword::Fn => "fn",
            Keyword::Prior => "prior",
            Keyword::Infer => "infer",
            Keyword::Output => "output",
            Keyword::Real => "real",
            Keyword::Complex => "complex",
        }
    }

    /// Keywords that can only begin a statement (`real`/`complex` begin types).
    pub(crate) fn starts_statement(self) -> bool {
        !matches!(self, Keyword::Real | Keyword::Complex)
    }

    fn from_word(word: &str) -> Option<Keyword> {
        Keyword::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token<'a> {
    Ident(&'a str),
    Kw(Keyword),
    /// A well-formed number literal, as written.
    Num(&'a str),
    /// A malformed number literal (already reported, E0005).
    BadNum,
    /// A string literal with escapes resolved.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Semi,
    Tilde,
    Eq,
    Plus,
    Minus,
    Star,
    Slash,
    At,
    Newline,
    /// Text that could not be lexed, or was dropped by a limit (already reported).
    Invalid,
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let punct = match self {
            Token::Ident(s) | Token::Num(s) => return write!(f, "`{s}`"),
            Token::Kw(k) => return write!(f, "keyword `{}`", k.as_str()),
            Token::BadNum => return write!(f, "a malformed number"),
            Token::Str(s) if s.chars().count() > 24 => {
                let head: String = s.chars().take(24).collect();
                return write!(f, "the string \"{head}…\"");
            }
            Token::Str(s) => return write!(f, "the string {s:?}"),
            Token::Newline => return write!(f, "end of line"),
            Token::Invalid => return write!(f, "invalid text"),
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Semi => ";",
            Token::Tilde => "~",
            Token::Eq => "=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::At => "@",
        };
        write!(f, "`{punct}`")
    }
}

/// A token and its byte range in the source.
pub(crate) type Lexeme<'a> = (Token<'a>, std::ops::Range<usize>);

/// Output of [`lex`]: raw tokens, diagnostics, and whether the text ends inside a string.
pub(crate) struct RawLex<'a> {
    pub tokens: Vec<Lexeme<'a>>,
    pub diags: Vec<Diagnostic>,
    pub open_string_at_end: bool,
}

/// The byte-order mark some editors put at the start of a UTF-8 file.
pub(crate) const BOM: char = '\u{feff}';

const NUMBER_HELP: &str = "numbers look like `10`, `0.995`, `1e-3` or `2.5E+2`";

/// Split `text` into raw tokens. Never fails; problems become diagnostics. A leading UTF-8
/// byte-order mark is skipped (spans stay byte offsets into `text`).
pub(crate) fn lex(file: FileId, text: &str) -> RawLex<'_> {
    let mut lx = Lexer {
        file,
        text,
        pos: if text.starts_with(BOM) { BOM.len_utf8() } else { 0 },
        out: RawLex {
            tokens: Vec::new(),
            diags: Vec::new(),
            open_string_at_end: false,
        },
    };
    while let Some(c) = lx.peek() {
        let start = lx.pos;
        match c {
            '\n' => {
                lx.bump();
                lx.push(Token::Newline, start);
            }
            '#' => {
                while lx.peek().is_some_and(|c| c != '\n') {
                    lx.bump();
                }
            }
            c if c.is_whitespace() => {
                lx.bump();
            }
            '"' => lx.string(),
            '0'..='9' => lx.number(),
            '.' if lx.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => lx.number(),
            c if c.is_ascii_alphabetic() || c == '_' => lx.word(),
            _ => match punct(c) {
                Some(tok) => {
                    lx.bump();
                    lx.push(tok, start);
                }
                None => lx.invalid_run(),
            },
        }
    }
    lx.out
}

fn punct(c: char) -> Option<Token<'static>> {
    Some(match c {
        '(' => Token::LParen,
        ')' => Token::RParen,
        '[' => Token::LBracket,
        ']' => Token::RBracket,
        ',' => Token::Comma,
        ':' => Token::Colon,
        ';' => Token::Semi,
        '~' => Token::Tilde,
        '=' => Token::Eq,
        '+' => Token::Plus,
        '-' => Token::Minus,
        '*' => Token::Star,
        '/' => Token::Slash,
        '@' => Token::At,
        _ => return None,
    })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Lexer<'a> {
    file: FileId,
    text: &'a str,
    pos: usize,
    out: RawLex<'a>,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text.get(self.pos..).and_then(|s| s.chars().nth(n))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn slice(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or("")
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn push(&mut self, tok: Token<'a>, start: usize) {
        self.out.tokens.push((tok, start..self.pos));
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.peek().is_some_and(is_word_char) {
            self.bump();
        }
        let word = self.slice(start);
        let tok = Keyword::from_word(word).map_or(Token::Ident(word), Token::Kw);
        self.push(tok, start);
    }

    fn digits(&mut self) -> usize {
        let mut n = 0;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            n += 1;
        }
        n
    }

    /// `digits ["." digits] [("e"|"E") ["+"|"-"] digits]`, not followed by a letter, digit, `_` or `.`.
    fn number(&mut self) {
        let start = self.pos;
        let mut problem: Option<String> = None;
        let int_digits = self.digits();
        if self.peek() == Some('.') {
            self.bump();
            if self.digits() == 0 {
                problem = Some("a decimal point must be followed by digits".into());
            } else if int_digits == 0 {
                problem = Some("a number must start with a digit".into());
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.digits() == 0 && problem.is_none() {
                problem = Some("the exponent has no digits".into());
            }
        }
        if self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
            while self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
                self.bump();
            }
            problem.get_or_insert_with(|| "unexpected characters in a number".into());
        }
        let lit = self.slice(start);
        if problem.is_none() && !lit.parse::<f64>().is_ok_and(f64::is_finite) {
            problem = Some("the number is too large to represent".into());
        }
        match problem {
            None => self.push(Token::Num(lit), start),
            Some(why) => {
                let mut help = NUMBER_HELP.to_string();
                if lit.starts_with('.') {
                    help = format!("write `0{lit}`");
                }
                self.out.diags.push(
                    Diagnostic::error(
                        "E0005",
                        self.span(start, self.pos),
                        format!("invalid number `{lit}`"),
                    )
                    .with_label(why)
                    .with_help(help),
                );
                self.push(Token::BadNum, start);
            }
        }
    }

    /// A `"..."` literal on one line, with `\"` and `\\` escapes.
    fn string(&mut self) {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.bump();
                    break;
                }
                None | Some('\n') => {
                    self.out.open_string_at_end = self.peek().is_none();
                    self.out.diags.push(
                        Diagnostic::error("E0002", self.span(start, self.pos), "unterminated string")
                            .with_label("this string is never closed")
                            .with_help("close it with `\"` on the same line"),
                    );
                    break;
                }
                Some('\\') => {
                    let esc_start = self.pos;
                    self.bump();
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            self.bump();
                            value.push(c);
                        }
                        Some('\n') | None => value.push('\\'),
                        Some(c) => {
                            self.bump();
                            value.push('\\');
                            value.push(c);
                            self.out.diags.push(
                                Diagnostic::error(
                                    "E0008",
                                    self.span(esc_start, self.pos),
                                    format!("unknown escape sequence `\\{c}`"),
                                )
                                .with_label("unknown escape")
                                .with_help("the only escapes are `\\\"` and `\\\\`"),
                            );
                        }
                    }
                }
                Some(c) => {
                    self.bump();
                    value.push(c);
                }
            }
        }
        self.push(Token::Str(value), start);
    }

    /// A run of characters that start no token: one diagnostic, one `Invalid` token.
    fn invalid_run(&mut self) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let starts_token = c.is_whitespace()
                || c.is_ascii_alphanumeric()
                || matches!(c, '_' | '"' | '#' | '.')
                || punct(c).is_some();
            if starts_token && self.pos > start {
                break;
            }
            self.bump();
        }
        let bad = self.slice(start);
        let (message, help) = match bad.chars().next() {
            Some('{' | '}') => (
                format!("unexpected `{bad}`"),
                "uq has no blocks: a statement ends at the end of its line",
            ),
            Some('\'') => (
                format!("unexpected `{bad}`"),
                "strings are written with double quotes: \"file.npy\"",
            ),
            Some('^') => (
                format!("unexpected `{bad}`"),
                "there is no power operator; write `x * x`",
            ),
            _ if bad.chars().count() == 1 => (format!("unexpected character `{}`", bad.escape_debug()), ""),
            _ => (format!("unexpected characters `{}`", bad.escape_debug()), ""),
        };
        let mut diag = Diagnostic::error("E0001", self.span(start, self.pos), message)
            .with_label("not part of the language");
        if !help.is_empty() {
            diag = diag.with_help(help);
        }
        self.out.diags.push(diag);
        self.push(Token::Invalid, start);
    }
}
