//! Gradients as values: [`grad`] builds `d output / d input` as a graph of
//! its own, which can be differentiated again (second derivatives, Newton's
//! method, curvature).
//!
//! It applies the same local-gradient rules as backward (`op.rs`, generic
//! over [`Scalar`]), with [`Value`]s in place of numbers: every product and
//! sum of the chain rule records a node.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use super::backward::topological_order;
use super::node::Node;
use super::op::{self, Op, Scalar};
use super::value::Value;

/// The derivatives of `output` with respect to each of `inputs`, as values
/// whose graphs depend on the inputs, so that they can be differentiated
/// again: PyTorch's `torch.autograd.grad(output, inputs, create_graph=True)`.
///
/// It neither reads nor changes any [`Value::grad`]. An input `output`
/// does not depend on (or a constant, which takes no gradient) gets a
/// constant 0. Within [`no_grad`](crate::no_grad) the results are constants.
///
/// ```
/// use chainrule::{Value, grad};
///
/// // y = x³: y' = 3x², y'' = 6x, y''' = 6.
/// let x = Value::new(2.0);
/// let y = &x * &x * &x;
/// let dy = grad(&y, &[x.clone()]).remove(0);
/// let d2y = grad(&dy, &[x.clone()]).remove(0);
/// let d3y = grad(&d2y, &[x.clone()]).remove(0);
/// assert_eq!((dy.data(), d2y.data(), d3y.data()), (12.0, 12.0, 6.0));
/// assert_eq!(x.grad(), 0.0); // untouched
///
/// // Newton's method on f(x) = x² - 2: x ← x - f(x) / f'(x) finds √2.
/// let mut x = Value::new(1.0);
/// for _ in 0..6 {
///     let f = &x * &x - 2.0;
///     let slope = grad(&f, &[x.clone()]).remove(0);
///     x = Value::new(x.data() - f.data() / slope.data());
/// }
/// assert!((x.data() - 2f64.sqrt()).abs() < 1e-15);
/// ```
pub fn grad(output: &Value, inputs: &[Value]) -> Vec<Value> {
    let order = topological_order(output);
    let address = |v: &Value| -> *const RefCell<Node> { std::rc::Rc::as_ptr(&v.0) };
    // The adjoint shares each node has received so far, from its
    // consumers; in reverse topological order every consumer comes first.
    let mut shares: FxHashMap<*const RefCell<Node>, Vec<Value>> = FxHashMap::default();
    let mut adjoints: FxHashMap<*const RefCell<Node>, Value> = FxHashMap::default();
    if output.requires_grad() {
        shares.insert(address(output), vec![Value::constant(1.0)]);
    }
    // Backward's buffers for shared weight lists (see
    // `Value::deferred_list`): per list, in the order lists are first met,
    // each position's terms; a leaf takes its lists' sums after its direct
    // shares, as backward adds them at the end of its pass.
    let mut lists: Vec<Vec<Vec<Value>>> = Vec::new();
    let mut list_index: FxHashMap<usize, usize> = FxHashMap::default();
    let mut slots: FxHashMap<*const RefCell<Node>, Vec<(usize, usize)>> = FxHashMap::default();
    for node in order.iter().rev() {
        let mut received = shares.remove(&address(node)).unwrap_or_default();
        if let Some(places) = slots.remove(&address(node)) {
            for (k, i) in places {
                match std::mem::take(&mut lists[k][i]).as_slice() {
                    [] => {}
                    [one] => received.push(one.clone()),
                    terms => received.push(Value::sum(terms)),
                }
            }
        }
        if received.is_empty() {
            continue; // nothing flows here (a constant, or a dead branch)
        }
        let adjoint = match received.len() {
            1 => received
                .into_iter()
                .next()
                .unwrap_or_else(|| Value::constant(0.0)),
            _ => Value::sum(&received),
        };
        // Read once per node: a dot node's operand lists can be long.
        let (op, operands, constants) = (node.op(), node.operands(), node.constant_inputs());
        let weights = if op == Op::Dot {
            operands.len() / 2
        } else {
            operands.len()
        };
        // A live node over a deferred list: its weights' shares go to the
        // list's buffer (a dead one passes its zero graphs directly).
        let buffer = match node.deferred_list() {
            Some(list) if adjoint.data() != 0.0 => {
                Some(*list_index.entry(list).or_insert_with(|| {
                    let k = lists.len();
                    lists.push(vec![Vec::new(); weights]);
                    for (i, w) in operands[..weights].iter().enumerate() {
                        slots.entry(address(w)).or_default().push((k, i));
                    }
                    k
                }))
            }
            _ => None,
        };
        let wants = |position: usize| operands[position].requires_grad();
        let given = op::shares(op, &operands, &constants, node, &adjoint, wants);
        for op::Given {
            position, share, ..
        } in given
        {
            let Some(share) = share else { continue };
            match buffer {
                Some(k) if position < weights => lists[k][position].push(share),
                _ => shares
                    .entry(address(&operands[position]))
                    .or_default()
                    .push(share),
            }
        }
        adjoints.insert(address(node), adjoint);
    }
    inputs
        .iter()
        .map(|x| {
            adjoints
                .get(&address(x))
                .cloned()
                .unwrap_or_else(|| Value::constant(0.0))
        })
        .collect()
}

/// Whether `v` is a constant leaf holding exactly `x`.
fn is_constant(v: &Value, x: f64) -> bool {
    let node = v.0.borrow();
    node.op == Op::Leaf && !node.requires_grad && node.data == x
}

/// Values as the rules' numbers: each operation records a gate, so the
/// result is differentiable. Operations on constants alone are folded into
/// a constant (nothing could flow back through them), and a product with
/// the constant 1 is the other factor: the gradient graphs stay small.
impl Scalar for Value {
    const SYMBOLIC: bool = true;

    fn is_constant(&self, x: f64) -> bool {
        is_constant(self, x)
    }

    fn number(x: f64) -> Value {
        Value::constant(x)
    }

    fn value(&self) -> f64 {
        self.data()
    }

    fn plus(&self, other: &Value) -> Value {
        if !self.requires_grad() && !other.requires_grad() {
            return Value::constant(self.data().plus(&other.data()));
        }
        Value::gate(Op::Add, self, Some(other))
    }

    fn times(&self, other: &Value) -> Value {
        if !self.requires_grad() && !other.requires_grad() {
            return Value::constant(self.data().times(&other.data()));
        }
        if is_constant(other, 1.0) {
            return self.clone();
        }
        if is_constant(self, 1.0) {
            return other.clone();
        }
        Value::gate(Op::Mul, self, Some(other))
    }

    fn pow(&self, exponent: &Value) -> Value {
        if !self.requires_grad() && !exponent.requires_grad() {
            return Value::constant(Scalar::pow(&self.data(), &exponent.data()));
        }
        Value::gate(Op::Pow, self, Some(exponent))
    }

    fn ln(&self) -> Value {
        if !self.requires_grad() {
            return Value::constant(Scalar::ln(&self.data()));
        }
        Value::gate(Op::Log, self, None)
    }
}
