//! Sessions: build a posterior from a checked model, run the planned sampler, write the run folder.

mod build;
mod options;
mod provenance;
mod sample;
mod score_runs;
mod write;

pub use build::{build, Built};
pub use options::{set_option, OptionValue, OPTION_KEYS};
pub use provenance::record_inputs;
pub use sample::{run, RunProgress, RunResult, SampleOptions, StartSpec};
pub use write::write_run;
