//! [`Tape`]: the graph under one output recorded once into flat arrays,
//! then replayed (forward from the leaves' current data, backward into the
//! leaves' gradients) as often as the numbers change and the shape does
//! not: define-and-run beside the graph's define-by-run.
//!
//! The tape applies `op.rs`'s rules, in backward's order, with backward's
//! buffers for shared weight lists, so what it adds to a leaf's gradient is
//! what [`Value::backward`] adds on a graph rebuilt from the same data, bit
//! for bit. How it keeps that promise:
//!
//! - Its gates are in creation order, which is topological order;
//!   backward takes nodes latest-made first, so the tape's reverse order
//!   is backward's. (Leaves can sit anywhere: they come first, each operand
//!   list's side by side, see `layout`.)
//! - Every adjoint starts at -0.0 (`-0.0 + x` is `x`, bit for bit), so the
//!   first share a node receives sets it, as in backward. A leaf's shares
//!   in a pass are summed apart and added to its old gradient once, at the
//!   end, after the buffered sums of its shared lists (in the order backward
//!   met those lists), as `backward.rs`'s `PassSums` and `SharedSums` do.
//! - A node whose gradient is 0 gives nothing, as in backward.
//!
//! A dot's weight list and input list are read as slices: a run of slots
//! (a neuron's weights and bias, laid out side by side), or a buffer
//! gathered once per forward pass (a layer's input list with its trailing
//! 1, shared by every neuron of the layer). Dots over one input run eight
//! at a time over their weights packed side by side ([`Group`], [`Pack`]),
//! each sum still adding its terms in order; the weights' buffers skip the
//! input's zeros, which add nothing (a digit is mostly zeros).

use std::cell::OnceCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::EngineError;
use super::backward::topological_order;
use super::node::{Many, Nary, Node};
use super::op::{self, Op};
use super::value::Value;

/// No right operand (a unary gate, or relu's 0 held in the node).
const NONE: u32 = u32::MAX;

/// A graph recorded once and replayed: [`Tape::forward`] recomputes every
/// node from the current [`data`](Value::data) of every leaf under the
/// output, and [`Tape::backward`] adds to each leaf's
/// [`grad`](Value::grad) exactly what [`Value::backward`] would add on the
/// graph rebuilt from the same data, without building, linking or dropping
/// a node.
///
/// Leaves made by [`Value::new`] and [`Value::constant`] alike are read
/// afresh by every forward pass (a batch's inputs are constant leaves whose
/// data you set with [`Value::set_data`]); numbers written as `f64` in
/// expressions (`&x * 2.0`, the pixels of `dot_const`) stay as recorded.
///
/// ```
/// use chainrule::{Tape, Value};
///
/// // f(x, w) = relu(w x + 1), recorded once.
/// let x = Value::constant(2.0);
/// let w = Value::new(0.5);
/// let f = (&w * &x + 1.0).relu();
/// let tape = Tape::record(&f).unwrap();
///
/// // New numbers, same shape: set the leaves and replay.
/// x.set_data(-3.0);
/// assert_eq!(tape.forward(), 0.0); // relu(0.5 × -3 + 1) = relu(-0.5)
/// tape.backward();
/// assert_eq!(w.grad(), 0.0); // relu routed nothing
///
/// x.set_data(4.0);
/// assert_eq!(tape.forward(), 3.0);
/// w.zero_grad();
/// tape.backward();
/// assert_eq!(w.grad(), 4.0); // d/dw (w x + 1) = x
/// ```
///
/// # What a tape cannot follow
///
/// A tape replays the operations that were recorded. Decisions your Rust
/// code made from values while building the graph (an `if` on
/// `x.data()`) are not in it: the replay takes the branch taken when
/// recording. The gates follow the values (max and relu route by the
/// replayed numbers), but [`Value::sigmoid`] and [`Value::tanh`] choose
/// their formula by the sign of `x` when built, and the losses choose their
/// limits when a logit is infinite: replayed with data of another sign,
/// they compute the same function, though not always the same last bits
/// as a graph built anew. A [`Value`] made after recording is not on the
/// tape ([`Tape::value_of`] says so).
///
/// The tape holds the output, so the graph stays alive as long as the
/// tape; it never holds a borrow of a node between calls.
pub struct Tape {
    /// What the tape was recorded from; keeps every node alive.
    output: Value,
    /// The output's slot.
    out: u32,
    /// Whether the output is a leaf (backward then adds 1 to it).
    output_is_leaf: bool,
    /// Every node's value, by slot (creation order).
    scratch: std::cell::RefCell<Scratch>,
    /// Whether each slot takes a gradient.
    wants: Box<[bool]>,
    /// The leaves: slot, whether the tape's owner feeds its number (see
    /// [`Tape::feed`]; the forward pass does not read those), handle.
    leaves: Box<[(u32, bool, Value)]>,
    /// The slots of the fed leaves, in the order they are fed.
    fed: Box<[u32]>,
    /// The gates and the gathers, in creation order.
    steps: Box<[Step]>,
    /// The operand lists of the n-ary gates.
    lists: Box<[List]>,
    /// The members of every list, by slot, one after another.
    members: Box<[u32]>,
    /// The constant inputs of the `DotConst` gates.
    constants: Box<[Rc<[f64]>]>,
    /// Dots that share their input, run together by the forward pass.
    groups: Box<[Group]>,
    /// Each step's group, or [`NONE`].
    grouped: Box<[u32]>,
    packs: Box<[Pack]>,
    /// Node address → slot, built on first need.
    index: OnceCell<FxHashMap<usize, u32>>,
}

/// The numbers a replay writes.
struct Scratch {
    values: Vec<f64>,
    adjoints: Vec<f64>,
    /// The gathered lists' values.
    gathered: Vec<f64>,
    /// The deferred lists' buffers.
    sums: Vec<f64>,
    /// Which deferred lists a backward pass met, in order.
    met: Vec<u32>,
    met_flag: Vec<bool>,
    /// Per gathered list (at its gather offset), the positions of its
    /// nonzero numbers, found on first need after each gather.
    nonzero: Vec<u32>,
    /// How many each list has, or [`NONE`] while not yet found.
    nonzero_len: Vec<u32>,
    /// The packs' numbers, and whether each was copied in this pass.
    packed: Vec<f64>,
    packed_now: Vec<bool>,
}

/// One operand list.
struct List {
    /// Its members in `Tape::members`.
    start: u32,
    len: u32,
    /// Where its values are read as a slice.
    place: Place,
    /// Its buffer in `Scratch::sums`, if it is a shared list of leaves
    /// whose shares backward defers.
    sums: u32,
    /// Its latest member's slot (a list can be read from the step after).
    last: u32,
    /// Whether any member takes a gradient.
    wants: bool,
}

/// Dot steps over one input (a layer's neurons meeting one sample), run
/// eight at a time by the forward pass where the first of them stands:
/// eight running sums that do not wait for each other, each adding in
/// order, so every value is the one its own step would compute. Backward
/// keeps each step in its place.
struct Group {
    /// The step where the group runs.
    first: u32,
    /// The shared input.
    input: Input,
    /// Each member's slot and weight list.
    members: Vec<(u32, u32)>,
    /// The pack of each eight members' weights.
    packs: Vec<u32>,
}

/// Eight weight lists side by side (number `i` of list `k` at `8 i + k`),
/// copied once per forward pass by the first group that needs them and
/// read by every sample's group: a layer's weights.
struct Pack {
    rows: [u32; 8],
    /// The numbers per row.
    len: u32,
    /// Where in `Scratch::packed`.
    at: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Input {
    /// A `Dot`'s input list.
    List(u32),
    /// A `DotConst`'s constants.
    Constants(u32),
}

#[derive(Clone, Copy)]
enum Place {
    /// `values[slot..slot + len]`.
    Run(u32),
    /// `gathered[at..at + len]`.
    Gathered(u32),
}

/// One step of the replay.
enum Step {
    /// A unary or binary gate (`b` is [`NONE`] for unary gates and relu).
    Gate { op: Op, out: u32, a: u32, b: u32 },
    /// `Σ list`.
    Sum { out: u32, list: u32 },
    /// `Σ wi xi`; `defer`: the weights are a shared list of leaves whose
    /// shares wait in the list's buffer.
    Dot {
        out: u32,
        weights: u32,
        inputs: u32,
        defer: bool,
    },
    /// `Σ wi ci`.
    DotConst {
        out: u32,
        weights: u32,
        constants: u32,
        defer: bool,
    },
    /// Copy a list's values into its gather buffer (before its first use).
    Gather { list: u32 },
}

/// What recording builds besides the steps.
#[derive(Default)]
struct Recorder {
    lists: Vec<List>,
    members: Vec<u32>,
    gathered: u32,
    /// Whether each list's gather step is in the tape already.
    scheduled: Vec<bool>,
    sums: u32,
    /// Shared list address → list.
    shared: FxHashMap<usize, u32>,
    constants: Vec<Rc<[f64]>>,
    constant_index: FxHashMap<usize, u32>,
}

impl Recorder {
    /// The list of `many`'s members (one entry per shared list), to be
    /// read as a slice: a gathered list's gather step goes in before its
    /// first use.
    fn slice(&mut self, many: &Many, slot: &FxHashMap<usize, u32>, steps: &mut Vec<Step>) -> u32 {
        let list = self.list(many, slot);
        let gathered = matches!(self.lists[list as usize].place, Place::Gathered(_));
        if gathered && !self.scheduled[list as usize] {
            self.scheduled[list as usize] = true;
            steps.push(Step::Gather { list });
        }
        list
    }

    /// The list of `many`'s members (one entry per shared list).
    fn list(&mut self, many: &Many, slot: &FxHashMap<usize, u32>) -> u32 {
        let wants = many.iter().any(Value::requires_grad);
        let key = match many {
            Many::Shared(list) => Some(list.as_ptr() as usize),
            Many::Owned(_) => None,
        };
        if let Some(&id) = key.and_then(|k| self.shared.get(&k)) {
            return id;
        }
        let start = self.members.len() as u32;
        self.members.extend(
            many.iter()
                .map(|v| slot.get(&v.address()).copied().unwrap_or(0)),
        );
        let len = many.len() as u32;
        let run = &self.members[start as usize..];
        let contiguous = run.windows(2).all(|p| p[1] == p[0].wrapping_add(1));
        let place = match run.first() {
            Some(&first) if contiguous => Place::Run(first),
            None => Place::Run(0),
            Some(_) => {
                let at = self.gathered;
                self.gathered += len;
                Place::Gathered(at)
            }
        };
        let id = self.lists.len() as u32;
        self.scheduled.push(false);
        self.lists.push(List {
            start,
            len,
            place,
            sums: NONE,
            last: run.iter().copied().max().unwrap_or(0),
            wants,
        });
        if let Some(k) = key {
            self.shared.insert(k, id);
        }
        id
    }

    /// Gives `list` a buffer for deferred shares.
    fn defer(&mut self, list: u32) {
        let entry = &mut self.lists[list as usize];
        if entry.sums == NONE {
            entry.sums = self.sums;
            self.sums += entry.len;
        }
    }

    fn constants(&mut self, constants: &Rc<[f64]>) -> u32 {
        let key = constants.as_ptr() as usize;
        *self.constant_index.entry(key).or_insert_with(|| {
            self.constants.push(Rc::clone(constants));
            self.constants.len() as u32 - 1
        })
    }
}

impl Tape {
    /// Records the graph under `output`: walks it once, without recursion,
    /// into flat arrays.
    ///
    /// # Errors
    ///
    /// [`EngineError::TapeTooLarge`] for a graph of more than
    /// `u32::MAX - 1` nodes.
    pub fn record(output: &Value) -> Result<Tape, EngineError> {
        Tape::record_fed(output, &[])
    }

    /// [`Tape::record`], with the leaves `fed` given their numbers by
    /// [`Tape::feed`] rather than read from their nodes by each forward
    /// pass (a recorded step's batch).
    pub(crate) fn record_fed(output: &Value, fed: &[Value]) -> Result<Tape, EngineError> {
        let order = topological_order(output);
        if order.len() >= NONE as usize {
            return Err(EngineError::TapeTooLarge { nodes: order.len() });
        }
        let slot = layout(&order);
        let at = |v: &Value| slot.get(&v.address()).copied().unwrap_or(0);
        let fed_slots: Vec<u32> = fed
            .iter()
            .map(|v| slot.get(&v.address()).copied().unwrap_or(NONE))
            .collect();
        let is_fed: rustc_hash::FxHashSet<u32> = fed_slots.iter().copied().collect();
        let mut recorder = Recorder::default();
        let mut values = vec![0.0; order.len()];
        let mut wants = vec![false; order.len()];
        let mut leaves = Vec::new();
        let mut steps = Vec::new();
        for value in order.iter() {
            let out = at(value);
            let node = value.0.borrow();
            values[out as usize] = node.data;
            wants[out as usize] = node.requires_grad;
            match (node.op, node.nary()) {
                (Op::Leaf, _) => leaves.push((out, is_fed.contains(&out), value.clone())),
                (Op::Sum, Some((_, Nary::Sum(xs)))) => {
                    let list = recorder.list(xs, &slot);
                    steps.push(Step::Sum { out, list });
                }
                (Op::Dot, Some((extra, Nary::Dot { weights, inputs }))) => {
                    let w = recorder.slice(weights, &slot, &mut steps);
                    let x = recorder.slice(inputs, &slot, &mut steps);
                    let defer = !extra.gate_many && matches!(weights, Many::Shared(_));
                    if defer {
                        recorder.defer(w);
                    }
                    steps.push(Step::Dot {
                        out,
                        weights: w,
                        inputs: x,
                        defer,
                    });
                }
                (Op::DotConst, Some((extra, Nary::DotConst { weights, constants }))) => {
                    let w = recorder.slice(weights, &slot, &mut steps);
                    let defer = !extra.gate_operands && matches!(weights, Many::Shared(_));
                    if defer {
                        recorder.defer(w);
                    }
                    let constants = recorder.constants(constants);
                    steps.push(Step::DotConst {
                        out,
                        weights: w,
                        constants,
                        defer,
                    });
                }
                (op, _) => steps.push(gate_step(op, out, &node, &at)),
            }
        }
        let (mut groups, grouped) = group_dots(&steps, &recorder.lists);
        let packs = pack_groups(&mut groups, &recorder.lists);
        let packed_len = packs.iter().map(|p| 8 * p.len as usize).sum();
        let out = at(output);
        let lists = recorder.lists.len();
        let scratch = Scratch {
            adjoints: vec![-0.0; values.len()],
            values,
            gathered: vec![0.0; recorder.gathered as usize],
            sums: vec![0.0; recorder.sums as usize],
            met: Vec::new(),
            met_flag: vec![false; lists],
            nonzero: vec![0; recorder.gathered as usize],
            nonzero_len: vec![NONE; lists],
            packed: vec![0.0; packed_len],
            packed_now: vec![false; packs.len()],
        };
        let tape = Tape {
            output: output.clone(),
            out,
            output_is_leaf: output.op() == Op::Leaf,
            scratch: std::cell::RefCell::new(scratch),
            wants: wants.into(),
            leaves: leaves.into(),
            fed: fed_slots.into(),
            steps: steps.into(),
            lists: recorder.lists.into(),
            members: recorder.members.into(),
            constants: recorder.constants.into(),
            groups: groups.into(),
            grouped: grouped.into(),
            packs: packs.into(),
            index: OnceCell::new(),
        };
        // The gather buffers hold the recorded values until the first
        // forward pass.
        tape.gather_all();
        Ok(tape)
    }

    /// Gives the fed leaves (see [`Tape::record_fed`]) their numbers for
    /// the next forward pass, in the order they were named.
    pub(crate) fn feed(&self, numbers: impl IntoIterator<Item = f64>) {
        let mut scratch = self.scratch.borrow_mut();
        for (&slot, x) in self.fed.iter().zip(numbers) {
            if let Some(value) = scratch.values.get_mut(slot as usize) {
                *value = x;
            }
        }
    }

    /// Fills every gather buffer from the current values.
    fn gather_all(&self) {
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            values, gathered, ..
        } = &mut *scratch;
        for list in self.lists.iter() {
            self.gather(list, values, gathered);
        }
    }

    fn gather(&self, list: &List, values: &[f64], gathered: &mut [f64]) {
        if let Place::Gathered(at) = list.place {
            let members = &self.members[list.start as usize..(list.start + list.len) as usize];
            let into = &mut gathered[at as usize..(at + list.len) as usize];
            for (g, &m) in into.iter_mut().zip(members) {
                *g = values[m as usize];
            }
        }
    }

    /// Recomputes every node from the current data of every leaf under the
    /// output, by the gates' forward rules, and returns the output's value.
    /// The nodes themselves are not changed: ask the tape
    /// ([`Tape::value`], [`Tape::value_of`]).
    pub fn forward(&self) -> f64 {
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            values,
            gathered,
            nonzero_len,
            packed,
            packed_now,
            ..
        } = &mut *scratch;
        packed_now.fill(false);
        for (slot, fed, leaf) in self.leaves.iter() {
            if !fed {
                values[*slot as usize] = leaf.data();
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(group) = self.groups.get(self.grouped[i] as usize) {
                if group.first == i as u32 {
                    self.run_group(group, values, gathered, packed, packed_now);
                }
                continue;
            }
            match *step {
                Step::Gate { op, out, a, b } => {
                    let b = if b == NONE {
                        op::ABSENT_RHS
                    } else {
                        values[b as usize]
                    };
                    values[out as usize] = op.forward(values[a as usize], b);
                }
                Step::Sum { out, list } => {
                    let members = self.members_of(list);
                    values[out as usize] =
                        op::sum_forward(members.iter().map(|&m| values[m as usize]));
                }
                Step::Dot {
                    out,
                    weights,
                    inputs,
                    ..
                } => self.dot(out, weights, Input::List(inputs), values, gathered),
                Step::DotConst {
                    out,
                    weights,
                    constants,
                    ..
                } => self.dot(out, weights, Input::Constants(constants), values, gathered),
                Step::Gather { list } => {
                    self.gather(&self.lists[list as usize], values, gathered);
                    nonzero_len[list as usize] = NONE;
                }
            }
        }
        values[self.out as usize]
    }

    /// One dot node's value, from its weights and its input.
    fn dot(&self, out: u32, weights: u32, input: Input, values: &mut [f64], gathered: &[f64]) {
        let z = op::dot_slices(
            self.slice(weights, values, gathered),
            self.input(input, values, gathered),
        );
        values[out as usize] = z;
    }

    /// A dot's input as one slice: a list's values or the constants.
    fn input<'v>(&'v self, input: Input, values: &'v [f64], gathered: &'v [f64]) -> &'v [f64] {
        match input {
            Input::List(list) => self.slice(list, values, gathered),
            Input::Constants(c) => &self.constants[c as usize],
        }
    }

    /// A group's dots, eight at a time, over their packed weights.
    fn run_group(
        &self,
        group: &Group,
        values: &mut [f64],
        gathered: &[f64],
        packed: &mut [f64],
        packed_now: &mut [bool],
    ) {
        for (chunk, &p) in group.members.chunks(8).zip(&group.packs) {
            let pack = &self.packs[p as usize];
            let at = pack.at as usize..(pack.at + 8 * pack.len) as usize;
            if !packed_now[p as usize] {
                packed_now[p as usize] = true;
                let rows: [&[f64]; 8] =
                    std::array::from_fn(|k| self.slice(pack.rows[k], values, gathered));
                for (i, row) in packed[at.clone()].chunks_exact_mut(8).enumerate() {
                    for (number, from) in row.iter_mut().zip(&rows) {
                        *number = from.get(i).copied().unwrap_or(0.0);
                    }
                }
            }
            let sums = op::dot_packed(&packed[at], self.input(group.input, values, gathered));
            for (&(out, _), sum) in chunk.iter().zip(sums) {
                values[out as usize] = sum;
            }
        }
    }

    /// Backpropagation over the tape, with the values of the last
    /// [`forward`](Tape::forward) (or of recording): adds to each leaf's
    /// gradient what [`Value::backward`] would add, bit for bit. Leaves
    /// accumulate across calls, as with `backward`: zero them between
    /// steps. Gates' own [`grad`](Value::grad) fields are not written.
    pub fn backward(&self) {
        self.backward_pass(false);
    }

    /// [`Tape::backward`] after setting every gradient-taking leaf's
    /// gradient to 0: what `zero_grad` on each and `backward` give, in one
    /// pass over the leaves.
    pub(crate) fn backward_fresh(&self) {
        self.backward_pass(true);
    }

    fn backward_pass(&self, fresh: bool) {
        if !self.wants[self.out as usize] {
            return; // the output reaches no gradient-wanting leaf
        }
        if self.output_is_leaf {
            self.scratch.borrow_mut().adjoints[self.out as usize] = 1.0;
            let mut node = self.output.0.borrow_mut();
            node.grad = if fresh { 0.0 } else { node.grad } + 1.0;
            return;
        }
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            values,
            adjoints,
            gathered,
            sums,
            met,
            met_flag,
            nonzero,
            nonzero_len,
            ..
        } = &mut *scratch;
        adjoints.fill(-0.0);
        sums.fill(0.0);
        met.clear();
        met_flag.fill(false);
        adjoints[self.out as usize] = 1.0;
        let wants = &self.wants;
        let give = |adjoints: &mut [f64], slot: u32, share: f64| {
            if wants[slot as usize] {
                adjoints[slot as usize] += share;
            }
        };
        for step in self.steps.iter().rev() {
            let out = match *step {
                Step::Gate { out, .. }
                | Step::Sum { out, .. }
                | Step::Dot { out, .. }
                | Step::DotConst { out, .. } => out,
                Step::Gather { .. } => continue,
            };
            let upstream = adjoints[out as usize];
            // A node that takes no gradient is never entered; one whose
            // gradient is 0 gives nothing (not even 0 · inf).
            if !wants[out as usize] || upstream == 0.0 {
                continue;
            }
            match *step {
                Step::Gate { op, out, a, b } => {
                    let (x, z) = (values[a as usize], values[out as usize]);
                    let y = if b == NONE {
                        op::ABSENT_RHS
                    } else {
                        values[b as usize]
                    };
                    if wants[a as usize] {
                        give(adjoints, a, upstream * op.d_lhs(&x, &y, &z));
                    }
                    if b != NONE && wants[b as usize] {
                        give(adjoints, b, upstream * op.d_rhs(&x, &y, &z));
                    }
                }
                Step::Sum { list, .. } => {
                    for &m in self.members_of(list) {
                        give(adjoints, m, upstream * op::sum_local::<f64>());
                    }
                }
                Step::Dot {
                    weights,
                    inputs,
                    defer,
                    ..
                } => {
                    let (ws, xs) = (self.members_of(weights), self.members_of(inputs));
                    let wd = self.slice(weights, values, gathered);
                    let xd = self.slice(inputs, values, gathered);
                    if defer {
                        // The inputs' shares (none for a layer's inputs that
                        // are data), then the weights' into their buffer: a
                        // dense loop.
                        if self.lists[inputs as usize].wants {
                            for (&x, &wv) in xs.iter().zip(wd) {
                                give(adjoints, x, upstream * op::dot_local(&wv));
                            }
                        }
                        let buffer = self.buffer(weights, sums, met, met_flag);
                        let entry = &self.lists[inputs as usize];
                        let sparse = match entry.place {
                            // Only a finite upstream: inf · 0 is NaN, not 0.
                            Place::Gathered(at) if upstream.is_finite() => {
                                let at = at as usize..(at + entry.len) as usize;
                                let known = &mut nonzero_len[inputs as usize];
                                let found = &mut nonzero[at];
                                if *known == NONE {
                                    *known = nonzeros(xd, found);
                                }
                                Some(&found[..*known as usize])
                            }
                            _ => None,
                        };
                        match sparse {
                            // A zero input adds ±0 to a buffer that starts
                            // at +0 and so is never -0: no change, so it
                            // is skipped (a digit is mostly zeros).
                            Some(at) if 2 * at.len() < xd.len() => {
                                for &i in at {
                                    if let (Some(sum), Some(&xv)) =
                                        (buffer.get_mut(i as usize), xd.get(i as usize))
                                    {
                                        *sum += upstream * op::dot_local(&xv);
                                    }
                                }
                            }
                            _ => {
                                for (sum, &xv) in buffer.iter_mut().zip(xd) {
                                    *sum += upstream * op::dot_local(&xv);
                                }
                            }
                        }
                    } else {
                        for (((&w, &x), &wv), &xv) in ws.iter().zip(xs).zip(wd).zip(xd) {
                            give(adjoints, w, upstream * op::dot_local(&xv));
                            give(adjoints, x, upstream * op::dot_local(&wv));
                        }
                    }
                }
                Step::DotConst {
                    weights,
                    constants,
                    defer,
                    ..
                } => {
                    let cs = &self.constants[constants as usize];
                    if defer {
                        let buffer = self.buffer(weights, sums, met, met_flag);
                        for (sum, &c) in buffer.iter_mut().zip(cs.iter()) {
                            *sum += upstream * op::dot_const_local::<f64>(c);
                        }
                    } else {
                        for (&w, &c) in self.members_of(weights).iter().zip(cs.iter()) {
                            give(adjoints, w, upstream * op::dot_const_local::<f64>(c));
                        }
                    }
                }
                Step::Gather { .. } => {}
            }
        }
        // The shared lists' buffers, in the order backward met them, then
        // each leaf's pass sum onto its old gradient, once.
        for &list in met.iter() {
            let entry = &self.lists[list as usize];
            let buffer = &sums[entry.sums as usize..(entry.sums + entry.len) as usize];
            for (&m, &sum) in self.members_of(list).iter().zip(buffer) {
                give(adjoints, m, sum);
            }
        }
        for (slot, _, leaf) in self.leaves.iter() {
            if wants[*slot as usize] {
                let mut node = leaf.0.borrow_mut();
                let before = if fresh { 0.0 } else { node.grad };
                node.grad = before + adjoints[*slot as usize];
            }
        }
    }

    /// A deferred list's buffer, noted as met on first use in a pass.
    fn buffer<'s>(
        &self,
        list: u32,
        sums: &'s mut [f64],
        met: &mut Vec<u32>,
        met_flag: &mut [bool],
    ) -> &'s mut [f64] {
        if !met_flag[list as usize] {
            met_flag[list as usize] = true;
            met.push(list);
        }
        let entry = &self.lists[list as usize];
        &mut sums[entry.sums as usize..(entry.sums + entry.len) as usize]
    }

    fn members_of(&self, list: u32) -> &[u32] {
        let entry = &self.lists[list as usize];
        &self.members[entry.start as usize..(entry.start + entry.len) as usize]
    }

    /// A list's values as one slice.
    fn slice<'v>(&self, list: u32, values: &'v [f64], gathered: &'v [f64]) -> &'v [f64] {
        let entry = &self.lists[list as usize];
        let (from, at) = match entry.place {
            Place::Run(slot) => (values, slot),
            Place::Gathered(at) => (gathered, at),
        };
        &from[at as usize..(at + entry.len) as usize]
    }

    /// The output's value after the last forward pass (or recording).
    pub fn value(&self) -> f64 {
        self.scratch.borrow().values[self.out as usize]
    }

    /// The output the tape was recorded from.
    pub fn output(&self) -> &Value {
        &self.output
    }

    /// `v`'s value after the last forward pass (or recording).
    ///
    /// # Errors
    ///
    /// [`EngineError::NotOnTape`] if `v` is not under the recorded output
    /// (made after recording, or part of another graph).
    pub fn value_of(&self, v: &Value) -> Result<f64, EngineError> {
        let slot = self.slot_of(v).ok_or(EngineError::NotOnTape)?;
        Ok(self.scratch.borrow().values[slot as usize])
    }

    /// `d output / d v` from the last backward pass (for a leaf, that
    /// pass's share alone, not what its gradient accumulated): what
    /// [`Value::backward`] leaves in a node's [`grad`](Value::grad), a zero
    /// always reported as +0. The output's is 1; a node that takes no
    /// gradient, and any node before the first backward pass, has 0.
    ///
    /// # Errors
    ///
    /// [`EngineError::NotOnTape`], as [`Tape::value_of`].
    pub fn grad_of(&self, v: &Value) -> Result<f64, EngineError> {
        let slot = self.slot_of(v).ok_or(EngineError::NotOnTape)?;
        let adjoint = self.scratch.borrow().adjoints[slot as usize];
        Ok(if adjoint == 0.0 { 0.0 } else { adjoint })
    }

    /// Whether `v` is one of the recorded nodes.
    pub fn contains(&self, v: &Value) -> bool {
        self.slot_of(v).is_some()
    }

    fn slot_of(&self, v: &Value) -> Option<u32> {
        let index = self
            .index
            .get_or_init(|| layout(&topological_order(&self.output)));
        index.get(&v.address()).copied()
    }

    /// The number of recorded nodes (leaves included).
    pub fn len(&self) -> usize {
        self.wants.len()
    }

    /// Whether the tape is empty (never: it holds at least its output).
    pub fn is_empty(&self) -> bool {
        self.wants.is_empty()
    }

    /// The number of leaves it reads at every forward pass.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// The bytes the tape itself holds (its arrays and scratch; not the
    /// graph's nodes, which it keeps alive, nor the index
    /// [`value_of`](Tape::value_of) builds on first use).
    pub fn bytes(&self) -> usize {
        let scratch = self.scratch.borrow();
        std::mem::size_of::<Tape>()
            + 8 * (scratch.values.len()
                + scratch.adjoints.len()
                + scratch.gathered.len()
                + scratch.sums.len())
            + scratch.met_flag.len()
            + 4 * scratch.met.capacity()
            + self.wants.len()
            + self.leaves.len() * std::mem::size_of::<(u32, bool, Value)>()
            + 4 * (self.fed.len() + scratch.nonzero.len() + scratch.nonzero_len.len())
            + self.steps.len() * std::mem::size_of::<Step>()
            + self.lists.len() * std::mem::size_of::<List>()
            + 4 * self.members.len()
            + self.constants.len() * std::mem::size_of::<Rc<[f64]>>()
            + 4 * self.grouped.len()
            + self
                .groups
                .iter()
                .map(|g| std::mem::size_of::<Group>() + 8 * g.members.len() + 4 * g.packs.len())
                .sum::<usize>()
            + self.packs.len() * (std::mem::size_of::<Pack>() + 1)
            + 8 * scratch.packed.len()
    }
}

/// Packs each group's weights eight lists at a time (fewer: the last list
/// again), one pack per distinct eight lists.
fn pack_groups(groups: &mut [Group], lists: &[List]) -> Vec<Pack> {
    let mut packs: Vec<Pack> = Vec::new();
    let mut index: FxHashMap<[u32; 8], u32> = FxHashMap::default();
    let mut at = 0;
    for group in groups.iter_mut() {
        for chunk in group.members.chunks(8) {
            let last = chunk.len() - 1;
            let rows: [u32; 8] = std::array::from_fn(|k| chunk[k.min(last)].1);
            let id = *index.entry(rows).or_insert_with(|| {
                let len = rows
                    .iter()
                    .map(|&r| lists[r as usize].len)
                    .min()
                    .unwrap_or(0);
                packs.push(Pack { rows, len, at });
                at += 8 * len;
                packs.len() as u32 - 1
            });
            group.packs.push(id);
        }
    }
    packs
}

/// Each node's slot: the leaves first, each operand list's leaves side by
/// side in the order lists are first met (a neuron's weights and bias, a
/// sample's inputs: read in place as one slice), then the other leaves,
/// then the gates in topological order, which is backward's order
/// reversed. Leaves can go anywhere: nothing is computed into them, and
/// the order their shares arrive in is the gates'.
fn layout(order: &[Value]) -> FxHashMap<usize, u32> {
    let mut slot: FxHashMap<usize, u32> = FxHashMap::default();
    slot.reserve(order.len());
    let mut next = 0u32;
    let mut place = |v: &Value, slot: &mut FxHashMap<usize, u32>| {
        if let std::collections::hash_map::Entry::Vacant(free) = slot.entry(v.address()) {
            free.insert(next);
            next += 1;
        }
    };
    // A shared list (a neuron's weights, met once per sample) once.
    let mut seen: rustc_hash::FxHashSet<*const Value> = Default::default();
    for value in order {
        let node = value.0.borrow();
        if let Some((_, nary)) = node.nary() {
            let (first, second) = nary.lists();
            for list in [first, second] {
                if list.is_empty() || !seen.insert(list.as_ptr()) {
                    continue;
                }
                for member in list {
                    if member.op() == Op::Leaf {
                        place(member, &mut slot);
                    }
                }
            }
        }
    }
    for value in order.iter().filter(|v| v.op() == Op::Leaf) {
        place(value, &mut slot);
    }
    for value in order.iter().filter(|v| v.op() != Op::Leaf) {
        place(value, &mut slot);
    }
    slot
}

/// Writes the positions of `xs`'s nonzero numbers into `into`; returns how
/// many.
fn nonzeros(xs: &[f64], into: &mut [u32]) -> u32 {
    let mut count = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x != 0.0
            && let Some(at) = into.get_mut(count)
        {
            *at = i as u32;
            count += 1;
        }
    }
    count as u32
}

/// Groups the dot steps that share an input and whose weights are ready
/// where the first of them stands (see [`Group`]); each step's group.
fn group_dots(steps: &[Step], lists: &[List]) -> (Vec<Group>, Vec<u32>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut grouped = vec![NONE; steps.len()];
    let mut open: FxHashMap<Input, u32> = FxHashMap::default();
    // The step at which each gathered list is gathered.
    let mut gathered_at = vec![NONE; lists.len()];
    for (i, step) in steps.iter().enumerate() {
        let (out, weights, input) = match *step {
            Step::Gather { list } => {
                gathered_at[list as usize] = i as u32;
                continue;
            }
            Step::Dot {
                out,
                weights,
                inputs,
                ..
            } => (out, weights, Input::List(inputs)),
            Step::DotConst {
                out,
                weights,
                constants,
                ..
            } => (out, weights, Input::Constants(constants)),
            _ => continue,
        };
        let list = &lists[weights as usize];
        if let Some(&g) = open.get(&input) {
            let group = &mut groups[g as usize];
            let first_out = group.members[0].0;
            let ready = match list.place {
                Place::Run(_) => true,
                Place::Gathered(_) => gathered_at[weights as usize] < group.first,
            };
            if ready && list.last < first_out {
                group.members.push((out, weights));
                grouped[i] = g;
                continue;
            }
        }
        open.insert(input, groups.len() as u32);
        grouped[i] = groups.len() as u32;
        groups.push(Group {
            first: i as u32,
            input,
            members: vec![(out, weights)],
            packs: Vec::new(),
        });
    }
    // A group of one runs as its step.
    let mut renumber = vec![NONE; groups.len()];
    let mut kept = Vec::new();
    for (g, group) in groups.into_iter().enumerate() {
        if group.members.len() > 1 {
            renumber[g] = kept.len() as u32;
            kept.push(group);
        }
    }
    for g in &mut grouped {
        if *g != NONE {
            *g = renumber[*g as usize];
        }
    }
    (kept, grouped)
}

/// The step of a unary or binary gate.
fn gate_step(op: Op, out: u32, node: &Node, at: &impl Fn(&Value) -> u32) -> Step {
    // Every gate has a first operand; were one missing, the gate would
    // read its own recorded value rather than index nothing.
    let a = node.lhs.as_ref().map_or(out, at);
    let b = node.rhs.as_ref().map_or(NONE, at);
    Step::Gate { op, out, a, b }
}

impl std::fmt::Debug for Tape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("nodes", &self.len())
            .field("leaves", &self.leaf_count())
            .field("value", &self.value())
            .finish_non_exhaustive()
    }
}
