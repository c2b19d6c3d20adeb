//! [`Node`], the graph node behind a [`Value`]: its 48-byte layout, the
//! rarely needed parts in [`Extra`], and the operands of the n-ary gates
//! ([`Nary`]). Building nodes is `value.rs`'s job (and `arith.rs`'s and
//! `nary.rs`'s); dropping them, `cache.rs`'s.

use std::rc::Rc;

use super::op::Op;
use super::value::Value;

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
    /// The label and group, in one box: one pointer in a structure every
    /// n-ary node has.
    pub(crate) names: Option<Box<Names>>,
    /// The operands of an n-ary gate (`Sum`, `Dot`, `DotConst`).
    pub(crate) nary: Option<Nary>,
    /// Whether any operand is a gate that wants a gradient. Known when the
    /// node is built (its operands are read then); when false, backward
    /// schedules nothing from this node, so a dead one is skipped whole and
    /// a shared list's share can be deferred (a first layer's dot node).
    pub(crate) gate_operands: bool,
    /// Whether the first list (the summands, or the weights) holds such a
    /// gate: when not, backward defers the share of a shared weight list
    /// (a hidden neuron's weights, while its inputs are gates).
    pub(crate) gate_many: bool,
}

/// A node's label ([`Value::with_label`]) and group
/// ([`Value::with_group`]).
#[derive(Default)]
pub(crate) struct Names {
    pub(crate) label: Option<Label>,
    /// Shared by every parameter of a neuron (`nn` names them): one string
    /// per neuron, not per parameter.
    pub(crate) group: Option<Rc<str>>,
}

/// A label: text given by the user, or an `nn` parameter's, made from its
/// position when asked for, so a network's parameters hold no strings.
pub(crate) enum Label {
    Text(Box<str>),
    /// `w1`, `w2`, …: the weight at this position (from 1).
    Weight(u32),
    /// `b`.
    Bias,
}

impl Label {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Label::Text(text) => std::borrow::Cow::Borrowed(text),
            Label::Weight(k) => std::borrow::Cow::Owned(format!("w{k}")),
            Label::Bias => std::borrow::Cow::Borrowed("b"),
        }
    }
}

impl Names {
    /// The bytes of strings these names alone hold (a group shared with
    /// other nodes counts with its last holder).
    pub(crate) fn own_bytes(&self) -> usize {
        let label = match &self.label {
            Some(Label::Text(text)) => text.len(),
            _ => 0,
        };
        let group = self
            .group
            .as_ref()
            .filter(|g| Rc::strong_count(g) == 1)
            .map_or(0, |g| g.len());
        label + group
    }
}

impl Extra {
    /// The node's label, if any.
    pub(crate) fn label(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.names.as_ref()?.label.as_ref().map(Label::text)
    }

    /// The node's group, if any.
    pub(crate) fn group(&self) -> Option<&str> {
        self.names.as_ref()?.group.as_deref()
    }

    /// The names, made if the node has none.
    pub(crate) fn names_mut(&mut self) -> &mut Names {
        self.names.get_or_insert_with(Box::default)
    }
}

/// The operands of an n-ary gate, one variant per gate: a `Sum` cannot
/// have constants, nor a `Dot` lack its inputs.
pub(crate) enum Nary {
    /// `x1 + … + xn`.
    Sum(Many),
    /// `w1 x1 + … + wn xn`: the weights and the inputs, of equal length
    /// (shared by every neuron of a layer when built by
    /// [`tuning::dot_shared`](super::tuning::dot_shared)).
    Dot { weights: Many, inputs: Many },
    /// `w1 c1 + … + wn cn` with constant numbers `c` (a layer's input
    /// pixels, shared by its neurons), of equal length.
    DotConst { weights: Many, constants: Rc<[f64]> },
}

/// What an n-ary node notes of its operands while it reads them.
#[derive(Copy, Clone, Default)]
pub(crate) struct NaryWants {
    /// Whether any operand wants a gradient.
    pub(crate) requires_grad: bool,
    /// Whether any operand is a gate that wants one.
    pub(crate) gate_operands: bool,
    /// Whether the first list (summands or weights) holds such a gate.
    pub(crate) gate_many: bool,
}

impl Nary {
    /// The operand lists, in order: (summands or weights, inputs).
    #[inline]
    pub(crate) fn lists(&self) -> (&[Value], &[Value]) {
        match self {
            Nary::Sum(xs) => (xs, &[]),
            Nary::Dot { weights, inputs } => (weights, inputs),
            Nary::DotConst { weights, .. } => (weights, &[]),
        }
    }
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
    #[inline]
    pub(crate) fn constants(&self) -> &[f64] {
        match &self.nary {
            Some(Nary::DotConst { constants, .. }) => constants,
            _ => &[],
        }
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

/// Moves a list's operands into `into`: all of an owned list; a shared
/// list's only if this was its last holder (cloned out, so the list's own
/// drop is shallow). Others keep it, and its operands, alive.
#[inline]
fn unlink(list: Many, into: &mut Vec<Value>) {
    match list {
        Many::Owned(list) => into.extend(list),
        Many::Shared(list) if Rc::strong_count(&list) == 1 => into.extend(list.iter().cloned()),
        Many::Shared(_) => {}
    }
}

/// Whether a node with this summary is a gate that wants a gradient.
#[inline]
pub(crate) fn is_gate(wants: bool, op: Op) -> bool {
    wants && op != Op::Leaf
}

impl Node {
    /// A node of `op` over `lhs`, `rhs` and `extra`; its creation number
    /// is given by [`Value::from_node`].
    #[inline]
    pub(crate) fn new(
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

    #[inline]
    pub(crate) fn leaf(data: f64, requires_grad: bool) -> Node {
        Node::new(Op::Leaf, data, requires_grad, (None, None), None)
    }

    /// The node's creation number: the count of nodes its thread made
    /// before it, modulo [`SEQ_MODULUS`]. Every operand is made before the
    /// node that uses it, so a node's number exceeds its operands' (up to
    /// wrap-around, see `backward.rs`).
    #[inline]
    pub(crate) fn seq(&self) -> u64 {
        (u64::from(self.stamp_hi & !VISITED) << 32) | u64::from(self.stamp_lo)
    }

    #[inline]
    pub(crate) fn set_seq(&mut self, seq: u64) {
        self.stamp_lo = seq as u32;
        self.stamp_hi = (seq >> 32) as u16 & !VISITED;
    }

    /// The walks' scratch mark (discovered, not yet processed).
    #[inline]
    pub(crate) fn visited(&self) -> bool {
        self.stamp_hi & VISITED != 0
    }

    #[inline]
    pub(crate) fn set_visited(&mut self, visited: bool) {
        if visited {
            self.stamp_hi |= VISITED;
        } else {
            self.stamp_hi &= !VISITED;
        }
    }

    /// The n-ary operands and the flags beside them, for an n-ary gate.
    #[inline]
    pub(crate) fn nary(&self) -> Option<(&Extra, &Nary)> {
        let extra = self.extra.as_deref()?;
        Some((extra, extra.nary.as_ref()?))
    }

    /// The operands, in order.
    #[inline]
    pub(crate) fn operands(&self) -> impl DoubleEndedIterator<Item = &Value> {
        let (many, inputs): (&[Value], &[Value]) = self
            .extra
            .as_ref()
            .and_then(|e| e.nary.as_ref())
            .map_or((&[], &[]), Nary::lists);
        self.lhs
            .iter()
            .chain(self.rhs.iter())
            .chain(many)
            .chain(inputs)
    }

    /// Moves the operands out into `into` (those of a shared list only if
    /// this node holds the list's last handle), leaving the node empty.
    #[inline]
    pub(crate) fn take_operands(&mut self, into: &mut Vec<Value>) {
        into.extend(self.lhs.take());
        into.extend(self.rhs.take());
        // Nearly every node is a unary or binary gate, without n-ary lists.
        let Some(nary) = self.extra.as_mut().and_then(|e| e.nary.take()) else {
            return;
        };
        match nary {
            Nary::Sum(xs) => unlink(xs, into),
            Nary::Dot { weights, inputs } => {
                unlink(weights, into);
                unlink(inputs, into);
            }
            Nary::DotConst { weights, .. } => unlink(weights, into),
        }
    }

    /// Whether dropping this node may drop one of its operands too (so the
    /// drop must unlink them iteratively). `x * x` holds `x` twice, so a
    /// count of two can be the last; n-ary gates are always unlinked.
    #[inline]
    pub(crate) fn may_own_an_operand(&self) -> bool {
        let last = |v: &Value, handles_here: usize| Rc::strong_count(&v.0) <= handles_here;
        let nary = self
            .extra
            .as_ref()
            .and_then(|e| e.nary.as_ref())
            .is_some_and(|n| !n.lists().0.is_empty());
        nary || match (&self.lhs, &self.rhs) {
            (Some(a), Some(b)) if a.ptr_eq(b) => last(a, 2),
            (a, b) => a.iter().chain(b).any(|v| last(v, 1)),
        }
    }

    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}
