//! The graph walks: topological order, backpropagation and the anomaly
//! search.
//!
//! Every node carries its creation number ([`Node::seq`]), and a node's
//! operands were all made before it. So visiting the nodes reachable from
//! the root in decreasing creation number visits every node after all of
//! its consumers: reverse topological order, exactly when backprop may pass
//! a node's gradient on, because every contribution to it has arrived. One
//! pass does it, with no recursion and nothing stored per node but a mark:
//! a [`Frontier`] holds the nodes discovered and not yet processed, and
//! hands out the latest-made first.
//!
//! (Why this order is complete: when a node is taken, each of its
//! consumers reachable from the root is on a path from the root whose
//! nodes are all later than it; the first unprocessed node of that path is
//! in the frontier and later than it, and would have been taken first.)
//!
//! Creation numbers wrap around at 2^47 (`SEQ_MODULUS`), so they are compared
//! as distances back from the root: a gate made more than 2^47 node
//! creations (in its thread) before the output it feeds would be misplaced.
//! At the fastest rate nodes can be made, that is over a month of nothing
//! but building while holding that one gate.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::frontier::Frontier;
use super::node::{Many, Nary, Node};
use super::op::{self, Op};
use super::value::Value;

/// A node in a walk's frontier, held by address, not by a counted handle:
/// the root holds every node the walk can reach alive, and a walk neither
/// drops a handle nor builds a node, so the address stays valid for the
/// whole walk. Taken from `Rc::as_ptr`, so it keeps the provenance of the
/// whole allocation (`Rc::from_raw` needs it); Miri checks this.
///
/// Counted handles take 2% fewer instructions (callgrind) but are slower:
/// the count sits at the start of the allocation, and in a quarter of the
/// nodes (those whose 72 bytes start 48 bytes into a cache line) in a line
/// the walk never touches otherwise. On the 1M-node random graph, where
/// the walk waits on memory, build + backward took 15–20% longer with
/// them (`cargo bench --bench report`; docs/perf-log.md).
type NodePtr = *const RefCell<Node>;

/// Adds `value` (whose node `node` borrows) to a walk's frontier.
#[inline]
fn discover(frontier: &mut Frontier<NodePtr>, node: &Node, value: &Value) {
    frontier.push(node.seq(), Rc::as_ptr(&value.0));
}

/// The nodes reachable from `root` in topological order: every node comes
/// after all of its operands, so `root` is last.
pub(crate) fn topological_order(root: &Value) -> Vec<Value> {
    let mut order = Vec::new();
    let mut frontier = {
        let mut node = root.0.borrow_mut();
        node.set_visited(true);
        let mut frontier = Frontier::new(node.seq());
        discover(&mut frontier, &node, root);
        frontier
    };
    while let Some(cell) = frontier.pop() {
        // SAFETY: `cell` is the `Rc` allocation of a node that `root` holds
        // alive (see `NodePtr`); one more count makes this handle its own.
        let value = unsafe {
            Rc::increment_strong_count(cell);
            Value(Rc::from_raw(cell))
        };
        {
            let node = value.0.borrow();
            for operand in node.operands() {
                let mut inner = operand.0.borrow_mut();
                if !inner.visited() {
                    inner.set_visited(true);
                    discover(&mut frontier, &inner, operand);
                }
            }
        }
        order.push(value);
    }
    // Marks are cleared only now, so no node can be listed twice.
    for value in &order {
        value.0.borrow_mut().set_visited(false);
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
        let mut frontier = {
            let mut root = self.0.borrow_mut();
            root.grad = 1.0;
            root.set_visited(true);
            let mut frontier = Frontier::new(root.seq());
            discover(&mut frontier, &root, self);
            frontier
        };
        let mut shared = SharedSums::default();
        let mut leaves = PassSums::default();
        while let Some(cell) = frontier.pop() {
            // SAFETY: `self` holds every node of the walk alive (see
            // `NodePtr`) and outlives this borrow.
            let mut node = unsafe { &*cell }.borrow_mut();
            node.set_visited(false);
            propagate(&node, &mut frontier, &mut shared, &mut leaves);
        }
        shared.add_to_leaves();
        leaves.finish();
    }

    /// Every node `self` depends on, itself included, in topological order:
    /// each node after all of its operands, so `self` comes last and the
    /// order read backwards is the order backprop visits nodes in. The
    /// order is the order the nodes were made in.
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
                    .and_then(|e| e.label().map(std::borrow::Cow::into_owned)),
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
/// operand that wants a gradient. A gate operand met for the first time
/// is reset to its share and joins the frontier; leaves are never
/// scheduled (they have nothing to pass on) and accumulate across passes.
///
/// Operands are other nodes than `node` (a graph has no cycles), so the
/// mutable borrows here never meet the caller's borrow of `node`; the
/// same operand twice (`a * a`) is borrowed twice in turn, never at once.
fn propagate(
    node: &Node,
    frontier: &mut Frontier<NodePtr>,
    shared: &mut SharedSums,
    leaves: &mut PassSums,
) {
    // A zero upstream gradient contributes nothing; skipping the products
    // also keeps 0 * inf from turning a dead branch into NaN. The operands
    // are still discovered, so every reachable gate is reset.
    let upstream = node.grad;
    let live = upstream != 0.0;
    let mut to = Giver {
        upstream,
        live,
        frontier,
        leaves,
    };
    match node.op {
        Op::Leaf => {}
        Op::Sum | Op::Dot | Op::DotConst if !live => {
            // A dead n-ary node (a neuron behind a dead relu) has nothing
            // to give: it only discovers its gate operands, so they are
            // reset, and skips a list that holds none (the weights).
            let Some(extra) = node.extra.as_ref().filter(|e| e.gate_operands) else {
                return;
            };
            let Some((first, inputs)) = extra.nary.as_ref().map(Nary::lists) else {
                return;
            };
            let first: &[Value] = if extra.gate_many { first } else { &[] };
            for x in first.iter().chain(inputs) {
                to.give(x, || 0.0);
            }
        }
        Op::Sum => {
            for x in node.operands() {
                to.give(x, op::sum_local::<f64>);
            }
        }
        Op::Dot => {
            let Some((extra, Nary::Dot { weights, inputs })) = node.nary() else {
                return;
            };
            if let (false, Many::Shared(list)) = (extra.gate_many, weights) {
                // The weights are leaves: their share waits in the list's
                // buffer; the inputs get theirs now. The weights' data is
                // read once per pass, into contiguous memory.
                let (sums, weights) = shared.sums_and_data(list);
                for ((x, sum), &wd) in inputs.iter().zip(sums).zip(weights) {
                    let xd = to.give(x, || op::dot_local(&wd));
                    *sum += upstream * op::dot_local(&xd);
                }
                return;
            }
            for (w, x) in weights.iter().zip(inputs.iter()) {
                let (wd, xd) = (w.data(), x.data());
                to.give(w, || op::dot_local(&xd));
                to.give(x, || op::dot_local(&wd));
            }
        }
        Op::DotConst => {
            let Some((extra, Nary::DotConst { weights, constants })) = node.nary() else {
                return;
            };
            if let (false, Many::Shared(list)) = (extra.gate_operands, weights) {
                // Only leaves can take a gradient here, and a leaf is never
                // scheduled: the list's share can wait in its buffer.
                shared.add(list, upstream, constants);
                return;
            }
            for (w, &c) in weights.iter().zip(constants.iter()) {
                to.give(w, || op::dot_const_local(c));
            }
        }
        op => {
            let (Some(lhs), rhs) = (&node.lhs, &node.rhs) else {
                return;
            };
            let (a, z) = (lhs.data(), node.data);
            let b = rhs.as_ref().map_or(op::ABSENT_RHS, Value::data);
            to.give(lhs, || op.d_lhs(&a, &b, &z));
            if let Some(rhs) = rhs {
                to.give(rhs, || op.d_rhs(&a, &b, &z));
            }
        }
    }
}

/// What one node gives its operands in backward.
struct Giver<'a> {
    /// The node's gradient.
    upstream: f64,
    /// Whether it is not 0: a zero upstream gradient contributes nothing,
    /// and skipping the products keeps 0 · inf from turning a dead branch
    /// into NaN.
    live: bool,
    frontier: &'a mut Frontier<NodePtr>,
    leaves: &'a mut PassSums,
}

impl Giver<'_> {
    /// Gives `upstream × local()` to `operand`, computing the local
    /// gradient only if the operand wants it, and returns the operand's
    /// data, read under the same borrow. A gate met for the first time is
    /// reset to its share and joins the frontier; a leaf sums this pass's
    /// shares apart from what it held before (see [`PassSums`]).
    #[inline(always)]
    fn give(&mut self, operand: &Value, local: impl FnOnce() -> f64) -> f64 {
        let mut inner = operand.0.borrow_mut();
        if inner.requires_grad {
            if inner.op == Op::Leaf {
                if self.live {
                    let delta = self.upstream * local();
                    self.leaves.add(&mut inner, operand, delta);
                }
            } else if inner.visited() {
                if self.live {
                    inner.grad += self.upstream * local();
                }
            } else {
                inner.grad = if self.live {
                    self.upstream * local()
                } else {
                    0.0
                };
                inner.set_visited(true);
                prefetch_operands(&inner);
                discover(self.frontier, &inner, operand);
            }
        }
        inner.data
    }
}

/// Exact accumulation: the shares a leaf receives in one pass are summed
/// apart, from 0, and added to what it held before once, at the end. So a
/// second `backward()` adds exactly what the first did, bit for bit (added
/// one by one onto the old gradient, the rounding differed).
#[derive(Default)]
pub(crate) struct PassSums {
    /// Each leaf met, by address (the root holds it alive; see
    /// `NodePtr`), and its gradient before the pass.
    leaves: Vec<(NodePtr, f64)>,
}

impl PassSums {
    /// Adds `delta` to this pass's sum for the leaf `node` (of `value`).
    #[inline]
    fn add(&mut self, node: &mut Node, value: &Value, delta: f64) {
        if node.visited() {
            node.grad += delta;
        } else {
            self.leaves.push((Rc::as_ptr(&value.0), node.grad));
            node.grad = delta;
            node.set_visited(true);
        }
    }

    /// Adds each leaf's sum to its old gradient, and clears the marks.
    fn finish(self) {
        for (cell, before) in self.leaves {
            // SAFETY: the root holds every leaf of the walk alive (see
            // `NodePtr`), and the walk is over: no other borrow is live.
            let mut node = unsafe { &*cell }.borrow_mut();
            node.grad += before; // this pass's sum plus the old gradient, once
            node.set_visited(false);
        }
    }
}

/// Asks the cache for `node`'s operands, which the walk reads when it takes
/// `node`, likely soon.
#[inline]
fn prefetch_operands(node: &Node) {
    #[cfg(target_arch = "x86_64")]
    for operand in [&node.lhs, &node.rhs].into_iter().flatten() {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a hint only: prefetching any address never faults and
        // changes no data; this one is a live node's allocation.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(Rc::as_ptr(&operand.0).cast()) };
    }
}

/// Backward's buffers for `DotConst` nodes over shared lists of leaves
/// ([`tuning::dot_const_shared`](super::tuning::dot_const_shared)): for each list, `Σ upstream × c` over its
/// nodes, gathered in contiguous memory and added to the leaves once at the
/// end of the pass. A neuron meets every sample of a batch with the same
/// weights; this touches each weight once per pass instead of once per
/// sample. Deferring is sound because nothing reads a leaf's gradient
/// during the pass.
#[derive(Default)]
struct SharedSums {
    /// List address → position in `lists`.
    index: FxHashMap<*const Value, usize>,
    lists: Vec<SharedList>,
}

/// One shared list of leaves met by backward.
struct SharedList {
    list: Rc<[Value]>,
    /// `Σ upstream × input` so far, per leaf.
    sums: Vec<f64>,
    /// The leaves' data, read on first need (a `Dot` node's gate inputs
    /// take `upstream × weight`).
    data: Vec<f64>,
    /// At the end of the pass: whether the leaf was met first in this list
    /// (its old gradient then waits in `sums`).
    first: Vec<bool>,
}

impl SharedSums {
    /// The entry of `list`, created (zero) on first use.
    fn entry(&mut self, list: &Rc<[Value]>) -> &mut SharedList {
        let next = self.lists.len();
        let at = *self.index.entry(list.as_ptr()).or_insert(next);
        if at == next {
            self.lists.push(SharedList {
                list: Rc::clone(list),
                sums: vec![0.0; list.len()],
                data: Vec::new(),
                first: Vec::new(),
            });
        }
        &mut self.lists[at]
    }

    /// The buffer of `list` and its leaves' data.
    fn sums_and_data(&mut self, list: &Rc<[Value]>) -> (&mut [f64], &[f64]) {
        let entry = self.entry(list);
        if entry.data.len() != entry.list.len() {
            entry.data = entry.list.iter().map(Value::data).collect();
        }
        (&mut entry.sums, &entry.data)
    }

    fn add(&mut self, list: &Rc<[Value]>, upstream: f64, constants: &[f64]) {
        for (sum, &c) in self.entry(list).sums.iter_mut().zip(constants) {
            *sum += upstream * op::dot_const_local::<f64>(c);
        }
    }

    /// Adds each list's sums to its leaves' sums for this pass, then each
    /// such pass sum to the gradient the leaf held before, once (see
    /// [`PassSums`]). A leaf met first here keeps its old gradient in its
    /// list's buffer meanwhile, so all lists are walked twice, in memory
    /// order, and nothing is recorded per leaf. A leaf met by direct shares too
    /// is finished by [`PassSums::finish`], after this.
    fn add_to_leaves(mut self) {
        for SharedList {
            list, sums, first, ..
        } in &mut self.lists
        {
            first.resize(list.len(), false);
            for ((operand, sum), first) in list.iter().zip(sums.iter_mut()).zip(first.iter_mut()) {
                let mut inner = operand.0.borrow_mut();
                if !inner.requires_grad {
                    continue;
                }
                if inner.visited() {
                    // Met already in this pass: its pass sum grows.
                    inner.grad += *sum;
                } else {
                    // Met first here: the pass sum starts, and the old
                    // gradient waits in the buffer.
                    inner.set_visited(true);
                    *sum = std::mem::replace(&mut inner.grad, *sum);
                    *first = true;
                }
            }
        }
        for SharedList {
            list, sums, first, ..
        } in &self.lists
        {
            for ((operand, old), _) in list.iter().zip(sums).zip(first).filter(|(_, f)| **f) {
                let mut inner = operand.0.borrow_mut();
                inner.grad += old;
                inner.set_visited(false);
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
#[non_exhaustive]
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
