//! A short human summary of a checked model: latents, data and where it comes from, likelihoods.

use super::model::{InferValue, Model, PriorSpec};
use crate::dist::{Call, ParamKind, Role};
use crate::graph::{NodeId, NodeKind, Ty, Value};
use crate::score::HeaderKind;
use std::fmt::Write as _;
use std::path::PathBuf;

fn param(model: &Model, id: NodeId) -> String {
    match model.graph.nodes.get(id.0) {
        Some(n) => match &n.kind {
            NodeKind::Const(Value::Real(a)) if a.ndim() == 0 => a.iter().map(|x| format!("{x}")).collect(),
            NodeKind::Data(i) => model
                .data
                .get(*i)
                .map_or_else(|| n.ty.to_string(), |d| d.name.clone()),
            _ => n.ty.to_string(),
        },
        None => "?".into(),
    }
}

fn ty_of(model: &Model, id: NodeId) -> Ty {
    model
        .graph
        .nodes
        .get(id.0)
        .map_or_else(|| Ty::real(vec![]), |n| n.ty.clone())
}

/// `Normal(0, 1)` for a prior, `Normal(mean: real[4], sigma: 0.1)` for a likelihood (a location by
/// its type), unless the distribution describes itself.
fn call(model: &Model, c: &Call) -> String {
    let tys: Vec<Ty> = c.params.iter().map(|&id| ty_of(model, id)).collect();
    if let Some(s) = c.dist.describe(c.role, &tys) {
        return s;
    }
    let args: Vec<String> = c
        .signature_params()
        .iter()
        .zip(&c.params)
        .zip(&tys)
        .map(|((p, &id), ty)| match (c.role, p.kind) {
            (Role::Prior, _) => param(model, id),
            (Role::Likelihood, ParamKind::Location) => format!("{}: {ty}", p.name),
            (Role::Likelihood, _) => format!("{}: {}", p.name, param(model, id)),
        })
        .collect();
    format!("{}({})", c.name(), args.join(", "))
}

fn prior(model: &Model, p: &PriorSpec) -> String {
    match p {
        PriorSpec::Dist(c) => call(model, c),
        PriorSpec::Score { path, header, .. } => match header {
            Some(h) => {
                let kind = match h.kind {
                    HeaderKind::Ve { sigma_min, sigma_max } => format!("VE, sigma {sigma_min}..{sigma_max}"),
                    HeaderKind::Vp { timesteps, .. } => format!("VP, {timesteps} steps"),
                };
                format!("score(\"{}\") [{}, {kind}]", path.display(), h.architecture)
            }
            None => format!("score(\"{}\") [file not readable yet]", path.display()),
        },
    }
}

/// The summary `uq check` prints; `overrides` are the `--data` bindings.
pub fn summary(model: &Model, overrides: &[(String, PathBuf)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "model `{}`: valid", model.name);
    let w = model
        .latents
        .iter()
        .map(|l| l.name.len())
        .chain(model.data.iter().map(|d| d.name.len()))
        .max()
        .unwrap_or(1);
    let _ = writeln!(s, "latents:");
    for l in &model.latents {
        let _ = writeln!(s, "  {:w$} : {} ~ {}", l.name, l.ty, prior(model, &l.prior));
    }
    if !model.data.is_empty() {
        let _ = writeln!(s, "data:");
    }
    for d in &model.data {
        let from = match overrides.iter().rev().find(|(n, _)| *n == d.name) {
            Some((_, p)) => format!("{} (--data)", p.display()),
            None => match &d.default {
                Some(p) => format!("{} (default)", p.display()),
                None => "unbound (pass --data)".into(),
            },
        };
        let _ = writeln!(s, "  {:w$} : {} from {from}", d.name, d.ty);
    }
    if model.is_prior_only() {
        let _ = writeln!(
            s,
            "likelihood: none (prior-only model: sampling draws from the prior)"
        );
    } else {
        let _ = writeln!(s, "likelihood:");
    }
    for o in &model.observations {
        let name = model.data.get(o.data).map_or("?", |d| d.name.as_str());
        let term = call(model, &o.likelihood);
        let _ = writeln!(s, "  {name} ~ {term}");
    }
    if let Some(inf) = &model.infer {
        let args: Vec<String> = inf
            .args
            .iter()
            .map(|(k, v)| match v {
                InferValue::Num(x) => format!("{} = {x}", k.name),
                InferValue::Str(t) => format!("{} = \"{t}\"", k.name),
            })
            .collect();
        let _ = writeln!(s, "infer: {}({})", inf.sampler.name, args.join(", "));
    }
    let _ = writeln!(s, "graph: {} nodes", model.graph.nodes.len());
    s
}
