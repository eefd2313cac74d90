//! Sessions: build a posterior from a checked model, plan a sampler from the registry, resolve its
//! options, run it and write the run folder.

mod build;
mod error;
mod merge;
mod options;
mod plan;
mod predictive;
mod prepare;
mod provenance;
mod sample;
mod samplers;
mod view;
mod write;

pub use build::{build, Built};
pub use error::SessionError;
pub use merge::{check_same_run, merge_runs, write_merged, MergeError, Merged, CHECKS_KEY, MERGE_KEY};
pub(crate) use merge::{read_samples, read_stats};
pub use options::{
    option, Given, Kind, OptionDef, OptionError, Origin, Raw, Setting, Settings, MAX_COUNT, OPTIONS,
};
pub use plan::{plan, Plan, PlanInput, SupnFit};
pub use predictive::{predictive, Predictive};
pub use prepare::{infer_diagnostics, prepare, PrepareError, Prepared, Request};
pub use provenance::record_inputs;
pub use sample::{check_size, run, RunProgress, RunResult, StartSpec};
pub use samplers::{
    defaults_of, help_with_defaults, reference_markdown, sampler, sampler_names, OptDefault, PriorLevels,
    SamplerDef, Uses, COMMON, SAMPLERS,
};
pub use view::{apply_view, PriorView};
pub use write::{write_run, ArrayFormats};
