//! The one gate before a run, shared by `uq check`, `uq sample` and the REPL's `:sample`: the model's
//! `infer` line, the posterior, the plan and the resolved options, or the errors that stop it.

// Diagnostics are returned by value on this cold path (once per run), as everywhere in the checker.
#![allow(clippy::result_large_err)]

use super::options::{option, Given, OptionError, Origin, Raw, Settings, OPTIONS};
use super::plan::{plan, Plan};
use super::samplers::{sampler, sampler_names, SamplerDef};
use super::{apply_view, build, check_size, Built};
use crate::check::{CheckError, InferValue, Model};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::graph::Value;
use crate::score::{Hub, NoiseKind, ScoreModel};
use std::sync::Arc;

/// What was asked for outside the model.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--sampler` or the REPL's `sampler=`; `None` or `auto`: the model's `infer`, else automatic.
    pub sampler: Option<String>,
    /// How to name where `sampler` came from in the planner's reason (`--sampler`).
    pub sampler_origin: &'static str,
    /// Options given as flags or REPL words, in order (later ones win).
    pub given: Vec<Given>,
}

/// A run ready to start.
pub struct Prepared {
    pub built: Built,
    pub plan: Plan,
    pub settings: Settings,
    /// Things to tell the user before the run (e.g. `infer` options set aside).
    pub notes: Vec<String>,
}

fn is_network(p: &dyn ScoreModel) -> bool {
    matches!(p.noise_kind(), NoiseKind::Ve { .. } | NoiseKind::Vp { .. })
}

impl Prepared {
    /// How many of the posterior's priors are networks (VE or VP score files).
    pub fn networks(&self) -> usize {
        let priors = self.built.posterior.priors();
        priors.iter().filter(|p| is_network(p.as_ref())).count()
    }

    /// The same run with its network priors evaluated through `hub` (shared with other runs).
    pub fn through(mut self, hub: &Arc<Hub>) -> Result<Prepared, String> {
        self.built.posterior = self
            .built
            .posterior
            .map_priors(|p| Ok(if is_network(p.as_ref()) { hub.member(p) } else { p }))?;
        Ok(self)
    }
}

/// Why a run cannot start.
#[derive(Debug)]
pub enum PrepareError {
    /// The model or its data: diagnostics with spans (exit 1).
    Model(Vec<Diagnostic>),
    /// A flag or a REPL word (exit 2 on the command line).
    Usage(String),
}

/// The model's `infer NAME(...)` as given options.
fn infer_given(model: &Model) -> Vec<Given> {
    model
        .infer
        .iter()
        .flat_map(|i| i.args.iter())
        .map(|(k, v)| Given {
            key: k.name.clone(),
            value: match v {
                InferValue::Num(x) => Raw::Num(*x),
                InferValue::Str(s) => Raw::Text(s.clone()),
            },
            origin: Origin::Model(k.span),
        })
        .collect()
}

fn option_diag(e: &OptionError) -> Result<Diagnostic, String> {
    match e.origin {
        Origin::Model(span) => Ok(CheckError::InferOption {
            message: e.message.clone(),
            span,
        }
        .diagnostic()),
        Origin::Flag | Origin::Repl => Err(e.message.clone()),
    }
}

/// Errors of the model's `infer` line: an unknown sampler, and options that are unknown, have a bad
/// value, or are not read by the sampler it names.
pub fn infer_diagnostics(model: &Model) -> Vec<Diagnostic> {
    let Some(infer) = &model.infer else {
        return Vec::new();
    };
    let name = infer.sampler.name.as_str();
    let given = infer_given(model);
    let mut out = Vec::new();
    match sampler(name) {
        Some(def) => {
            if let Err(e) = Settings::resolve(def, &given) {
                out.extend(option_diag(&e).ok());
            }
        }
        None if name == "auto" => {
            for g in &given {
                let err = match option(&g.key) {
                    None => Some(format!(
                        "unknown option `{}`{}",
                        g.key,
                        did_you_mean(&g.key, OPTIONS.iter().map(|o| o.key))
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default()
                    )),
                    Some(def) => def.parse(&g.value).err().map(|m| format!("`{}` {m}", def.key)),
                };
                if let (Some(message), Origin::Model(span)) = (err, g.origin) {
                    out.push(CheckError::InferOption { message, span }.diagnostic());
                }
            }
        }
        None => out.push(
            CheckError::UnknownSampler {
                name: name.into(),
                span: infer.sampler.span,
                suggestion: did_you_mean(name, sampler_names()).map(String::from),
                known: sampler_names().collect::<Vec<_>>().join(", "),
            }
            .diagnostic(),
        ),
    }
    out
}

/// Check the `infer` line, build the posterior, plan the sampler and resolve its options.
pub fn prepare(model: &Model, data: Vec<Value>, req: &Request) -> Result<Prepared, PrepareError> {
    let diags = infer_diagnostics(model);
    if !diags.is_empty() {
        return Err(PrepareError::Model(diags));
    }
    let infer_name = model
        .infer
        .as_ref()
        .map(|i| i.sampler.name.as_str())
        .filter(|n| *n != "auto");
    let flag: Option<&'static SamplerDef> = match req.sampler.as_deref() {
        None | Some("auto") => None,
        Some(name) => Some(sampler(name).ok_or_else(|| {
            PrepareError::Usage(format!(
                "unknown sampler `{name}`; expected one of {}",
                sampler_names().collect::<Vec<_>>().join(", ")
            ))
        })?),
    };
    // `infer` options belong to the sampler the `infer` line names; a different one asked for
    // outside the model runs without them.
    let mut notes = Vec::new();
    let model_given = infer_given(model);
    let infer_applies = match (flag, infer_name) {
        (Some(f), Some(i)) => f.name == i.replace('-', "_"),
        _ => true,
    };
    if !infer_applies && !model_given.is_empty() {
        notes.push(format!(
            "the model's `infer {}(…)` options are not used, since {} asks for {}",
            infer_name.unwrap_or("auto"),
            req.sampler_origin,
            flag.map_or("auto", |f| f.name)
        ));
    }
    let given: Vec<Given> = if infer_applies { model_given } else { Vec::new() }
        .into_iter()
        .chain(req.given.iter().cloned())
        .collect();
    let has_init = given.iter().any(|g| g.key == "init");
    let built = build(model, data, has_init).map_err(PrepareError::Model)?;
    let (requested, why) = match (flag, infer_name) {
        (Some(f), _) => (Some(f), req.sampler_origin.to_string()),
        (None, Some(i)) => (sampler(i), format!("`infer {i}` in the model")),
        (None, None) => (None, String::new()),
    };
    let impossible = |m: String| {
        let span = match (flag, &model.infer) {
            (None, Some(i)) => i.sampler.span,
            _ => model.latents.first().map(|l| l.span).unwrap_or_default(),
        };
        PrepareError::Model(vec![
            CheckError::ImpossibleSampler { message: m, span }.diagnostic()
        ])
    };
    let mut plan = plan(&built.plan_input, requested, &why).map_err(impossible)?;
    // A prior of the other family (VP for annealed HMC, VE for DPS) is seen through its view.
    let built = match plan.view {
        Some(view) => {
            let (built, sentence) = apply_view(built, view).map_err(impossible)?;
            plan.reason.push_str(&sentence);
            built
        }
        None => built,
    };
    let settings = Settings::resolve(plan.sampler, &given).map_err(|e| match option_diag(&e) {
        Ok(d) => PrepareError::Model(vec![d]),
        Err(m) => PrepareError::Usage(m),
    })?;
    check_size(&built, &settings).map_err(PrepareError::Usage)?;
    Ok(Prepared {
        built,
        plan,
        settings,
        notes,
    })
}
