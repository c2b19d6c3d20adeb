//! The frontier of the graph walks and of the drop: nodes found and not
//! yet taken, handed out latest made first.
//!
//! Every node carries its creation number (`Node::seq`),
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

use super::node::SEQ_MODULUS;

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
    #[inline]
    pub(crate) fn new(root_seq: u64) -> Frontier<T> {
        Frontier {
            root_seq,
            next: None,
            heap: BinaryHeap::new(),
        }
    }

    /// Adds the item of the node made `seq`-th.
    #[inline]
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
    #[inline]
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Replays a walk: each step takes an item (its key, the distance back
    /// from the root), then pushes the keys the script gives it, each
    /// beyond the key just taken, as a walk's operands are made before the
    /// node it took.
    fn walk(first: u64, script: &[Vec<u64>]) -> Vec<u64> {
        let root = 1 << 40;
        let mut frontier = Frontier::new(root);
        frontier.push(root - first, first);
        let mut taken = Vec::new();
        let mut steps = script.iter();
        while let Some(key) = frontier.pop() {
            taken.push(key);
            for &step in steps.next().into_iter().flatten() {
                frontier.push(root - (key + step), key + step);
            }
        }
        taken
    }

    proptest! {
        /// Every item pushed is taken once, nearest the root first: were a
        /// farther one taken while a nearer one waited, the taken keys
        /// would go down somewhere.
        #[test]
        fn takes_the_latest_made_first(
            first in 0u64..1000,
            script in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![1u64..4, 1u64..300, 1u64..(1 << 30)], 0..6),
                0..200,
            ),
        ) {
            let taken = walk(first, &script);
            let pushed = 1 + script.iter().take(taken.len()).map(Vec::len).sum::<usize>();
            prop_assert_eq!(taken.len(), pushed);
            prop_assert!(taken.windows(2).all(|w| w[0] <= w[1]), "{taken:?}");
        }
    }

    #[test]
    fn creation_numbers_wrap_around() {
        // The root was made just after the counter wrapped, its operands
        // on both sides of the wrap: distances back still order them.
        let mut frontier = Frontier::new(2);
        for seq in [SEQ_MODULUS - 3, 1, SEQ_MODULUS - 1, 0] {
            frontier.push(seq, seq);
        }
        let order: Vec<u64> = std::iter::from_fn(|| frontier.pop()).collect();
        assert_eq!(order, [1, 0, SEQ_MODULUS - 1, SEQ_MODULUS - 3]);
    }
}
