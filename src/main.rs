//! The `uq` command-line entry point: parse arguments, run a subcommand, map the outcome to an exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    default_sigpipe();
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Writing to a closed pipe (`uq check model.uq | head -1`) ends the process quietly, as it ends
/// other Unix tools, instead of panicking in `println!` (Rust starts programs with SIGPIPE ignored).
#[cfg(unix)]
fn default_sigpipe() {
    // SAFETY: sets the signal's disposition to the default at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}
