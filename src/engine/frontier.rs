//! The frontier of the graph walks and of the drop: nodes found and not
//! yet taken, handed out latest made first.
//!
//! Every node carries its creation number ([`Node::seq`](super::value::Node::seq)),
//! and a node's operands are always made before it. Taking the latest-made
//! node first therefore takes every node after all the nodes that consume
//! it (see `backward.rs` for why that is complete), and sweeps the nodes
//! in the reverse of the order they were made, which is also, with the
//! node cache, the reverse of the order they sit in memory.
//!
//! Creation numbers wrap around at [`SEQ_MODULUS`], so they are compared
//! as distances back from the walk's root.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::value::SEQ_MODULUS;

/// An item and how close to the root its node was made.
struct Ready<T> {
    rank: u64,
    item: T,
}

impl<T> PartialEq for Ready<T> {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank
    }
}

impl<T> Eq for Ready<T> {}

impl<T> PartialOrd for Ready<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Ready<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank.cmp(&other.rank)
    }
}

/// Items keyed by their node's creation number, latest made first.
///
/// A max-heap with one slot in front of it: the best item pushed since the
/// last `pop`. Most nodes are an operand of the node taken just before them
/// (every link of a chain), so they pass through the slot and never touch
/// the heap.
pub(crate) struct Frontier<T> {
    /// The root's creation number, from which ranks are counted back.
    root_seq: u64,
    next: Option<Ready<T>>,
    heap: BinaryHeap<Ready<T>>,
}

impl<T> Frontier<T> {
    /// An empty frontier for a walk from the node made `root_seq`-th.
    pub(crate) fn new(root_seq: u64) -> Frontier<T> {
        Frontier {
            root_seq,
            next: None,
            heap: BinaryHeap::new(),
        }
    }

    /// Adds the item of the node made `seq`-th.
    pub(crate) fn push(&mut self, seq: u64, item: T) {
        // Distance back from the root, modulo the wrap-around; the root
        // itself ranks highest.
        let back = self.root_seq.wrapping_sub(seq) % SEQ_MODULUS;
        let ready = Ready {
            rank: SEQ_MODULUS - back,
            item,
        };
        match &mut self.next {
            None => self.next = Some(ready),
            Some(next) if ready.rank > next.rank => {
                self.heap.push(std::mem::replace(next, ready));
            }
            Some(_) => self.heap.push(ready),
        }
    }

    /// Takes the item of the latest-made node.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let ready = match self.next.take() {
            Some(next) if self.heap.peek().is_none_or(|top| next.rank > top.rank) => next,
            Some(next) => {
                self.heap.push(next);
                self.heap.pop()?
            }
            None => self.heap.pop()?,
        };
        Some(ready.item)
    }
}
