//! `uq sample`: check, bind data, plan a sampler, run all chains, write the run folder atomically.

use super::flags::{parse_sampler, SamplerFlags};
use super::{parse_binding, report, EXIT_MODEL_ERROR, EXIT_USAGE};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uq::check::Model;
use uq::session::{self, PrepareError, Request, RunProgress};
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The model file (`.uq`).
    pub model: PathBuf,
    /// Bind data NAME to a `.npy` file (overrides the declared default); repeatable. PATH is relative
    /// to the working directory.
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Output folder [default: uq-out/<model name>/]; an earlier run there is replaced only once this one completes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The sampler (overrides `infer` in the model): auto, or one of those in docs/options.md.
    #[arg(long, default_value = "auto", value_parser = parse_sampler, help = sampler_help())]
    pub sampler: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub flags: SamplerFlags,
}

/// `--sampler`'s help: every registered sampler.
fn sampler_help() -> String {
    let names: Vec<&str> = session::sampler_names().collect();
    format!(
        "The sampler: {} (overrides `infer` in the model)",
        names.join(" | ")
    )
}

/// Check the model's `infer` line, build, plan and resolve options as `uq sample` would (for `uq check`).
pub fn prepare(
    model: &Model,
    data: Vec<uq::graph::Value>,
    args: Option<&SampleArgs>,
) -> Result<session::Prepared, PrepareError> {
    let req = Request {
        sampler: args.map(|a| a.sampler.clone()),
        sampler_origin: "--sampler",
        given: args.map(|a| a.flags.given.clone()).unwrap_or_default(),
    };
    session::prepare(model, data, &req)
}

/// Report a preparation error: diagnostics exit 1, usage errors exit 2.
pub fn report_prepare(e: PrepareError, sources: &SourceMap) -> ExitCode {
    match e {
        PrepareError::Model(diags) => {
            report(&diags, sources);
            ExitCode::from(EXIT_MODEL_ERROR)
        }
        PrepareError::Usage(m) => {
            eprintln!("error: {m}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

pub fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    let mut sources = SourceMap::new();
    let Some((model, data)) = super::load_model(&args.model, &args.data, &mut sources) else {
        return Ok(ExitCode::from(EXIT_MODEL_ERROR));
    };
    let session::Prepared {
        built,
        plan,
        settings,
        notes,
    } = match prepare(&model, data, Some(&args)) {
        Ok(p) => p,
        Err(e) => return Ok(report_prepare(e, &sources)),
    };
    for n in &notes {
        eprintln!("note: {n}");
    }
    if !args.quiet {
        eprintln!("sampler: {} — {}", plan.sampler, plan.reason);
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while stopping falls through to the default (immediate exit).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping and writing the draws so far (Ctrl-C again to abort)");
        });
    }
    let bar = progress_bar(args.quiet);
    let progress = |p: RunProgress<'_>| show_progress(&bar, p);
    let mut result = match session::run(&built, &plan, &settings, &progress, &stop) {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            eprintln!("error: sampling failed: {e:#}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    bar.finish_and_clear();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("uq-out").join(&model.name));
    let (dir, table) = session::write_run(&model, &built, &mut result, &out)?;
    let s = &result.summary;
    println!("{table}");
    println!(
        "{} chains × {} draws{} in {:.1} s; {} gradient and {} score evaluations; divergences {:?}",
        s.chains,
        s.draws,
        if s.partial { " (partial: interrupted)" } else { "" },
        s.wall_seconds,
        s.grad_evals,
        s.score_evals,
        s.divergences
    );
    println!("wrote {}", dir.display());
    Ok(if s.partial {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The sampling progress bar (on stderr; indicatif hides it when stderr is not a terminal).
pub fn progress_bar(hidden: bool) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Show one progress report of any sampler on `bar`.
pub fn show_progress(bar: &ProgressBar, p: RunProgress<'_>) {
    match p {
        // `uq sample` prints its plan itself; the REPL prints this line before its bar.
        RunProgress::Planned(_) => {}
        RunProgress::Chains(p) => {
            bar.set_length(p.total as u64);
            bar.set_position(p.iteration as u64);
            bar.set_message(format!(
                "{:?} acc {:.2} ε {:.3e} div {}",
                p.phase, p.accept_rate, p.step_size, p.divergences
            ));
        }
        RunProgress::Annealing {
            level,
            levels,
            sigma,
            accept_rate,
        } => {
            bar.set_length(levels as u64);
            bar.set_position(level as u64);
            bar.set_message(format!("annealing σ {sigma:.3e} acc {accept_rate:.2}"));
        }
        RunProgress::Dps(p) => {
            bar.set_length(p.total as u64);
            bar.set_position(p.step as u64);
            bar.set_message(format!("t {} ‖y−A(x̂₀)‖ {:.3e}", p.t, p.residual));
        }
    }
}
