//! `docs/ops.md`, generated from the op registry and the constant functions (a test keeps the
//! file equal to [`ops_markdown`]).

use super::calls::builtins;
use crate::graph::{OpDef, Syntax, OPS};
use std::fmt::Write as _;

/// The page listing every built-in operator and function with its signatures.
pub fn ops_markdown() -> String {
    let mut md = String::from(
        "# uq built-in operators and functions\n\n\
         <!-- Generated from the op registry (`src/graph/ops/`) and the checker's constant functions\n\
         (`src/check/constants.rs`) by `uq::check::ops_markdown`; `tests/builtins_registry.rs` checks it.\n\
         Regenerate with `UQ_UPDATE_DOCS=1 cargo test --test builtins_registry`. -->\n\n\
         In signatures `T` is `real` or `complex`, `[...]` any shape and `[..., h, w]` a shape of at\n\
         least two dimensions whose last two are the image plane. Every op has a forward map and a\n\
         vector-Jacobian product (complex gradients are `∂L/∂re + i ∂L/∂im`); \"linear\" means linear\n\
         over ℝ in all tensor arguments jointly, a k-space trajectory `traj` (constant data, no gradient)\n\
         held fixed. Static arguments (factors, sizes) must be constants.\n\n\
         ## Operators\n\n\
         | operator | graph op | linear | signatures | what it does |\n\
         |---|---|---|---|---|\n",
    );
    for d in OPS.iter().filter(|d| !d.is_callable()) {
        let written = match d.syntax {
            Syntax::Infix(s) => format!("a {s} b"),
            Syntax::Prefix(s) => format!("{s}a"),
            Syntax::Call => d.name.to_string(),
        };
        let _ = writeln!(
            md,
            "| `{written}` | `{}` | {} | {} | {} |",
            d.name,
            yes_no(d),
            code_lines(d.signatures),
            d.doc
        );
    }
    md.push_str(
        "\n## Functions\n\n\
         | function | linear | signatures | what it does |\n\
         |---|---|---|---|\n",
    );
    for b in builtins() {
        let linear = b.op().map_or("constant", yes_no);
        let _ = writeln!(
            md,
            "| `{}` | {linear} | {} | {} |",
            b.name(),
            code_lines(b.signatures()),
            b.doc()
        );
    }
    md
}

fn yes_no(d: &OpDef) -> &'static str {
    if d.linear {
        "yes"
    } else {
        "no"
    }
}

/// Each line as code, separated by line breaks inside one table cell.
fn code_lines(lines: &[&str]) -> String {
    let cells: Vec<String> = lines.iter().map(|s| format!("`{s}`")).collect();
    cells.join("<br>")
}
