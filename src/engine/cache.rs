//! The node cache: allocations of dropped nodes kept for the next graph
//! (training builds one of about the same size at every step), memory
//! given back to the system, and the iterative drop that feeds the cache.

use std::cell::RefCell;
use std::rc::Rc;

use super::frontier::Frontier;
use super::node::{Extra, Node};

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

/// Bytes of labels and groups a drop frees after which it also asks the
/// allocator to return free memory, however few the nodes.
const RELEASE_AFTER_NAME_BYTES: usize = 8 << 20;

thread_local! {
    /// Allocations of dropped nodes, kept for the next ones. Training
    /// builds, backpropagates and drops a graph of about the same size at
    /// every step, so after the first step nodes cost no `malloc`/`free`.
    ///
    /// A stack: a drop hands in the latest-made node first, so the next
    /// graph takes the earliest-made back first and is laid out in creation
    /// order again. When it is full, a dropped node goes back to the
    /// allocator.
    static SPARE: RefCell<Vec<Rc<RefCell<Node>>>> = const { RefCell::new(Vec::new()) };
    static SPARE_CAPACITY: std::cell::Cell<usize> = const { std::cell::Cell::new(DEFAULT_NODE_CACHE_CAPACITY) };
    /// The same for the boxed `Extra` of n-ary and labelled nodes.
    #[allow(clippy::vec_box, reason = "the boxes are the allocations kept for reuse")]
    static SPARE_EXTRA: RefCell<Vec<Box<Extra>>> = const { RefCell::new(Vec::new()) };
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
/// Memory goes back to the system: a drop that frees more than 65,536 nodes
/// beyond the cache asks the allocator to return its free pages (on Linux
/// with glibc, whose `malloc` otherwise keeps every freed node, wherever it
/// lies in the heap). So after any graph is dropped, the
/// process holds at most the cache's 92 MiB, and the 5 MiB of a smaller
/// drop, more than before it was built.
/// A training loop whose every graph is larger than the cache pays for
/// that return and for taking the memory again at the next step: give it
/// a capacity as large as its graphs.
///
/// ```
/// use chainrule::Value;
/// use chainrule::engine::tuning;
///
/// let previous = tuning::set_node_cache_capacity(0);
/// let y = (0..1000).fold(Value::new(1.0), |y, _| &y * 1.0);
/// drop(y);
/// assert_eq!(tuning::node_cache_len(), 0);
///
/// tuning::set_node_cache_capacity(previous);
/// let y = (0..1000).fold(Value::new(1.0), |y, _| &y * 1.0);
/// drop(y);
/// assert!(tuning::node_cache_len() >= 1000); // the chain's nodes, kept
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
/// use chainrule::Value;
/// use chainrule::engine::tuning;
/// drop((0..1000).fold(Value::new(1.0), |y, _| &y * 1.0));
/// assert!(tuning::clear_node_cache() >= 1000);
/// assert_eq!(tuning::node_cache_len(), 0);
/// ```
pub fn clear_node_cache() -> usize {
    let freed = trim_spares(0);
    release_free_memory();
    freed
}

/// Frees the kept allocations beyond `nodes` (and beyond the matching
/// share of `Extra` boxes), the first kept first. Returns how many nodes.
fn trim_spares(nodes: usize) -> usize {
    let freed = excess(&SPARE, nodes).len();
    drop(excess(&SPARE_EXTRA, nodes / EXTRA_SHARE));
    freed
}

/// Takes all but the last `keep` items (the first kept) out of `spare`,
/// for the caller to drop outside the cache's borrow, and shrinks it.
fn excess<T: 'static>(
    spare: &'static std::thread::LocalKey<RefCell<Vec<T>>>,
    keep: usize,
) -> Vec<T> {
    spare
        .try_with(|spare| match spare.try_borrow_mut() {
            Ok(mut spare) => {
                let excess = spare.len().saturating_sub(keep);
                let taken = spare.drain(..excess).collect();
                spare.shrink_to(keep);
                taken
            }
            Err(_) => Vec::new(),
        })
        .unwrap_or_default()
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

/// Keeps an emptied node allocation for reuse, if there is room; returns
/// whether it went back to the allocator instead.
#[inline]
fn recycle(rc: Rc<RefCell<Node>>) -> bool {
    let capacity = SPARE_CAPACITY.try_with(|c| c.get()).unwrap_or(0);
    let evicted = keep(&SPARE, rc, capacity);
    let freed = evicted.is_some();
    drop(evicted);
    freed
}

/// Keeps an `Extra` box for reuse, emptied, as [`recycle`] does nodes,
/// unless it held a label or group: then it is freed, and the bytes of its
/// names are returned (a drop that frees many asks the allocator to give
/// memory back). Its operand lists have been taken already, so emptying it
/// drops nothing deep.
#[inline]
fn recycle_extra(mut extra: Box<Extra>) -> usize {
    // The lists were taken; the rest may hold a label and shared constants.
    let name_bytes = extra.names.take().map_or(0, |names| names.own_bytes());
    extra.nary = None;
    if name_bytes > 0 {
        // Freed with its names: kept between them, it would pin their
        // pages (see the drop).
        return name_bytes;
    }
    let capacity = SPARE_CAPACITY.try_with(|c| c.get()).unwrap_or(0) / EXTRA_SHARE;
    drop(keep(&SPARE_EXTRA, extra, capacity));
    0
}

/// Pushes `item` onto `spare` if it holds fewer than `capacity`, and
/// returns it otherwise (or if the cache is busy), for the caller to drop
/// outside the borrow.
#[inline]
fn keep<T: 'static>(
    spare: &'static std::thread::LocalKey<RefCell<Vec<T>>>,
    item: T,
    capacity: usize,
) -> Option<T> {
    let mut item = Some(item);
    let _ = spare.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < capacity
            && let Some(item) = item.take()
        {
            spare.push(item);
        }
    });
    item
}

/// `extra`, boxed in a spare allocation if the thread has one.
#[inline]
pub(crate) fn boxed_extra(extra: Extra) -> Box<Extra> {
    let spare = SPARE_EXTRA
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
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

/// A spare allocation, if the thread has one.
#[inline]
pub(crate) fn reuse() -> Option<Rc<RefCell<Node>>> {
    SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
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
        let mut name_bytes = 0;
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
                let names = node.extra.take().map_or(0, recycle_extra);
                name_bytes += names;
                if names == 0 {
                    freed += usize::from(recycle(rc));
                } else {
                    // A labelled node's allocation is freed, not kept:
                    // kept between freed labels, it would pin their pages.
                    drop(rc);
                    freed += 1;
                }
            }
        }
        // Many nodes, or fewer with long labels (60,000 labels of 2 KB
        // kept 120 MB resident): glibc returns neither by itself.
        if freed >= RELEASE_AFTER || name_bytes >= RELEASE_AFTER_NAME_BYTES {
            release_free_memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

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
