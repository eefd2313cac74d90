//! `uq check`: validate a model and its data, print a summary (or a dump of the AST or graph).

use super::{parse_binding, EXIT_MODEL_ERROR};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use uq::check::summary;
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The model file (`.uq`).
    pub model: PathBuf,
    /// Bind data NAME to a `.npy` file (overrides the declared default); repeatable. PATH is relative
    /// to the working directory (a default declared in the model is relative to the model file).
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Print an intermediate form instead of the summary.
    #[arg(long, value_enum, value_name = "STAGE")]
    pub dump: Option<Dump>,
}

/// Stages `--dump` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dump {
    /// The parsed syntax tree.
    Ast,
    /// The lowered operator graph.
    Graph,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut sources = SourceMap::new();
    let Some((model, data)) = super::load_model(&args.model, &args.data, &mut sources) else {
        return Ok(ExitCode::from(EXIT_MODEL_ERROR));
    };
    match args.dump {
        None => {
            // Everything `uq sample` would refuse before running is an error here too.
            let prepared = match super::sample::prepare(&model, data, None) {
                Ok(p) => p,
                Err(e) => return Ok(super::sample::report_prepare(e, &sources)),
            };
            print!("{}", summary(&model, &args.data));
            println!("sampler: {} — {}", prepared.plan.sampler, prepared.plan.reason);
        }
        Some(Dump::Ast) => {
            let text = std::fs::read_to_string(&args.model)?;
            let (program, _) = uq::syntax::parse(uq::source::FileId(0), &text);
            print!("{}", uq::syntax::dump(&program));
        }
        Some(Dump::Graph) => {
            let latents: Vec<String> = model.latents.iter().map(|l| l.name.clone()).collect();
            let data: Vec<String> = model.data.iter().map(|d| d.name.clone()).collect();
            print!("{}", uq::graph::dump(&model.graph, &sources, &latents, &data));
        }
    }
    Ok(ExitCode::SUCCESS)
}
