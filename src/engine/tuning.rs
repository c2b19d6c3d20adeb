//! Speed and memory knobs, kept off the first page of the API: the
//! shared-list dot gates a network builds its neurons with, and the node
//! cache's capacity. A student never needs them; `nn` uses the first two,
//! and a long-running program may want the others.

use std::rc::Rc;

use super::nary::same_length;
use super::node::Many;
use super::value::Value;
use crate::EngineError;

pub use super::cache::{
    DEFAULT_NODE_CACHE_CAPACITY, clear_node_cache, node_cache_len, set_node_cache_capacity,
};

/// [`Value::dot`] over lists that are shared rather than copied: the same
/// node, value and gradients.
///
/// A hidden layer meets each sample with every neuron's weights, and all
/// its neurons see the same inputs. With `dot`, each neuron's node copies
/// both lists and touches every operand's reference count, per sample.
/// Here a neuron keeps its weights in one `Rc<[Value]>`, the layer puts its
/// inputs in one `Rc<[Value]>`, and each node holds the two pointers.
/// Backward gathers the shares of a list of leaves in one buffer per pass.
///
/// ```
/// use std::rc::Rc;
/// use chainrule::Value;
/// use chainrule::engine::tuning;
///
/// let ws: Rc<[Value]> = Rc::from([Value::new(2.0), Value::new(-3.0)]);
/// let xs: Rc<[Value]> = Rc::from([Value::new(-1.0), Value::new(-2.0)]);
/// let z = tuning::dot_shared(&ws, &xs).unwrap();
/// z.backward();
/// assert_eq!(z.data(), 4.0);
/// assert_eq!((ws[0].grad(), xs[1].grad()), (-1.0, -3.0)); // the mul gate swaps
/// ```
///
/// # Errors
///
/// [`EngineError::LengthMismatch`] if the lengths differ.
pub fn dot_shared(ws: &Rc<[Value]>, xs: &Rc<[Value]>) -> Result<Value, EngineError> {
    same_length(ws.len(), xs.len())?;
    Ok(Value::dot_node(
        Many::Shared(Rc::clone(ws)),
        Many::Shared(Rc::clone(xs)),
    ))
}

/// [`Value::dot_const`] over lists that are shared rather than copied: the
/// same node, value and gradients.
///
/// A network meets each sample with every neuron's weights: with
/// `dot_const` each neuron's node copies its weight list (and touches every
/// weight's reference count) and its input list, per sample. Here a neuron
/// keeps its weights in one `Rc<[Value]>` and a layer its input in one
/// `Rc<[f64]>`, and each node holds the two pointers. Backward also
/// accumulates, for each shared weight list whose operands are all leaves,
/// `Σ upstream × c` over all its nodes in one contiguous buffer, and adds it
/// to the weights once per pass rather than once per node (the sum is the
/// same up to rounding order).
///
/// ```
/// use std::rc::Rc;
/// use chainrule::Value;
/// use chainrule::engine::tuning;
///
/// let ws: Rc<[Value]> = Rc::from([Value::new(2.0), Value::new(-3.0)]);
/// let a = tuning::dot_const_shared(&ws, &Rc::from([-1.0, -2.0])).unwrap();
/// let b = tuning::dot_const_shared(&ws, &Rc::from([1.0, 0.5])).unwrap();
/// assert_eq!((a.data(), b.data()), (4.0, 0.5));
/// (&a + &b).backward();
/// assert_eq!((ws[0].grad(), ws[1].grad()), (-1.0 + 1.0, -2.0 + 0.5));
/// ```
///
/// # Errors
///
/// [`EngineError::LengthMismatch`] if the lengths differ.
pub fn dot_const_shared(ws: &Rc<[Value]>, xs: &Rc<[f64]>) -> Result<Value, EngineError> {
    same_length(ws.len(), xs.len())?;
    Ok(Value::dot_const_node(
        Many::Shared(Rc::clone(ws)),
        Rc::clone(xs),
    ))
}
