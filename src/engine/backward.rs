//! The graph walk: topological order, backpropagation and the anomaly search.
//!
//! Nothing here recurses: the walk keeps its own stack on the heap, so a
//! graph ten million nodes deep is walked in constant call-stack space.

use std::fmt;

use super::op::Op;
use super::value::{Node, Value};

/// Which nodes a walk enters.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Every node reachable from the root.
    All,
    /// Only nodes that reach a gradient-wanting leaf, with each non-leaf
    /// node's gradient reset to zero on the way (the start of backward).
    ResetGradients,
}

/// The nodes reachable from `root` in topological order: every node comes
/// after all of its operands, so `root` is last.
///
/// Marks each node `visited` while walking; the caller must clear the marks
/// of every returned node (see [`clear_marks`]) before the next walk.
pub(crate) fn topological_order(root: &Value, walk: Walk) -> Vec<Value> {
    let mut order = Vec::new();
    // Depth-first, post-order. `(node, true)` means "operands done, emit".
    let mut stack = vec![(root.clone(), false)];
    while let Some((value, operands_done)) = stack.pop() {
        if operands_done {
            order.push(value);
            continue;
        }
        let mut node = value.0.borrow_mut();
        if node.visited || (walk == Walk::ResetGradients && !node.requires_grad) {
            continue;
        }
        node.visited = true;
        if walk == Walk::ResetGradients && node.op != Op::Leaf {
            node.grad = 0.0;
        }
        stack.push((value.clone(), true));
        stack.extend(node.operands().rev().map(|v| (v.clone(), false)));
    }
    order
}

/// Clears the walk marks that [`topological_order`] left on `nodes`.
pub(crate) fn clear_marks(nodes: &[Value]) {
    for value in nodes {
        value.0.borrow_mut().visited = false;
    }
}

impl Value {
    /// Backpropagation: computes `d(self)/d(node)` for every node `self`
    /// depends on, by the chain rule in reverse topological order.
    ///
    /// - `self` gets gradient 1 (a leaf output accumulates 1).
    /// - Every non-leaf node reachable from `self` is reset first, so after
    ///   the call each holds its gradient for this output alone.
    /// - Leaves (inputs and parameters) accumulate across calls, as in
    ///   PyTorch: calling `backward` twice doubles them exactly. Reset them
    ///   with [`zero_grad`](Value::zero_grad) between steps.
    /// - Constants, and subgraphs that reach no [`Value::new`] leaf, are not
    ///   entered at all.
    ///
    /// ```
    /// use chainrule::Value;
    ///
    /// // The lecture's chain rule: z = (x + y)^2, dz/dx = 2 (x + y).
    /// let x = Value::new(1.0);
    /// let y = Value::new(2.0);
    /// let t = &x + &y;
    /// let z = t.powf(2.0);
    /// z.backward();
    /// assert_eq!(z.data(), 9.0);
    /// assert_eq!(t.grad(), 6.0);
    /// assert_eq!(x.grad(), 6.0);
    ///
    /// z.backward(); // leaves accumulate, intermediate nodes do not
    /// assert_eq!(x.grad(), 12.0);
    /// assert_eq!(t.grad(), 6.0);
    /// ```
    pub fn backward(&self) {
        let order = topological_order(self, Walk::ResetGradients);
        let Some(root) = order.last() else {
            return; // `self` reaches no gradient-wanting leaf
        };
        {
            let mut root = root.0.borrow_mut();
            if root.op == Op::Leaf {
                root.grad += 1.0;
            } else {
                root.grad = 1.0;
            }
        }
        for value in order.iter().rev() {
            let mut node = value.0.borrow_mut();
            node.visited = false;
            // A zero upstream gradient contributes nothing (and skipping it
            // keeps 0 * inf from turning a dead branch into NaN).
            if node.grad != 0.0 {
                propagate(&node);
            }
        }
    }

    /// The first node, in topological order, whose data is not finite (the
    /// point where a forward pass broke); failing that, the node nearest the
    /// output whose gradient is not finite (where backward broke). `None`
    /// when every value and gradient reachable from `self` is finite.
    ///
    /// The idea of PyTorch's `detect_anomaly`, as a query you can run after
    /// any forward or backward pass.
    ///
    /// ```
    /// use chainrule::{AnomalyKind, Op, Value};
    ///
    /// let x = Value::new(0.0).with_label("x");
    /// let y = (&x * 2.0).ln().with_label("y"); // ln(0) = -inf
    /// let loss = &y + 1.0;
    /// let anomaly = loss.find_anomaly().unwrap();
    /// assert_eq!(anomaly.kind, AnomalyKind::Data);
    /// assert_eq!(anomaly.op, Op::Log);
    /// assert_eq!(anomaly.label.as_deref(), Some("y"));
    /// assert_eq!(anomaly.operands, vec![0.0]);
    /// ```
    pub fn find_anomaly(&self) -> Option<Anomaly> {
        let order = topological_order(self, Walk::All);
        clear_marks(&order);
        let find = |kind: AnomalyKind, position: usize, node: &Node| {
            let bad = match kind {
                AnomalyKind::Data => node.data,
                AnomalyKind::Grad => node.grad,
            };
            (!bad.is_finite()).then(|| Anomaly {
                kind,
                position,
                op: node.op,
                label: node
                    .extra
                    .as_ref()
                    .and_then(|e| e.label.as_deref().map(str::to_owned)),
                data: node.data,
                grad: node.grad,
                operands: node.operands().map(Value::data).collect(),
            })
        };
        let data = order
            .iter()
            .enumerate()
            .find_map(|(i, v)| find(AnomalyKind::Data, i, &v.0.borrow()));
        data.or_else(|| {
            let mut nodes = order.iter().enumerate().rev();
            nodes.find_map(|(i, v)| find(AnomalyKind::Grad, i, &v.0.borrow()))
        })
    }
}

/// Applies `node`'s gate rule: adds `upstream × local gradient` to each
/// operand that wants a gradient.
///
/// Operands are other nodes than `node` (a graph has no cycles), so the
/// mutable borrows here never meet the caller's borrow of `node`; the
/// same operand twice (`a * a`) is borrowed twice in turn, never at once.
fn propagate(node: &Node) {
    let upstream = node.grad;
    match node.op {
        Op::Leaf => {}
        Op::Sum => {
            for x in node.operands() {
                add_grad(x, upstream);
            }
        }
        Op::Dot => {
            let many = node.extra.as_ref().map_or(&[][..], |e| &e.many);
            let (ws, xs) = many.split_at(many.len() / 2);
            for (w, x) in ws.iter().zip(xs) {
                let (wd, xd) = (w.data(), x.data());
                add_grad(w, upstream * xd);
                add_grad(x, upstream * wd);
            }
        }
        op => {
            let (Some(lhs), rhs) = (&node.lhs, &node.rhs) else {
                return;
            };
            let a = lhs.data();
            let b = rhs.as_ref().map_or(0.0, Value::data);
            let (da, db) = op.local_grads(a, b, node.data);
            add_grad(lhs, upstream * da);
            if let Some(rhs) = rhs {
                add_grad(rhs, upstream * db);
            }
        }
    }
}

#[inline]
fn add_grad(value: &Value, delta: f64) {
    let mut node = value.0.borrow_mut();
    if node.requires_grad {
        node.grad += delta;
    }
}

/// What [`Value::find_anomaly`] found not finite.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AnomalyKind {
    /// The node's value is NaN or infinite.
    Data,
    /// The node's gradient is NaN or infinite (its value is finite).
    Grad,
}

/// A node whose value or gradient is not finite, found by
/// [`Value::find_anomaly`].
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Whether the value or the gradient is not finite.
    pub kind: AnomalyKind,
    /// The node's index in the topological order of the graph (0 is the
    /// first input reached; the output is last).
    pub position: usize,
    /// The operation that produced the node.
    pub op: Op,
    /// The node's label, if it has one.
    pub label: Option<String>,
    /// The node's value.
    pub data: f64,
    /// The node's gradient.
    pub grad: f64,
    /// The values of the node's operands, in order.
    pub operands: Vec<f64>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            AnomalyKind::Data => format!("value is {}", self.data),
            AnomalyKind::Grad => format!("gradient is {}", self.grad),
        };
        write!(f, "node {} ({}", self.position, self.op)?;
        if let Some(label) = &self.label {
            write!(f, " {label:?}")?;
        }
        write!(f, "): {what}")?;
        if !self.operands.is_empty() {
            write!(f, "; operands {:?}", self.operands)?;
        }
        Ok(())
    }
}
