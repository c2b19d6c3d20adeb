//! What a picture shows, before any program lays it out: which nodes are
//! drawn (constants hidden, a focus, groups collapsed), as which shapes,
//! with which edges (repeated operands merged), in which clusters. Both the
//! DOT writer and the pure-Rust renderer draw a [`Drawing`].

use std::collections::HashMap;

use super::dot::{DotOptions, NumberFormat, RankDir, Style};
use super::gate::{Gate, folded_exponent, names};
use crate::Op;
use crate::graph::GraphError;
use crate::graph::view::{Graph, GraphNode};

/// Most characters of a label drawn; longer labels end in `…` (the
/// node's tooltip keeps up to 400).
pub const MAX_LABEL_CHARS: usize = 60;

/// Most characters of a tooltip.
pub(crate) const MAX_TITLE_CHARS: usize = 400;

/// The kinds of gate, each with its colour in the nodes style.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum GateKind {
    Add,
    Mul,
    Max,
    Unary,
}

impl GateKind {
    pub(crate) const ALL: [GateKind; 4] =
        [GateKind::Add, GateKind::Mul, GateKind::Max, GateKind::Unary];

    pub(crate) fn of(op: Op) -> Option<GateKind> {
        match op {
            Op::Leaf => None,
            Op::Add | Op::Sum => Some(GateKind::Add),
            Op::Mul | Op::Dot | Op::DotConst => Some(GateKind::Mul),
            Op::Max => Some(GateKind::Max),
            Op::Exp | Op::Log | Op::Pow => Some(GateKind::Unary),
        }
    }

    pub(crate) fn colour(self) -> &'static str {
        match self {
            GateKind::Add => "#cfe2ff",
            GateKind::Mul => "#ffd8a8",
            GateKind::Max => "#c3f0c8",
            GateKind::Unary => "#e9dcf5",
        }
    }

    pub(crate) fn legend(self) -> &'static str {
        match self {
            GateKind::Add => "add: passes the gradient through",
            GateKind::Mul => "mul: swaps the inputs",
            GateKind::Max => "max: routes to the larger",
            GateKind::Unary => "exp, log, pow",
        }
    }

    fn class(self) -> &'static str {
        match self {
            GateKind::Add => "add",
            GateKind::Mul => "mul",
            GateKind::Max => "max",
            GateKind::Unary => "unary",
        }
    }
}

/// A picture, independent of the program that lays it out. All text is
/// plain (not escaped) and valid in XML.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Drawing {
    pub(crate) rankdir: RankDir,
    pub(crate) nodes: Vec<Shape>,
    pub(crate) edges: Vec<Arrow>,
    /// Clusters, parents before their children.
    pub(crate) clusters: Vec<Cluster>,
    /// The gate kinds the legend explains (none: no legend).
    pub(crate) legend: Vec<GateKind>,
    /// Whether to draw the lecture style's key: values above each edge,
    /// gradients in red below.
    pub(crate) key: bool,
    /// For each graph node, the name of the shape that shows its value
    /// (its own, or its collapsed group's), if drawn.
    pub(crate) element_of: Vec<Option<String>>,
}

/// What a shape stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A graph node's value (the lecture style's gate circle or input, or
    /// micrograd's record).
    Value,
    /// A graph node's gate, drawn apart from its value (nodes style).
    Gate,
    /// A collapsed group.
    Group,
    /// The note standing for nodes a focus leaves out.
    Hidden,
    /// The output's name at the end of the lecture style's last edge.
    Output,
}

/// What an arrow stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Operands flowing into a gate (and gradients flowing back).
    Operand,
    /// A gate to its own value (nodes style): part of the node.
    GateToValue,
    /// The output's value to its name.
    Output,
}

/// One entry of a picture's legend row.
pub(crate) struct LegendItem {
    /// A gate colour's swatch before the text, if one.
    pub(crate) swatch: Option<&'static str>,
    pub(crate) text: &'static str,
    /// Whether the text is written as gradients are (red).
    pub(crate) grad: bool,
}

impl Drawing {
    /// The legend row under the picture, its heading and entries: the
    /// lecture style's key (values above, gradients in red below) or the
    /// nodes style's gate colours; none when there is nothing to explain.
    pub(crate) fn legend_row(&self) -> Option<(&'static str, Vec<LegendItem>)> {
        if self.key {
            return Some((
                "key:",
                vec![
                    LegendItem {
                        swatch: None,
                        text: "above: value \u{ac12}",
                        grad: false,
                    },
                    LegendItem {
                        swatch: None,
                        text: "below: gradient \u{ae30}\u{c6b8}\u{ae30}",
                        grad: true,
                    },
                ],
            ));
        }
        if self.legend.is_empty() {
            return None;
        }
        let items = self
            .legend
            .iter()
            .map(|k| LegendItem {
                swatch: Some(k.colour()),
                text: k.legend(),
                grad: false,
            })
            .collect();
        Some(("gates:", items))
    }
}

/// A node of a [`Drawing`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Shape {
    /// What it stands for.
    pub(crate) role: Role,
    /// Its id, stable for a graph and options: `v{id}` for a graph node's
    /// value, `op{id}` for its gate in the nodes style, `group{k}`,
    /// `hidden` and `out`.
    pub(crate) name: String,
    pub(crate) kind: ShapeKind,
    pub(crate) fill: Option<&'static str>,
    /// Classes for stylesheets: `node` and what it is (`leaf`, `constant`,
    /// `gate`, `op`, `value`, `group`, `hidden`, `output`) and its gate.
    pub(crate) class: String,
    /// The tooltip: what the node is, its value and gradient.
    pub(crate) title: String,
    /// The innermost cluster it is drawn in.
    pub(crate) cluster: Option<usize>,
    /// The graph node it stands for (its value, or its gate in the nodes
    /// style), if one.
    pub(crate) node: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ShapeKind {
    /// A box of fields side by side.
    Record(Vec<Field>),
    /// A box of fields one above the other (a collapsed group).
    Stack(Vec<Field>),
    /// A small rounded box naming an operation.
    Gate(String),
    /// A circle with an operation's symbol (the lecture style), and the
    /// node's name written beside it, if shown.
    Circle(String, Option<String>),
    /// Text with no outline.
    Text(String),
    /// A dashed box standing for nodes not drawn.
    Note(String),
}

/// One field of a record.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Field {
    pub(crate) text: String,
    /// Whether the field is a gradient (drawn in red).
    pub(crate) grad: bool,
    /// Whether the field is a value (`data …`).
    pub(crate) data: bool,
}

/// An edge of a [`Drawing`]: operands repeated `count` times are one edge.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Arrow {
    /// What it stands for.
    pub(crate) flow: Flow,
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// The value that flows forward along it, if shown.
    pub(crate) value: Option<String>,
    /// The gradient that flows back along it (the sum over repeats), if
    /// shown.
    pub(crate) grad: Option<String>,
    /// How many operand positions it stands for.
    pub(crate) count: usize,
    /// Its id: `e{from}-{to}` with the shapes' names.
    pub(crate) name: String,
    pub(crate) title: String,
    /// The graph nodes whose values flow along it (one, unless a collapsed
    /// group or a merge of several).
    pub(crate) producers: Vec<usize>,
    /// The graph nodes that give back along it (the consumers of those
    /// values); none for the edge to the output's label.
    pub(crate) consumers: Vec<usize>,
}

impl Arrow {
    /// The multiplicity mark of a repeated operand, `(3000 uses)`: words,
    /// not `×3000`, which beside a × gate reads as a product.
    pub(crate) fn count_mark(&self) -> Option<String> {
        (self.count > 1).then(|| format!("({} uses)", self.count))
    }
}

/// A group of nodes drawn as one outlined cluster.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cluster {
    /// Its id, `cluster{k}`.
    pub(crate) name: String,
    /// The last part of its scope (`neuron3`).
    pub(crate) title: String,
    /// The whole scope (`layer1/neuron3`).
    pub(crate) scope: String,
    pub(crate) parent: Option<usize>,
}

/// A label as drawing text: valid in XML 1.0 (characters it forbids, such
/// as most controls, U+FFFE and U+FFFF, become U+FFFD), `\r` dropped, tabs
/// as spaces, at most `limit` characters (then `…`).
pub(crate) fn clean(label: &str, limit: usize) -> String {
    let mut out = String::with_capacity(label.len().min(4 * limit));
    for (count, c) in label.chars().filter(|&c| c != '\r').enumerate() {
        if count == limit {
            out.push('\u{2026}');
            break;
        }
        out.push(match c {
            '\n' => '\n',
            '\t' => ' ',
            c if xml_forbids(c) => '\u{fffd}',
            c if c.is_control() => ' ',
            c => c,
        });
    }
    out
}

/// Whether XML 1.0 forbids the character in a document.
pub(crate) fn xml_forbids(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The last part of a group's scope: `neuron3` for `layer1/neuron3`.
fn short(scope: &str) -> &str {
    match scope.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => name,
        _ => scope,
    }
}

/// A node as the picture shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Shown {
    /// A node of the graph.
    Node(usize),
    /// A collapsed group (index into the collapsed scopes).
    Group(usize),
    /// The nodes left out by a focus.
    Hidden,
}

impl Graph {
    /// The picture of this graph in the given options, before layout.
    pub(crate) fn drawing(&self, options: &DotOptions) -> Result<Drawing, GraphError> {
        let expanded;
        let mut focus = options.focus_id();
        // A neuron's box hides its fused node: nothing to expand then.
        let boxed = options.boxes_neurons(neuron_groups(self).len());
        let graph = if options.expands_fused() && !boxed {
            let (graph, renamed) = self.expand_fused_renamed();
            expanded = graph;
            if let Some(id) = focus {
                focus = Some(*renamed.get(id).ok_or(GraphError::NoSuchNode {
                    id,
                    nodes: self.len(),
                })?);
            }
            &expanded
        } else {
            self
        };
        Picture::new(graph, options, focus)?.drawing()
    }
}

/// The work of turning a graph into a [`Drawing`].
struct Picture<'a> {
    graph: &'a Graph,
    options: &'a DotOptions,
    numbers: NumberFormat,
    /// How each graph node is shown, if at all.
    shown: Vec<Option<Shown>>,
    hidden_count: usize,
    /// The collapsed scopes in use.
    collapsed: Vec<String>,
    /// What is drawn, in order: graph nodes in topological order, then
    /// collapsed groups, then the note.
    order: Vec<Shown>,
    /// The name each node goes by (see [`names`]).
    names: Vec<Option<String>>,
    /// The collapsed scopes that are neurons drawn as boxes.
    neurons: Vec<String>,
}

impl<'a> Picture<'a> {
    fn new(
        graph: &'a Graph,
        options: &'a DotOptions,
        focus: Option<usize>,
    ) -> Result<Picture<'a>, GraphError> {
        let n = graph.len();
        let nodes = graph.nodes();
        let mut keep = vec![true; n];
        if options.hides_constants() {
            for node in nodes {
                if node.constant {
                    keep[node.id] = false;
                }
            }
        }
        // A constant exponent is drawn in its power gate (`1/x`, `x²`):
        // not as a node of its own when nothing else uses it.
        let mut other_uses = vec![0usize; n];
        let mut folded_uses = vec![0usize; n];
        for node in nodes {
            let folded = folded_exponent(graph, node).is_some();
            for (position, &o) in node.operands.iter().enumerate() {
                if folded && position == 1 {
                    folded_uses[o] += 1;
                } else {
                    other_uses[o] += 1;
                }
            }
        }
        for id in 0..n {
            if folded_uses[id] > 0 && other_uses[id] == 0 && id + 1 != n {
                keep[id] = false;
            }
        }
        let mut hidden_count = 0;
        if let Some(target) = focus {
            if target >= n {
                return Err(GraphError::NoSuchNode {
                    id: target,
                    nodes: n,
                });
            }
            // The nodes on paths from the target to the output: those that
            // depend on it (every node reaches the output).
            let mut on_path = vec![false; n];
            on_path[target] = true;
            for node in &nodes[target + 1..] {
                on_path[node.id] = node.operands.iter().any(|&o| on_path[o]);
            }
            for id in 0..n {
                if keep[id] && !on_path[id] {
                    keep[id] = false;
                    hidden_count += 1;
                }
            }
        }
        // Neurons drawn as boxes: groups holding a dot over their own
        // weights; the constants that only feed such dots as inputs (the
        // bias's 1) are shown in the box instead.
        let mut boxes: Vec<String> = options.collapsed().to_vec();
        let mut neurons = neuron_groups(graph);
        if options.boxes_neurons(neurons.len()) {
            let mut bias_only = vec![None::<bool>; n];
            for node in nodes {
                let inputs = match node.op {
                    Op::Dot => &node.operands[node.operands.len() / 2..],
                    _ => &node.operands[..0],
                };
                for &o in node.operands.iter() {
                    let as_input = inputs.contains(&o) && nodes[o].constant;
                    let entry = &mut bias_only[o];
                    *entry = Some(entry.unwrap_or(true) && as_input && node.group.is_some());
                }
            }
            for (id, only) in bias_only.iter().enumerate() {
                if *only == Some(true) {
                    keep[id] = false;
                }
            }
            boxes.extend(neurons.iter().cloned());
        } else {
            neurons.clear();
        }
        // Collapsed groups: the shortest collapsed scope holding the
        // node's group.
        let mut collapsed: Vec<String> = Vec::new();
        let mut shown = vec![None; n];
        let mut order = Vec::new();
        let mut groups_used = Vec::new();
        for node in nodes {
            if !keep[node.id] {
                continue;
            }
            let group = options
                .groups_drawn()
                .then_some(node.group.as_deref())
                .flatten();
            let scope = group.and_then(|g| {
                boxes
                    .iter()
                    .filter(|s| in_scope(g, s))
                    .min_by_key(|s| s.len())
            });
            shown[node.id] = Some(match scope {
                Some(scope) => {
                    let k = match collapsed.iter().position(|s| s == scope) {
                        Some(k) => k,
                        None => {
                            collapsed.push(scope.clone());
                            groups_used.push(Shown::Group(collapsed.len() - 1));
                            collapsed.len() - 1
                        }
                    };
                    Shown::Group(k)
                }
                None => {
                    order.push(Shown::Node(node.id));
                    Shown::Node(node.id)
                }
            });
        }
        order.extend(groups_used);
        if hidden_count > 0 {
            order.push(Shown::Hidden);
        }
        if order.len() > options.node_limit_value() {
            return Err(GraphError::TooManyNodes {
                nodes: order.len(),
                limit: options.node_limit_value(),
            });
        }
        Ok(Picture {
            graph,
            options,
            numbers: options.numbers(),
            shown,
            hidden_count,
            collapsed,
            order,
            names: names(graph),
            neurons,
        })
    }

    fn node(&self, id: usize) -> &GraphNode {
        &self.graph.nodes()[id]
    }

    /// The clusters: every scope (and its parents) of a drawn node, and
    /// the parents of collapsed groups. Sorted, so parents come first.
    fn clusters(&self) -> Vec<Cluster> {
        if !self.options.groups_drawn() {
            return Vec::new();
        }
        let mut scopes: Vec<String> = Vec::new();
        let mut add_with_parents = |scope: &str| {
            let mut end = scope.len();
            loop {
                let prefix = &scope[..end];
                if !prefix.is_empty() && !scopes.iter().any(|s| s == prefix) {
                    scopes.push(prefix.to_owned());
                }
                match prefix.rfind('/') {
                    Some(at) => end = at,
                    None => break,
                }
            }
        };
        for shown in &self.order {
            match *shown {
                Shown::Node(id) => {
                    if let Some(group) = &self.node(id).group {
                        add_with_parents(drawn_scope(group));
                    }
                }
                Shown::Group(k) => {
                    if let Some((parent, _)) = self.collapsed[k].rsplit_once('/') {
                        add_with_parents(drawn_scope(parent));
                    }
                }
                Shown::Hidden => {}
            }
        }
        scopes.sort();
        let index: HashMap<&str, usize> = scopes
            .iter()
            .enumerate()
            .map(|(k, s)| (s.as_str(), k))
            .collect();
        scopes
            .iter()
            .enumerate()
            .map(|(k, scope)| Cluster {
                name: format!("cluster{k}"),
                title: clean(short(scope), MAX_LABEL_CHARS),
                scope: clean(scope, MAX_TITLE_CHARS),
                parent: scope
                    .rsplit_once('/')
                    .and_then(|(p, _)| index.get(p).copied()),
            })
            .collect()
    }

    fn drawing(&self) -> Result<Drawing, GraphError> {
        let clusters = self.clusters();
        let cluster_of = |scope: Option<&str>| -> Option<usize> {
            let scope = clean(drawn_scope(scope?), MAX_TITLE_CHARS);
            clusters.iter().position(|c| c.scope == scope)
        };
        let lecture = self.options.style_value() == Style::Lecture;
        let mut nodes: Vec<Shape> = Vec::with_capacity(2 * self.order.len() + 1);
        // The shape each shown thing's value is drawn as, and (nodes
        // style) the gate shape its operands point to.
        let mut value_shape: HashMap<Shown, usize> = HashMap::new();
        let mut gate_shape: HashMap<Shown, usize> = HashMap::new();
        let mut edges: Vec<Arrow> = Vec::new();
        let mut legend = Vec::new();
        for &shown in &self.order {
            match shown {
                Shown::Node(id) => {
                    let node = self.node(id);
                    let cluster = if self.options.groups_drawn() {
                        cluster_of(node.group.as_deref())
                    } else {
                        None
                    };
                    let gate = GateKind::of(node.op);
                    if let Some(kind) = gate
                        && !legend.contains(&kind)
                    {
                        legend.push(kind);
                    }
                    if lecture {
                        value_shape.insert(shown, nodes.len());
                        gate_shape.insert(shown, nodes.len());
                        nodes.push(self.lecture_shape(node, cluster));
                    } else {
                        value_shape.insert(shown, nodes.len());
                        nodes.push(self.value_record(node, cluster));
                        if let Some(kind) = gate {
                            gate_shape.insert(shown, nodes.len());
                            nodes.push(Shape {
                                role: Role::Gate,
                                name: format!("op{id}"),
                                kind: ShapeKind::Gate(self.gate(node).symbol()),
                                fill: Some(kind.colour()),
                                class: format!("node op {}", kind.class()),
                                title: format!(
                                    "{} gate of {}",
                                    self.gate(node).word(),
                                    self.name(id)
                                ),
                                cluster,
                                node: Some(id),
                            });
                            edges.push(Arrow {
                                flow: Flow::GateToValue,
                                from: nodes.len() - 1,
                                to: nodes.len() - 2,
                                value: None,
                                grad: None,
                                count: 1,
                                name: format!("eop{id}-v{id}"),
                                title: String::new(),
                                producers: vec![id],
                                consumers: Vec::new(),
                            });
                        }
                    }
                }
                Shown::Group(k) => {
                    let scope = &self.collapsed[k];
                    let parent = scope.rsplit_once('/').map(|(p, _)| p);
                    value_shape.insert(shown, nodes.len());
                    gate_shape.insert(shown, nodes.len());
                    nodes.push(self.group_shape(k, cluster_of(parent)));
                }
                Shown::Hidden => {
                    value_shape.insert(shown, nodes.len());
                    let text = format!(
                        "+ {} node{}",
                        self.hidden_count,
                        if self.hidden_count == 1 { "" } else { "s" }
                    );
                    nodes.push(Shape {
                        role: Role::Hidden,
                        name: "hidden".into(),
                        kind: ShapeKind::Note(text.clone()),
                        fill: None,
                        class: "node hidden".into(),
                        title: format!(
                            "{text} not drawn: not on a path from the focus to the output"
                        ),
                        cluster: None,
                        node: None,
                    });
                }
            }
        }
        // Operand edges, merged by (drawn from, drawn to).
        struct Merge {
            count: usize,
            grad: Option<f64>,
            source: Option<usize>,
            mixed: bool,
            producers: Vec<usize>,
            consumers: Vec<usize>,
            /// Into a neuron's box: the weights its values meet.
            weights: Vec<usize>,
        }
        let mut merged: Vec<((usize, usize), Merge)> = Vec::new();
        let mut at: HashMap<(usize, usize), usize> = HashMap::new();
        for node in self.graph.nodes() {
            let Some(consumer) = self.shown[node.id] else {
                continue;
            };
            let Some(&to) = gate_shape.get(&consumer) else {
                continue;
            };
            for (position, &operand) in node.operands.iter().enumerate() {
                // Nodes off the focus's paths are only counted.
                let Some(producer) = self.shown[operand] else {
                    continue;
                };
                if producer == consumer {
                    continue; // inside a collapsed group
                }
                let from = value_shape[&producer];
                let slot = *at.entry((from, to)).or_insert_with(|| {
                    merged.push((
                        (from, to),
                        Merge {
                            count: 0,
                            grad: None,
                            source: Some(operand),
                            mixed: false,
                            producers: Vec::new(),
                            consumers: Vec::new(),
                            weights: Vec::new(),
                        },
                    ));
                    merged.len() - 1
                });
                let entry = &mut merged[slot].1;
                entry.count += 1;
                if !entry.producers.contains(&operand) {
                    entry.producers.push(operand);
                }
                if !entry.consumers.contains(&node.id) {
                    entry.consumers.push(node.id);
                }
                if entry.source != Some(operand) {
                    entry.mixed = true;
                }
                if let Some(g) = self.graph.edge_grad(node.id, position) {
                    entry.grad = Some(entry.grad.unwrap_or(0.0) + g);
                }
                if node.op == Op::Dot
                    && let Shown::Group(k) = consumer
                    && self.neurons.contains(&self.collapsed[k])
                    && position >= node.operands.len() / 2
                {
                    entry
                        .weights
                        .push(node.operands[position - node.operands.len() / 2]);
                }
            }
        }
        let operand_edges = merged.len();
        if operand_edges > self.options.edge_limit_value() {
            return Err(GraphError::TooManyEdges {
                edges: operand_edges,
                limit: self.options.edge_limit_value(),
            });
        }
        let show_grad = self.options.shows_grad();
        for ((from, to), merge) in merged {
            // Into a neuron's box, an edge carries its weight: the weight's
            // value above, its gradient below.
            let weight = match merge.weights[..] {
                [w] if merge.count == 1 => Some(self.node(w)),
                _ => None,
            };
            let (value, grad) = if let Some(w) = weight {
                (
                    Some(format!(
                        "{} {}",
                        self.name(w.id),
                        self.numbers.format(w.data)
                    )),
                    show_grad.then(|| self.numbers.format(w.grad)),
                )
            } else {
                (
                    (lecture && !merge.mixed)
                        .then(|| merge.source.map(|s| self.numbers.format(self.node(s).data)))
                        .flatten(),
                    (lecture && show_grad && !merge.mixed)
                        .then(|| merge.grad.map(|g| self.numbers.format(g)))
                        .flatten(),
                )
            };
            let mut title = format!(
                "{} → {}",
                self.shown_name(merge.producers[0], nodes[from].node),
                self.shown_name(merge.consumers[0], nodes[to].node)
            );
            if let Some(v) = &value {
                title.push_str(&format!(": value {v}"));
            }
            if let Some(g) = &grad {
                title.push_str(&format!(", gradient {g}"));
            }
            if merge.count > 1 {
                title.push_str(&format!(" ({} operand positions)", merge.count));
            }
            edges.push(Arrow {
                flow: Flow::Operand,
                from,
                to,
                value,
                grad,
                count: merge.count,
                name: format!("e{}-{}", nodes[from].name, nodes[to].name),
                title,
                producers: merge.producers,
                consumers: merge.consumers,
            });
        }
        if lecture
            && let Some(output) = self.graph.output()
            && let Some(shown) = self.shown[output.id]
        {
            let from = value_shape[&shown];
            let label = self.names[output.id].clone().unwrap_or_default();
            nodes.push(Shape {
                role: Role::Output,
                name: "out".into(),
                kind: ShapeKind::Text(label),
                fill: None,
                class: "node output".into(),
                title: "the output".into(),
                cluster: None,
                node: None,
            });
            let value = self.numbers.format(output.data);
            let grad = show_grad.then(|| self.numbers.format(output.grad));
            edges.push(Arrow {
                flow: Flow::Output,
                from,
                to: nodes.len() - 1,
                title: format!(
                    "output: value {value}{}",
                    grad.as_ref()
                        .map(|g| format!(", gradient {g}"))
                        .unwrap_or_default()
                ),
                value: Some(value),
                grad,
                count: 1,
                name: format!("e{}-out", nodes[from].name),
                producers: vec![output.id],
                consumers: Vec::new(),
            });
        }
        let legend = if self.options.legend_drawn() && !lecture {
            GateKind::ALL
                .into_iter()
                .filter(|k| legend.contains(k))
                .collect()
        } else {
            Vec::new()
        };
        let element_of = self
            .shown
            .iter()
            .map(|shown| {
                shown
                    .and_then(|s| value_shape.get(&s))
                    .map(|&k| nodes[k].name.clone())
            })
            .collect();
        Ok(Drawing {
            rankdir: self.options.rankdir_value(),
            nodes,
            edges,
            clusters,
            legend,
            key: lecture && self.options.legend_drawn() && show_grad,
            element_of,
        })
    }

    /// The gate of a graph node (see [`Gate`]).
    fn gate(&self, node: &GraphNode) -> Gate {
        Gate::of(self.graph, node)
    }

    /// The name a node goes by: its label or letter, or (an unlabelled
    /// constant) its value.
    fn name(&self, id: usize) -> String {
        self.names[id]
            .clone()
            .unwrap_or_else(|| self.numbers.format(self.node(id).data))
    }

    /// The name of what an edge end shows: the graph node's, or (a
    /// collapsed group, the note) the shape's own.
    fn shown_name(&self, id: usize, shape_node: Option<usize>) -> String {
        match (self.shown[id], shape_node) {
            (Some(Shown::Node(_)), _) | (_, Some(_)) => self.name(id),
            (Some(Shown::Group(k)), _) => clean(short(&self.collapsed[k]), MAX_LABEL_CHARS),
            _ => "hidden".into(),
        }
    }

    /// The tooltip of a graph node: its name (with its whole label), what
    /// it is, its value and gradient.
    fn title(&self, node: &GraphNode) -> String {
        let mut title = match &node.label {
            Some(label) if !label.trim().is_empty() => clean(label, MAX_TITLE_CHARS),
            _ => self.name(node.id),
        };
        let what = match self.gate(node) {
            Gate::Input if node.constant => "constant".to_owned(),
            gate => gate.word(),
        };
        title.push_str(&format!(
            " \u{b7} {what} \u{b7} data {}",
            self.numbers.format(node.data)
        ));
        if node.requires_grad {
            title.push_str(&format!(" \u{b7} grad {}", self.numbers.format(node.grad)));
        }
        title
    }

    /// micrograd's record: label, data and grad side by side.
    fn value_record(&self, node: &GraphNode, cluster: Option<usize>) -> Shape {
        let mut fields = vec![
            Field {
                text: self.names[node.id].clone().unwrap_or_default(),
                grad: false,
                data: false,
            },
            Field {
                text: format!("data {}", self.numbers.format(node.data)),
                grad: false,
                data: true,
            },
        ];
        if self.options.shows_grad() && !node.constant {
            fields.push(Field {
                text: format!("grad {}", self.numbers.format(node.grad)),
                grad: true,
                data: false,
            });
        }
        Shape {
            role: Role::Value,
            name: format!("v{}", node.id),
            kind: ShapeKind::Record(fields),
            fill: node.constant.then_some("#f2f2f2"),
            class: format!(
                "node value {}",
                if node.constant {
                    "constant"
                } else {
                    "variable"
                }
            ),
            title: self.title(node),
            cluster,
            node: Some(node.id),
        }
    }

    /// The lecture's shape: inputs as text (their name, or a constant's
    /// value), gates as circles with their name beside them (the output's
    /// name is at the end of its edge instead).
    fn lecture_shape(&self, node: &GraphNode, cluster: Option<usize>) -> Shape {
        let (kind, class) = match GateKind::of(node.op) {
            None => (
                ShapeKind::Text(self.name(node.id)),
                if node.constant {
                    "node leaf constant".to_owned()
                } else {
                    "node leaf".to_owned()
                },
            ),
            Some(kind) => (
                ShapeKind::Circle(
                    self.gate(node).symbol(),
                    (node.id + 1 != self.graph.len())
                        .then(|| self.names[node.id].clone())
                        .flatten(),
                ),
                format!("node gate {}", kind.class()),
            ),
        };
        Shape {
            role: Role::Value,
            name: format!("v{}", node.id),
            kind,
            fill: None,
            class,
            title: self.title(node),
            cluster,
            node: Some(node.id),
        }
    }

    /// A collapsed group: one box with its outputs' values and gradients.
    fn group_shape(&self, k: usize, cluster: Option<usize>) -> Shape {
        let scope = &self.collapsed[k];
        let inside = |id: usize| self.shown[id] == Some(Shown::Group(k));
        let mut used_outside = vec![false; self.graph.len()];
        for node in self.graph.nodes() {
            if !inside(node.id) {
                for &o in &node.operands {
                    used_outside[o] = true;
                }
            }
        }
        let last = self.graph.len() - 1;
        let outputs: Vec<&GraphNode> = self
            .graph
            .nodes()
            .iter()
            .filter(|n| inside(n.id) && (used_outside[n.id] || n.id == last))
            .collect();
        let members = self
            .shown
            .iter()
            .filter(|s| **s == Some(Shown::Group(k)))
            .count();
        let neuron = self.neurons.contains(scope);
        let title = if neuron {
            short(scope).to_owned()
        } else {
            format!(
                "{} ({members} node{})",
                short(scope),
                if members == 1 { "" } else { "s" }
            )
        };
        let mut fields = vec![Field {
            text: clean(&title, MAX_LABEL_CHARS),
            grad: false,
            data: false,
        }];
        let shown_outputs = outputs.len().min(4);
        for out in &outputs[..shown_outputs] {
            let name = if outputs.len() > 1 {
                format!("{} ", clean(&self.name(out.id), 20))
            } else {
                String::new()
            };
            fields.push(Field {
                text: format!("{name}data {}", self.numbers.format(out.data)),
                grad: false,
                data: true,
            });
            if self.options.shows_grad() && out.requires_grad {
                fields.push(Field {
                    text: format!("grad {}", self.numbers.format(out.grad)),
                    grad: true,
                    data: false,
                });
            }
        }
        if neuron {
            // The bias: a weight paired with a constant input (nn's 1).
            for node in self.graph.nodes().iter().filter(|n| inside(n.id)) {
                if node.op != Op::Dot {
                    continue;
                }
                let (ws, xs) = node.operands.split_at(node.operands.len() / 2);
                for (&w, &x) in ws.iter().zip(xs) {
                    if self.node(x).constant && self.shown[x].is_none() {
                        let bias = self.node(w);
                        fields.push(Field {
                            text: clean(
                                &format!("{} {}", self.name(w), self.numbers.format(bias.data)),
                                MAX_LABEL_CHARS,
                            ),
                            grad: false,
                            data: true,
                        });
                        if self.options.shows_grad() {
                            fields.push(Field {
                                text: format!("grad {}", self.numbers.format(bias.grad)),
                                grad: true,
                                data: false,
                            });
                        }
                    }
                }
            }
        }
        if outputs.len() > shown_outputs {
            fields.push(Field {
                text: format!("+ {} outputs", outputs.len() - shown_outputs),
                grad: false,
                data: false,
            });
        }
        Shape {
            role: Role::Group,
            name: format!("group{k}"),
            kind: ShapeKind::Stack(fields),
            fill: Some("#fff4d6"),
            class: "node group".into(),
            title: format!(
                "{} collapsed: {members} nodes",
                clean(scope, MAX_TITLE_CHARS)
            ),
            cluster,
            node: None,
        }
    }
}

/// The groups that are neurons: each holds a `dot` over its own weights
/// (see [`GraphNode::group`]), as `nn` builds them.
fn neuron_groups(graph: &Graph) -> Vec<String> {
    let mut neurons: Vec<String> = Vec::new();
    for node in graph.nodes() {
        if matches!(node.op, Op::Dot | Op::DotConst)
            && let Some(group) = &node.group
            && !neurons.contains(group)
        {
            neurons.push(group.clone());
        }
    }
    neurons
}

/// How deep clusters nest in a picture: a group deeper than this is drawn
/// in its ancestor at this depth (each level pads the picture).
pub(crate) const MAX_CLUSTER_DEPTH: usize = 4;

/// The part of a group drawn as a cluster: its first
/// [`MAX_CLUSTER_DEPTH`] parts.
fn drawn_scope(group: &str) -> &str {
    match group.match_indices('/').nth(MAX_CLUSTER_DEPTH - 1) {
        Some((at, _)) => &group[..at],
        None => group,
    }
}

/// Whether `group` is `scope` or inside it.
fn in_scope(group: &str, scope: &str) -> bool {
    group == scope
        || (group.len() > scope.len()
            && group.starts_with(scope)
            && group.as_bytes()[scope.len()] == b'/')
}
