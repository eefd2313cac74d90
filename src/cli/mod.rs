//! Command-line interface: one file per subcommand; exit 0 success, 1 model/data error, 2 usage error.

mod bench;
mod bench_posterior;
mod bench_precision;
mod bench_train;
mod calibrate;
mod check;
mod flags;
mod fmt;
mod lsp;
mod merge;
mod out_folder;
mod prior_bench;
mod prior_eval;
mod recipe;
mod repl;
mod report;
mod sample;
mod shard;
mod stack;
mod stack_merge;
mod stack_run;
mod train;
mod train_aug;
mod train_supn;
mod traj;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use uq::diagnostics::{render_all, Diagnostic};
use uq::source::SourceMap;

/// Environment variables, listed under `uq --help`.
const ENV_HELP: &str = "Environment:
  UQ_SCORE_PRECISION=f32|bf16   network priors' convolutions in f32 or bf16 with f32 accumulation
                                (needs AVX512-BF16; otherwise a warning and f32); default: bf16
                                where AMX tiles run the network (channels multiples of 32)
  UQ_AMX=off                    bf16 convolutions without AMX tiles (AVX512-BF16 only)
  UQ_SCORE_BACKEND=candle       evaluate network priors with the candle reference, not the fast path
  UQ_SIMD=avx512|avx2|portable  the fast path's instruction set (default: the best supported)";

/// uq: a probabilistic-programming language for Bayesian imaging inverse problems.
#[derive(Parser, Debug)]
#[command(name = "uq", version, about, long_about = None, after_help = ENV_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a model as `uq sample` would before running it: parse, resolve names and imports,
    /// type-check, bind data, build the priors, plan the sampler and resolve its options.
    Check(check::CheckArgs),
    /// Draw posterior samples: plan a sampler, run all chains, write the run folder (npy, png,
    /// sample_stats.npz, summary.json) and warn about problems the diagnostics show.
    Sample(sample::SampleArgs),
    /// Join shards of one run (`uq sample --chain-offset K` or `--shard-from-env`) into one run
    /// folder: checks they share model, data, settings and seed with disjoint chains, recomputes R̂,
    /// ESS, MCSE and the warnings over all chains; or the parts of a sharded `--over` stack into one
    /// stack folder (docs/cluster.md).
    Merge(merge::MergeArgs),
    /// Interactive session: define and redefine statements, evaluate expressions, sample, look at results.
    ///
    /// Reads a piped script when stdin is not a terminal. `:help` lists the commands.
    Repl(repl::ReplArgs),
    /// Simulation-based calibration of a model as written: truths from the prior (or --truths), data
    /// simulated from the likelihood, the planned sampler run on each; rank histograms, a
    /// uniformity test, the calibration curve and a verdict in OUT/calibration.json.
    Calibrate(calibrate::CalibrateArgs),
    /// Train a score prior (VE or VP U-Net, or SUPN) on images by denoising score matching; `--recipe
    /// FILE` reads flags from a file (models/recipes/), `--dry-run` prints the resolved settings.
    #[command(args_override_self = true)]
    Train(train::TrainArgs),
    /// Denoising check of a VE prior: Tweedie vs the best Gaussian filter.
    EvalPrior(prior_bench::EvalArgs),
    /// Time batched score and VJP evaluations of a prior file.
    TimePrior(prior_bench::TimeArgs),
    /// A prior network's raw output for a batch of inputs (ε, v or x₀ of a diffusers model at
    /// timestep --t; the score of a uq VE model at --sigma; ε of a uq VP model at --t), to check an
    /// import against the framework it came from.
    PriorEval(prior_eval::PriorEvalArgs),
    /// Benchmarks: `uq bench score` times the score network (fast path vs candle) and prints JSON;
    /// `uq bench precision` measures bf16's error against f32.
    Bench(bench::BenchArgs),
    /// k-space trajectories for `nufft`: `uq traj radial --spokes S --readout N [--golden] --out F.npy`
    /// writes real[S*N, 2] in radians.
    Traj(traj::TrajArgs),
    /// Format `.uq` files in place (comments kept, the parsed model unchanged); `--check` lists the
    /// files that are not formatted and exits with 1, writing nothing.
    Fmt(fmt::FmtArgs),
    /// Write RUN_DIR/report.html: one self-contained HTML page of a run (model and planner's reason,
    /// warnings, summary table, images with R̂/ESS maps, densities, sampler statistics; with
    /// --truth also error maps, PSNR, SSIM and coverage) (docs/report.md).
    Report(report::ReportArgs),
    /// Language server (LSP) on stdin/stdout for editors: diagnostics, hover, completion, go to
    /// definition and formatting of `.uq` files (`docs/editors.md`).
    Lsp(lsp::LspArgs),
}

/// Parse the arguments (clap exits with 2 on usage errors) and run the subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let args = match recipe::expand(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let _ = EXPANDED.set(args.clone());
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Repl(args) => repl::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Train(args) => train::run(args),
        Command::EvalPrior(args) => prior_bench::run_eval(args),
        Command::TimePrior(args) => prior_bench::run_time(args),
        Command::PriorEval(args) => prior_eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Traj(args) => traj::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Report(args) => report::run(args),
    }
}

/// Exit code for model and data errors.
pub const EXIT_MODEL_ERROR: u8 = 1;
/// Exit code for usage errors (clap's own, and flag values that only the plan can judge).
pub const EXIT_USAGE: u8 = 2;

/// The command line after `--recipe` expansion, as `run` parsed it.
static EXPANDED: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

/// The command line as typed, with `uq train --recipe`'s flags in place (lossy UTF-8), recorded in
/// summaries and model files.
pub fn command_line() -> Vec<String> {
    match EXPANDED.get() {
        Some(args) => args.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
        None => std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    }
}

/// Colour only when stderr is a terminal and `NO_COLOR` is unset.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Print diagnostics to stderr.
pub fn report(diags: &[Diagnostic], sources: &SourceMap) {
    if !diags.is_empty() {
        eprint!("{}", render_all(diags, sources, stderr_colour()));
    }
}

/// Check a model file and bind its data, reporting diagnostics (and warnings) on stderr.
/// `None` means a model or data error was reported (exit 1).
pub fn load_model(
    path: &std::path::Path,
    data: &[(String, PathBuf)],
    sources: &mut SourceMap,
) -> Option<(uq::check::Model, Vec<uq::graph::Value>)> {
    let model = match uq::check::check_file(path, sources) {
        Ok(m) => m,
        Err(diags) => {
            report(&diags, sources);
            return None;
        }
    };
    report(&model.warnings, sources);
    match uq::check::bind_data(&model, data, sources) {
        Ok(values) => Some((model, values)),
        Err(diags) => {
            report(&diags, sources);
            None
        }
    }
}

/// `--data NAME=PATH`.
pub fn parse_binding(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, found `{s}`")),
    }
}
