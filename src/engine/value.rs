//! [`Value`], the handle users hold: leaves, the one place gates are
//! built ([`Value::gate`], [`Value::nary`], where [`no_grad`] is honoured),
//! creation numbers, and the accessors. The node behind it is in
//! `node.rs`; the operators in `arith.rs`; the n-ary gates in `nary.rs`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::cache::{boxed_extra, reuse};
use super::node::{Extra, Label, Nary, NaryWants, Node, SEQ_MODULUS};
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

thread_local! {
    /// The creation number of the thread's next node.
    static NEXT_SEQ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
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
#[inline]
fn next_seq() -> u64 {
    NEXT_SEQ
        .try_with(|next| {
            let seq = next.get();
            next.set((seq + 1) % SEQ_MODULUS);
            seq
        })
        .unwrap_or(0)
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

    #[inline]
    pub(crate) fn from_node(mut node: Node) -> Value {
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
    #[inline]
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

    /// A node of an n-ary gate over `nary`, with `data` already computed
    /// from its operands; `requires_grad`, and whether its operands (and
    /// its first list) hold gates that want a gradient, were noted while
    /// they were read. Inside [`no_grad`] it is a constant.
    #[inline]
    pub(crate) fn nary(op: Op, data: f64, nary: Nary, wants: NaryWants) -> Value {
        if !recording() {
            return Value::constant(data);
        }
        let extra = boxed_extra(Extra {
            names: None,
            nary: Some(nary),
            gate_operands: wants.gate_operands,
            gate_many: wants.gate_many,
        });
        Value::from_node(Node::new(
            op,
            data,
            wants.requires_grad,
            (None, None),
            Some(extra),
        ))
    }

    /// The value.
    #[inline]
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
        self.0.borrow_mut().extra_mut().names_mut().label = Some(Label::Text(label.into()));
        self
    }

    /// Puts the node in a group, for pictures: a scope whose parts are
    /// separated by `/` (`layer1/neuron3` is inside `layer1`). Pictures
    /// draw each group as an outlined cluster (nested at most four deep;
    /// deeper groups are drawn in their ancestor), and can collapse one
    /// into a box ([`DotOptions::collapse`](crate::graph::DotOptions::collapse)).
    /// [`nn`](crate::nn) groups what it builds by layer and neuron.
    ///
    /// ```
    /// let w = chainrule::Value::new(0.5).with_label("w").with_group("neuron1");
    /// assert_eq!(w.group().as_deref(), Some("neuron1"));
    /// assert_eq!(w.label().as_deref(), Some("w"));
    /// ```
    pub fn with_group(self, group: impl Into<String>) -> Value {
        let group: String = group.into();
        self.0.borrow_mut().extra_mut().names_mut().group = Some(Rc::from(group));
        self
    }

    /// Names an `nn` parameter by its position (`w{k}` for `Some(k)`, `b`
    /// for `None`) in the shared group `group`: no string of its own.
    pub(crate) fn name_parameter(&self, weight: Option<u32>, group: &Rc<str>) {
        let mut node = self.0.borrow_mut();
        let names = node.extra_mut().names_mut();
        names.label = Some(weight.map_or(Label::Bias, Label::Weight));
        names.group = Some(Rc::clone(group));
    }

    /// The group given by [`with_group`](Value::with_group), if any.
    pub fn group(&self) -> Option<String> {
        let node = self.0.borrow();
        node.extra.as_ref()?.group().map(str::to_owned)
    }

    /// The label given by [`with_label`](Value::with_label), if any.
    pub fn label(&self) -> Option<String> {
        let node = self.0.borrow();
        node.extra
            .as_ref()?
            .label()
            .map(std::borrow::Cow::into_owned)
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
    #[inline]
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

    /// Sets the value to `update(value, gradient)` under one borrow: an
    /// optimiser's step touches each parameter's node once.
    #[inline]
    pub(crate) fn update_data(&self, update: impl FnOnce(f64, f64) -> f64) {
        let mut node = self.0.borrow_mut();
        node.data = update(node.data, node.grad);
    }

    /// The node's address: a key that tells nodes apart while they live.
    pub(crate) fn address(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    #[inline]
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
        if let Some(label) = node.extra.as_ref().and_then(|e| e.label()) {
            s.field("label", &label);
        }
        s.field("operands", &node.operands().count()).finish()
    }
}
