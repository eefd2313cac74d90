//! `uq check --dump ast`: the AST as a readable indented tree with byte spans.

use super::ast::{ElemType, Expr, ExprKind, Program, Stmt, StmtKind, TypeExpr};
use crate::source::Span;
use std::fmt::Write as _;

/// One line per node, children indented by two spaces, each line ending in its byte range `@start..end`.
pub fn dump(program: &Program) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Program");
    for stmt in &program.stmts {
        stmt_lines(&mut out, stmt, 1);
    }
    out
}

fn line(out: &mut String, depth: usize, text: &str, span: Span) {
    let _ = writeln!(
        out,
        "{:indent$}{text} @{}..{}",
        "",
        span.start,
        span.end,
        indent = depth * 2
    );
}

fn type_text(ty: &TypeExpr) -> String {
    let elem = match ty.elem {
        ElemType::Real => "real",
        ElemType::Complex => "complex",
    };
    if ty.dims.is_empty() {
        elem.to_string()
    } else {
        let dims: Vec<String> = ty.dims.iter().map(|(d, _)| d.to_string()).collect();
        format!("{elem}[{}]", dims.join(", "))
    }
}

fn stmt_lines(out: &mut String, stmt: &Stmt, depth: usize) {
    match &stmt.kind {
        StmtKind::Import { module } => line(out, depth, &format!("Import {}", module.name), stmt.span),
        StmtKind::Output { names } => {
            let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
            line(out, depth, &format!("Output {}", names.join(", ")), stmt.span)
        }
        StmtKind::Data { name, ty, default } => {
            let default = default
                .as_ref()
                .map_or(String::new(), |d| format!(" = {:?}", d.value));
            line(
                out,
                depth,
                &format!("Data {} : {}{default}", name.name, type_text(ty)),
                stmt.span,
            );
        }
        StmtKind::Let { name, value } => {
            line(out, depth, &format!("Let {}", name.name), stmt.span);
            expr_lines(out, value, depth + 1);
        }
        StmtKind::Fn { name, params, body } => {
            let params: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            line(
                out,
                depth,
                &format!("Fn {}({})", name.name, params.join(", ")),
                stmt.span,
            );
            expr_lines(out, body, depth + 1);
        }
        StmtKind::Prior { name, ty, dist } => {
            let ty = ty
                .as_ref()
                .map_or(String::new(), |t| format!(" : {}", type_text(t)));
            line(out, depth, &format!("Prior {}{ty}", name.name), stmt.span);
            expr_lines(out, dist, depth + 1);
        }
        StmtKind::Observe { name, dist } => {
            line(out, depth, &format!("Observe {}", name.name), stmt.span);
            expr_lines(out, dist, depth + 1);
        }
        StmtKind::Infer { sampler, args } => {
            line(out, depth, &format!("Infer {}", sampler.name), stmt.span);
            for arg in args {
                line(
                    out,
                    depth + 1,
                    &format!("Arg {}", arg.key.name),
                    arg.key.span.join(arg.value.span),
                );
                expr_lines(out, &arg.value, depth + 2);
            }
        }
        StmtKind::Error => line(out, depth, "ErrorStmt", stmt.span),
    }
}

fn expr_lines(out: &mut String, expr: &Expr, depth: usize) {
    match &expr.kind {
        ExprKind::Num(x) => line(out, depth, &format!("Num {x}"), expr.span),
        ExprKind::Str(s) => line(out, depth, &format!("Str {s:?}"), expr.span),
        ExprKind::Var(v) => line(out, depth, &format!("Var {v}"), expr.span),
        ExprKind::Call { callee, args } => {
            line(out, depth, &format!("Call {}", callee.name), expr.span);
            for arg in args {
                expr_lines(out, arg, depth + 1);
            }
        }
        ExprKind::List(items) => {
            line(out, depth, "List", expr.span);
            for item in items {
                expr_lines(out, item, depth + 1);
            }
        }
        ExprKind::Named { name, value } => {
            line(out, depth, &format!("Named {}", name.name), expr.span);
            expr_lines(out, value, depth + 1);
        }
        ExprKind::Unary { op: _, operand } => {
            line(out, depth, "Neg", expr.span);
            expr_lines(out, operand, depth + 1);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            line(out, depth, &format!("Binary {}", op.symbol()), expr.span);
            expr_lines(out, lhs, depth + 1);
            expr_lines(out, rhs, depth + 1);
        }
        ExprKind::Error => line(out, depth, "ErrorExpr", expr.span),
    }
}
