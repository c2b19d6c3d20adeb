//! [`Value`], the handle users hold, and [`Node`], the graph node behind it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use super::frontier::Frontier;
use super::op::{self, Op};

/// A scalar `f64` in a computation graph, with the gradient backpropagation
/// gives it.
///
/// A `Value` is a cheap handle (`Rc<RefCell<…>>`): cloning it shares the
/// node. Every arithmetic operation on values makes a new node that
/// remembers its operands, and [`backward`](Value::backward) fills in
/// `d(output)/d(node)` for every node the output depends on.
///
/// ```
/// use chainrule::Value;
///
/// // The lecture's apple shopping: 2 apples at 100 each, 10% tax.
/// let apple = Value::new(100.0).with_label("apple");
/// let count = Value::new(2.0).with_label("count");
/// let tax = Value::new(1.1).with_label("tax");
/// let price = &apple * &count * &tax;
/// price.backward();
///
/// assert!((price.data() - 220.0).abs() < 1e-12);
/// assert!((apple.grad() - 2.2).abs() < 1e-12);
/// assert!((count.grad() - 110.0).abs() < 1e-12);
/// assert!((tax.grad() - 200.0).abs() < 1e-12);
/// ```
///
/// Operators `+ - * /` and unary `-` work on every mix of `Value`, `&Value`
/// and `f64`; `+= -= *= /=` rebind the left-hand value to the new node.
/// Borrow (`&a`) to keep using a value after an operation.
#[derive(Clone)]
pub struct Value(pub(crate) Rc<RefCell<Node>>);

/// One node of the graph.
///
/// Kept to 48 bytes (72 with the `Rc` counts and the `RefCell` flag) because
/// a graph is millions of these: unary and binary gates, almost every node,
/// store their operands inline; labels and the operands of the n-ary gates
/// live in a rarely allocated [`Extra`].
pub(crate) struct Node {
    pub(crate) data: f64,
    pub(crate) grad: f64,
    /// First operand of a unary or binary gate.
    pub(crate) lhs: Option<Value>,
    /// Second operand of a binary gate (the constant exponent of `Pow`).
    pub(crate) rhs: Option<Value>,
    pub(crate) extra: Option<Box<Extra>>,
    pub(crate) op: Op,
    /// Whether any gradient-wanting leaf is reachable from here. Backward
    /// never enters a node without it.
    pub(crate) requires_grad: bool,
    /// Bits 32..46 of the node's creation number (see [`Node::seq`]); bit
    /// 15 is the walks' scratch mark, always clear between walks.
    stamp_hi: u16,
    /// Bits 0..31 of the node's creation number.
    stamp_lo: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 48);

/// The walk mark's bit in `Node::stamp_hi`.
const VISITED: u16 = 1 << 15;

/// Creation numbers count modulo 2^47 (the bits the node has room for).
pub(crate) const SEQ_MODULUS: u64 = 1 << 47;

/// The rarely needed parts of a node.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) label: Option<Box<str>>,
    /// Operands of `Sum` (`x1 … xn`), and the weights of `Dot` and
    /// `DotConst` (`w1 … wn`).
    pub(crate) many: Many,
    /// The inputs of `Dot` (`x1 … xn`), shared by every neuron of a layer
    /// when built by [`Value::dot_shared`]; empty for other gates.
    pub(crate) inputs: Many,
    /// The constant inputs `c1 … cn` of `DotConst`, shared by every
    /// neuron of a layer that sees the same input.
    pub(crate) constants: Option<Rc<[f64]>>,
    /// Whether any operand is a gate that wants a gradient. Known when the
    /// node is built (its operands are read then); when false, backward
    /// schedules nothing from this node, so a dead one is skipped whole and
    /// a shared list's share can be deferred (a first layer's dot node).
    pub(crate) gate_operands: bool,
    /// Whether `many` holds such a gate: when not, backward defers the
    /// share of a shared `many` (a hidden neuron's weights, while its
    /// inputs are gates).
    pub(crate) gate_many: bool,
}

/// The operand list of an n-ary gate: its own, or one shared with other
/// nodes (a neuron's weights, the same for every sample), so building the
/// node neither copies the list nor touches each operand's count.
pub(crate) enum Many {
    /// A list this node alone holds.
    Owned(Box<[Value]>),
    /// A list shared with its creator and other nodes.
    Shared(Rc<[Value]>),
}

impl Extra {
    /// The constant inputs of `DotConst` (empty for other gates).
    pub(crate) fn constants(&self) -> &[f64] {
        self.constants.as_deref().unwrap_or(&[])
    }
}

impl Default for Many {
    fn default() -> Self {
        Many::Owned(Box::default())
    }
}

impl std::ops::Deref for Many {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        match self {
            Many::Owned(list) => list,
            Many::Shared(list) => list,
        }
    }
}

/// Whether a node with this summary is a gate that wants a gradient.
fn is_gate(wants: bool, op: Op) -> bool {
    wants && op != Op::Leaf
}

impl Node {
    /// A node of `op` over `lhs`, `rhs` and `extra`; its creation number
    /// is given by [`Value::from_node`].
    fn new(
        op: Op,
        data: f64,
        requires_grad: bool,
        (lhs, rhs): (Option<Value>, Option<Value>),
        extra: Option<Box<Extra>>,
    ) -> Node {
        Node {
            data,
            grad: 0.0,
            lhs,
            rhs,
            extra,
            op,
            requires_grad,
            stamp_hi: 0,
            stamp_lo: 0,
        }
    }

    fn leaf(data: f64, requires_grad: bool) -> Node {
        Node::new(Op::Leaf, data, requires_grad, (None, None), None)
    }

    /// The node's creation number: the count of nodes its thread made
    /// before it, modulo [`SEQ_MODULUS`]. Every operand is made before the
    /// node that uses it, so a node's number exceeds its operands' (up to
    /// wrap-around, see `backward.rs`).
    pub(crate) fn seq(&self) -> u64 {
        (u64::from(self.stamp_hi & !VISITED) << 32) | u64::from(self.stamp_lo)
    }

    fn set_seq(&mut self, seq: u64) {
        self.stamp_lo = seq as u32;
        self.stamp_hi = (seq >> 32) as u16 & !VISITED;
    }

    /// The walks' scratch mark (discovered, not yet processed).
    pub(crate) fn visited(&self) -> bool {
        self.stamp_hi & VISITED != 0
    }

    pub(crate) fn set_visited(&mut self, visited: bool) {
        if visited {
            self.stamp_hi |= VISITED;
        } else {
            self.stamp_hi &= !VISITED;
        }
    }

    /// The operands, in order.
    pub(crate) fn operands(&self) -> impl DoubleEndedIterator<Item = &Value> {
        let (many, inputs): (&[Value], &[Value]) = self
            .extra
            .as_ref()
            .map_or((&[], &[]), |e| (&e.many, &e.inputs));
        self.lhs
            .iter()
            .chain(self.rhs.iter())
            .chain(many)
            .chain(inputs)
    }

    fn take_operands(&mut self, into: &mut Vec<Value>) {
        into.extend(self.lhs.take());
        into.extend(self.rhs.take());
        if let Some(extra) = self.extra.as_mut() {
            for many in [&mut extra.many, &mut extra.inputs] {
                match std::mem::take(many) {
                    Many::Owned(list) => into.extend(list),
                    // The last holder of a shared list unlinks its operands
                    // too (cloned out, so the list's own drop is shallow).
                    Many::Shared(list) if Rc::strong_count(&list) == 1 => {
                        into.extend(list.iter().cloned());
                    }
                    Many::Shared(_) => {}
                }
            }
        }
    }

    /// Whether dropping this node may drop one of its operands too (so the
    /// drop must unlink them iteratively). `x * x` holds `x` twice, so a
    /// count of two can be the last; n-ary gates are always unlinked.
    fn may_own_an_operand(&self) -> bool {
        let last = |v: &Value, handles_here: usize| Rc::strong_count(&v.0) <= handles_here;
        let nary = self
            .extra
            .as_ref()
            .is_some_and(|e| !e.many.is_empty() || !e.inputs.is_empty());
        nary || match (&self.lhs, &self.rhs) {
            (Some(a), Some(b)) if a.ptr_eq(b) => last(a, 2),
            (a, b) => a.iter().chain(b).any(|v| last(v, 1)),
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// How many node allocations a thread keeps for reuse unless told
/// otherwise: 2^20. Each is 80 bytes of heap, so the cache holds at most
/// 80 MiB of nodes, plus at most an eighth as many boxes of the rarely
/// needed node parts (labels, n-ary operand lists; 96 bytes each, 12 MiB):
/// 92 MiB in all.
pub const DEFAULT_NODE_CACHE_CAPACITY: usize = 1 << 20;

/// How many `Extra` boxes the cache keeps per node it keeps: an n-ary or
/// labelled node is rare (a neuron's dot node among its many gates).
const EXTRA_SHARE: usize = 8;

/// A drop that hands this many allocations back to the allocator (5 MiB)
/// also asks it to return free memory to the system (see
/// [`release_free_memory`]). Below it, the memory is left for the next
/// graph.
const RELEASE_AFTER: usize = 1 << 16;

thread_local! {
    /// Allocations of dropped nodes, kept for the next ones. Training
    /// builds, backpropagates and drops a graph of about the same size at
    /// every step, so after the first step nodes cost no `malloc`/`free`.
    ///
    /// A ring: a drop hands in the latest-made node first, and a graph sits
    /// in memory in the order it was made, so allocations arrive from high
    /// addresses to low. When the ring is full, the one that arrived first
    /// (the highest) goes back to the allocator: the cache keeps the
    /// lowest addresses, and what is freed lies above them, at the top of
    /// the heap, where the allocator can return it to the system.
    static SPARE: RefCell<VecDeque<Rc<RefCell<Node>>>> = const { RefCell::new(VecDeque::new()) };
    /// The creation number of the thread's next node.
    static NEXT_SEQ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static SPARE_CAPACITY: std::cell::Cell<usize> = const { std::cell::Cell::new(DEFAULT_NODE_CACHE_CAPACITY) };
    /// The same for the boxed `Extra` of n-ary and labelled nodes.
    #[allow(clippy::vec_box, reason = "the boxes are the allocations kept for reuse")]
    static SPARE_EXTRA: RefCell<VecDeque<Box<Extra>>> = const { RefCell::new(VecDeque::new()) };
}

/// Sets how many freed node allocations this thread keeps for reuse, and
/// frees any kept beyond that. Returns the previous capacity.
///
/// Dropped nodes are not returned to the allocator at once but kept (up to
/// this many, [`DEFAULT_NODE_CACHE_CAPACITY`] by default) for the nodes of
/// the next graph, which a training loop builds at every step: that makes
/// building a graph about twice as fast. Each kept node is 80 bytes of
/// memory, and an eighth as many boxes of n-ary operand lists and labels
/// are kept too (96 bytes each). Set 0 to return every node to the
/// allocator as it is dropped; [`clear_node_cache`] empties the cache once
/// and keeps its capacity.
///
/// Memory goes back to the system: the cache keeps the allocations lowest
/// in memory, and a drop that frees more than 65,536 nodes beyond it asks
/// the allocator to return free pages (on Linux with glibc, whose `malloc`
/// otherwise keeps every freed node). So after any graph is dropped, the
/// process holds at most the cache's 92 MiB, and the 5 MiB of a smaller
/// drop, more than before it was built.
/// A training loop whose every graph is larger than the cache pays for
/// that return and for taking the memory again at the next step: give it
/// a capacity as large as its graphs.
///
/// ```
/// use chainrule::{Value, engine};
///
/// let previous = engine::set_node_cache_capacity(0);
/// let y = (0..1000).fold(Value::new(1.0), |y, _| &y * 1.0);
/// drop(y);
/// assert_eq!(engine::node_cache_len(), 0);
///
/// engine::set_node_cache_capacity(previous);
/// let y = (0..1000).fold(Value::new(1.0), |y, _| &y * 1.0);
/// drop(y);
/// assert!(engine::node_cache_len() >= 1000); // the chain's nodes, kept
/// ```
pub fn set_node_cache_capacity(nodes: usize) -> usize {
    let previous = SPARE_CAPACITY.try_with(|c| c.replace(nodes)).unwrap_or(0);
    let freed = trim_spares(nodes);
    if freed >= RELEASE_AFTER {
        release_free_memory();
    }
    previous
}

/// Empties this thread's node cache (see [`set_node_cache_capacity`]),
/// keeping its capacity, and lets the allocator return the memory to the
/// system. Returns how many node allocations it freed.
///
/// Call it after dropping a graph far larger than the ones to come (a
/// one-off million-node experiment in a notebook) to give its memory back.
///
/// ```
/// use chainrule::{Value, engine};
/// drop((0..1000).fold(Value::new(1.0), |y, _| &y * 1.0));
/// assert!(engine::clear_node_cache() >= 1000);
/// assert_eq!(engine::node_cache_len(), 0);
/// ```
pub fn clear_node_cache() -> usize {
    let freed = trim_spares(0);
    release_free_memory();
    freed
}

/// Frees the kept allocations beyond `nodes` (and beyond the matching
/// share of `Extra` boxes): the highest first. Returns how many nodes.
fn trim_spares(nodes: usize) -> usize {
    let freed = SPARE
        .try_with(|spare| {
            // Taken out of the cell first: nothing is dropped under a borrow.
            let dropped: Vec<_> = match spare.try_borrow_mut() {
                Ok(mut spare) => {
                    let excess = spare.len().saturating_sub(nodes);
                    let dropped = spare.drain(..excess).collect();
                    spare.shrink_to(nodes);
                    dropped
                }
                Err(_) => Vec::new(),
            };
            dropped.len()
        })
        .unwrap_or(0);
    let _ = SPARE_EXTRA.try_with(|spare| {
        let _dropped: Vec<_> = match spare.try_borrow_mut() {
            Ok(mut spare) => {
                let keep = nodes / EXTRA_SHARE;
                let excess = spare.len().saturating_sub(keep);
                let dropped = spare.drain(..excess).collect();
                spare.shrink_to(keep);
                dropped
            }
            Err(_) => Vec::new(),
        };
    });
    freed
}

/// Asks the allocator to give freed memory back to the system.
///
/// glibc's `malloc` keeps freed blocks of up to 128 bytes (every node) in
/// per-thread and "fast" bins that it neither merges nor returns: after a
/// ten-million-node graph is dropped, 1.5 GB stay resident, cache or no
/// cache. Its `malloc_trim` merges them and returns every free page, in
/// about 15 ms per million freed blocks. Other allocators (and Miri) are
/// left alone: they return memory by their own rules.
#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
pub(crate) fn release_free_memory() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: `malloc_trim` takes no pointer and touches only memory the
    // allocator has been given back; it locks each arena, so it is safe to
    // call from any thread at any time.
    unsafe {
        malloc_trim(0);
    }
}

/// Asks the allocator to give freed memory back: nothing to ask here.
#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
pub(crate) fn release_free_memory() {}

/// How many freed node allocations this thread keeps for reuse now (see
/// [`set_node_cache_capacity`]).
pub fn node_cache_len() -> usize {
    SPARE
        .try_with(|spare| spare.try_borrow().map_or(0, |s| s.len()))
        .unwrap_or(0)
}

/// Keeps an emptied node allocation for reuse. When the cache is full, the
/// one kept longest (the highest in memory) goes back to the allocator
/// instead; returns whether one did.
fn recycle(rc: Rc<RefCell<Node>>) -> bool {
    let capacity = SPARE_CAPACITY.try_with(|c| c.get()).unwrap_or(0);
    let evicted = keep(&SPARE, rc, capacity);
    let freed = evicted.is_some();
    drop(evicted);
    freed
}

/// Keeps an `Extra` box for reuse, emptied, as [`recycle`] does nodes. Its
/// operand lists have been taken already, so emptying it drops nothing
/// deep.
fn recycle_extra(mut extra: Box<Extra>) {
    // The lists are empty; the rest may hold a label and shared constants.
    extra.label = None;
    extra.constants = None;
    let capacity = SPARE_CAPACITY.try_with(|c| c.get()).unwrap_or(0) / EXTRA_SHARE;
    drop(keep(&SPARE_EXTRA, extra, capacity));
}

/// Pushes `item` onto the ring `spare` of at most `capacity`, and returns
/// what does not fit: the oldest item, or `item` itself (capacity 0, or the
/// ring is busy). The caller drops it, outside the borrow.
fn keep<T: 'static>(
    spare: &'static std::thread::LocalKey<RefCell<VecDeque<T>>>,
    item: T,
    capacity: usize,
) -> Option<T> {
    if capacity == 0 {
        return Some(item);
    }
    let mut item = Some(item);
    let _ = spare.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            let oldest = if spare.len() >= capacity {
                spare.pop_front()
            } else {
                None
            };
            spare.extend(item.take());
            item = oldest;
        }
    });
    item
}

/// `extra`, boxed in a spare allocation if the thread has one.
fn boxed_extra(extra: Extra) -> Box<Extra> {
    let spare = SPARE_EXTRA
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop_back())
        .ok()
        .flatten();
    match spare {
        Some(mut boxed) => {
            // The spare holds nothing (see `recycle_extra`): no need to
            // run its drop.
            std::mem::forget(std::mem::replace(&mut *boxed, extra));
            boxed
        }
        None => Box::new(extra),
    }
}

thread_local! {
    /// Whether operations record their operands (see [`no_grad`]).
    static RECORDING: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether this thread records operations: false inside [`no_grad`].
#[inline]
fn recording() -> bool {
    RECORDING.try_with(std::cell::Cell::get).unwrap_or(true)
}

/// Runs `f` without recording: inside it, every operation on values gives
/// a constant with the result's data (no operands, no gradient), as
/// PyTorch's `torch.no_grad()`. Recording resumes when `f` returns, and
/// also when it panics. Nesting is fine. Use it to evaluate a model, or to
/// compute something from parameters that must not be differentiated.
///
/// It costs one thread-local read per operation, inside or outside, and
/// building a constant is cheaper than a gate: leave it in a training loop.
///
/// ```
/// use chainrule::{Value, no_grad};
///
/// let w = Value::new(3.0);
/// let y = no_grad(|| &w * 2.0);
/// assert_eq!(y.data(), 6.0);
/// assert!(!y.requires_grad() && y.is_leaf()); // a constant
///
/// let z = &w * 2.0; // recording again
/// z.backward();
/// assert_eq!(w.grad(), 2.0);
/// ```
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    /// Puts the previous state back when dropped, on return or unwind.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = RECORDING.try_with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(RECORDING.try_with(|r| r.replace(false)).unwrap_or(true));
    f()
}

/// The next creation number of this thread.
fn next_seq() -> u64 {
    NEXT_SEQ
        .try_with(|next| {
            let seq = next.get();
            next.set((seq + 1) % SEQ_MODULUS);
            seq
        })
        .unwrap_or(0)
}

/// A spare allocation, if the thread has one.
fn reuse() -> Option<Rc<RefCell<Node>>> {
    SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop_back())
        .ok()
        .flatten()
}

impl Drop for Node {
    /// Dropping a node drops its operands; done naively that recurses once
    /// per link of a chain and overflows the stack on deep graphs. Here the
    /// operands this node owns alone are unlinked into a frontier on the
    /// heap instead, so dropping any graph takes constant stack space.
    ///
    /// The frontier frees the latest-made node first: a sweep down through
    /// memory (with the node cache, a graph sits in memory in the order it
    /// was made), and it hands the allocations to the cache in that order,
    /// so that the next graph, taking them back earliest first, is laid out
    /// in creation order again.
    fn drop(&mut self) {
        // Fast path: operands shared with other nodes only lose a count.
        if !self.may_own_an_operand() {
            return;
        }
        let mut operands = Vec::new();
        let mut last_handles = Frontier::new(self.seq());
        let mut freed = 0;
        self.take_operands(&mut operands);
        loop {
            // Handles to shared nodes just lose their count here; the last
            // handles wait in the frontier. One by one, so that `x * x`
            // drops its first `x` (2 -> 1) before it looks at the second.
            for value in operands.drain(..) {
                if Rc::strong_count(&value.0) == 1 {
                    let seq = value.0.try_borrow().map_or(0, |node| node.seq());
                    last_handles.push(seq, value.0);
                }
            }
            let Some(mut rc) = last_handles.pop() else {
                break;
            };
            if let Some(cell) = Rc::get_mut(&mut rc) {
                // Empty the node, so that its own `drop` finds no operands
                // and returns at once, and keep the allocation.
                let node = cell.get_mut();
                node.take_operands(&mut operands);
                if let Some(extra) = node.extra.take() {
                    recycle_extra(extra);
                }
                freed += usize::from(recycle(rc));
            }
        }
        if freed >= RELEASE_AFTER {
            release_free_memory();
        }
    }
}

/// One weight per input, or [`EngineError::LengthMismatch`](crate::EngineError::LengthMismatch).
fn same_length(weights: usize, inputs: usize) -> Result<(), crate::EngineError> {
    if weights == inputs {
        Ok(())
    } else {
        Err(crate::EngineError::LengthMismatch { weights, inputs })
    }
}

/// What an n-ary node needs to know of its operands, gathered while their
/// data is read.
#[derive(Default)]
struct Operands {
    requires_grad: bool,
    gate_operands: bool,
}

impl Operands {
    /// Reads one operand's data, noting whether it wants a gradient and is
    /// a gate.
    fn read(&mut self, value: &Value) -> f64 {
        let node = value.0.borrow();
        self.requires_grad |= node.requires_grad;
        self.gate_operands |= is_gate(node.requires_grad, node.op);
        node.data
    }
}

impl Value {
    /// A leaf that receives a gradient: an input or a parameter you
    /// differentiate by.
    ///
    /// ```
    /// let w = chainrule::Value::new(0.5);
    /// assert_eq!(w.data(), 0.5);
    /// assert_eq!(w.grad(), 0.0);
    /// assert!(w.requires_grad());
    /// ```
    pub fn new(data: f64) -> Value {
        Value::from_node(Node::leaf(data, true))
    }

    /// A leaf that never receives a gradient. Backward does no work for a
    /// subgraph that reaches only constants.
    ///
    /// ```
    /// use chainrule::Value;
    /// let x = Value::new(3.0);
    /// let k = Value::constant(2.0);
    /// let y = &x * &k;
    /// y.backward();
    /// assert_eq!(x.grad(), 2.0);
    /// assert_eq!(k.grad(), 0.0);
    /// ```
    pub fn constant(data: f64) -> Value {
        Value::from_node(Node::leaf(data, false))
    }

    /// A constant with the same data: the value cut off from the graph
    /// that made it, so nothing flows back through it (PyTorch's
    /// `detach`). Cheap: one node.
    ///
    /// ```
    /// use chainrule::Value;
    /// let x = Value::new(3.0);
    /// let y = &x * &x;
    /// let z = &y.detach() * &x; // y is a number here: dz/dx = y = 9
    /// z.backward();
    /// assert_eq!((z.data(), x.grad()), (27.0, 9.0));
    /// ```
    pub fn detach(&self) -> Value {
        Value::constant(self.data())
    }

    fn from_node(mut node: Node) -> Value {
        node.set_seq(next_seq());
        match reuse() {
            Some(mut rc) => match Rc::get_mut(&mut rc) {
                Some(cell) => {
                    // A spare node holds no operands and no `Extra` (see
                    // `Node::drop`): forgetting it leaks nothing and skips
                    // its drop.
                    std::mem::forget(std::mem::replace(cell.get_mut(), node));
                    Value(rc)
                }
                None => Value(Rc::new(RefCell::new(node))),
            },
            None => Value(Rc::new(RefCell::new(node))),
        }
    }

    /// A node of a unary or binary gate. Unary gates take `rhs = None`
    /// (relu: the max gate reads a missing right operand as
    /// [`op::ABSENT_RHS`]). Inside [`no_grad`] it is a constant.
    pub(crate) fn gate(op: Op, lhs: &Value, rhs: Option<&Value>) -> Value {
        let (a, lhs_wants) = lhs.data_and_requires_grad();
        let (b, rhs_wants) = rhs.map_or((op::ABSENT_RHS, false), Value::data_and_requires_grad);
        let data = op.forward(a, b);
        if !recording() {
            return Value::constant(data);
        }
        Value::from_node(Node::new(
            op,
            data,
            lhs_wants || rhs_wants,
            (Some(lhs.clone()), rhs.cloned()),
            None,
        ))
    }

    /// A node of an n-ary gate over `many` and `inputs` (and `constants`,
    /// for `DotConst`), with `data` already computed from them; `many_summary`
    /// and `inputs_summary` describe the two lists.
    fn nary(
        op: Op,
        data: f64,
        (many, many_summary): (Many, Operands),
        (inputs, inputs_summary): (Many, Operands),
        constants: Option<Rc<[f64]>>,
    ) -> Value {
        if !recording() {
            return Value::constant(data);
        }
        let extra = boxed_extra(Extra {
            label: None,
            many,
            inputs,
            constants,
            gate_operands: many_summary.gate_operands || inputs_summary.gate_operands,
            gate_many: many_summary.gate_operands,
        });
        Value::from_node(Node::new(
            op,
            data,
            many_summary.requires_grad || inputs_summary.requires_grad,
            (None, None),
            Some(extra),
        ))
    }

    /// The fused n-ary add gate: `x1 + … + xn` as one node. The sum of no
    /// values is a node with value 0.
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
        let mut summary = Operands::default();
        let data = op::sum_forward(xs.iter().map(|x| summary.read(x)));
        Value::nary(
            Op::Sum,
            data,
            (Many::Owned(xs.into()), summary),
            Default::default(),
            None,
        )
    }

    /// The fused sum of products `w1 x1 + … + wn xn` as one node: the mul
    /// gate applied pairwise, then the add gate. A neuron is one `dot` node
    /// plus its activation.
    ///
    /// # Panics
    ///
    /// If `ws` and `xs` differ in length, like a mismatched `zip` would be a
    /// silent bug. Use [`Value::try_dot`] to get an error instead.
    ///
    /// ```
    /// use chainrule::Value;
    /// let ws = [Value::new(2.0), Value::new(-3.0)];
    /// let xs = [Value::new(-1.0), Value::new(-2.0)];
    /// let z = Value::dot(&ws, &xs);
    /// z.backward();
    /// assert_eq!(z.data(), 4.0);
    /// assert_eq!((ws[0].grad(), xs[1].grad()), (-1.0, -3.0)); // the mul gate swaps
    /// ```
    pub fn dot(ws: &[Value], xs: &[Value]) -> Value {
        match Value::try_dot(ws, xs) {
            Ok(value) => value,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`Value::dot`] that returns an error, instead of panicking, when the
    /// lengths differ.
    ///
    /// ```
    /// use chainrule::{EngineError, Value};
    /// let ws = [Value::new(1.0), Value::new(2.0)];
    /// let xs = [Value::new(3.0)];
    /// let error = Value::try_dot(&ws, &xs).unwrap_err();
    /// assert_eq!(error, EngineError::LengthMismatch { weights: 2, inputs: 1 });
    /// ```
    pub fn try_dot(ws: &[Value], xs: &[Value]) -> Result<Value, crate::EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_node(
            Many::Owned(ws.into()),
            Many::Owned(xs.into()),
        ))
    }

    /// [`Value::dot`] over lists that are shared rather than copied: the
    /// same node, value and gradients, and no panic on unequal lengths.
    ///
    /// A hidden layer meets each sample with every neuron's weights, and
    /// all its neurons see the same inputs. With `dot`, each neuron's node
    /// copies both lists and touches every operand's reference count, per
    /// sample. Here a neuron keeps its weights in one `Rc<[Value]>`, the
    /// layer puts its inputs in one `Rc<[Value]>`, and each node holds the
    /// two pointers. Backward skips a list of leaves when counting
    /// consumers.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use chainrule::Value;
    ///
    /// let ws: Rc<[Value]> = Rc::from([Value::new(2.0), Value::new(-3.0)]);
    /// let xs: Rc<[Value]> = Rc::from([Value::new(-1.0), Value::new(-2.0)]);
    /// let z = Value::dot_shared(&ws, &xs).unwrap();
    /// z.backward();
    /// assert_eq!(z.data(), 4.0);
    /// assert_eq!((ws[0].grad(), xs[1].grad()), (-1.0, -3.0)); // the mul gate swaps
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::LengthMismatch`](crate::EngineError::LengthMismatch)
    /// if the lengths differ.
    pub fn dot_shared(ws: &Rc<[Value]>, xs: &Rc<[Value]>) -> Result<Value, crate::EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_node(
            Many::Shared(Rc::clone(ws)),
            Many::Shared(Rc::clone(xs)),
        ))
    }

    /// The `Dot` node over two lists of equal length.
    fn dot_node(ws: Many, xs: Many) -> Value {
        let (mut weights, mut inputs) = (Operands::default(), Operands::default());
        let data = op::dot_forward(
            ws.iter()
                .zip(xs.iter())
                .map(|(w, x)| (weights.read(w), inputs.read(x))),
        );
        Value::nary(Op::Dot, data, (ws, weights), (xs, inputs), None)
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
    /// [`EngineError::LengthMismatch`](crate::EngineError::LengthMismatch)
    /// if the lengths differ.
    pub fn dot_const(ws: &[Value], xs: &[f64]) -> Result<Value, crate::EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_const_node(Many::Owned(ws.into()), xs.into()))
    }

    /// [`Value::dot_const`] over lists that are shared rather than copied:
    /// the same node, value and gradients.
    ///
    /// A network meets each sample with every neuron's weights: with
    /// `dot_const` each neuron's node copies its weight list (and touches
    /// every weight's reference count) and its input list, per sample.
    /// Here a neuron keeps its weights in one `Rc<[Value]>` and a layer its
    /// input in one `Rc<[f64]>`, and each node holds the two pointers.
    /// Backward also accumulates, for each shared weight list whose
    /// operands are all leaves, `Σ upstream × c` over all its nodes in one
    /// contiguous buffer, and adds it to the weights once per pass rather
    /// than once per node (the sum is the same up to rounding order).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use chainrule::Value;
    ///
    /// let ws: Rc<[Value]> = Rc::from([Value::new(2.0), Value::new(-3.0)]);
    /// let a = Value::dot_const_shared(&ws, &Rc::from([-1.0, -2.0])).unwrap();
    /// let b = Value::dot_const_shared(&ws, &Rc::from([1.0, 0.5])).unwrap();
    /// assert_eq!((a.data(), b.data()), (4.0, 0.5));
    /// (&a + &b).backward();
    /// assert_eq!((ws[0].grad(), ws[1].grad()), (-1.0 + 1.0, -2.0 + 0.5));
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::LengthMismatch`](crate::EngineError::LengthMismatch)
    /// if the lengths differ.
    pub fn dot_const_shared(ws: &Rc<[Value]>, xs: &Rc<[f64]>) -> Result<Value, crate::EngineError> {
        same_length(ws.len(), xs.len())?;
        Ok(Value::dot_const_node(
            Many::Shared(Rc::clone(ws)),
            Rc::clone(xs),
        ))
    }

    /// The `DotConst` node over weights and constants of equal length.
    fn dot_const_node(ws: Many, xs: Rc<[f64]>) -> Value {
        let mut summary = Operands::default();
        let data = op::dot_forward(ws.iter().map(|w| summary.read(w)).zip(xs.iter().copied()));
        Value::nary(
            Op::DotConst,
            data,
            (ws, summary),
            Default::default(),
            Some(xs),
        )
    }

    /// The constant inputs of a [`Value::dot_const`] node (empty otherwise).
    pub fn constant_inputs(&self) -> Vec<f64> {
        let node = self.0.borrow();
        node.extra
            .as_ref()
            .map_or_else(Vec::new, |e| e.constants().to_vec())
    }

    /// The value.
    pub fn data(&self) -> f64 {
        self.0.borrow().data
    }

    /// The gradient: after [`backward`](Value::backward) on an output,
    /// `d(output)/d(self)`. Zero for constants.
    pub fn grad(&self) -> f64 {
        self.0.borrow().grad
    }

    /// Sets the value, typically of a parameter after an optimiser step.
    ///
    /// Nodes computed from this one are not recomputed: build the graph
    /// again (a new forward pass) to see the change downstream.
    ///
    /// ```
    /// let w = chainrule::Value::new(1.0);
    /// w.set_data(w.data() - 0.1 * 2.0);
    /// assert_eq!(w.data(), 0.8);
    /// ```
    pub fn set_data(&self, data: f64) {
        self.0.borrow_mut().data = data;
    }

    /// Sets this node's gradient to zero (leaves accumulate gradient across
    /// [`backward`](Value::backward) calls until you do).
    pub fn zero_grad(&self) {
        self.0.borrow_mut().grad = 0.0;
    }

    /// Names the node for pictures and error reports; returns the same value.
    ///
    /// ```
    /// let a = chainrule::Value::new(2.0).with_label("a");
    /// assert_eq!(a.label().as_deref(), Some("a"));
    /// ```
    pub fn with_label(self, label: impl Into<String>) -> Value {
        let label: String = label.into();
        self.0.borrow_mut().extra_mut().label = Some(label.into_boxed_str());
        self
    }

    /// The label given by [`with_label`](Value::with_label), if any.
    pub fn label(&self) -> Option<String> {
        let node = self.0.borrow();
        node.extra.as_ref()?.label.as_deref().map(str::to_owned)
    }

    /// The operation that produced this node ([`Op::Leaf`] for inputs,
    /// parameters and constants).
    pub fn op(&self) -> Op {
        self.0.borrow().op
    }

    /// The operands of this node, in order: none for a leaf; `[a]` for exp
    /// and log; `[a, b]` for add, mul and max; `[a, k]` for pow with the
    /// constant exponent `k`; all summands for sum; `w1 … wn x1 … xn` for dot.
    pub fn operands(&self) -> Vec<Value> {
        self.0.borrow().operands().cloned().collect()
    }

    /// Whether backward gives this node a gradient: true for
    /// [`Value::new`] leaves and for every node computed from one.
    pub fn requires_grad(&self) -> bool {
        self.0.borrow().requires_grad
    }

    /// Whether this is a leaf (made by [`Value::new`] or
    /// [`Value::constant`]).
    pub fn is_leaf(&self) -> bool {
        self.op() == Op::Leaf
    }

    /// Whether two handles share one node.
    ///
    /// ```
    /// let a = chainrule::Value::new(1.0);
    /// let b = a.clone();
    /// assert!(a.ptr_eq(&b));
    /// assert!(!a.ptr_eq(&chainrule::Value::new(1.0)));
    /// ```
    pub fn ptr_eq(&self, other: &Value) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The node's address: a key that tells nodes apart while they live.
    pub(crate) fn address(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    fn data_and_requires_grad(&self) -> (f64, bool) {
        let node = self.0.borrow();
        (node.data, node.requires_grad)
    }
}

impl fmt::Display for Value {
    /// `Value(data=2.0000, grad=0.0000)`, like micrograd's `repr`; a
    /// precision (`{:.2}`) replaces the default four decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(4);
        let node = self.0.borrow();
        write!(
            f,
            "Value(data={:.*}, grad={:.*})",
            precision, node.data, precision, node.grad
        )
    }
}

impl fmt::Debug for Value {
    /// The node's own fields, not its (possibly huge) subgraph.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = self.0.borrow();
        let mut s = f.debug_struct("Value");
        s.field("data", &node.data)
            .field("grad", &node.grad)
            .field("op", &node.op);
        if let Some(label) = node.extra.as_ref().and_then(|e| e.label.as_deref()) {
            s.field("label", &label);
        }
        s.field("operands", &node.operands().count()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(v: &Value) -> usize {
        Rc::as_ptr(&v.0) as usize
    }

    /// A full cache keeps the allocations of the earliest-made nodes (low
    /// in memory, where the next graph is built) and frees those of the
    /// latest-made (high, where the allocator can give them back). The
    /// old stack kept the latest-made ones and freed the rest, pinning the
    /// top of the heap.
    #[test]
    fn a_full_cache_keeps_the_earliest_made_allocations() {
        let previous = set_node_cache_capacity(0);
        set_node_cache_capacity(100);
        let x = Value::new(1.0);
        let mut chain = vec![];
        let mut y = x.clone();
        for _ in 0..1000 {
            y = &y + 1.0; // a constant and a gate per step
            chain.push(address(&y));
        }
        let all: Vec<usize> = {
            let order = y.topological_order();
            order
                .iter()
                .filter(|v| !v.ptr_eq(&x))
                .map(address)
                .collect()
        };
        drop(chain);
        drop(y);
        let kept: Vec<usize> = SPARE.with(|s| {
            s.borrow()
                .iter()
                .map(|rc| Rc::as_ptr(rc) as usize)
                .collect()
        });
        assert_eq!(kept.len(), 100);
        // `all` is in creation order: the cache holds its first 100.
        let mut earliest = all[..100].to_vec();
        let mut kept_sorted = kept.clone();
        earliest.sort_unstable();
        kept_sorted.sort_unstable();
        assert_eq!(kept_sorted, earliest);
        // And gives the earliest-made back first.
        assert_eq!(reuse().map(|rc| Rc::as_ptr(&rc) as usize), Some(all[0]));
        set_node_cache_capacity(previous);
    }

    #[test]
    fn extra_boxes_are_kept_in_proportion() {
        let previous = set_node_cache_capacity(0);
        set_node_cache_capacity(80);
        let xs: Vec<Value> = (0..3).map(|i| Value::new(f64::from(i))).collect();
        let sums: Vec<Value> = (0..50).map(|_| Value::sum(&xs)).collect();
        let top = Value::sum(&sums);
        drop(sums);
        drop(top); // the 50 sums' boxes reach the cache
        assert_eq!(SPARE_EXTRA.with(|s| s.borrow().len()), 80 / EXTRA_SHARE);
        set_node_cache_capacity(previous);
    }
}
