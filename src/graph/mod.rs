//! The typed operator graph: a DAG lowered from a checked model, with forward evaluation and VJPs.

mod eval;
mod fft;
mod ops;
mod value;

pub use eval::{Graph, Node, NodeId, NodeKind};
pub use fft::FftCache;
pub use ops::{Op, OpError};
pub use value::{Ty, Value};
