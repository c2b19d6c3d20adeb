//! The graph walk: topological order, backpropagation and the anomaly search.
//!
//! Every walk is Kahn's algorithm in two passes, with no recursion:
//!
//! 1. [`count_consumers`] visits every node reachable from the root once,
//!    marking it and counting on it how many edges lead to it from nodes
//!    reachable from the root (its `pending` consumers).
//! 2. A node is processed once every consumer has been: the root first,
//!    then each operand as its `pending` count reaches zero. That is
//!    reverse topological order, exactly when backprop may pass a node's
//!    gradient on, because every contribution to it has arrived.
//!
//! Both passes keep only the frontier on a heap stack (for a chain, one
//! node), not a path as deep as the graph, and nothing per node beyond the
//! node's own mark and count. Marks and counts are back to zero after each
//! walk.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::op::Op;
use super::value::{Many, Node, Value};

/// Which nodes a walk schedules (marks, counts and processes).
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Every node reachable from the root.
    All,
    /// Backprop: only the gates that reach a gradient-wanting leaf, each
    /// with its gradient reset to zero on the way. Leaves are not
    /// scheduled: they have nothing to pass on, so their consumers simply
    /// add to their gradient.
    Backward,
}

impl Walk {
    fn schedules(self, node: &Node) -> bool {
        match self {
            Walk::All => true,
            Walk::Backward => node.requires_grad && node.op != Op::Leaf,
        }
    }

    fn mark(self, node: &mut Node) {
        node.visited = true;
        if self == Walk::Backward {
            node.grad = 0.0;
        }
    }
}

/// Pass 1: marks every node reachable from `root` through nodes the walk
/// schedules, and sets each one's `pending` to its number of consumers
/// among them. Only counts, so any visiting order is correct. A plain
/// stack is fastest here (measured against visiting by address, see
/// `docs/ARCHITECTURE.md`): a node is expanded right after it was first
/// touched, while its memory is still in cache. Returns false (and marks nothing) if the walk does not
/// schedule `root`.
fn count_consumers(root: &Value, walk: Walk) -> bool {
    {
        let mut node = root.0.borrow_mut();
        if !walk.schedules(&node) {
            return false;
        }
        walk.mark(&mut node);
    }
    let mut frontier = vec![root.clone()];
    while let Some(value) = frontier.pop() {
        let node = value.0.borrow();
        // An n-ary gate knows whether any operand is a gate (a labelled
        // binary node has an `Extra` too, which says nothing of lhs and rhs).
        let nary = matches!(node.op, Op::Sum | Op::Dot | Op::DotConst);
        let mut operands: &mut dyn Iterator<Item = &Value> = &mut node.operands();
        let mut inputs_only;
        if walk == Walk::Backward
            && nary
            && let Some(extra) = node.extra.as_ref()
        {
            if !extra.gate_operands {
                continue; // operands are all leaves or constants: nothing to schedule
            }
            if !extra.gate_many {
                // A neuron's weights are leaves; its inputs are gates.
                inputs_only = extra.inputs.iter();
                operands = &mut inputs_only;
            }
        }
        for operand in operands {
            let mut inner = operand.0.borrow_mut();
            if !walk.schedules(&inner) {
                continue;
            }
            inner.pending += 1;
            if !inner.visited {
                walk.mark(&mut inner);
                frontier.push(operand.clone());
            }
        }
    }
    true
}

/// The nodes reachable from `root` in topological order: every node comes
/// after all of its operands, so `root` is last.
pub(crate) fn topological_order(root: &Value) -> Vec<Value> {
    let mut order = Vec::new();
    count_consumers(root, Walk::All);
    let mut ready = vec![root.clone()];
    while let Some(value) = ready.pop() {
        {
            let mut node = value.0.borrow_mut();
            node.visited = false;
            for operand in node.operands() {
                let mut inner = operand.0.borrow_mut();
                inner.pending -= 1;
                if inner.pending == 0 {
                    ready.push(operand.clone());
                }
            }
        }
        order.push(value);
    }
    order.reverse();
    order
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
        {
            let mut root = self.0.borrow_mut();
            if !root.requires_grad {
                return; // `self` reaches no gradient-wanting leaf
            }
            if root.op == Op::Leaf {
                root.grad += 1.0;
                return;
            }
        }
        count_consumers(self, Walk::Backward);
        self.0.borrow_mut().grad = 1.0;
        let mut ready = vec![self.clone()];
        let mut shared = SharedSums::default();
        while let Some(value) = ready.pop() {
            let mut node = value.0.borrow_mut();
            node.visited = false;
            propagate(&node, &mut ready, &mut shared);
        }
        shared.add_to_leaves();
    }

    /// Every node `self` depends on, itself included, in topological order:
    /// each node after all of its operands, so `self` comes last and the
    /// order read backwards is the order backprop visits nodes in.
    ///
    /// Walked without recursion, so any depth is fine.
    ///
    /// ```
    /// use chainrule::{Op, Value};
    /// let x = Value::new(2.0);
    /// let y = (&x * &x).exp();
    /// let order = y.topological_order();
    /// let ops: Vec<Op> = order.iter().map(Value::op).collect();
    /// assert_eq!(ops, [Op::Leaf, Op::Mul, Op::Exp]); // x appears once
    /// assert!(order[2].ptr_eq(&y));
    /// ```
    pub fn topological_order(&self) -> Vec<Value> {
        topological_order(self)
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
        let order = topological_order(self);
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
/// operand that wants a gradient, and schedules a gate operand once its
/// last consumer has given it its share (pass 2 of the walk).
///
/// Operands are other nodes than `node` (a graph has no cycles), so the
/// mutable borrows here never meet the caller's borrow of `node`; the
/// same operand twice (`a * a`) is borrowed twice in turn, never at once.
fn propagate(node: &Node, ready: &mut Vec<Value>, shared: &mut SharedSums) {
    // A zero upstream gradient contributes nothing; skipping the products
    // also keeps 0 * inf from turning a dead branch into NaN.
    let upstream = node.grad;
    let live = upstream != 0.0;
    let mut give = |operand: &Value, delta: f64| {
        let mut inner = operand.0.borrow_mut();
        if !inner.requires_grad {
            return;
        }
        if live {
            inner.grad += delta;
        }
        if inner.op != Op::Leaf {
            inner.pending -= 1;
            if inner.pending == 0 {
                ready.push(operand.clone());
            }
        }
    };
    match node.op {
        Op::Leaf => {}
        Op::Sum => {
            for x in node.operands() {
                give(x, upstream);
            }
        }
        Op::Dot => {
            let Some(extra) = node.extra.as_ref() else {
                return;
            };
            if let (false, true, Many::Shared(list)) = (extra.gate_many, live, &extra.many) {
                // The weights are leaves: their share waits in the list's
                // buffer; the inputs get theirs now.
                let sums = shared.sums(list);
                for ((w, x), sum) in list.iter().zip(extra.inputs.iter()).zip(sums) {
                    let (wd, xd) = (w.data(), x.data());
                    *sum += upstream * xd;
                    give(x, upstream * wd);
                }
                return;
            }
            for (w, x) in extra.many.iter().zip(extra.inputs.iter()) {
                let (wd, xd) = (w.data(), x.data());
                give(w, upstream * xd);
                give(x, upstream * wd);
            }
        }
        Op::DotConst => {
            let Some(extra) = node.extra.as_ref() else {
                return;
            };
            if !extra.gate_operands {
                // Only leaves can take a gradient here, and a leaf is never
                // scheduled: nothing to count down, so a dead node is done
                // and a shared list's share can wait in its buffer.
                if !live {
                    return;
                }
                if let Many::Shared(list) = &extra.many {
                    shared.add(list, upstream, extra.constants());
                    return;
                }
            }
            for (w, &c) in extra.many.iter().zip(extra.constants()) {
                give(w, upstream * c);
            }
        }
        op => {
            let (Some(lhs), rhs) = (&node.lhs, &node.rhs) else {
                return;
            };
            let (da, db) = if live {
                let a = lhs.data();
                let b = rhs.as_ref().map_or(0.0, Value::data);
                op.local_grads(a, b, node.data)
            } else {
                (0.0, 0.0)
            };
            give(lhs, upstream * da);
            if let Some(rhs) = rhs {
                give(rhs, upstream * db);
            }
        }
    }
}

/// Backward's buffers for `DotConst` nodes over shared lists of leaves
/// ([`Value::dot_const_shared`]): for each list, `Σ upstream × c` over its
/// nodes, gathered in contiguous memory and added to the leaves once at the
/// end of the pass. A neuron meets every sample of a batch with the same
/// weights; this touches each weight once per pass instead of once per
/// sample. Deferring is sound because nothing reads a leaf's gradient
/// during the pass.
#[derive(Default)]
struct SharedSums {
    /// List address → position in `sums`.
    index: HashMap<*const Value, usize>,
    sums: Vec<(Rc<[Value]>, Vec<f64>)>,
}

impl SharedSums {
    /// The buffer of `list`, created (zero) on first use.
    fn sums(&mut self, list: &Rc<[Value]>) -> &mut [f64] {
        let next = self.sums.len();
        let at = *self.index.entry(list.as_ptr()).or_insert(next);
        if at == next {
            self.sums.push((Rc::clone(list), vec![0.0; list.len()]));
        }
        &mut self.sums[at].1
    }

    fn add(&mut self, list: &Rc<[Value]>, upstream: f64, constants: &[f64]) {
        for (sum, &c) in self.sums(list).iter_mut().zip(constants) {
            *sum += upstream * c;
        }
    }

    fn add_to_leaves(self) {
        for (list, sums) in self.sums {
            for (operand, sum) in list.iter().zip(sums) {
                let mut inner = operand.0.borrow_mut();
                if inner.requires_grad {
                    inner.grad += sum;
                }
            }
        }
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
