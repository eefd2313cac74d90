//! `uq repl`: the interactive session on rustyline (completion, hints, history, multi-line input), or a piped script.

use super::parse_binding;
use super::sample::{progress_bar, show_progress};
use clap::Args;
use indicatif::ProgressBar;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use uq::repl::{Output, Scope, Session};
use uq::session::RunProgress;
use uq::syntax::is_incomplete;

#[derive(Args, Debug)]
pub struct ReplArgs {
    /// A model file (`.uq`) to start from (as `:load FILE`).
    pub model: Option<PathBuf>,
    /// Bind data NAME to a `.npy` file (as `:data NAME=PATH`); repeatable. PATH is relative to the
    /// working directory.
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// When stdin is not a terminal, print each input after a `uq> ` prompt (a readable transcript).
    /// A script runs to its end; the exit code is 1 when any input failed.
    #[arg(long)]
    pub echo: bool,
}

const PROMPT: &str = "uq> ";
const MORE: &str = "...> ";

pub fn run(args: ReplArgs) -> anyhow::Result<ExitCode> {
    let mut session = Session::new(super::stderr_colour());
    for (name, path) in &args.data {
        session.add_binding(name, path);
    }
    let interactive = std::io::stdin().is_terminal();
    let interrupt = session.interrupt();
    // Ctrl-C (or SIGTERM/SIGHUP) during `:sample` stops the run (twice: exit). At the prompt
    // rustyline has the terminal in raw mode and reports Ctrl-C as `Interrupted`, so a signal outside
    // a run comes from elsewhere (`kill`, a closed terminal, a piped session): it ends the session.
    let _ = ctrlc::set_handler(move || {
        if interrupt.sampling.load(Ordering::SeqCst) {
            if interrupt.stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping the run, keeping the draws so far (Ctrl-C again to abort)");
        } else {
            std::process::exit(130);
        }
    });
    let mut failed = false;
    if let Some(model) = &args.model {
        let out = session.load(model);
        emit(&out);
        failed = out.failed;
    }
    if interactive {
        terminal(session)
    } else {
        piped(session, args.echo, failed)
    }
}

/// Evaluate one input with a progress bar for `:sample`, whose sampler line is printed before the
/// run starts (and so left out of the output printed after it).
fn eval(session: &mut Session, text: &str) -> Output {
    let bar: OnceLock<ProgressBar> = OnceLock::new();
    let shown: OnceLock<String> = OnceLock::new();
    let progress = |p: RunProgress<'_>| match p {
        RunProgress::Planned(line) => {
            println!("{line}");
            let _ = std::io::stdout().flush();
            let _ = shown.set(format!("{line}\n"));
        }
        p => show_progress(bar.get_or_init(|| progress_bar(false)), p),
    };
    let mut out = session.eval_with(text, &progress);
    if let Some(line) = shown.get() {
        out.out = out.out.replacen(line.as_str(), "", 1);
    }
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    out
}

fn emit(out: &Output) {
    print!("{}", out.out);
    let _ = std::io::stdout().flush();
    eprint!("{}", out.err);
}

/// Read inputs from a pipe: lines are joined while brackets stay open. Every input runs (the
/// transcript is complete); the exit code is 1 when any of them failed (or `failed` already).
fn piped(mut session: Session, echo: bool, mut failed: bool) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let mut number = 0usize;
    let bad_text = std::cell::Cell::new(false);
    // Lines as text: a line that is not UTF-8 is read with U+FFFD in place of its bad bytes (and so
    // fails as a statement) instead of ending the script; a leading byte-order mark is dropped.
    let mut lines = stdin
        .lock()
        .split(b'\n')
        .map(|line| -> std::io::Result<String> {
            let mut bytes = line?;
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            number += 1;
            if number == 1 && bytes.starts_with("\u{feff}".as_bytes()) {
                bytes.drain(..3);
            }
            Ok(String::from_utf8(bytes).unwrap_or_else(|e| {
                bad_text.set(true);
                eprintln!(
                    "error: input line {number} is not UTF-8 text (read with U+FFFD for the bad bytes)"
                );
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }))
        })
        .peekable();
    while let Some(first) = lines.next() {
        let mut text = first?;
        if echo {
            println!("{PROMPT}{text}");
        }
        while needs_more(&text) {
            // A command or an empty line ends an unfinished statement (which then reports its error).
            let Some(Ok(next)) =
                lines.next_if(|l| l.as_ref().is_ok_and(|l| !l.trim_start().starts_with(':')))
            else {
                break;
            };
            if echo {
                println!("{MORE}{next}");
            }
            text.push('\n');
            text.push_str(&next);
        }
        let out = eval(&mut session, &text);
        emit(&out);
        failed |= out.failed || bad_text.get();
        if out.quit {
            break;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// True while typed text is an unfinished statement: brackets open (or a string), not a command, and
/// not ended by an empty line.
fn needs_more(text: &str) -> bool {
    !text.trim_start().starts_with(':') && !text.ends_with('\n') && is_incomplete(text)
}

/// `$UQ_HISTORY`, else `~/.uq_history`; none without a home folder.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("UQ_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".uq_history"))
}

fn terminal(mut session: Session) -> anyhow::Result<ExitCode> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut rl: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
    let scope = Rc::new(RefCell::new(session.scope().clone()));
    rl.set_helper(Some(ReplHelper {
        scope: scope.clone(),
        files: FilenameCompleter::new(),
        colour: super::stderr_colour(),
    }));
    let history = history_path();
    if let Some(p) = &history {
        let _ = rl.load_history(p);
    }
    println!("uq repl: :help lists the commands, Tab completes, Ctrl-D leaves");
    loop {
        match rl.readline(PROMPT) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                    if let Some(p) = &history {
                        let _ = rl.save_history(p);
                    }
                }
                let out = eval(&mut session, &line);
                emit(&out);
                *scope.borrow_mut() = session.scope().clone();
                if out.quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Completion, signature hints and multi-line validation for rustyline.
struct ReplHelper {
    scope: Rc<RefCell<Scope>>,
    files: FilenameCompleter,
    colour: bool,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let file_arg = [":load ", ":write ", ":save ", ":l ", ":w "]
            .iter()
            .any(|c| line.starts_with(c))
            || (line.starts_with(":data ") && line.contains('='));
        if file_arg {
            return self.files.complete(line, pos, ctx);
        }
        let (start, cands) = self.scope.borrow().complete(line, pos);
        let pairs = cands
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

/// A hint shown after the cursor but never inserted.
struct ShownHint(String);

impl Hint for ShownHint {
    fn display(&self) -> &str {
        &self.0
    }
    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = ShownHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<ShownHint> {
        self.scope.borrow().hint(line, pos).map(ShownHint)
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        Ok(if needs_more(input) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Helper for ReplHelper {}
