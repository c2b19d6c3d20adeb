//! The engine: [`Value`], the gates ([`Op`]), backpropagation, gradient
//! checking and the anomaly search.
//!
//! The engine knows nothing of the layers above it (graph pictures, networks,
//! data). Each file has one job:
//!
//! - `op.rs`: the gate table, each gate's forward and local gradient rule
//!   side by side;
//! - `value.rs`: the `Value` handle, the node layout, constructors,
//!   accessors and the iterative drop;
//! - `arith.rs`: operators and the derived operations composed of gates;
//! - `frontier.rs`: the walks' and the drop's to-do list, latest-made node
//!   first;
//! - `backward.rs`: the iterative graph walk, backprop and `find_anomaly`;
//! - `grad.rs`: gradients as values (`grad`), by the same rules;
//! - `check.rs`: numerical gradients and `gradcheck`.

mod arith;
pub(crate) mod backward;
pub mod check;
mod frontier;
mod grad;
pub(crate) mod op;
mod value;

pub use backward::{Anomaly, AnomalyKind};
pub use grad::grad;
pub use op::Op;
pub use value::{
    DEFAULT_NODE_CACHE_CAPACITY, Value, clear_node_cache, no_grad, node_cache_len,
    set_node_cache_capacity,
};

use thiserror::Error;

/// What went wrong building a node from bad operands.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// [`Value::try_dot`] got weights and inputs of different lengths.
    #[error(
        "dot product of {weights} weights with {inputs} inputs; pass slices of equal length (one weight per input)"
    )]
    LengthMismatch {
        /// Number of weights.
        weights: usize,
        /// Number of inputs.
        inputs: usize,
    },
}
