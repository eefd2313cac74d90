//! `uq merge OUT RUN_DIR…`: join shards of one run (`--chain-offset`, `--shard-from-env`) into one
//! run folder, written like `uq sample`'s (atomically; a folder uq did not write is refused), or the
//! parts of a sharded `--over` stack into one stack folder (`stack_merge.rs`).

use super::{out_folder, EXIT_MODEL_ERROR};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use uq::session::{self, MergeError};

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The merged run folder: absent, empty or an earlier uq run (replaced once the merge is written).
    pub out: PathBuf,
    /// Run folders of shards of one run: same model, data, settings and seed, disjoint chains. A
    /// missing shard is allowed (the merge is marked partial in summary.json, with a warning). Or
    /// the stack folders of the array tasks of one `--over --shard-from-env` run: their slice
    /// folders are copied into OUT and the stacked means and stds written over all slices.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Array formats, as `uq sample --format`: `npy` (always written) and `cfl` (also BART
    /// `.cfl/.hdr` pairs beside them).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "npy")]
    pub format: Vec<super::sample::FormatArg>,
}

pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    if args.runs.iter().any(|r| r == &args.out) {
        eprintln!(
            "error: the output folder {} is one of the runs to merge; choose another",
            args.out.display()
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    if args.runs.iter().any(|r| super::stack_merge::is_stack(r)) {
        return super::stack_merge::merge(&args.out, &args.runs);
    }
    let mut merged = match session::merge_runs(&args.runs) {
        Ok(m) => m,
        Err(e @ MergeError::Refused(_)) | Err(e @ MergeError::Read { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
        Err(e) => return Err(e.into()),
    };
    for n in &merged.notes {
        eprintln!("warning: {n}");
    }
    merged.summary.provenance.command = super::command_line();
    let writer = match out_folder::open(&args.out) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    let formats = session::ArrayFormats {
        cfl: args.format.contains(&super::sample::FormatArg::Cfl),
        interval: None,
    };
    let table = session::write_merged(&mut merged, &writer, formats)?;
    let dir = writer.commit()?;
    let s = &merged.summary;
    println!("{table}");
    println!(
        "merged {} runs: {} chains × {} draws; divergences {:?}",
        args.runs.len(),
        s.chains,
        s.draws,
        s.divergences
    );
    for w in &s.warnings {
        eprintln!("warning: {}", w.message);
    }
    println!("wrote {}", dir.display());
    if args.runs.iter().any(|r| uq::report::has_report(r)) {
        super::report::after_run(&dir);
    }
    Ok(ExitCode::SUCCESS)
}
