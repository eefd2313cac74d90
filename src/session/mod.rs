//! Sessions: build a posterior from a checked model, run the planned sampler, write the run folder.

mod build;
mod sample;

pub use build::{build, Built};
pub use sample::{run, write_run, RunProgress, RunResult, SampleOptions};
