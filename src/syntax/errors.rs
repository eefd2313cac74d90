//! Turning chumsky's `Rich` errors into coded [`Diagnostic`]s with words, not token lists, and help.

use super::lexer::{Keyword, Token};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::source::{FileId, Span};
use chumsky::error::{Rich, RichPattern, RichReason};
use chumsky::span::SimpleSpan;

const SEP: char = '\u{1f}';

pub(super) const STATEMENT_HELP: &str =
    "statements are `prior NAME ~ DIST`, `NAME ~ DIST`, `data`, `let`, `fn`, `import`, `infer`";

/// Encode a coded error as a chumsky custom message (decoded by [`convert`]).
pub(super) fn custom(code: &str, message: &str, label: &str, help: &str) -> String {
    format!("{code}{SEP}{message}{SEP}{label}{SEP}{help}")
}

/// Help lines keyed by the statement a parse error happened in (the parsers' context labels).
fn context_help(context: &str) -> Option<&'static str> {
    Some(match context {
        "import statement" => "write `import NAME`: a module in the model's folder or in `stdlib/`",
        "data declaration" => "declare data as `data NAME : TYPE` or `data NAME : TYPE = \"file.npy\"`",
        "let binding" => "write `let NAME = EXPR`",
        "fn definition" => "define a function as `fn NAME(a, b) = EXPR`",
        "prior" => "write `prior NAME ~ DIST` or `prior NAME : TYPE ~ DIST`",
        "observation" => "an observation is `NAME ~ DIST`, e.g. `y ~ Normal(A(x), sigma)`",
        "infer statement" => "write `infer SAMPLER` or `infer SAMPLER(key = value, ...)`",
        _ => return None,
    })
}

/// Convert one parser error; `None` when it only restates a problem the lexer or layout reported.
pub(super) fn convert(file: FileId, err: &Rich<'_, Token<'_>>, first_word: Option<&str>) -> Option<Diagnostic> {
    let s = err.span();
    let span = Span::new(file, s.start, s.end);
    let (expected, found) = match err.reason() {
        RichReason::Custom(msg) => return Some(decode(span, msg)),
        RichReason::ExpectedFound { expected, found } => (expected, found.as_deref()),
    };
    if is_restated(found, *s) {
        return None;
    }
    let wanted = expected_words(expected);
    let found_text = found.map_or_else(|| "end of file".to_string(), Token::to_string);
    let wants = |w: &str| wanted.iter().any(|x| x == w);
    let help = err.contexts().find_map(|(label, _)| match label {
        RichPattern::Label(l) => context_help(l),
        _ => None,
    });

    if let Some(Token::Kw(k)) = found {
        if wants("a name") || wants("an expression") || wants("a statement") {
            let reserved: Vec<&str> = Keyword::ALL.iter().map(|k| k.as_str()).collect();
            return Some(
                Diagnostic::error(
                    "E0006",
                    span,
                    format!("`{}` is a reserved keyword and cannot be used as a name", k.as_str()),
                )
                .with_label("reserved keyword")
                .with_help(format!("pick another name; reserved words are {}", reserved.join(", "))),
            );
        }
    }

    let message = if wanted.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}, found {found_text}", join_words(&wanted))
    };
    let label = match wanted.first() {
        Some(w) if wanted.len() == 1 => format!("expected {w}"),
        _ => format!("unexpected {found_text}"),
    };
    let mut diag = Diagnostic::error("E0001", span, message).with_label(label);
    let help = if wants("a statement") {
        let typo = found.and_then(|t| match t {
            Token::Ident(w) => did_you_mean(w, Keyword::ALL.iter().filter(|k| k.starts_statement()).map(|k| k.as_str())),
            _ => None,
        });
        Some(match typo {
            Some(kw) => format!("did you mean `{kw}`? {STATEMENT_HELP}"),
            None => STATEMENT_HELP.to_string(),
        })
    } else if wants("`~`") && found == Some(&Token::Eq) {
        Some("`~` declares a distribution; to bind a value write `let NAME = EXPR`".to_string())
    } else if wants("`~`") {
        // `NAME junk`: maybe a misspelt statement keyword.
        let kw = first_word.and_then(|w| {
            did_you_mean(w, Keyword::ALL.iter().filter(|k| k.starts_statement()).map(|k| k.as_str()))
        });
        Some(match kw {
            Some(kw) => format!("did you mean `{kw}`? {STATEMENT_HELP}"),
            None => STATEMENT_HELP.to_string(),
        })
    } else {
        help.map(str::to_string)
    };
    if let Some(h) = help {
        diag = diag.with_help(h);
    }
    Some(diag)
}

/// Errors at `Invalid`/`BadNum` tokens or at closers inserted by the layout pass are already reported.
fn is_restated(found: Option<&Token<'_>>, span: SimpleSpan) -> bool {
    match found {
        Some(Token::Invalid | Token::BadNum) => true,
        Some(Token::RParen | Token::RBracket) => span.start == span.end,
        _ => false,
    }
}

fn expected_words(expected: &[RichPattern<'_, Token<'_>>]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for p in expected {
        let w = match p {
            RichPattern::Token(t) => match &**t {
                Token::Newline => "end of line".to_string(),
                other => other.to_string(),
            },
            RichPattern::Label(l) => l.to_string(),
            RichPattern::EndOfInput => "end of file".to_string(),
            RichPattern::Identifier(i) => format!("`{i}`"),
            RichPattern::Any | RichPattern::SomethingElse => continue,
        };
        if !words.contains(&w) {
            words.push(w);
        }
    }
    // Labels (words) read best after the punctuation they stand beside.
    words.sort_by_key(|w| !w.starts_with('`'));
    words
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn decode(span: Span, msg: &str) -> Diagnostic {
    let mut parts = msg.split(SEP);
    let (code, message, label, help) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(code), Some(message)) = (code, message) else {
        return Diagnostic::error("E0001", span, msg);
    };
    let code = match code {
        "E0004" => "E0004",
        "E0010" => "E0010",
        "E0011" => "E0011",
        _ => "E0001",
    };
    let mut diag = Diagnostic::error(code, span, message);
    if let Some(label) = label.filter(|l| !l.is_empty()) {
        diag = diag.with_label(label);
    }
    if let Some(help) = help.filter(|h| !h.is_empty()) {
        diag = diag.with_help(help);
    }
    diag
}
