//! Finishing: drop graph nodes nothing uses, renumber, and assemble the [`Model`].

use super::errors::NameKind;
use super::lower::{Ctx, Locals};
use super::model::{Model, PriorSpec};
use crate::graph::{Graph, NodeId, NodeKind};
use crate::syntax::ast::{Expr, ExprKind};

impl Ctx<'_> {
    /// True when some `prior` statement exists (even one that failed to check).
    pub(super) fn poisoned_latent(&self) -> bool {
        self.decls.values().any(|d| d.kind == NameKind::Latent)
    }

    /// Report unknown names in every function body, called or not.
    pub(super) fn check_fn_names(&mut self) {
        let mut fns: Vec<_> = self.fns.values().cloned().collect();
        fns.sort_by_key(|f| (f.name.span.file, f.name.span.start));
        for f in fns {
            let params: Locals = f
                .params
                .iter()
                .map(|p| (p.name.clone(), NodeId(usize::MAX)))
                .collect();
            self.names_in(&f.body, &params);
        }
    }

    fn names_in(&mut self, e: &Expr, params: &Locals) {
        match &e.kind {
            ExprKind::Var(n) => {
                if !params.contains_key(n) && !self.decls.contains_key(n) && !self.poisoned.contains(n) {
                    // Reports the unknown name (with suggestions) exactly as a use would.
                    let _ = self.expr(e, params);
                }
            }
            ExprKind::Call { callee, args } => {
                let n = &callee.name;
                let known = params.contains_key(n)
                    || self.decls.contains_key(n)
                    || self.poisoned.contains(n)
                    || super::calls::is_reserved(n);
                if !known {
                    let _ = self.expr(e, params);
                }
                args.iter().for_each(|a| self.names_in(a, params));
            }
            ExprKind::List(items) => items.iter().for_each(|a| self.names_in(a, params)),
            ExprKind::Unary { operand, .. } => self.names_in(operand, params),
            ExprKind::Named { value, .. } => self.names_in(value, params),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.names_in(lhs, params);
                self.names_in(rhs, params);
            }
            ExprKind::Num(_) | ExprKind::Str(_) | ExprKind::Error => {}
        }
    }
}

/// Keep the nodes reachable from latents, data, prior parameters, likelihoods and `keep` (the REPL's
/// probe expression), returning `keep` renumbered.
pub(super) fn finish(ctx: Ctx<'_>, name: &str, keep: Option<NodeId>) -> (Model, Option<NodeId>) {
    let n = ctx.graph.nodes.len();
    let mut live = vec![false; n];
    let mut mark = |id: NodeId| {
        if let Some(l) = live.get_mut(id.0) {
            *l = true;
        }
    };
    for (i, node) in ctx.graph.nodes.iter().enumerate() {
        if matches!(node.kind, NodeKind::Latent(_) | NodeKind::Data(_)) {
            mark(NodeId(i));
        }
    }
    for l in &ctx.latents {
        if let PriorSpec::Dist(call) = &l.prior {
            call.params.iter().copied().for_each(&mut mark);
        }
    }
    for o in &ctx.observations {
        o.likelihood.params.iter().copied().for_each(&mut mark);
        o.observed.into_iter().for_each(&mut mark);
    }
    ctx.outputs.iter().for_each(|d| mark(d.node));
    keep.into_iter().for_each(&mut mark);
    // Inputs precede their nodes, so one backward sweep propagates liveness.
    for i in (0..n).rev() {
        if live[i] {
            if let Some(NodeKind::Op(_, inputs)) = ctx.graph.nodes.get(i).map(|x| &x.kind) {
                for j in inputs {
                    if let Some(l) = live.get_mut(j.0) {
                        *l = true;
                    }
                }
            }
        }
    }
    let mut remap = vec![NodeId(0); n];
    let mut graph = Graph::default();
    for (i, mut node) in ctx.graph.nodes.into_iter().enumerate() {
        if !live[i] {
            continue;
        }
        if let NodeKind::Op(_, inputs) = &mut node.kind {
            inputs
                .iter_mut()
                .for_each(|j| *j = remap.get(j.0).copied().unwrap_or(*j));
        }
        remap[i] = NodeId(graph.nodes.len());
        graph.nodes.push(node);
    }
    let r = |id: NodeId| remap.get(id.0).copied().unwrap_or(id);
    let mut latents = ctx.latents;
    for l in &mut latents {
        l.node = r(l.node);
        if let PriorSpec::Dist(call) = &l.prior {
            l.prior = PriorSpec::Dist(call.map_nodes(r));
        }
    }
    let mut observations = ctx.observations;
    for o in &mut observations {
        o.likelihood = o.likelihood.map_nodes(r);
        o.observed = o.observed.map(r);
    }
    let mut outputs = ctx.outputs;
    for d in &mut outputs {
        d.node = r(d.node);
    }
    let model = Model {
        name: name.to_string(),
        graph,
        latents,
        data: ctx.data,
        observations,
        outputs,
        infer: ctx.infer.map(|(spec, _)| spec),
        warnings: Vec::new(),
    };
    (model, keep.map(r))
}
