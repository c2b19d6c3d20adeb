//! The engine: [`Value`], the gates ([`Op`]), backpropagation, gradients
//! as values ([`grad()`]), gradient checking and the anomaly search.
//!
//! The engine knows nothing of the layers above it (graph pictures, networks,
//! data). Each file has one job; read them in this order:
//!
//! - `op.rs`: the calculus: every gate's forward rule and local gradient,
//!   once, generic over a number type (`f64` or `Value`);
//! - `value.rs`: the `Value` handle, leaves, the one place gates are built
//!   (and `no_grad` honoured), the accessors;
//! - `arith.rs`: the operators and the operations composed of gates;
//! - `nary.rs`: the n-ary gates `sum`, `dot`, `dot_const`;
//! - `backward.rs`: the iterative graph walk, backprop and `find_anomaly`;
//! - `grad.rs`: gradients as values, by the same rules;
//! - `tape.rs`: a graph recorded once and replayed, by the same rules;
//! - `check.rs`: numerical gradients and `gradcheck`;
//! - `node.rs`: the 48-byte node and its rarely needed parts;
//! - `frontier.rs`: the walks' and the drop's to-do list, latest-made node
//!   first;
//! - `cache.rs`: the node cache, memory given back, the iterative drop;
//! - `tuning.rs`: the speed and memory knobs ([`tuning`]).

pub(crate) mod arith;
pub(crate) mod backward;
mod cache;
mod frontier;
mod grad;
mod nary;
mod node;
pub(crate) mod op;
mod tape;
pub mod tuning;
mod value;

pub use backward::{Anomaly, AnomalyKind};
pub use grad::grad;
pub use op::Op;
pub use tape::Tape;
pub use value::{Value, no_grad};

use thiserror::Error;

/// What went wrong building a node from bad operands.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// [`Value::dot`] (or another dot gate) got weights and inputs of
    /// different lengths.
    #[error(
        "dot product of {weights} weights with {inputs} inputs; pass slices of equal length (one weight per input)"
    )]
    LengthMismatch {
        /// Number of weights.
        weights: usize,
        /// Number of inputs.
        inputs: usize,
    },
    /// [`Tape::record`] met a graph of more nodes than a tape's 32-bit
    /// slots can number.
    #[error(
        "a graph of {nodes} nodes is too large for a tape (at most 4294967294); record smaller pieces, such as one batch"
    )]
    TapeTooLarge {
        /// The graph's nodes.
        nodes: usize,
    },
    /// A value asked of a [`Tape`] is not one of its nodes.
    #[error(
        "this value is not on the tape: it was made after recording, or belongs to another graph; record the tape again from an output that depends on it"
    )]
    NotOnTape,
}
