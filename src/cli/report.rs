//! `uq report RUN_DIR [--truth [NAME=]FILE.npy] [--open]`: write the run's self-contained HTML page,
//! `RUN_DIR/report.html` (docs/report.md); also called by `uq sample --report` and `uq merge`.

use super::{EXIT_MODEL_ERROR, EXIT_USAGE};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uq::report::{write_report, ReportError, ReportOptions};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run folder (written by `uq sample` or `uq merge`); the report goes to RUN_DIR/report.html.
    pub run_dir: PathBuf,
    /// The true value of a latent as a .npy of its shape, for error and z-score maps, PSNR, SSIM
    /// and coverage: FILE.npy (the first 2-D latent) or NAME=FILE.npy.
    #[arg(long, value_name = "[NAME=]FILE.npy")]
    pub truth: Option<String>,
    /// Open the report with `xdg-open` when there is one (else print its path).
    #[arg(long)]
    pub open: bool,
}

/// `NAME=FILE` or `FILE` (a path that itself contains `=` needs the NAME= form).
fn parse_truth(s: &str) -> (Option<String>, PathBuf) {
    match s.split_once('=') {
        Some((n, p)) if !n.is_empty() && !n.contains(['/', '\\', '.']) && !p.is_empty() => {
            (Some(n.to_string()), PathBuf::from(p))
        }
        _ => (None, PathBuf::from(s)),
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let opts = ReportOptions {
        truth: args.truth.as_deref().map(parse_truth),
    };
    match write_report(&args.run_dir, &opts) {
        Ok(path) => {
            println!("wrote {}", path.display());
            if args.open {
                open(&path);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            let code = match e {
                ReportError::Missing { .. }
                | ReportError::NotARun { .. }
                | ReportError::NotOurs { .. }
                | ReportError::Truth { .. } => EXIT_USAGE,
                _ => EXIT_MODEL_ERROR,
            };
            Ok(ExitCode::from(code))
        }
    }
}

/// Open `path` with `xdg-open` if it starts; otherwise say where the report is. Never fails.
fn open(path: &Path) {
    let started = std::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if started.is_err() {
        println!("no xdg-open here: open {} in a browser", path.display());
    }
}

/// Write the report of a run just written (`uq sample --report`, `uq merge`): a failure is a
/// warning, since the run itself is complete.
pub fn after_run(dir: &Path) {
    match write_report(dir, &ReportOptions::default()) {
        Ok(path) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("warning: no report: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_truth;
    use std::path::PathBuf;

    #[test]
    fn truth_with_and_without_a_name() {
        assert_eq!(parse_truth("x=t.npy"), (Some("x".into()), PathBuf::from("t.npy")));
        assert_eq!(parse_truth("t.npy"), (None, PathBuf::from("t.npy")));
        assert_eq!(parse_truth("a/b=c.npy"), (None, PathBuf::from("a/b=c.npy")));
    }
}
