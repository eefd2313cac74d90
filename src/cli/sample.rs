//! `uq sample`: check, bind data, plan a sampler, run all chains, write the run folder atomically.

use super::flags::{parse_sampler, SamplerFlags};
use super::{out_folder, parse_binding, report, EXIT_MODEL_ERROR, EXIT_USAGE};
use clap::Args;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use uq::check::Model;
use uq::session::{self, PrepareError, Request, RunProgress};
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The model file (`.uq`).
    pub model: PathBuf,
    /// Bind data NAME to a `.npy` file or a BART `.cfl/.hdr` pair (either file's path; docs/data.md)
    /// (overrides the declared default); repeatable. PATH is relative to the working directory (a
    /// default declared in the model is relative to the model file).
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Output folder [default: uq-out/<model name>/]: absent, empty or an earlier uq run, which is
    /// replaced only once this one completes; an interrupted run goes beside it, to OUT.partial.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The sampler (overrides `infer` in the model): auto, or one of those in docs/options.md.
    #[arg(long, default_value = "auto", value_parser = parse_sampler, help = sampler_help())]
    pub sampler: String,
    /// Array formats of samples/mean/std, comma-separated: `npy` (always written) and `cfl` (also
    /// BART `.cfl/.hdr` pairs beside them, BART dimensions = the shape reversed; docs/data.md).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "npy")]
    pub format: Vec<FormatArg>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also write posterior predictive replicates of every observed tensor (`NAME_rep/`, one per
    /// draw) and check its mean, sd, min and max against them (`predictive` in summary.json).
    #[arg(long)]
    pub predictive: bool,
    /// Also write `lower.npy`/`upper.npy` per real latent: the central interval of --interval-level
    /// with its half-widths scaled by the factor `uq calibrate --conformal` wrote to this file
    /// (`interval_scale.json`; docs/calibrate.md says what that guarantees).
    #[arg(long, value_name = "FILE.json")]
    pub interval_scale: Option<PathBuf>,
    /// The level of those intervals (one of the file's, 0.1 … 0.9).
    #[arg(long, default_value_t = 0.9, requires = "interval_scale")]
    pub interval_level: f64,
    /// Run shard i of a cluster job array: i from SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX,
    /// and --chain-offset i × chains; with --over, the i-th of --shards contiguous blocks of the
    /// slices instead. Join the shards with `uq merge` (docs/cluster.md).
    #[arg(long, conflicts_with = "chain_offset")]
    pub shard_from_env: bool,
    /// With --over and --shard-from-env: the number of array tasks the slices are split over
    /// (default: SLURM_ARRAY_TASK_COUNT).
    #[arg(long, value_name = "N", requires = "shard_from_env", requires = "over")]
    pub shards: Option<u64>,
    /// Run the model over the leading axis of the data tensor NAME, bound with `--data
    /// NAME=STACK.npy` of shape [slices, …declared shape]: one run folder per slice (OUT/slice_000/ …),
    /// stacked means and stds (OUT/LATENT/mean.npy, std.npy) and OUT/stack.json; repeat it for
    /// several tensors stacked alike. With a network prior the slices run together, the network
    /// batched across them; otherwise one after another (docs/cluster.md).
    #[arg(long, value_name = "NAME")]
    pub over: Vec<String>,
    /// With --over: a real .npy stack of true images [slices, …] for the PSNR of each slice's
    /// posterior mean (first latent, peak 1) in OUT/stack.json.
    #[arg(long, value_name = "FILE.npy", requires = "over")]
    pub truth: Option<PathBuf>,
    /// Also write OUT/report.html at the end of the run (also of a partial one), as `uq report OUT`.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub flags: SamplerFlags,
}

/// The (level, scale) of `--interval-scale FILE --interval-level Q`.
fn interval(args: &SampleArgs) -> anyhow::Result<Option<(f64, f64)>> {
    let Some(path) = &args.interval_scale else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--interval-scale {}: {e}", path.display()))?;
    let s: uq::calibrate::IntervalScale = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--interval-scale {}: not an interval_scale.json of `uq calibrate --conformal` ({e})",
            path.display()
        )
    })?;
    let q = args.interval_level;
    let k = s
        .levels
        .iter()
        .position(|l| (l - q).abs() < 1e-9)
        .ok_or_else(|| anyhow::anyhow!("--interval-level {q}: the file has levels {:?}", s.levels))?;
    match s.scale.get(k) {
        Some(&Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some((q, f))),
        _ => anyhow::bail!(
            "--interval-scale {}: no finite scale at level {q} ({} calibration repetitions are too few for it)",
            path.display(),
            s.calibration_reps
        ),
    }
}

/// An array format of `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// numpy `.npy` (always written).
    Npy,
    /// BART `.cfl/.hdr` pairs, beside the `.npy` files.
    Cfl,
}

/// `--sampler`'s help: every registered sampler.
fn sampler_help() -> String {
    let names: Vec<&str> = session::sampler_names().collect();
    format!(
        "The sampler: {} (overrides `infer` in the model). A VP (diffusion) prior runs the σ samplers through its VE view, a VE prior `dps` through its VP view (docs/samplers.md)",
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
    let interval = match interval(&args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if !args.over.is_empty() {
        if interval.is_some() {
            eprintln!("error: --interval-scale is not applied to --over stacks; run the slices with `uq sample` one by one");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        if args.report {
            eprintln!("error: --report writes the report of one run; with --over run `uq report OUT/slice_NNN` for the slices you want to see");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        return super::stack::run(args);
    }
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
    let mut settings = settings;
    if args.shard_from_env {
        let offset = super::shard::shard_index(|v| std::env::var(v).ok())
            .and_then(|i| super::shard::chain_offset(i, settings.count("chains").map_or(0, |c| c as u64)))
            .and_then(|k| settings.set_count("chain_offset", k));
        if let Err(m) = offset {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    let interrupts = out_folder::Interrupts::install();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("uq-out").join(&model.name));
    let writer = match out_folder::open(&out) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    interrupts.arm(&writer);
    if !args.quiet {
        eprintln!("sampler: {} — {}", plan.sampler, plan.reason);
    }
    let bar = progress_bar(args.quiet);
    let progress = |p: RunProgress<'_>| show_progress(&bar, p);
    let mut result = match session::run(&built, &plan, &settings, &progress, &interrupts.stop) {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            eprintln!("error: sampling failed: {e:#}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    bar.finish_and_clear();
    if args.predictive {
        match session::predictive(&model, &built, &result.draws, result.summary.seed) {
            Ok(p) => {
                result.derived.extend(p.replicates);
                result.summary.predictive = p.checks;
            }
            Err(e) => eprintln!("warning: no predictive replicates: {e}"),
        }
    }
    let command = super::command_line();
    session::record_inputs(
        &mut result.summary,
        command,
        &args.model,
        &model,
        &sources,
        &args.data,
    );
    let formats = session::ArrayFormats {
        cfl: args.format.contains(&FormatArg::Cfl),
        interval,
    };
    let code = out_folder::finish(&model, &built, &mut result, writer, &out, formats)?;
    if args.report {
        let dir = match result.summary.partial {
            true => uq::output::partial_dir(&out),
            false => out,
        };
        super::report::after_run(&dir);
    }
    Ok(code)
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
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {rate} ETA {eta} {msg}",
        )
        .map(|s| {
            s.with_key("rate", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&rate(st.per_sec()));
            })
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Iterations per second with three significant digits at most (`19.2/s`, `3.47/s`, `1234/s`).
pub fn rate(per_sec: f64) -> String {
    match per_sec {
        r if !r.is_finite() => "–/s".to_string(),
        r if r >= 100.0 => format!("{r:.0}/s"),
        r if r >= 10.0 => format!("{r:.1}/s"),
        r => format!("{r:.2}/s"),
    }
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

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rate_has_at_most_three_significant_digits() {
        assert_eq!(rate(19.200_123), "19.2/s");
        assert_eq!(rate(3.471), "3.47/s");
        assert_eq!(rate(1234.4), "1234/s");
        assert_eq!(rate(f64::INFINITY), "–/s");
    }
}
