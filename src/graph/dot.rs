//! Drawing a [`Graph`]: options, the two styles, and DOT output.

use graphviz_rust::dot_structures::{
    Attribute, Edge, EdgeTy, Graph as DotGraph, GraphAttributes, Id, Node, NodeId, Stmt, Subgraph,
    Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

use super::GraphError;
use super::view::{Graph, GraphNode};
use crate::Op;

/// How a graph is drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// micrograd's `draw_dot`: one record per value, `{ label | data | grad }`,
    /// and a small node for the operation that produced it, coloured by
    /// gate kind, with a legend.
    #[default]
    Nodes,
    /// The lecture's figures: operations as circles, inputs as plain
    /// labels, and on each edge the value that flows forward with, under
    /// it in red, the gradient that flows back along that edge.
    Lecture,
}

/// The direction the graph is laid out in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum RankDir {
    /// Left to right (inputs on the left).
    #[default]
    LeftRight,
    /// Top to bottom (inputs at the top).
    TopBottom,
}

/// How numbers are written in a picture.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NumberFormat {
    /// Always this many decimals: `2.2000` (micrograd's `%.4f`).
    Fixed(usize),
    /// At most this many decimals, trailing zeros dropped: `2.2`, `220`.
    Short(usize),
}

impl NumberFormat {
    /// Writes `x` in this format; NaN and infinities as `NaN`, `inf`, `-inf`.
    ///
    /// ```
    /// use chainrule::graph::NumberFormat;
    /// assert_eq!(NumberFormat::Fixed(4).format(2.2), "2.2000");
    /// assert_eq!(NumberFormat::Short(4).format(2.2000000000000002), "2.2");
    /// assert_eq!(NumberFormat::Short(4).format(220.0), "220");
    /// assert_eq!(NumberFormat::Short(2).format(-0.001), "0");
    /// ```
    pub fn format(self, x: f64) -> String {
        if !x.is_finite() {
            return format!("{x}");
        }
        match self {
            NumberFormat::Fixed(decimals) => format!("{x:.decimals$}"),
            NumberFormat::Short(decimals) => {
                let text = format!("{x:.decimals$}");
                let text = if text.contains('.') {
                    text.trim_end_matches('0').trim_end_matches('.')
                } else {
                    &text
                };
                if text == "-0" {
                    "0".into()
                } else {
                    text.into()
                }
            }
        }
    }
}

/// Which program turns DOT into SVG.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Renderer {
    /// Graphviz's `dot` when it is on `PATH`, otherwise the pure-Rust one.
    #[default]
    Auto,
    /// Graphviz's `dot` program (Debian package `graphviz`).
    Graphviz,
    /// `layout-rs`, in pure Rust: works with nothing installed, with a
    /// plainer layout.
    PureRust,
}

/// Options for drawing a graph: style, direction, number format,
/// gradients, fused nodes, a node limit and the SVG renderer.
///
/// ```
/// use chainrule::Value;
/// use chainrule::graph::{DotOptions, RankDir, Style};
///
/// let x = Value::new(3.0).with_label("x");
/// let y = (&x * &x).with_label("y");
/// y.backward();
/// let options = DotOptions::new().style(Style::Lecture).rankdir(RankDir::TopBottom);
/// let dot = y.graph().to_dot(&options).unwrap();
/// assert!(dot.contains("rankdir=TB"));
/// assert!(dot.contains(r#"<font color="red">3</font>"#)); // each edge: 1 × 3
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DotOptions {
    style: Style,
    rankdir: RankDir,
    number_format: Option<NumberFormat>,
    show_grad: bool,
    expand_fused: bool,
    node_limit: usize,
    renderer: Renderer,
}

/// The default [`DotOptions::node_limit`]: a picture with more nodes than
/// this is no longer readable.
pub const DEFAULT_NODE_LIMIT: usize = 500;

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions {
            style: Style::Nodes,
            rankdir: RankDir::LeftRight,
            number_format: None,
            show_grad: true,
            expand_fused: false,
            node_limit: DEFAULT_NODE_LIMIT,
            renderer: Renderer::Auto,
        }
    }
}

impl DotOptions {
    /// The default: [`Style::Nodes`], left to right, gradients shown,
    /// fused nodes kept, at most [`DEFAULT_NODE_LIMIT`] nodes,
    /// [`Renderer::Auto`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The lecture's style ([`Style::Lecture`]) with the other defaults.
    pub fn lecture() -> Self {
        Self::default().style(Style::Lecture)
    }

    /// Sets the style.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Sets the layout direction.
    pub fn rankdir(mut self, rankdir: RankDir) -> Self {
        self.rankdir = rankdir;
        self
    }

    /// Sets how numbers are written. The default is `Fixed(4)` in the
    /// nodes style and `Short(4)` in the lecture style.
    pub fn number_format(mut self, format: NumberFormat) -> Self {
        self.number_format = Some(format);
        self
    }

    /// Whether to show gradients (say no before `backward` has run).
    pub fn show_grad(mut self, show: bool) -> Self {
        self.show_grad = show;
        self
    }

    /// Whether to draw fused `Sum` and `Dot` nodes as the binary gates they
    /// stand for (see [`Graph::expand_fused`]).
    pub fn expand_fused(mut self, expand: bool) -> Self {
        self.expand_fused = expand;
        self
    }

    /// The most graph nodes a picture may have; drawing a larger graph is
    /// [`GraphError::TooManyNodes`].
    pub fn node_limit(mut self, limit: usize) -> Self {
        self.node_limit = limit;
        self
    }

    /// Which renderer [`Graph::to_svg`] uses.
    pub fn renderer(mut self, renderer: Renderer) -> Self {
        self.renderer = renderer;
        self
    }

    pub(crate) fn renderer_choice(&self) -> Renderer {
        self.renderer
    }

    fn numbers(&self) -> NumberFormat {
        self.number_format.unwrap_or(match self.style {
            Style::Nodes => NumberFormat::Fixed(4),
            Style::Lecture => NumberFormat::Short(4),
        })
    }
}

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

    fn of(op: Op) -> Option<GateKind> {
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
}

/// A picture, independent of the program that lays it out: what both the
/// DOT writer and the pure-Rust renderer draw.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Drawing {
    pub(crate) rankdir: RankDir,
    pub(crate) nodes: Vec<Shape>,
    pub(crate) edges: Vec<Arrow>,
    /// Whether to add the legend of gate colours.
    pub(crate) legend: bool,
}

/// A node of a [`Drawing`]. All text is plain (not escaped).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Shape {
    pub(crate) name: String,
    pub(crate) kind: ShapeKind,
    pub(crate) fill: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ShapeKind {
    /// A box of fields side by side (top to bottom when drawn top to bottom).
    Record(Vec<String>),
    /// A small rounded node naming an operation.
    Gate(String),
    /// A circle naming an operation (the lecture style).
    Circle(String),
    /// Text with no outline.
    Text(String),
}

/// An edge of a [`Drawing`], with the value that flows forward along it and
/// the gradient that flows back, if shown.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Arrow {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) value: Option<String>,
    pub(crate) grad: Option<String>,
}

impl Graph {
    /// The graph in Graphviz's DOT language, through `graphviz-rust`.
    /// Labels are escaped, so no label can break the DOT or add to it.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::DotOptions;
    ///
    /// let a = Value::new(2.0).with_label("a");
    /// let b = (&a * 3.0).with_label("b");
    /// b.backward();
    /// let dot = b.graph().to_dot(&DotOptions::new()).unwrap();
    /// assert!(dot.contains(r#"label="{a|data 2.0000|grad 3.0000}""#));
    /// assert!(graphviz_rust::parse(&dot).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`GraphError::TooManyNodes`] above the options' node limit.
    pub fn to_dot(&self, options: &DotOptions) -> Result<String, GraphError> {
        let drawing = self.drawing(options)?;
        Ok(dot_graph(&drawing).print(&mut PrinterContext::default()))
    }

    /// The picture of this graph in the given options, before layout.
    pub(crate) fn drawing(&self, options: &DotOptions) -> Result<Drawing, GraphError> {
        let expanded;
        let graph = if options.expand_fused {
            expanded = self.expand_fused();
            &expanded
        } else {
            self
        };
        if graph.len() > options.node_limit {
            return Err(GraphError::TooManyNodes {
                nodes: graph.len(),
                limit: options.node_limit,
            });
        }
        Ok(match options.style {
            Style::Nodes => nodes_style(graph, options),
            Style::Lecture => lecture_style(graph, options),
        })
    }
}

/// A label as drawing text: line breaks kept, `\r` dropped, every other
/// control character a space (no renderer can show them, and XML forbids
/// most).
fn clean(label: &str) -> String {
    label
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// micrograd's `draw_dot`: value records fed by small operation nodes
/// (none for leaves).
fn nodes_style(graph: &Graph, options: &DotOptions) -> Drawing {
    let numbers = options.numbers();
    let mut nodes = Vec::with_capacity(2 * graph.len());
    let mut edges = Vec::new();
    // The shape of each graph node's value; operands come first, so an
    // operand's shape is known by the time its consumer is drawn.
    let mut value_shape = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let mut fields = vec![
            node.label.as_deref().map(clean).unwrap_or_default(),
            format!("data {}", numbers.format(node.data)),
        ];
        if options.show_grad && !node.constant {
            fields.push(format!("grad {}", numbers.format(node.grad)));
        }
        value_shape.push(nodes.len());
        nodes.push(Shape {
            name: format!("v{}", node.id),
            kind: ShapeKind::Record(fields),
            fill: node.constant.then_some("#f2f2f2"),
        });
        if let Some(gate) = GateKind::of(node.op) {
            let op_shape = nodes.len();
            nodes.push(Shape {
                name: format!("op{}", node.id),
                kind: ShapeKind::Gate(gate_symbol(node).into()),
                fill: Some(gate.colour()),
            });
            edges.push(arrow(op_shape, value_shape[node.id]));
            edges.extend(
                node.operands
                    .iter()
                    .map(|&o| arrow(value_shape[o], op_shape)),
            );
        }
    }
    Drawing {
        rankdir: options.rankdir,
        nodes,
        edges,
        legend: true,
    }
}

/// A gate's symbol; a max node with one operand is `relu` (its 0 is held
/// in the node, see [`Value::relu`](crate::Value::relu)).
fn gate_symbol(node: &GraphNode) -> &'static str {
    match node.op {
        Op::Max if node.operands.len() == 1 => "relu",
        op => op.symbol(),
    }
}

/// The lecture's figures: inputs as text, gates as circles, and edges that
/// carry the forward value and (in red) the gradient along that edge.
fn lecture_style(graph: &Graph, options: &DotOptions) -> Drawing {
    let numbers = options.numbers();
    let mut nodes: Vec<Shape> = graph
        .nodes()
        .iter()
        .map(|node| Shape {
            name: format!("v{}", node.id),
            kind: match node.op {
                Op::Leaf => ShapeKind::Text(
                    node.label
                        .as_deref()
                        .map(clean)
                        .unwrap_or_else(|| numbers.format(node.data)),
                ),
                _ => ShapeKind::Circle(gate_symbol(node).into()),
            },
            fill: None,
        })
        .collect();
    let grad = |g: f64| options.show_grad.then(|| numbers.format(g));
    let mut edges = Vec::new();
    for node in graph.nodes() {
        for (position, &operand) in node.operands.iter().enumerate() {
            let from = &graph.nodes()[operand];
            edges.push(Arrow {
                from: operand,
                to: node.id,
                value: Some(numbers.format(from.data)),
                // Nothing flows into a node that takes no gradient.
                grad: graph.edge_grad(node.id, position).and_then(grad),
            });
        }
    }
    if let Some(output) = graph.output() {
        nodes.push(Shape {
            name: "out".into(),
            kind: ShapeKind::Text(output.label.as_deref().map(clean).unwrap_or_default()),
            fill: None,
        });
        edges.push(Arrow {
            from: output.id,
            to: nodes.len() - 1,
            value: Some(numbers.format(output.data)),
            grad: grad(output.grad),
        });
    }
    Drawing {
        rankdir: options.rankdir,
        nodes,
        edges,
        legend: false,
    }
}

fn arrow(from: usize, to: usize) -> Arrow {
    Arrow {
        from,
        to,
        value: None,
        grad: None,
    }
}

/// Quotes `text` as a DOT string (see [`escape`]).
pub(crate) fn quote(text: &str, record: bool) -> String {
    format!("\"{}\"", escape(text, record))
}

/// Escapes `text` for the inside of a DOT string: backslashes and quotes
/// escaped, line breaks as `\n`, other control characters as spaces; in a
/// record label also the characters that structure records (`{ } | < >`),
/// so a label is always one field of text.
pub(crate) fn escape(text: &str, record: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '{' | '}' | '|' | '<' | '>' if record => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn attr(key: &str, value: Id) -> Attribute {
    Attribute(Id::Plain(key.into()), value)
}

fn plain(value: &str) -> Id {
    Id::Plain(value.into())
}

fn node_id(name: &str) -> NodeId {
    NodeId(Id::Plain(name.into()), None)
}

/// Builds the DOT graph of a drawing with `graphviz-rust`'s structures.
fn dot_graph(drawing: &Drawing) -> DotGraph {
    let rankdir = match drawing.rankdir {
        RankDir::LeftRight => "LR",
        RankDir::TopBottom => "TB",
    };
    let mut stmts = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("rankdir", plain(rankdir)),
            attr("bgcolor", quoted("white")),
        ])),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("fontname", quoted("Helvetica")),
            attr("fontsize", plain("11")),
        ])),
        Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", quoted("Helvetica")),
            attr("fontsize", plain("10")),
        ])),
    ];
    for shape in &drawing.nodes {
        let mut attributes = match &shape.kind {
            ShapeKind::Record(fields) => {
                // `{a|b}` turns a record's fields across the layout direction,
                // so they read side by side left to right, as micrograd's do.
                let joined = fields
                    .iter()
                    .map(|f| escape(f, true))
                    .collect::<Vec<_>>()
                    .join("|");
                vec![
                    attr("shape", plain("record")),
                    attr("label", Id::Escaped(format!("\"{{{joined}}}\""))),
                ]
            }
            ShapeKind::Gate(symbol) => vec![
                attr("shape", plain("box")),
                attr("style", quoted("rounded,filled")),
                attr("label", Id::Escaped(quote(symbol, false))),
            ],
            ShapeKind::Circle(symbol) => vec![
                attr("shape", plain("circle")),
                attr("label", Id::Escaped(quote(symbol, false))),
            ],
            ShapeKind::Text(text) => vec![
                attr("shape", plain("plaintext")),
                attr("label", Id::Escaped(quote(text, false))),
            ],
        };
        if let Some(fill) = shape.fill {
            if !matches!(shape.kind, ShapeKind::Gate(_)) {
                attributes.push(attr("style", quoted("filled")));
            }
            attributes.push(attr("fillcolor", quoted(fill)));
        }
        stmts.push(Stmt::Node(Node::new(node_id(&shape.name), attributes)));
    }
    for edge in &drawing.edges {
        let mut attributes = vec![];
        if let Some(label) = edge_label(edge) {
            attributes.push(attr("label", label));
        }
        stmts.push(Stmt::Edge(Edge {
            ty: EdgeTy::Pair(
                Vertex::N(node_id(&drawing.nodes[edge.from].name)),
                Vertex::N(node_id(&drawing.nodes[edge.to].name)),
            ),
            attributes,
        }));
    }
    if drawing.legend {
        stmts.push(Stmt::Subgraph(legend()));
    }
    DotGraph::DiGraph {
        id: plain("chainrule"),
        strict: false,
        stmts,
    }
}

fn quoted(text: &str) -> Id {
    Id::Escaped(quote(text, false))
}

/// An edge's label: the value, and under it the gradient in red (an HTML
/// label). Both are formatted numbers (digits, sign, point, `NaN`, `inf`):
/// nothing to escape.
///
/// A value alone is a plain quoted label: `graphviz-rust` 0.9's parser reads
/// an HTML label without tags, `<0>`, on to a later `>` and swallows the
/// statements in between (Graphviz itself reads it right).
fn edge_label(edge: &Arrow) -> Option<Id> {
    match (&edge.value, &edge.grad) {
        (None, None) => None,
        (Some(value), None) => Some(quoted(value)),
        (None, Some(grad)) => Some(Id::Html(format!(r#"<<font color="red">{grad}</font>>"#))),
        (Some(value), Some(grad)) => Some(Id::Html(format!(
            r#"<{value}<br/><font color="red">{grad}</font>>"#
        ))),
    }
}

/// The legend of gate colours, as a cluster of four filled boxes.
fn legend() -> Subgraph {
    let mut stmts = vec![Stmt::GAttribute(GraphAttributes::Graph(vec![
        attr("label", quoted("gates")),
        attr("color", quoted("#bbbbbb")),
    ]))];
    for (i, kind) in GateKind::ALL.iter().enumerate() {
        stmts.push(Stmt::Node(Node::new(
            node_id(&format!("legend{i}")),
            vec![
                attr("shape", plain("box")),
                attr("style", quoted("rounded,filled")),
                attr("fillcolor", quoted(kind.colour())),
                attr("label", quoted(kind.legend())),
            ],
        )));
    }
    Subgraph {
        id: plain("cluster_legend"),
        stmts,
    }
}
