//! The sampler flags of `uq sample`, generated from the option table: one `--key` per option, its
//! help with every sampler's default, and clap's usage error (exit 2) for a value out of range.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use uq::session::{help_with_defaults, sampler, sampler_names, Given, Kind, OptionDef, Origin, Raw, OPTIONS};

/// The options given on the command line, in the table's order.
#[derive(Clone, Debug, Default)]
pub struct SamplerFlags {
    pub given: Vec<Given>,
}

fn value_name(o: &OptionDef) -> &'static str {
    match o.kind {
        Kind::Count { .. } => "N",
        Kind::Real { .. } => "X",
        Kind::Word(_) => "WORD",
        Kind::Start => "adjoint|FILE",
    }
}

impl FromArgMatches for SamplerFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let given = OPTIONS
            .iter()
            .filter_map(|o| {
                m.get_one::<String>(o.key).map(|v| Given {
                    key: o.key.to_string(),
                    value: Raw::Text(v.clone()),
                    origin: Origin::Flag,
                })
            })
            .collect();
        Ok(SamplerFlags { given })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for SamplerFlags {
    fn augment_args(cmd: Command) -> Command {
        OPTIONS.iter().fold(cmd, |cmd, o| {
            cmd.arg(
                Arg::new(o.key)
                    .long(o.key.replace('_', "-"))
                    .value_name(value_name(o))
                    .help(help_with_defaults(o.key))
                    .help_heading("Sampler options (also `infer NAME(key = value)` in the model)")
                    .value_parser(move |s: &str| o.parse(&Raw::Text(s.to_string())).map(|_| s.to_string())),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// `--sampler`: `auto` or a registered sampler (`annealed-hmc` and `annealed_hmc` alike).
pub fn parse_sampler(s: &str) -> Result<String, String> {
    match sampler(s) {
        Some(def) => Ok(def.name.to_string()),
        None if s == "auto" => Ok(s.to_string()),
        None => Err(format!(
            "expected one of {}",
            sampler_names().collect::<Vec<_>>().join(", ")
        )),
    }
}
