//! The `uq` command-line entry point.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::SUCCESS
}
