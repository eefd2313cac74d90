//! Text dump of an operator graph, one node per line with its source location (`--dump graph`).

use super::eval::{Graph, NodeKind};
use super::value::Value;
use crate::source::SourceMap;
use std::fmt::Write as _;

/// One line per node, e.g. `%7 : complex[64, 64] = fft(%6)   # model.uq:5:12`, the location
/// comments aligned in one column.
pub fn dump(graph: &Graph, sources: &SourceMap, latent_names: &[String], data_names: &[String]) -> String {
    let lefts: Vec<String> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let rhs = match &node.kind {
                NodeKind::Latent(j) => format!("latent {}", name_or(latent_names, *j)),
                NodeKind::Data(j) => format!("data {}", name_or(data_names, *j)),
                NodeKind::Const(v) => format!("const {}", const_text(v)),
                NodeKind::Op(op, ids) => {
                    let args: Vec<String> = ids.iter().map(|id| format!("%{}", id.0)).collect();
                    format!("{op}({})", args.join(", "))
                }
            };
            format!("%{i} : {} = {rhs}", node.ty)
        })
        .collect();
    let width = lefts.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (left, node) in lefts.iter().zip(&graph.nodes) {
        let (line, col) = sources.line_col(node.span.file, node.span.start);
        let pad = width - left.chars().count();
        let _ = writeln!(
            out,
            "{left}{:pad$}   # {}:{line}:{col}",
            "",
            sources.name(node.span.file)
        );
    }
    out
}

fn name_or(names: &[String], j: usize) -> String {
    names.get(j).cloned().unwrap_or_else(|| format!("#{j}"))
}

/// Scalars and tiny tensors in full, larger tensors by their element count.
fn const_text(v: &Value) -> String {
    let items: Vec<String> = match v {
        Value::Real(a) => a.iter().take(5).map(|x| x.to_string()).collect(),
        Value::Complex(a) => a.iter().take(5).map(|z| z.to_string()).collect(),
    };
    let n: usize = v.shape().iter().product();
    match (v.shape().is_empty(), n) {
        (true, _) => items.join(""),
        (false, 0..=4) => format!("[{}]", items.join(", ")),
        _ => format!("<{n} values>"),
    }
}
