//! The registry as text: signatures for messages and `:type`, lists by role, and the docs table.

use super::{Constraint, Distribution, Param, ParamKind, Role, Signature, REGISTRY};

/// `lower = -inf`: an optional parameter with its default, else the name (and `: ty` when `typed`).
fn param_text(p: &Param, typed: bool) -> String {
    let name = match p.kind {
        ParamKind::ScoreFile => return "\"file.safetensors\"".to_string(),
        _ if typed && !p.ty.is_empty() => format!("{}: {}", p.name, p.ty),
        _ => p.name.to_string(),
    };
    match p.default {
        Some(v) => format!("{name} = {v}"),
        None => name,
    }
}

/// `Normal(mu, sigma)`, `Flat(lower = -inf, upper = inf)`: the call as written, parameter names and
/// the defaults of optional ones.
fn usage(d: &dyn Distribution, s: &Signature) -> String {
    let params: Vec<String> = s.params.iter().map(|p| param_text(p, false)).collect();
    format!("{}({})", d.name(), params.join(", "))
}

/// `GaussianMixture(weights: real[K], …) (prior, sigmas > 0)`: the call with typed parameters, its
/// role and every condition the checker or the density enforces.
pub fn render(d: &dyn Distribution, s: &Signature) -> String {
    let params: Vec<String> = s.params.iter().map(|p| param_text(p, true)).collect();
    let mut conds = vec![s.role.describe().to_string()];
    for p in s.params {
        match p.kind {
            ParamKind::Fixed {
                constraint: Constraint::Positive,
                ..
            }
            | ParamKind::Free {
                constraint: Constraint::Positive,
                ..
            } => conds.push(format!("{} > 0", p.name)),
            ParamKind::Fixed {
                constraint: Constraint::Simplex,
                ..
            } => conds.push(format!("{} >= 0 summing to 1", p.name)),
            _ => {}
        }
    }
    if s.role == Role::Likelihood && !d.support().allows_complex() {
        conds.push("real data".into());
    }
    conds.extend(s.notes.iter().map(|n| n.to_string()));
    format!("{}({}) ({})", d.name(), params.join(", "), conds.join(", "))
}

/// Every signature of the distribution `name` (empty if it is not registered).
pub fn signatures(name: &str) -> Vec<String> {
    REGISTRY
        .iter()
        .filter(|d| d.name() == name)
        .flat_map(|d| d.signatures().iter().map(|s| render(*d, s)))
        .collect()
}

/// The names of the distributions allowed in `role`, in registry order.
pub fn names(role: Role) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|d| d.signature(role).is_some())
        .map(|d| d.name())
        .collect()
}

/// The calls allowed in `role` as written: `Normal(mean, sigma)`, `Poisson(rate)`.
pub fn usages(role: Role) -> Vec<String> {
    REGISTRY
        .iter()
        .filter_map(|d| d.signature(role).map(|s| usage(*d, s)))
        .collect()
}

/// `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The table in `docs/distributions.md`, one row per distribution.
pub fn docs_table() -> String {
    let mut s = String::from(
        "| Distribution | Signatures | Support | Latent transform | Description |\n|---|---|---|---|---|\n",
    );
    for d in REGISTRY {
        let sigs: Vec<String> = d
            .signatures()
            .iter()
            .map(|x| format!("`{}`", render(*d, x)))
            .collect();
        let transform = match d.signature(Role::Prior).and(d.transform_text()) {
            Some(t) => t,
            None => "—".into(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {transform} | {} |\n",
            d.name(),
            sigs.join("<br>"),
            d.support_text(),
            d.summary()
        ));
    }
    s
}
