//! Sessions: build a posterior from a checked model, run the planned sampler, write the run folder.

mod build;
mod sample;
mod score_runs;
mod write;

pub use build::{build, Built};
pub use sample::{run, RunProgress, RunResult, SampleOptions, StartSpec};
pub use write::write_run;
