//! The graph container: nodes in topological order, forward pass and reverse-mode gradients.

use super::ops::Op;
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
