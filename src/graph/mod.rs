//! The typed operator graph: a DAG lowered from a checked model, with forward evaluation and VJPs.
//!
//! Complex gradients follow `∂L/∂re + i ∂L/∂im` for a real loss `L` (see [`Op::vjp`]).

mod dump;
mod eval;
mod fft;
mod filter;
#[cfg(test)]
mod filter_tests;
mod nufft;
mod ops;
mod plan;
mod value;

pub use dump::dump;
pub use eval::{Graph, GraphError, Node, NodeId, NodeKind};
pub use fft::FftCache;
pub use filter::Fusion;
pub use ops::{Arg, Domain, Inputs, Op, OpDef, OpError, Syntax, MAX_PARAMS, NOT_GIVEN, OPS};
pub use plan::{NodeValues, Plan, Values};
pub use value::{broadcast_shapes, Ty, Value};
