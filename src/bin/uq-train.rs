//! Temporary entry point for `uq train` / `uq train-eval` until the lead folds them into the `uq` CLI.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[path = "../cli/train.rs"]
mod train;

#[derive(Parser)]
#[command(name = "uq-train", about = "Train and evaluate uq score priors")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a VE or VP U-Net prior by denoising score matching.
    Train(train::TrainArgs),
    /// Tweedie denoising PSNR of a VE prior vs the best Gaussian filter.
    Eval(train::EvalArgs),
    /// Time one forward, one input-VJP and one training step of a fresh network.
    Time(train::TimeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Train(a) => train::run(a),
        Cmd::Eval(a) => train::run_eval(a),
        Cmd::Time(a) => train::run_time(a),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
