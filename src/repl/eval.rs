//! Bare expressions: parse one expression, evaluate it on the bound data, describe the value compactly.

use super::model::{self, Typed};
use super::{Output, Session};
use crate::diagnostics::Diagnostic;
use crate::graph::Ty;
use crate::graph::{FftCache, Graph, NodeId, NodeKind, Value};
use crate::source::FileId;
use crate::source::SourceMap;
use crate::syntax::ast::{Expr, ExprKind, StmtKind};
use crate::syntax::parse;

/// Parse `text` as one expression with spans into `file` (which holds `text`).
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    const PREFIX: &str = "let __repl_it = ";
    let wrapped = format!("{PREFIX}{text}");
    let (program, mut diags) = parse(file, &wrapped);
    let p = PREFIX.len();
    for d in &mut diags {
        d.span.start = d.span.start.saturating_sub(p);
        d.span.end = d.span.end.saturating_sub(p);
        for (s, _) in &mut d.secondary {
            s.start = s.start.saturating_sub(p);
            s.end = s.end.saturating_sub(p);
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    match program.stmts.as_slice() {
        [stmt] => match &stmt.kind {
            StmtKind::Let { value, .. } => {
                let mut e = value.clone();
                shift(&mut e, p);
                Ok(e)
            }
            _ => Err(Vec::new()),
        },
        _ => Err(Vec::new()),
    }
}

/// Move every span of `e` back by `by` bytes.
fn shift(e: &mut Expr, by: usize) {
    e.span.start = e.span.start.saturating_sub(by);
    e.span.end = e.span.end.saturating_sub(by);
    match &mut e.kind {
        ExprKind::Call { callee, args } => {
            callee.span.start = callee.span.start.saturating_sub(by);
            callee.span.end = callee.span.end.saturating_sub(by);
            args.iter_mut().for_each(|a| shift(a, by));
        }
        ExprKind::List(items) => items.iter_mut().for_each(|a| shift(a, by)),
        ExprKind::Unary { operand, .. } => shift(operand, by),
        ExprKind::Named { name, value } => {
            name.span.start = name.span.start.saturating_sub(by);
            name.span.end = name.span.end.saturating_sub(by);
            shift(value, by)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            shift(lhs, by);
            shift(rhs, by);
        }
        ExprKind::Num(_) | ExprKind::Str(_) | ExprKind::Var(_) | ExprKind::Error => {}
    }
}

/// Indices of the latents and data tensors `node` depends on.
pub fn inputs_of(graph: &Graph, node: NodeId) -> (Vec<usize>, Vec<usize>) {
    let (mut latents, mut data) = (Vec::new(), Vec::new());
    for id in graph.ancestors(node) {
        match graph.node(id).map(|n| &n.kind) {
            Some(NodeKind::Latent(j)) => latents.push(*j),
            Some(NodeKind::Data(j)) => data.push(*j),
            _ => {}
        }
    }
    (latents, data)
}

/// Evaluate `node` given every latent and data value (unneeded ones may be placeholders).
pub fn eval_at(graph: &Graph, node: NodeId, latents: &[Value], data: &[Value]) -> Result<Value, String> {
    let fft = FftCache::default();
    if latents.is_empty() {
        return graph.eval_const(node, data, &fft).map_err(|e| e.message);
    }
    let values = graph.forward(latents, data, &fft).map_err(|e| e.message)?;
    values
        .into_iter()
        .nth(node.0)
        .ok_or_else(|| "internal error: node not evaluated".to_string())
}

/// A number in at most 4 significant digits (scientific outside 1e-3..1e5).
pub fn num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        return x.to_string();
    }
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i64).clamp(0, 10) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn complex(re: f64, im: f64) -> String {
    if im == 0.0 {
        num(re)
    } else if re == 0.0 {
        format!("{}i", num(im))
    } else if im < 0.0 {
        format!("{}-{}i", num(re), num(-im))
    } else {
        format!("{}+{}i", num(re), num(im))
    }
}

/// `= 0.2`, `= [1, 2, 3]` (≤ 8 elements) or `min … mean … max …` (|z| for complex values).
pub fn describe(v: &Value) -> String {
    let items: Vec<String> = match v {
        Value::Real(a) => a.iter().map(|x| num(*x)).collect(),
        Value::Complex(a) => a.iter().map(|z| complex(z.re, z.im)).collect(),
    };
    if items.len() <= 8 {
        return format!("= {}", nested(&items, v.shape()));
    }
    let mags: Vec<f64> = match v {
        Value::Real(a) => a.iter().copied().collect(),
        Value::Complex(a) => a.iter().map(|z| z.norm()).collect(),
    };
    let finite: Vec<f64> = mags.iter().copied().filter(|x| x.is_finite()).collect();
    let bad = mags.len() - finite.len();
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let what = if v.is_complex() { "|z| " } else { "" };
    let mut s = if finite.is_empty() {
        format!("{what}no finite values")
    } else {
        format!("{what}min {}  mean {}  max {}", num(min), num(mean), num(max))
    };
    if bad > 0 {
        s.push_str(&format!("  ({bad} not finite)"));
    }
    s
}

/// Row-major items as nested brackets of `shape` (a scalar bare).
fn nested(items: &[String], shape: &[usize]) -> String {
    match shape.split_first() {
        None => items.first().cloned().unwrap_or_default(),
        Some((&n, rest)) => {
            let step = rest.iter().product::<usize>().max(1);
            let parts: Vec<String> = (0..n)
                .map(|i| nested(items.get(i * step..(i + 1) * step).unwrap_or(&[]), rest))
                .collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

impl Session {
    /// Evaluate (or, with `type_only`, only type) an expression against the current model.
    pub(super) fn expression(&self, text: &str, type_only: bool) -> Output {
        let s = self;
        let mut out = Output::default();
        let mut sources = SourceMap::new();
        let id = sources.add(model::INPUT, None, text);
        let expr = match parse_expr(id, text) {
            Ok(e) => e,
            Err(diags) if diags.is_empty() => {
                out.error("expected one expression");
                return out;
            }
            Err(diags) => {
                out.failed = true;
                out.err = s.render(&diags, &sources);
                return out;
            }
        };
        let typed = Typed {
            text,
            pieces: Vec::new(),
        };
        let (checked, node) = match model::check(&s.entries, s.dir.as_deref(), &typed, Some(&expr)) {
            Ok((c, Some(n))) => (c, n),
            Ok((_, None)) => {
                out.error("the expression could not be checked");
                return out;
            }
            Err(failed) => {
                out.failed = true;
                out.err = s.render(&failed.diags, &failed.sources);
                return out;
            }
        };
        let graph = &checked.model.graph;
        let ty = graph
            .node(node)
            .map(|n| n.ty.clone())
            .unwrap_or_else(|| Ty::real(vec![]));
        if type_only {
            out.line(ty.to_string());
            return out;
        }
        let (latents, data) = inputs_of(graph, node);
        let values = s.data_values();
        let unbound: Vec<&str> = data
            .iter()
            .filter(|j| values.get(**j).is_none_or(Option::is_none))
            .filter_map(|j| checked.model.data.get(*j).map(|d| d.name.as_str()))
            .collect();
        if let Some(name) = unbound.first() {
            out.line(format!(
                "{ty}   (depends on data `{name}`, not bound yet: :data {name}=PATH)"
            ));
            return out;
        }
        let data_values: Vec<Value> = values
            .into_iter()
            .zip(&checked.model.data)
            .map(|(v, d)| v.unwrap_or_else(|| Value::zeros(&d.ty)))
            .collect();
        let mut at_mean = false;
        let mut latent_values = Vec::new();
        if let Some(&first) = latents.first() {
            let name = checked.model.latents.get(first).map_or("?", |l| l.name.as_str());
            let means = s.last.as_ref().map(|r| r.means.as_slice()).unwrap_or(&[]);
            for l in &checked.model.latents {
                match means.iter().find(|(n, v)| *n == l.name && v.ty() == l.ty) {
                    Some((_, v)) => latent_values.push(v.clone()),
                    None if latents
                        .iter()
                        .any(|j| checked.model.latents.get(*j).is_some_and(|x| x.name == l.name)) =>
                    {
                        out.line(format!(
                            "{ty}   (depends on the latent `{name}`; :sample first, or use :type)"
                        ));
                        return out;
                    }
                    None => latent_values.push(Value::zeros(&l.ty)),
                }
            }
            at_mean = true;
        }
        match eval_at(graph, node, &latent_values, &data_values) {
            Ok(v) => {
                let note = if at_mean {
                    "   (at the posterior mean of the last run)"
                } else {
                    ""
                };
                let desc = describe(&v);
                let gap = if desc.starts_with('=') { " " } else { "  " };
                out.line(format!("{ty}{gap}{desc}{note}"));
            }
            Err(m) => out.error(format!("cannot evaluate: {m}")),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(0.2), "0.2");
        assert_eq!(num(123.456), "123.5");
        assert_eq!(num(0.00123), "0.00123");
        assert_eq!(num(1e-7), "1.000e-7");
        assert_eq!(num(-3.0), "-3");
    }

    #[test]
    fn small_values_in_full_large_ones_summarised() {
        let m = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap_or_default();
        assert_eq!(describe(&Value::Real(m)), "= [[1, 2], [3, 4]]");
        assert_eq!(describe(&Value::scalar(0.5)), "= 0.5");
        let big = ArrayD::from_shape_vec(IxDyn(&[10]), (0..10).map(f64::from).collect()).unwrap_or_default();
        assert_eq!(describe(&Value::Real(big)), "min 0  mean 4.5  max 9");
    }

    #[test]
    fn expression_spans_point_into_the_typed_text() {
        let e = parse_expr(FileId(0), "a + b").unwrap_or_else(|_| panic!("parses"));
        assert_eq!((e.span.start, e.span.end), (0, 5));
        let err = parse_expr(FileId(0), "a +").err().unwrap_or_default();
        assert!(err.iter().all(|d| d.span.end <= 3), "{err:?}");
    }
}
