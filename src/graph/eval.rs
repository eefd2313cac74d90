//! The graph container: nodes in topological order, forward pass and reverse-mode gradients.

use super::fft::FftCache;
use super::filter::Fusion;
use super::ops::{Op, OpError};
use super::plan::{has_type, NodeValues, Plan};
use super::value::{Ty, Value};
use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// The i-th latent variable (sampled).
    Latent(usize),
    /// The i-th data tensor (bound at run time).
    Data(usize),
    /// A constant folded at lowering (literals, `gaussian_kernel`, `load`).
    Const(Value),
    Op(Op, Vec<NodeId>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub ty: Ty,
    /// The source expression this node came from.
    pub span: Span,
}

/// Nodes in topological order: every input index is smaller than its node's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

/// A failure while evaluating or differentiating the graph, located at the node that failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct GraphError {
    pub node: NodeId,
    /// The source expression of the failing node.
    pub span: Span,
    pub message: String,
    /// True when an op met a value outside its domain (`log` of a non-positive number, …): a
    /// property of the current point, not a bug in the model or its inputs.
    pub domain: bool,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a node; its arguments must already be in the graph (checked at evaluation).
    pub fn push(&mut self, kind: NodeKind, ty: Ty, span: Span) -> NodeId {
        self.nodes.push(Node { kind, ty, span });
        NodeId(self.nodes.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// One more than the largest latent index used by a `Latent` node (0 if none).
    pub fn num_latents(&self) -> usize {
        self.nodes
            .iter()
            .filter_map(|n| match n.kind {
                NodeKind::Latent(i) => Some(i + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    pub(super) fn error(&self, id: usize, message: impl Into<String>) -> GraphError {
        GraphError {
            node: NodeId(id),
            span: self.nodes.get(id).map(|n| n.span).unwrap_or_default(),
            message: message.into(),
            domain: false,
        }
    }

    fn op_error(&self, id: usize, e: OpError) -> GraphError {
        let domain = matches!(e, OpError::Domain(_));
        GraphError {
            domain,
            ..self.error(id, e.to_string())
        }
    }

    /// Evaluate node `i`, reading earlier values through `get`. `trusted`: the op's type was checked
    /// against its node's by [`Graph::plan`], so the op skips type inference.
    pub(super) fn eval_node<'a>(
        &self,
        i: usize,
        get: impl Fn(usize) -> Option<&'a Value>,
        latents: &[Value],
        data: &[Value],
        fft: &FftCache,
        trusted: bool,
    ) -> Result<Value, GraphError> {
        let node = self.nodes.get(i).ok_or_else(|| self.error(i, "no such node"))?;
        let (v, what) = match &node.kind {
            NodeKind::Latent(j) => {
                let v = latents
                    .get(*j)
                    .ok_or_else(|| self.error(i, format!("latent #{j} is not bound")))?;
                (v.clone(), "latent")
            }
            NodeKind::Data(j) => {
                let v = data
                    .get(*j)
                    .ok_or_else(|| self.error(i, format!("data #{j} is not bound")))?;
                (v.clone(), "data tensor")
            }
            NodeKind::Const(v) => (v.clone(), "constant"),
            NodeKind::Op(op, ids) => {
                let args = ids
                    .iter()
                    .map(|id| if id.0 < i { get(id.0) } else { None })
                    .collect::<Option<Vec<&Value>>>()
                    .ok_or_else(|| {
                        self.error(i, format!("`{}` refers to a missing or later node", op.name()))
                    })?;
                let out = if trusted {
                    op.forward_trusted(&args, fft)
                } else {
                    op.forward(&args, fft)
                };
                (out.map_err(|e| self.op_error(i, e))?, "result")
            }
        };
        if !has_type(&v, &node.ty) {
            return Err(self.error(
                i,
                format!("the {what} has type {}, but {} was expected", v.ty(), node.ty),
            ));
        }
        Ok(v)
    }

    /// Values of all nodes, in node order.
    pub fn forward(
        &self,
        latents: &[Value],
        data: &[Value],
        fft: &FftCache,
    ) -> Result<Vec<Value>, GraphError> {
        let mut values: Vec<Value> = Vec::with_capacity(self.nodes.len());
        for i in 0..self.nodes.len() {
            let v = self.eval_node(i, |j| values.get(j), latents, data, fft, false)?;
            values.push(v);
        }
        Ok(values)
    }

    /// Mask of `node` and every node it depends on.
    fn ancestor_mask(&self, node: NodeId) -> Vec<bool> {
        let mut mask = vec![false; self.nodes.len()];
        if let Some(m) = mask.get_mut(node.0) {
            *m = true;
        }
        for i in (0..mask.len()).rev() {
            if !mask[i] {
                continue;
            }
            if let Some(Node {
                kind: NodeKind::Op(_, ids),
                ..
            }) = self.nodes.get(i)
            {
                for id in ids.iter().filter(|id| id.0 < i) {
                    mask[id.0] = true;
                }
            }
        }
        mask
    }

    /// `node` and every node it depends on, in topological order (empty for an unknown node).
    pub fn ancestors(&self, node: NodeId) -> Vec<NodeId> {
        let mask = self.ancestor_mask(node);
        mask.iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| NodeId(i))
            .collect()
    }

    /// Whether `node`'s value depends on any latent variable.
    pub fn depends_on_latent(&self, node: NodeId) -> bool {
        let mask = self.ancestor_mask(node);
        self.nodes
            .iter()
            .zip(&mask)
            .any(|(n, &m)| m && matches!(n.kind, NodeKind::Latent(_)))
    }

    /// Per node: whether it depends on a latent (forward propagation in one pass).
    pub(super) fn latent_mask(&self) -> Vec<bool> {
        let mut mask: Vec<bool> = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let m = match &n.kind {
                NodeKind::Latent(_) => true,
                NodeKind::Op(_, ids) => ids
                    .iter()
                    .any(|id| id.0 < i && mask.get(id.0).copied().unwrap_or(false)),
                _ => false,
            };
            mask.push(m);
        }
        mask
    }

    /// Evaluate a latent-free subgraph (prior parameters, data transforms) given the data alone.
    pub fn eval_const(&self, node: NodeId, data: &[Value], fft: &FftCache) -> Result<Value, GraphError> {
        if node.0 >= self.nodes.len() {
            return Err(self.error(node.0, format!("no node %{}", node.0)));
        }
        let mask = self.ancestor_mask(node);
        let mut values: Vec<Option<Value>> = vec![None; node.0 + 1];
        for i in 0..=node.0 {
            if !mask.get(i).copied().unwrap_or(false) {
                continue;
            }
            if let Some(Node {
                kind: NodeKind::Latent(j),
                ..
            }) = self.nodes.get(i)
            {
                return Err(self.error(i, format!("depends on latent #{j}, so it is not a constant")));
            }
            let v = self.eval_node(
                i,
                |j| values.get(j).and_then(Option::as_ref),
                &[],
                data,
                fft,
                false,
            )?;
            values[i] = Some(v);
        }
        values
            .pop()
            .flatten()
            .ok_or_else(|| self.error(node.0, "internal error: constant not evaluated"))
    }

    /// Reverse-mode sweep: given all node `values` (from [`Graph::forward`]) and cotangent seeds
    /// (`∂L/∂node`, each of its node's type, summed when a node is seeded twice), the cotangent of
    /// every latent `0..num_latents()`, zeros for latents the seeds do not depend on. Fan-out
    /// accumulates; nodes that do not depend on a latent are skipped.
    pub fn backward(
        &self,
        values: &(impl NodeValues + ?Sized),
        seeds: &[(NodeId, Value)],
        fft: &FftCache,
    ) -> Result<Vec<Value>, GraphError> {
        self.backward_with(values, seeds, fft, &self.latent_mask(), false, None)
    }

    /// [`Graph::backward`] with the plan's latent mask and its checked op types (no type
    /// inference per op). `plan` must come from this graph.
    pub fn backward_planned(
        &self,
        plan: &Plan,
        values: &(impl NodeValues + ?Sized),
        seeds: &[(NodeId, Value)],
        fft: &FftCache,
    ) -> Result<Vec<Value>, GraphError> {
        if plan.live().len() != self.nodes.len() {
            return Err(self.error(0, "internal error: the plan was made for another graph"));
        }
        self.backward_with(values, seeds, fft, plan.live(), true, None)
    }

    /// [`Graph::backward_planned`] over values from [`Graph::forward_fused`] with the same `fusion`.
    pub fn backward_fused(
        &self,
        plan: &Plan,
        fusion: &Fusion,
        values: &(impl NodeValues + ?Sized),
        seeds: &[(NodeId, Value)],
        fft: &FftCache,
    ) -> Result<Vec<Value>, GraphError> {
        if plan.live().len() != self.nodes.len() || fusion.skip.len() != self.nodes.len() {
            return Err(self.error(0, "internal error: the plan was made for another graph"));
        }
        self.backward_with(values, seeds, fft, plan.live(), true, Some(fusion))
    }

    fn backward_with(
        &self,
        values: &(impl NodeValues + ?Sized),
        seeds: &[(NodeId, Value)],
        fft: &FftCache,
        needs: &[bool],
        trusted: bool,
        fusion: Option<&Fusion>,
    ) -> Result<Vec<Value>, GraphError> {
        let n = self.nodes.len();
        if values.count() != n {
            return Err(self.error(
                values.count().min(n.saturating_sub(1)),
                format!("backward got {} values for {n} nodes", values.count()),
            ));
        }
        let mut cot: Vec<Option<Value>> = vec![None; n];
        for (id, seed) in seeds {
            let node = self
                .node(*id)
                .ok_or_else(|| self.error(id.0, format!("no node %{}", id.0)))?;
            if seed.ty() != node.ty {
                return Err(self.error(
                    id.0,
                    format!("seed of type {} for a node of type {}", seed.ty(), node.ty),
                ));
            }
            if needs[id.0] {
                accumulate(&mut cot[id.0], seed.clone()).map_err(|m| self.error(id.0, m))?;
            }
        }
        let mut grads: Vec<Option<Value>> = vec![None; self.num_latents()];
        for i in (0..n).rev() {
            let Some(g) = cot[i].take() else { continue };
            if let Some(filter) = fusion.and_then(|f| f.filters[i].as_ref()) {
                let Value::Real(g) = g else {
                    return Err(self.error(i, "internal error: complex cotangent of a real filter"));
                };
                if needs[filter.input.0] {
                    let c = Value::Real(filter.apply_array(&g, true, fft));
                    accumulate(&mut cot[filter.input.0], c).map_err(|m| self.error(i, m))?;
                }
                continue;
            }
            match &self.nodes[i].kind {
                NodeKind::Latent(j) => {
                    if let Some(slot) = grads.get_mut(*j) {
                        accumulate(slot, g).map_err(|m| self.error(i, m))?;
                    }
                }
                NodeKind::Op(op, ids) => {
                    let args = ids
                        .iter()
                        .map(|id| if id.0 < i { values.node_value(id.0) } else { None })
                        .collect::<Option<Vec<&Value>>>()
                        .ok_or_else(|| self.error(i, "refers to a missing or later node"))?;
                    let out = values
                        .node_value(i)
                        .ok_or_else(|| self.error(i, "the node has no value"))?;
                    let need: Vec<bool> = ids.iter().map(|id| needs[id.0]).collect();
                    let cots =
                        if trusted && has_type(out, &self.nodes[i].ty) && has_type(&g, &self.nodes[i].ty) {
                            op.vjp_trusted(&args, out, &g, fft, &need)
                        } else {
                            op.vjp_needed(&args, out, &g, fft, &need)
                        }
                        .map_err(|e| self.op_error(i, e))?;
                    for (id, c) in ids.iter().zip(cots) {
                        if let (true, Some(c)) = (needs[id.0], c) {
                            accumulate(&mut cot[id.0], c).map_err(|m| self.error(i, m))?;
                        }
                    }
                }
                NodeKind::Data(_) | NodeKind::Const(_) => {}
            }
        }
        Ok(grads
            .into_iter()
            .enumerate()
            .map(|(j, g)| g.unwrap_or_else(|| Value::zeros(&self.latent_ty(j))))
            .collect())
    }

    /// The type of latent `j` as recorded on its node (a real scalar if it has none).
    fn latent_ty(&self, j: usize) -> Ty {
        self.nodes
            .iter()
            .find(|n| n.kind == NodeKind::Latent(j))
            .map(|n| n.ty.clone())
            .unwrap_or_else(|| Ty::real(vec![]))
    }
}

/// `slot += v`, where `v` must have the slot's shape (a real `v` may add into a complex slot).
fn accumulate(slot: &mut Option<Value>, v: Value) -> Result<(), String> {
    let Some(acc) = slot else {
        *slot = Some(v);
        return Ok(());
    };
    if acc.shape() != v.shape() {
        return Err(format!(
            "cotangent of type {} added to one of type {}",
            v.ty(),
            acc.ty()
        ));
    }
    match (acc, &v) {
        (Value::Real(a), Value::Real(b)) => *a += b,
        (Value::Complex(a), Value::Complex(b)) => *a += b,
        (Value::Complex(a), Value::Real(b)) => a.zip_mut_with(b, |x, &y| *x += y),
        (acc, v) => {
            return Err(format!(
                "cotangent of type {} added to one of type {}",
                v.ty(),
                acc.ty()
            ))
        }
    }
    Ok(())
}
