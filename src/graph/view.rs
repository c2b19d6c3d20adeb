//! [`Graph`]: a read-only snapshot of a computation graph.

use std::collections::HashMap;

use petgraph::graph::DiGraph;

use crate::engine::op;
use crate::{Op, Value};

/// One node of a [`Graph`]: what the engine knew about it when the snapshot
/// was taken.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GraphNode {
    /// Index of the node in [`Graph::nodes`]: its position in topological
    /// order, so the same graph always gets the same ids.
    pub id: usize,
    /// The operation that produced the node.
    pub op: Op,
    /// The node's value.
    pub data: f64,
    /// The node's gradient.
    pub grad: f64,
    /// The node's label, if it has one.
    pub label: Option<String>,
    /// Ids of the operands, in order (for `Dot`: weights, then inputs).
    pub operands: Vec<usize>,
    /// Whether the node is a leaf that never gets a gradient
    /// ([`Value::constant`]).
    pub constant: bool,
    /// Whether a gradient-wanting leaf is reachable from the node, so that
    /// backward enters it ([`Value::requires_grad`]): false for constants
    /// and for gates over constants alone.
    pub requires_grad: bool,
    /// The constant inputs of a `DotConst` node (empty for other nodes).
    pub constants: Vec<f64>,
    /// Whether this node stands for part of a fused `Dot` node, made by
    /// [`Graph::expand_fused`]; it is no node of the engine.
    pub expanded: bool,
    /// The group the node is drawn in (a cluster in pictures), given by
    /// [`Value::with_group`] (`layer1/neuron3`). An ungrouped `dot` node
    /// whose weights (its first operand list) all share a group takes it,
    /// and an unlabelled, ungrouped `relu` takes its operand's
    /// group when nothing else uses that operand (a neuron's activation of
    /// its `z`); parts made by
    /// [`Graph::expand_fused`] take the fused node's group.
    pub group: Option<String>,
    /// The shared weight list whose shares backward gathers in a buffer
    /// (an address telling lists apart), so that the trace adds them in
    /// backward's order.
    pub(crate) deferred: Option<usize>,
}

/// Fills in the groups of dot nodes over one group's weights and of
/// unlabelled relus (see [`GraphNode::group`]).
fn infer_groups(nodes: &mut [GraphNode]) {
    for id in 0..nodes.len() {
        let node = &nodes[id];
        let weights = match node.op {
            Op::Dot => &node.operands[..node.operands.len() / 2],
            Op::DotConst => &node.operands[..],
            _ => continue,
        };
        if node.group.is_some() || weights.is_empty() {
            continue;
        }
        let first = nodes[weights[0]].group.as_deref();
        if first.is_some() && weights.iter().all(|&w| nodes[w].group.as_deref() == first) {
            nodes[id].group = first.map(str::to_owned);
        }
    }
    let mut uses = vec![0usize; nodes.len()];
    for node in nodes.iter() {
        for &o in &node.operands {
            uses[o] += 1;
        }
    }
    for id in 0..nodes.len() {
        let node = &nodes[id];
        if node.label.is_some()
            || node.group.is_some()
            || !op::is_relu(node.op, node.operands.len())
        {
            continue;
        }
        let only = node.operands[0];
        if uses[only] == 1 && nodes[only].op != Op::Leaf {
            nodes[id].group = nodes[only].group.clone();
        }
    }
}

/// A read-only snapshot of every node a [`Value`] depends on, itself
/// included, in topological order: every node comes after its operands and
/// the value it was taken from is last. Edges run from operand to result.
///
/// Taking a snapshot walks the graph without recursion, so it works for
/// graphs of any depth; drawing one has a node limit instead (see
/// [`DotOptions::node_limit`](super::DotOptions::node_limit)).
///
/// ```
/// use chainrule::{Op, Value};
///
/// let a = Value::new(2.0).with_label("a");
/// let b = Value::new(-3.0).with_label("b");
/// let c = (&a * &b).with_label("c");
/// c.backward();
/// let graph = c.graph();
/// assert_eq!(graph.len(), 3);
/// let out = graph.output().unwrap();
/// assert_eq!((out.op, out.data, out.grad), (Op::Mul, -6.0, 1.0));
/// assert_eq!(out.operands, vec![0, 1]);
/// assert_eq!(graph.nodes()[0].label.as_deref(), Some("a"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    nodes: Vec<GraphNode>,
}

impl Value {
    /// A snapshot of the graph this value depends on (see [`Graph`]).
    pub fn graph(&self) -> Graph {
        Graph::of(self)
    }
}

impl Graph {
    /// A snapshot of the graph `output` depends on.
    pub fn of(output: &Value) -> Graph {
        let order = output.topological_order();
        let ids: HashMap<usize, usize> = order
            .iter()
            .enumerate()
            .map(|(id, value)| (value.address(), id))
            .collect();
        let nodes = order
            .iter()
            .enumerate()
            .map(|(id, value)| GraphNode {
                id,
                op: value.op(),
                data: value.data(),
                grad: value.grad(),
                label: value.label(),
                operands: value
                    .operands()
                    .iter()
                    .filter_map(|operand| ids.get(&operand.address()).copied())
                    .collect(),
                constant: value.is_leaf() && !value.requires_grad(),
                requires_grad: value.requires_grad(),
                constants: value.constant_inputs(),
                expanded: false,
                group: value.group(),
                deferred: value.deferred_list(),
            })
            .collect::<Vec<_>>();
        let mut nodes = nodes;
        infer_groups(&mut nodes);
        Graph { nodes }
    }

    /// Sets every node's gradient (by id), as a trace computed them.
    pub(crate) fn set_grads(&mut self, grads: &[f64]) {
        for (node, &grad) in self.nodes.iter_mut().zip(grads) {
            node.grad = grad;
        }
    }

    /// The nodes, in topological order (a node's index is its id).
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes (never true for a snapshot of a value).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node the snapshot was taken from (the last in topological order).
    pub fn output(&self) -> Option<&GraphNode> {
        self.nodes.last()
    }

    /// The id of the first node (in topological order) named `name`: its
    /// label, or its group and label joined by `/` (`layer1/neuron2/w1`).
    /// The node to give [`DotOptions::focus`](super::DotOptions::focus).
    ///
    /// ```
    /// use chainrule::Value;
    /// let w = Value::new(2.0).with_label("w").with_group("neuron");
    /// let y = (&w * 3.0).with_label("y");
    /// let graph = y.graph();
    /// assert_eq!(graph.find("w"), Some(0));
    /// assert_eq!(graph.find("neuron/w"), Some(0));
    /// assert_eq!(graph.find("y"), Some(graph.len() - 1));
    /// assert_eq!(graph.find("nothing"), None);
    /// ```
    pub fn find(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| {
            let Some(label) = n.label.as_deref() else {
                return false;
            };
            label == name
                || n.group.as_deref().is_some_and(|group| {
                    name.len() == group.len() + 1 + label.len()
                        && name.starts_with(group)
                        && name[group.len()..].starts_with('/')
                        && name.ends_with(label)
                })
        })
    }

    /// The edges, from operand id to result id, in order of the results and
    /// then of their operands.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.nodes
            .iter()
            .flat_map(|node| node.operands.iter().map(move |&operand| (operand, node.id)))
    }

    /// The gradient that flows back along the edge from operand `position`
    /// of node `id` into that node: the node's gradient times its gate's
    /// local gradient for that operand, by the gate's rule in
    /// [`Op`]'s table (the rule backward applies). The edges into an
    /// operand add up to its gradient. `None` if there is no such edge, or
    /// if the operand takes no gradient (a constant, or a gate over
    /// constants alone: nothing flows into it).
    ///
    /// ```
    /// use chainrule::Value;
    /// // The lecture's apple: 100 × 2 = 200, × 1.1 = 220.
    /// let (apple, count, tax) = (Value::new(100.0), Value::new(2.0), Value::new(1.1));
    /// let price = &apple * &count * &tax;
    /// price.backward();
    /// let graph = price.graph();
    /// let last = graph.len() - 1;
    /// // The mul gate swaps: back along tax's edge flows 1 × 200.
    /// assert_eq!(graph.edge_grad(last, 1), Some(200.0));
    /// assert!((graph.edge_grad(last, 0).unwrap() - 1.1).abs() < 1e-12);
    /// assert_eq!(graph.edge_grad(last, 2), None);
    /// ```
    pub fn edge_grad(&self, id: usize, position: usize) -> Option<f64> {
        let node = self.nodes.get(id)?;
        if !self.nodes[*node.operands.get(position)?].requires_grad {
            return None;
        }
        let operands: Vec<f64> = node.operands.iter().map(|&o| self.nodes[o].data).collect();
        let local = op::local_grad(node.op, &operands, &node.constants, &node.data, position);
        // Nothing flows from a node without gradient (see `op::share`).
        Some(op::share(&node.grad, &local).unwrap_or(0.0))
    }

    /// The same graph with every fused `Dot` node drawn as what it stands
    /// for: one product node per pair feeding one `Sum` node (Σ), the
    /// lecture's neuron. `Dot(w, x)` becomes `Σ(w1 × x1, w2 × x2, …)`; a
    /// `Sum` is already one node over its terms and stays. The products
    /// carry their values and the gradients their gates would have had (Σ
    /// passes its gradient through, so each product has the fused node's
    /// gradient) and are marked [`GraphNode::expanded`], as is the Σ node,
    /// which keeps the fused node's label, value and gradient.
    ///
    /// ```
    /// use chainrule::{Op, Value};
    /// let w = [Value::new(2.0), Value::new(-3.0)];
    /// let x = [Value::new(-1.0), Value::new(-2.0)];
    /// let z = Value::dot(&w, &x).unwrap();
    /// z.backward();
    /// let expanded = z.graph().expand_fused();
    /// let ops: Vec<Op> = expanded.nodes().iter().map(|n| n.op).collect();
    /// assert_eq!(&ops[4..], &[Op::Mul, Op::Mul, Op::Sum]);
    /// assert_eq!(expanded.nodes()[4].data, -2.0); // w1 x1
    /// let sigma = expanded.output().unwrap();
    /// assert_eq!((sigma.data, sigma.operands.clone()), (4.0, vec![4, 5]));
    /// ```
    pub fn expand_fused(&self) -> Graph {
        self.expand_fused_renamed().0
    }

    /// [`Graph::expand_fused`], and the new id of every old node.
    pub(crate) fn expand_fused_renamed(&self) -> (Graph, Vec<usize>) {
        let mut nodes: Vec<GraphNode> = Vec::with_capacity(self.nodes.len());
        // Old id -> new id.
        let mut renamed = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let operands: Vec<usize> = node.operands.iter().map(|&o| renamed[o]).collect();
            let terms: Vec<usize> = match node.op {
                Op::DotConst if !operands.is_empty() => operands
                    .iter()
                    .zip(&node.constants)
                    .map(|(&w, &c)| {
                        // The constant: a leaf that takes no gradient.
                        let leaf = part(&mut nodes, node, Op::Leaf, c, vec![]);
                        nodes[leaf].grad = 0.0;
                        nodes[leaf].constant = true;
                        nodes[leaf].requires_grad = false;
                        let data = nodes[w].data * c;
                        part(&mut nodes, node, Op::Mul, data, vec![w, leaf])
                    })
                    .collect(),
                Op::Dot if !operands.is_empty() => {
                    let (ws, xs) = operands.split_at(operands.len() / 2);
                    ws.iter()
                        .zip(xs)
                        .map(|(&w, &x)| {
                            let data = nodes[w].data * nodes[x].data;
                            part(&mut nodes, node, Op::Mul, data, vec![w, x])
                        })
                        .collect()
                }
                _ => {
                    let mut copy = node.clone();
                    copy.id = nodes.len();
                    copy.operands = operands;
                    renamed.push(copy.id);
                    nodes.push(copy);
                    continue;
                }
            };
            // One Σ over the products: the fused node, with its label and
            // its value as the engine summed it.
            let sigma = part(&mut nodes, node, Op::Sum, node.data, terms);
            nodes[sigma].label = node.label.clone();
            renamed.push(sigma);
        }
        (Graph { nodes }, renamed)
    }

    /// Every node's value when the leaves hold `data` (indexed by id, the
    /// leaves' entries read, every other entry written), by the engine's
    /// own forward rules in [`op`]: with the snapshot's leaf values it
    /// gives every node's data bit for bit. The explorer asks it what a
    /// nudged input or an updated weight does to the output.
    pub(crate) fn recompute(&self, data: &mut [f64]) {
        for node in &self.nodes {
            let at = |k: usize| node.operands.get(k).map_or(op::ABSENT_RHS, |&o| data[o]);
            let value = match node.op {
                Op::Leaf => continue,
                Op::Sum => op::sum_forward(node.operands.iter().map(|&o| data[o])),
                Op::Dot => {
                    let (ws, xs) = node.operands.split_at(node.operands.len() / 2);
                    op::dot_forward(ws.iter().zip(xs).map(|(&w, &x)| (data[w], data[x])))
                }
                Op::DotConst => op::dot_forward(
                    node.operands
                        .iter()
                        .zip(&node.constants)
                        .map(|(&w, &c)| (data[w], c)),
                ),
                op => op.forward(at(0), at(1)),
            };
            data[node.id] = value;
        }
    }

    /// The graph as a `petgraph` directed graph, for analysis: node weights
    /// are the [`GraphNode`]s, edges run from operand to result, and node
    /// index `i` is id `i`.
    ///
    /// ```
    /// use chainrule::Value;
    /// use petgraph::algo::toposort;
    ///
    /// let x = Value::new(1.0);
    /// let y = (&x + 1.0) * &x;
    /// let pg = y.graph().to_petgraph();
    /// assert_eq!((pg.node_count(), pg.edge_count()), (4, 4));
    /// assert!(toposort(&pg, None).is_ok()); // a graph has no cycles
    /// ```
    pub fn to_petgraph(&self) -> DiGraph<GraphNode, ()> {
        let mut graph = DiGraph::with_capacity(self.nodes.len(), self.nodes.len());
        let indices: Vec<_> = self
            .nodes
            .iter()
            .map(|n| graph.add_node(n.clone()))
            .collect();
        for (from, to) in self.edges() {
            graph.add_edge(indices[from], indices[to], ());
        }
        graph
    }
}

/// Adds a node that stands for part of the fused node `of`: marked
/// expanded, with `of`'s gradient (Σ passes its gradient through, so each
/// product's gradient is the sum's), group, and whether it takes one.
fn part(
    nodes: &mut Vec<GraphNode>,
    of: &GraphNode,
    op: Op,
    data: f64,
    operands: Vec<usize>,
) -> usize {
    let id = nodes.len();
    nodes.push(GraphNode {
        id,
        op,
        data,
        grad: of.grad,
        label: None,
        operands,
        constant: false,
        requires_grad: of.requires_grad,
        constants: Vec::new(),
        expanded: true,
        group: of.group.clone(),
        deferred: None,
    });
    id
}
