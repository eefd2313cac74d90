//! `uq fmt`: format `.uq` files in place, or list those that are not formatted (`--check`).

use super::{report, EXIT_MODEL_ERROR};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use uq::fmt::{collect_uq_files, format_path, FileOutcome, FmtError};
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Files and folders to format; a folder means every `*.uq` file under it (hidden folders and
    /// `target` skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing: list the files that are not formatted and exit with 1 if there is any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: FmtArgs) -> anyhow::Result<ExitCode> {
    let files = collect_uq_files(&args.paths)?;
    let mut sources = SourceMap::new();
    let mut failed = false;
    let mut unformatted = 0usize;
    for path in &files {
        match format_path(path, !args.check, &mut sources) {
            Ok(FileOutcome::Unchanged) => {}
            Ok(FileOutcome::Changed) => {
                unformatted += 1;
                if args.check {
                    println!("{}", path.display());
                }
            }
            Err(FmtError::Syntax { path, diags }) => {
                failed = true;
                report(&diags, &sources);
                eprintln!(
                    "error: `{}` was not formatted: fix its syntax errors first",
                    path.display()
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {e}");
            }
        }
    }
    if args.check && unformatted > 0 {
        eprintln!(
            "{unformatted} of {} file(s) not formatted; run `uq fmt` on them",
            files.len()
        );
    }
    Ok(if failed || (args.check && unformatted > 0) {
        ExitCode::from(EXIT_MODEL_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
