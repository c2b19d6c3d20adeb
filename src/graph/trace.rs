//! [`Trace`]: the forward and backward passes as a sequence of steps, in
//! the engine's own order and by its own gate rules, for stepping through
//! backpropagation (the explorer, or a loop in a notebook).

use serde::Serialize;

use super::view::Graph;
use crate::engine::op;
use crate::{Op, Value};

/// One step of the forward pass: a gate computes its value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ForwardStep {
    /// The node (an id of the [`Graph`]).
    pub node: usize,
    /// Its gate.
    pub op: Op,
    /// Its operands' values, in order.
    pub inputs: Vec<f64>,
    /// Its value.
    pub value: f64,
}

/// What one node gives one operand in the backward pass.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Share {
    /// The operand (a node id).
    pub operand: usize,
    /// Its position among the node's operands.
    pub position: usize,
    /// The gate's local gradient for this operand, by its rule in `Op`'s
    /// table.
    pub local: f64,
    /// What flows back: upstream × local (0 when the upstream gradient is
    /// 0: nothing flows from a node without gradient).
    pub contribution: f64,
    /// The operand's gradient after adding it: a running sum over its
    /// consumers.
    pub grad_after: f64,
}

/// One step of the backward pass: a node applies its gate's rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BackwardStep {
    /// The node (an id of the [`Graph`]).
    pub node: usize,
    /// Its gate.
    pub op: Op,
    /// Its gradient when its turn comes: everything its consumers gave it
    /// (1 for the output).
    pub upstream: f64,
    /// What it gives each operand that takes a gradient, in the engine's
    /// order.
    pub shares: Vec<Share>,
}

/// One step of a pass.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "pass", rename_all = "lowercase")]
pub enum Step {
    /// A gate computes its value.
    Forward(ForwardStep),
    /// A node gives its operands their shares of its gradient.
    Backward(BackwardStep),
}

/// The forward and backward passes over a [`Graph`] as steps: first every
/// gate's forward step in topological order, then every backward step in
/// the order backward takes the nodes (the latest-made first), each
/// operand's gradient a running sum. Computed from the snapshot, from zero
/// gradients, by the gate rules backward applies: its final gradients are
/// backward's, bit for bit (a shared weight list's shares, which backward
/// gathers in a buffer, are gathered here too: their [`Share::grad_after`]
/// is the buffer's running sum, added to the leaf at the end).
///
/// ```
/// use chainrule::Value;
/// // The lecture's apple: 100 × 2 = 200, × 1.1 = 220.
/// let apple = Value::new(100.0).with_label("apple");
/// let count = Value::new(2.0).with_label("count");
/// let tax = Value::new(1.1).with_label("tax");
/// let price = (&apple * &count * &tax).with_label("price");
/// let trace = price.backward_trace();
/// assert_eq!(trace.forward().count(), 2);
/// let first = trace.backward().next().unwrap();
/// assert_eq!(first.upstream, 1.0); // the output's own gradient
/// assert_eq!(first.shares[1].contribution, 200.0); // mul swaps: tax gets 200
/// let graph = price.graph();
/// let apple_id = graph.find("apple").unwrap();
/// assert!((trace.grad(apple_id) - 2.2).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    steps: Vec<Step>,
    grads: Vec<f64>,
}

impl Trace {
    /// Every step, forward steps first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The forward steps.
    pub fn forward(&self) -> impl Iterator<Item = &ForwardStep> {
        self.steps.iter().filter_map(|s| match s {
            Step::Forward(f) => Some(f),
            Step::Backward(_) => None,
        })
    }

    /// The backward steps.
    pub fn backward(&self) -> impl Iterator<Item = &BackwardStep> {
        self.steps.iter().filter_map(|s| match s {
            Step::Backward(b) => Some(b),
            Step::Forward(_) => None,
        })
    }

    /// Node `id`'s gradient at the end of the backward pass (0 for nodes
    /// that take none, and for ids outside the graph).
    pub fn grad(&self, id: usize) -> f64 {
        self.grads.get(id).copied().unwrap_or(0.0)
    }

    /// Every node's gradient at the end, by id.
    pub fn grads(&self) -> &[f64] {
        &self.grads
    }
}

impl Graph {
    /// The passes over this graph as steps (see [`Trace`]).
    pub fn trace(&self) -> Trace {
        let nodes = self.nodes();
        let mut steps = Vec::new();
        for node in nodes.iter().filter(|n| n.op != Op::Leaf) {
            steps.push(Step::Forward(ForwardStep {
                node: node.id,
                op: node.op,
                inputs: node.operands.iter().map(|&o| nodes[o].data).collect(),
                value: node.data,
            }));
        }
        let mut grads = vec![0.0; nodes.len()];
        if let Some(output) = self.output()
            && output.requires_grad
        {
            grads[output.id] = 1.0;
        }
        // Backward's buffers for shared weight lists (see
        // `GraphNode::deferred`): per list, in the order lists are first met,
        // its leaves' ids and the sums of their shares, added to the leaves
        // at the end as backward adds them.
        let mut lists: Vec<(usize, Vec<usize>, Vec<f64>)> = Vec::new();
        let mut touched = vec![false; nodes.len()];
        for node in nodes.iter().rev() {
            if node.op == Op::Leaf || !node.requires_grad {
                continue;
            }
            let upstream = grads[node.id];
            let inputs: Vec<f64> = node.operands.iter().map(|&o| nodes[o].data).collect();
            let mut shares = Vec::new();
            // The weights of a deferred list (the first operands of a dot).
            let weights = match node.op {
                Op::Dot => node.operands.len() / 2,
                _ => node.operands.len(),
            };
            let buffer = match node.deferred {
                Some(list) if upstream != 0.0 => Some(
                    lists
                        .iter()
                        .position(|(l, ..)| *l == list)
                        .unwrap_or_else(|| {
                            let leaves = node.operands[..weights].to_vec();
                            lists.push((list, leaves, vec![0.0; weights]));
                            lists.len() - 1
                        }),
                ),
                _ => None,
            };
            let wants = |position: usize| nodes[node.operands[position]].requires_grad;
            let given = op::shares(
                node.op,
                &inputs,
                &node.constants,
                &node.data,
                &upstream,
                wants,
            );
            for op::Given {
                position,
                local,
                share,
            } in given
            {
                let operand = node.operands[position];
                let contribution = share.unwrap_or(0.0);
                if let (Some(k), true) = (buffer, position < weights) {
                    // Into the list's buffer; the leaf gets it at the end.
                    let sum = &mut lists[k].2[position];
                    *sum += contribution;
                    shares.push(Share {
                        operand,
                        position,
                        local,
                        contribution,
                        grad_after: *sum,
                    });
                    continue;
                }
                if share.is_some() {
                    grads[operand] += contribution;
                    touched[operand] = true;
                }
                shares.push(Share {
                    operand,
                    position,
                    local,
                    contribution,
                    grad_after: grads[operand],
                });
            }
            steps.push(Step::Backward(BackwardStep {
                node: node.id,
                op: node.op,
                upstream,
                shares,
            }));
        }
        // The buffers, as backward adds them: a leaf met already grows by
        // the list's sum; one met first here starts from it.
        for (_, leaves, sums) in &lists {
            for (&leaf, &sum) in leaves.iter().zip(sums) {
                if !nodes[leaf].requires_grad {
                    continue;
                }
                if touched[leaf] {
                    grads[leaf] += sum;
                } else {
                    grads[leaf] = sum;
                    touched[leaf] = true;
                }
            }
        }
        Trace { steps, grads }
    }
}

impl Value {
    /// The forward and backward passes of this value's graph as steps (see
    /// [`Trace`]), without touching any gradient: a snapshot's
    /// [`Graph::trace`].
    pub fn backward_trace(&self) -> Trace {
        self.graph().trace()
    }
}
