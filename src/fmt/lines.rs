//! The formatter proper: tokens and the comments between them → output lines (see `super` for the rules).

use crate::source::FileId;
use crate::syntax::{lex, Keyword, Token};

/// Spaces per indentation level of a continuation line.
const INDENT: usize = 4;
/// Spaces between code and its trailing comment (the least, in an aligned run).
const COMMENT_GAP: usize = 2;
const BOM: char = '\u{feff}';

/// One output line: indentation level, the code, the trailing (or only) comment.
#[derive(Default)]
struct Line {
    indent: usize,
    code: String,
    comment: Option<String>,
    /// A one-line `data` declaration in three columns (`data y`, `: TYPE`, `= "FILE"` or empty),
    /// aligned with the declarations on the lines around it.
    columns: Option<[String; 3]>,
}

impl Line {
    fn is_blank(&self) -> bool {
        self.code.is_empty() && self.comment.is_none()
    }
}

/// A line being assembled.
#[derive(Default)]
struct Building<'a> {
    /// Tokens with their source text and whether a `-` is unary.
    toks: Vec<(Token<'a>, &'a str, bool)>,
    comment: Option<&'a str>,
    /// The bracket stack (line of each opener) when the line began.
    open_at_start: Vec<usize>,
}

struct Formatter<'a> {
    lines: Vec<Line>,
    cur: Building<'a>,
    /// For each open bracket, the index of the output line that opened it.
    stack: Vec<usize>,
    /// The previous token of the current statement (for unary `-`).
    prev: Option<Token<'a>>,
    /// A top-level `;` was read: the next token starts a new line.
    split_pending: bool,
}

/// Format a source that parses without errors.
pub(super) fn format_tokens(file: FileId, text: &str) -> String {
    let raw = lex(file, text);
    let start = if text.starts_with(BOM) { BOM.len_utf8() } else { 0 };
    let mut f = Formatter {
        lines: Vec::new(),
        cur: Building::default(),
        stack: Vec::new(),
        prev: None,
        split_pending: false,
    };
    let mut pos = start;
    for (tok, range) in raw.tokens {
        f.gap(text.get(pos..range.start).unwrap_or(""));
        pos = range.end;
        let src = text.get(range).unwrap_or("");
        f.token(tok, src);
    }
    f.gap(text.get(pos..).unwrap_or(""));
    f.end_line();
    let mut out = String::new();
    if start > 0 {
        out.push(BOM);
    }
    out.push_str(&render(&mut f.lines));
    out
}

impl<'a> Formatter<'a> {
    /// Whitespace and at most one comment (a comment runs to the newline token that follows it).
    fn gap(&mut self, gap: &'a str) {
        if let Some(at) = gap.find('#') {
            let comment = gap.get(at..).unwrap_or("").trim_end();
            self.cur.comment = Some(comment);
        }
    }

    fn token(&mut self, tok: Token<'a>, src: &'a str) {
        match tok {
            Token::Newline => {
                self.split_pending = false;
                self.end_line();
                if self.stack.is_empty() {
                    self.prev = None;
                }
            }
            Token::Semi if self.stack.is_empty() => {
                self.split_pending = true;
                self.prev = None;
            }
            _ => {
                if self.split_pending {
                    self.split_pending = false;
                    self.end_line();
                }
                let unary = tok == Token::Minus && !self.prev.as_ref().is_some_and(ends_operand);
                match tok {
                    Token::LParen | Token::LBracket => self.stack.push(self.lines.len()),
                    Token::RParen | Token::RBracket => {
                        self.stack.pop();
                    }
                    _ => {}
                }
                self.prev = Some(tok.clone());
                self.cur.toks.push((tok, src, unary));
            }
        }
    }

    /// Finish the current line: its indentation, its code with canonical spacing, its comment.
    fn end_line(&mut self) {
        let next = Building {
            open_at_start: self.stack.clone(),
            ..Building::default()
        };
        let b = std::mem::replace(&mut self.cur, next);
        let closers = b
            .toks
            .iter()
            .take_while(|(t, _, _)| matches!(t, Token::RParen | Token::RBracket))
            .count();
        let still_open = b.open_at_start.len().saturating_sub(closers);
        let mut openers: Vec<usize> = b.open_at_start.get(..still_open).unwrap_or(&[]).to_vec();
        openers.dedup();
        let complete = b.open_at_start.is_empty() && self.stack.is_empty();
        let columns = if complete { data_columns(&b.toks) } else { None };
        let code = join(&b.toks);
        self.lines.push(Line {
            indent: openers.len(),
            code,
            comment: b.comment.map(str::to_string),
            columns,
        });
    }
}

/// Tokens with canonical spacing.
fn join(toks: &[(Token<'_>, &str, bool)]) -> String {
    let mut code = String::new();
    let mut prev: Option<(&Token<'_>, bool)> = None;
    for (tok, src, unary) in toks {
        if let Some((p, p_unary)) = prev {
            if spaced(p, p_unary, tok) {
                code.push(' ');
            }
        }
        code.push_str(src);
        prev = Some((tok, *unary));
    }
    code
}

/// `data NAME : TYPE [= "FILE"]` as three columns.
fn data_columns(toks: &[(Token<'_>, &str, bool)]) -> Option<[String; 3]> {
    match toks {
        [(Token::Kw(Keyword::Data), _, _), (Token::Ident(_), _, _), (Token::Colon, _, _), ..] => {}
        _ => return None,
    }
    let eq = toks
        .iter()
        .position(|(t, _, _)| *t == Token::Eq)
        .unwrap_or(toks.len());
    Some([
        join(toks.get(..2)?),
        join(toks.get(2..eq)?),
        join(toks.get(eq..)?),
    ])
}

/// Align the columns of each run of consecutive one-line `data` declarations.
fn align_data(lines: &mut [&mut Line]) {
    let mut i = 0;
    while i < lines.len() {
        let end = (i..lines.len())
            .find(|&j| lines.get(j).is_none_or(|l| l.columns.is_none()))
            .unwrap_or(lines.len());
        if let Some(run) = lines.get_mut(i..end) {
            let width = |k: usize, run: &[&mut Line]| {
                run.iter()
                    .filter_map(|l| l.columns.as_ref()?.get(k).map(|c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            };
            let (w0, w1) = (width(0, run), width(1, run));
            for l in run.iter_mut() {
                if let Some([head, ty, tail]) = &l.columns {
                    l.code = if tail.is_empty() {
                        format!("{head:w0$} {ty}")
                    } else {
                        format!("{head:w0$} {ty:w1$} {tail}")
                    };
                }
            }
        }
        i = end.max(i + 1);
    }
}

/// Can a `-` after this token be binary (the token ends an operand)?
fn ends_operand(t: &Token<'_>) -> bool {
    matches!(
        t,
        Token::Ident(_) | Token::Num(_) | Token::BadNum | Token::Str(_) | Token::RParen | Token::RBracket
    )
}

/// Is there a space between `a` and the following `b`?
fn spaced(a: &Token<'_>, a_unary: bool, b: &Token<'_>) -> bool {
    if matches!(b, Token::Comma | Token::RParen | Token::RBracket | Token::Semi) {
        return false;
    }
    if a_unary || matches!(a, Token::LParen | Token::LBracket) {
        return false;
    }
    match b {
        Token::LParen => !matches!(a, Token::Ident(_)),
        Token::LBracket => !matches!(a, Token::Kw(Keyword::Real | Keyword::Complex)),
        _ => true,
    }
}

/// Lines → text: blank lines collapsed, trailing comments aligned per run of lines that carry one.
fn render(lines: &mut [Line]) -> String {
    let mut kept: Vec<&mut Line> = Vec::new();
    for line in lines {
        let prev_blank = kept.last().is_none_or(|l| l.is_blank());
        if !(line.is_blank() && prev_blank) {
            kept.push(line);
        }
    }
    while kept.last().is_some_and(|l| l.is_blank()) {
        kept.pop();
    }
    align_data(&mut kept);
    let kept: Vec<&Line> = kept.into_iter().map(|l| &*l).collect();
    let width = |l: &Line| l.indent * INDENT + l.code.chars().count();
    let trailing = |l: &Line| !l.code.is_empty() && l.comment.is_some();
    let mut out = String::new();
    let mut i = 0;
    while let Some(line) = kept.get(i) {
        if !trailing(line) {
            push_line(&mut out, line, None);
            i += 1;
            continue;
        }
        let run_end = (i..kept.len())
            .find(|&j| !kept.get(j).is_some_and(|l| trailing(l)))
            .unwrap_or(kept.len());
        let run = kept.get(i..run_end).unwrap_or(&[]);
        let column = run.iter().map(|l| width(l)).max().unwrap_or(0) + COMMENT_GAP;
        for l in run {
            push_line(&mut out, l, Some(column - width(l)));
        }
        i = run_end;
    }
    out
}

fn push_line(out: &mut String, line: &Line, pad: Option<usize>) {
    if !line.is_blank() {
        out.push_str(&" ".repeat(line.indent * INDENT));
    }
    out.push_str(&line.code);
    if let Some(comment) = &line.comment {
        if !line.code.is_empty() {
            out.push_str(&" ".repeat(pad.unwrap_or(COMMENT_GAP)));
        }
        out.push_str(comment);
    }
    out.push('\n');
}
