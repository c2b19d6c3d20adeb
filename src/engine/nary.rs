//! The n-ary gates' constructors: [`Value::sum`], [`Value::dot`] and
//! [`Value::dot_const`], one node each for what would be a chain of binary
//! gates. The shared-list forms a network uses are in
//! [`tuning`](super::tuning).

use std::rc::Rc;

use super::node::{Many, Nary, NaryWants, is_gate};
use super::op::{self, Op};
use super::value::Value;
use crate::EngineError;

/// One weight per input, or [`EngineError::LengthMismatch`].
pub(crate) fn same_length(weights: usize, inputs: usize) -> Result<(), EngineError> {
    if weights == inputs {
        Ok(())
    } else {
        Err(EngineError::LengthMismatch { weights, inputs })
    }
}

/// What an n-ary node notes of one operand list while it reads it.
#[derive(Default)]
struct Reader {
    requires_grad: bool,
    gate_operands: bool,
}

impl Reader {
    /// Reads one operand's data, noting whether it wants a gradient and is
    /// a gate.
    #[inline]
    fn read(&mut self, value: &Value) -> f64 {
        let node = value.0.borrow();
        self.requires_grad |= node.requires_grad;
        self.gate_operands |= is_gate(node.requires_grad, node.op);
        node.data
    }
}

/// The wants of a node whose first list was read by `first` and whose
/// second (if any) by `second`.
fn wants(first: &Reader, second: &Reader) -> NaryWants {
    NaryWants {
        requires_grad: first.requires_grad || second.requires_grad,
        gate_operands: first.gate_operands || second.gate_operands,
        gate_many: first.gate_operands,
    }
}

impl Value {
    /// The fused n-ary add gate: `x1 + … + xn` as one node. The sum of no
    /// values is a node with value +0.
    ///
    /// Equal to chaining `+`, but one node instead of `n - 1`, so faster to
    /// build and to backpropagate.
    ///
    /// ```
    /// use chainrule::Value;
    /// let xs: Vec<Value> = (1..=4).map(|i| Value::new(i as f64)).collect();
    /// let s = Value::sum(&xs);
    /// s.backward();
    /// assert_eq!(s.data(), 10.0);
    /// assert!(xs.iter().all(|x| x.grad() == 1.0));
    /// ```
    pub fn sum(xs: &[Value]) -> Value {
        let mut reader = Reader::default();
        let data = op::sum_forward(xs.iter().map(|x| reader.read(x)));
        let wants = wants(&reader, &Reader::default());
        Value::nary(Op::Sum, data, Nary::Sum(Many::Owned(xs.into())), wants)
    }

    /// The fused sum of products `w1 x1 + … + wn xn` as one node: the mul
    /// gate applied pairwise, then the add gate. A neuron is one `dot` node
    /// plus its activation.
    ///
    /// ```
    /// use chainrule::Value;
    /// let ws = [Value::new(2.0), Value::new(-3.0)];
    /// let xs = [Value::new(-1.0), Value::new(-2.0)];
    /// let z = Value::dot(&ws, &xs).unwrap();
    /// z.backward();
    /// assert_eq!(z.data(), 4.0);
    /// assert_eq!((ws[0].grad(), xs[1].grad()), (-1.0, -3.0)); // the mul gate swaps
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::LengthMismatch`] if the lengths differ (as a
    /// mismatched `zip` would silently drop the extra items).
    ///
    /// ```
    /// use chainrule::{EngineError, Value};
    /// let error = Value::dot(&[Value::new(1.0), Value::new(2.0)], &[Value::new(3.0)]).unwrap_err();
    /// assert_eq!(error, EngineError::LengthMismatch { weights: 2, inputs: 1 });
    /// ```
    pub fn dot(ws: &[Value], xs: &[Value]) -> Result<Value, EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_node(
            Many::Owned(ws.into()),
            Many::Owned(xs.into()),
        ))
    }

    /// The `Dot` node over two lists of equal length.
    #[inline]
    pub(crate) fn dot_node(weights: Many, inputs: Many) -> Value {
        let (mut w, mut x) = (Reader::default(), Reader::default());
        let data = op::dot_forward(
            weights
                .iter()
                .zip(inputs.iter())
                .map(|(wi, xi)| (w.read(wi), x.read(xi))),
        );
        let wants = wants(&w, &x);
        Value::nary(Op::Dot, data, Nary::Dot { weights, inputs }, wants)
    }

    /// The dot gate with constant inputs: `w1 c1 + … + wn cn` where the `c`
    /// are numbers, not nodes: inputs such as pixels, which need no
    /// gradient. The same value as [`Value::dot`] with `Value::constant`
    /// inputs, and the same gradients for the weights, without building or
    /// walking a node per input.
    ///
    /// ```
    /// use chainrule::Value;
    /// let ws = [Value::new(2.0), Value::new(-3.0)];
    /// let z = Value::dot_const(&ws, &[-1.0, -2.0]).unwrap();
    /// z.backward();
    /// assert_eq!(z.data(), 4.0);
    /// assert_eq!((ws[0].grad(), ws[1].grad()), (-1.0, -2.0));
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::LengthMismatch`] if the lengths differ.
    pub fn dot_const(ws: &[Value], xs: &[f64]) -> Result<Value, EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_const_node(Many::Owned(ws.into()), xs.into()))
    }

    /// The `DotConst` node over weights and constants of equal length.
    #[inline]
    pub(crate) fn dot_const_node(weights: Many, constants: Rc<[f64]>) -> Value {
        let mut w = Reader::default();
        let data = op::dot_forward(
            weights
                .iter()
                .map(|wi| w.read(wi))
                .zip(constants.iter().copied()),
        );
        let wants = wants(&w, &Reader::default());
        Value::nary(
            Op::DotConst,
            data,
            Nary::DotConst { weights, constants },
            wants,
        )
    }

    /// The constant inputs of a [`Value::dot_const`] node (empty otherwise).
    #[doc(hidden)]
    pub fn constant_inputs(&self) -> Vec<f64> {
        let node = self.0.borrow();
        node.extra
            .as_ref()
            .map_or_else(Vec::new, |e| e.constants().to_vec())
    }

    /// The shared weight list whose shares backward gathers in a buffer of
    /// its own and adds to the leaves at the end of the pass (a `Dot` over
    /// a shared list holding no gate, a `DotConst` over a shared list with
    /// no gate operand), as an address that tells lists apart; `None` for
    /// every other node. The trace and [`crate::grad`] keep the same
    /// buffers, so that they add in backward's order, bit for bit.
    pub(crate) fn deferred_list(&self) -> Option<usize> {
        let node = self.0.borrow();
        let extra = node.extra.as_ref()?;
        match (&extra.nary, node.op) {
            (
                Some(Nary::Dot {
                    weights: Many::Shared(list),
                    ..
                }),
                Op::Dot,
            ) if !extra.gate_many => Some(list.as_ptr() as usize),
            (
                Some(Nary::DotConst {
                    weights: Many::Shared(list),
                    ..
                }),
                Op::DotConst,
            ) if !extra.gate_operands => Some(list.as_ptr() as usize),
            _ => None,
        }
    }
}
