//! Drawing a [`Graph`]: options, the two styles, and DOT output.

use graphviz_rust::dot_structures::{
    Attribute, Edge, EdgeTy, Graph as DotGraph, GraphAttributes, Id, Node, NodeId, Stmt, Subgraph,
    Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

use super::drawing::{Arrow, Drawing, Shape, ShapeKind, xml_forbids};
use crate::graph::GraphError;
use crate::graph::view::Graph;

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

/// How numbers are written in pictures and in the explorer's sentences.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NumberFormat {
    /// Always this many decimals: `2.2000` (micrograd's `%.4f`).
    Fixed(usize),
    /// At most this many decimals, trailing zeros dropped: `2.2`, `220`.
    Short(usize),
    /// At most this many significant digits, trailing zeros dropped, the
    /// digits before the point always kept: `2.2`, `220`, `0.001235`,
    /// `12346`; scientific past a million or below 0.0001 (`1e300`,
    /// `2.5e-7`). The default of both styles and of the explorer.
    Significant(usize),
}

/// Numbers at least this large (in size) are written in scientific
/// notation by [`NumberFormat::Significant`] (and in any format, so that no
/// number takes hundreds of characters).
const SCIENTIFIC_ABOVE: f64 = 1e6;
/// Non-zero numbers smaller than this are written in scientific notation
/// by [`NumberFormat::Significant`].
const SCIENTIFIC_BELOW: f64 = 1e-4;

impl NumberFormat {
    /// Writes `x` in this format; NaN and infinities as `NaN`, `inf`,
    /// `-inf`; never `-0` (a negative number that rounds to zero is `0`).
    ///
    /// ```
    /// use chainrule::graph::NumberFormat;
    /// assert_eq!(NumberFormat::Fixed(4).format(2.2), "2.2000");
    /// assert_eq!(NumberFormat::Fixed(4).format(-0.00001), "0.0000");
    /// assert_eq!(NumberFormat::Short(4).format(2.2000000000000002), "2.2");
    /// assert_eq!(NumberFormat::Short(4).format(220.0), "220");
    /// assert_eq!(NumberFormat::Short(2).format(-0.001), "0");
    /// let s = |x: f64| NumberFormat::Significant(4).format(x);
    /// assert_eq!((s(2.2000000000000002), s(220.0), s(-3.24159)), ("2.2".into(), "220".into(), "-3.242".into()));
    /// assert_eq!((s(0.0012346), s(12345.6), s(-0.0)), ("0.001235".into(), "12346".into(), "0".into()));
    /// assert_eq!((s(1e300), s(-2.5e-7), s(f64::INFINITY)), ("1e300".into(), "-2.5e-7".into(), "inf".into()));
    /// ```
    pub fn format(self, x: f64) -> String {
        if !x.is_finite() {
            return format!("{x}");
        }
        let text = match self {
            NumberFormat::Fixed(_) | NumberFormat::Short(_)
                if x.abs() >= SCIENTIFIC_ABOVE * 1e9 =>
            {
                scientific(x, 6)
            }
            NumberFormat::Fixed(decimals) => format!("{x:.decimals$}"),
            NumberFormat::Short(decimals) => trimmed(format!("{x:.decimals$}")),
            NumberFormat::Significant(digits) => {
                let digits = digits.max(1);
                let size = x.abs();
                if size == 0.0 {
                    "0".into()
                } else if !(SCIENTIFIC_BELOW..SCIENTIFIC_ABOVE).contains(&size) {
                    scientific(x, digits)
                } else {
                    let before = size.log10().floor() as i64 + 1;
                    let decimals = (digits as i64 - before).max(0) as usize;
                    trimmed(format!("{x:.decimals$}"))
                }
            }
        };
        // `-0`, `-0.00`: a negative number that rounds to zero.
        match text.strip_prefix('-') {
            Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.into(),
            _ => text,
        }
    }
}

/// `x` with `digits` significant digits in scientific notation, trailing
/// zeros dropped: `1.5e-7`, `1e300`.
fn scientific(x: f64, digits: usize) -> String {
    let text = format!("{:.*e}", digits.saturating_sub(1), x);
    match text.split_once('e') {
        Some((mantissa, exponent)) => format!("{}e{exponent}", trimmed(mantissa.into())),
        None => text,
    }
}

/// Drops trailing zeros after a decimal point, and the point itself.
fn trimmed(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').into()
    } else {
        text
    }
}

/// Which program turns a graph into SVG.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Renderer {
    /// Graphviz's `dot` when it is on `PATH` and the picture has no groups
    /// (Graphviz stacks clusters; a network's layers read better side by
    /// side), otherwise the pure-Rust one.
    #[default]
    Auto,
    /// Graphviz's `dot` program (Debian package `graphviz`).
    Graphviz,
    /// chainrule's own layered layout and SVG, in pure Rust: works with
    /// nothing installed, and its time grows polynomially with the graph
    /// (a few milliseconds for hundreds of nodes).
    PureRust,
}

/// Options for drawing a graph: style, direction, number format,
/// gradients, fused nodes, constants, groups, a focus, limits and the SVG
/// renderer.
///
/// ```
/// use chainrule::Value;
/// use chainrule::graph::{PictureOptions, RankDir, Style};
///
/// let x = Value::new(3.0).with_label("x");
/// let y = (&x * &x).with_label("y");
/// y.backward();
/// let options = PictureOptions::new().style(Style::Lecture).rankdir(RankDir::TopBottom);
/// let dot = y.graph().to_dot(&options).unwrap();
/// assert!(dot.contains("rankdir=TB"));
/// // x is both operands: one edge, marked "(2 uses)", carrying 1 × 3 + 1 × 3
/// // back.
/// assert!(dot.contains(r#"3 (2 uses)<br/><font color="red">6</font>"#));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PictureOptions {
    style: Style,
    rankdir: RankDir,
    number_format: Option<NumberFormat>,
    show_grad: bool,
    expand_fused: bool,
    hide_constants: bool,
    groups: bool,
    collapse: Vec<String>,
    neurons: Option<bool>,
    graphviz_deadline: std::time::Duration,
    focus: Option<usize>,
    legend: bool,
    node_limit: usize,
    edge_limit: usize,
    renderer: Renderer,
}

/// The picture's options under their first name: they configure SVG and
/// the explorer too, so [`PictureOptions`] says what they are.
pub type DotOptions = PictureOptions;

/// The default [`PictureOptions::node_limit`]: a picture with more nodes than
/// this is no longer readable.
pub const DEFAULT_NODE_LIMIT: usize = 500;

/// The default [`PictureOptions::graphviz_deadline`]: 5 seconds.
pub const DEFAULT_GRAPHVIZ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// The default [`PictureOptions::edge_limit`]: edges drawn, after repeated
/// operands are merged into one.
pub const DEFAULT_EDGE_LIMIT: usize = 1_500;

impl Default for PictureOptions {
    fn default() -> Self {
        PictureOptions {
            style: Style::Nodes,
            rankdir: RankDir::LeftRight,
            number_format: None,
            show_grad: true,
            expand_fused: false,
            hide_constants: false,
            groups: true,
            collapse: Vec::new(),
            neurons: None,
            graphviz_deadline: DEFAULT_GRAPHVIZ_DEADLINE,
            focus: None,
            legend: true,
            node_limit: DEFAULT_NODE_LIMIT,
            edge_limit: DEFAULT_EDGE_LIMIT,
            renderer: Renderer::Auto,
        }
    }
}

impl PictureOptions {
    /// The default: [`Style::Nodes`], left to right, gradients shown,
    /// fused nodes kept, constants shown, groups drawn as clusters, a
    /// legend, at most [`DEFAULT_NODE_LIMIT`] nodes and
    /// [`DEFAULT_EDGE_LIMIT`] edges, [`Renderer::Auto`].
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

    /// Sets how numbers are written, in the picture and in an explorer's
    /// sentences. The default is `Significant(4)` in both styles.
    pub fn number_format(mut self, format: NumberFormat) -> Self {
        self.number_format = Some(format);
        self
    }

    /// Whether to show gradients (say no before `backward` has run).
    pub fn show_grad(mut self, show: bool) -> Self {
        self.show_grad = show;
        self
    }

    /// Whether to draw fused `Dot` nodes as the products and the Σ they
    /// stand for (see [`Graph::expand_fused`](crate::graph::Graph::expand_fused)).
    pub fn expand_fused(mut self, expand: bool) -> Self {
        self.expand_fused = expand;
        self
    }

    /// Whether to leave out constants ([`Value::constant`](crate::Value::constant),
    /// and the constant inputs of an expanded `dot_const`), and their edges.
    pub fn hide_constants(mut self, hide: bool) -> Self {
        self.hide_constants = hide;
        self
    }

    /// Whether to draw groups (see [`GraphNode::group`](crate::graph::GraphNode::group))
    /// as outlined clusters titled by their scope (on by default).
    pub fn groups(mut self, draw: bool) -> Self {
        self.groups = draw;
        self
    }

    /// How long [`Renderer::Graphviz`] may run before it is stopped with
    /// [`GraphError::GraphvizTimedOut`]
    /// (default [`DEFAULT_GRAPHVIZ_DEADLINE`]): Graphviz's `dot` can take
    /// minutes on a hundred nodes with many long edges, where chainrule's
    /// own layout takes milliseconds.
    pub fn graphviz_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.graphviz_deadline = deadline;
        self
    }

    /// Draws each neuron as the textbook does: one box per neuron (a group
    /// holding a `dot` over its own weights, as [`nn`](crate::nn) builds
    /// them) with its output's value and gradient and its bias, the weights
    /// on the edges into it (value above, gradient in red below). The
    /// default for pictures of more than one neuron; `false` draws every
    /// gate, as the explorer does unless asked. Graphs without such groups
    /// are drawn as they are.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::PictureOptions;
    /// let w = Value::new(0.5).with_label("w1").with_group("layer1/neuron1");
    /// let b = Value::new(0.1).with_label("b").with_group("layer1/neuron1");
    /// let x = Value::new(2.0).with_label("x1");
    /// let one = Value::constant(1.0);
    /// let y = Value::dot(&[w, b], &[x, one]).unwrap().relu();
    /// y.backward();
    /// // One neuron is drawn as its gates unless asked; several as boxes.
    /// let dot = y.graph().to_dot(&PictureOptions::lecture().neurons(true)).unwrap();
    /// assert!(dot.contains("neuron1|data 1.1|grad 1|b 0.1|grad 1"));
    /// assert!(dot.contains(r#"w1 0.5<br/><font color="red">2</font>"#));
    /// let gates = y.graph().to_dot(&PictureOptions::lecture()).unwrap();
    /// assert!(gates.contains("relu"));
    /// ```
    pub fn neurons(mut self, boxes: bool) -> Self {
        self.neurons = Some(boxes);
        self
    }

    /// Draws the group `scope` (and the groups inside it) as one box
    /// showing its outputs' values and gradients; call once per group.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::PictureOptions;
    /// let w = Value::new(2.0).with_label("w").with_group("neuron");
    /// let x = Value::new(3.0).with_label("x");
    /// // The product is grouped; the relu on it joins its group.
    /// let z = (&w * &x).with_group("neuron").relu();
    /// z.backward();
    /// let options = PictureOptions::new().collapse("neuron");
    /// let dot = z.graph().to_dot(&options).unwrap();
    /// assert!(dot.contains("neuron (3 nodes)|data 6|grad 1"));
    /// ```
    pub fn collapse(mut self, scope: impl Into<String>) -> Self {
        self.collapse.push(scope.into());
        self
    }

    /// Draws only the nodes on paths from node `id` (an index into
    /// [`Graph::nodes`](crate::graph::Graph::nodes); see
    /// [`Graph::find`](crate::graph::Graph::find)) to the output, with one note
    /// counting the rest ("+ 312 nodes") feeding the nodes they fed. With
    /// [`expand_fused`](Self::expand_fused), `id` is still the unexpanded
    /// graph's.
    pub fn focus(mut self, id: usize) -> Self {
        self.focus = Some(id);
        self
    }

    /// Whether to draw the legend of gate colours (nodes style; on by
    /// default): one small row under the picture.
    pub fn legend(mut self, draw: bool) -> Self {
        self.legend = draw;
        self
    }

    /// The most nodes a picture may draw (after constants are hidden,
    /// groups collapsed and a focus applied); more is
    /// [`GraphError::TooManyNodes`].
    pub fn node_limit(mut self, limit: usize) -> Self {
        self.node_limit = limit;
        self
    }

    /// The most edges a picture may draw, counting a repeated operand once;
    /// more is [`GraphError::TooManyEdges`].
    pub fn edge_limit(mut self, limit: usize) -> Self {
        self.edge_limit = limit;
        self
    }

    /// Which renderer [`Graph::to_svg`](crate::graph::Graph::to_svg) uses.
    pub fn renderer(mut self, renderer: Renderer) -> Self {
        self.renderer = renderer;
        self
    }

    pub(crate) fn renderer_choice(&self) -> Renderer {
        self.renderer
    }

    pub(crate) fn numbers(&self) -> NumberFormat {
        self.number_format.unwrap_or(NumberFormat::Significant(4))
    }

    pub(crate) fn style_value(&self) -> Style {
        self.style
    }

    pub(crate) fn rankdir_value(&self) -> RankDir {
        self.rankdir
    }

    pub(crate) fn shows_grad(&self) -> bool {
        self.show_grad
    }

    pub(crate) fn expands_fused(&self) -> bool {
        self.expand_fused
    }

    pub(crate) fn hides_constants(&self) -> bool {
        self.hide_constants
    }

    pub(crate) fn groups_drawn(&self) -> bool {
        self.groups
    }

    pub(crate) fn graphviz_deadline_value(&self) -> std::time::Duration {
        self.graphviz_deadline
    }

    /// Whether neurons are drawn as boxes: as asked, or `default`.
    pub(crate) fn neurons_drawn(&self, default: bool) -> bool {
        self.neurons.unwrap_or(default)
    }

    /// Whether `count` neurons are drawn as boxes: as asked, or by default
    /// when there are several (one neuron reads better as its gates).
    pub(crate) fn boxes_neurons(&self, count: usize) -> bool {
        self.groups && count > 0 && self.neurons.unwrap_or(count > 1)
    }

    pub(crate) fn collapsed(&self) -> &[String] {
        &self.collapse
    }

    pub(crate) fn focus_id(&self) -> Option<usize> {
        self.focus
    }

    pub(crate) fn legend_drawn(&self) -> bool {
        self.legend
    }

    pub(crate) fn node_limit_value(&self) -> usize {
        self.node_limit
    }

    pub(crate) fn edge_limit_value(&self) -> usize {
        self.edge_limit
    }
}

/// The font families of every picture's text, in order of preference: ones
/// that cover Hangul on Linux, Windows and macOS (the lecture's terms are
/// Korean), then any sans-serif.
pub(crate) const FONT_FAMILIES: &str = "Noto Sans CJK KR, Noto Sans KR, Malgun Gothic, Apple SD Gothic Neo, Helvetica, Arial, sans-serif";

impl Graph {
    /// The graph in Graphviz's DOT language, through `graphviz-rust`.
    /// Labels are escaped (`&` too, so Graphviz never decodes a character
    /// reference a label holds), so no label can break the DOT or add to
    /// it; every node and edge has the `id`, `class` and `tooltip` the
    /// pure-Rust renderer gives it.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::PictureOptions;
    ///
    /// let a = Value::new(2.0).with_label("a");
    /// let b = (&a * 3.0).with_label("b");
    /// b.backward();
    /// let dot = b.graph().to_dot(&PictureOptions::new()).unwrap();
    /// assert!(dot.contains(r#"<td>a</td><td>data 2</td><td><font color="red">grad 3</font></td>"#));
    /// assert!(graphviz_rust::parse(&dot).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`GraphError::TooManyNodes`] and [`GraphError::TooManyEdges`] above
    /// the options' limits; [`GraphError::NoSuchNode`] for a focus outside
    /// the graph.
    pub fn to_dot(&self, options: &PictureOptions) -> Result<String, GraphError> {
        Ok(dot_text(&self.drawing(options)?))
    }
}

/// A drawing in the DOT language.
pub(crate) fn dot_text(drawing: &Drawing) -> String {
    dot_graph(drawing).print(&mut PrinterContext::default())
}

/// Quotes `text` as a DOT string (see [`escape`]).
pub(crate) fn quote(text: &str, record: bool) -> String {
    format!("\"{}\"", escape(text, record))
}

/// Escapes `text` for the inside of a DOT string: backslashes and quotes
/// escaped, `&` as `&amp;` (Graphviz decodes character references in
/// labels), line breaks as `\n`, characters XML forbids as U+FFFD, other
/// control characters as spaces; in a record label also the characters
/// that structure records (`{ } | < >`), so a label is always one field of
/// text.
pub(crate) fn escape(text: &str, record: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '{' | '}' | '|' | '<' | '>' if record => {
                out.push('\\');
                out.push(c);
            }
            c if xml_forbids(c) => out.push('\u{fffd}'),
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

fn quoted(text: &str) -> Id {
    Id::Escaped(quote(text, false))
}

/// Builds the DOT graph of a drawing with `graphviz-rust`'s structures.
fn dot_graph(drawing: &Drawing) -> DotGraph {
    let rankdir = match drawing.rankdir {
        RankDir::LeftRight => "LR",
        RankDir::TopBottom => "TB",
    };
    let mut graph_attributes = vec![
        attr("rankdir", plain(rankdir)),
        attr("bgcolor", quoted("white")),
        attr("fontname", quoted(FONT_FAMILIES)),
        attr("fontsize", plain("10")),
    ];
    if let Some(legend) = legend(drawing) {
        graph_attributes.extend([
            attr("label", legend),
            attr("labelloc", plain("b")),
            attr("labeljust", plain("l")),
        ]);
    }
    let mut stmts = vec![
        Stmt::GAttribute(GraphAttributes::Graph(graph_attributes)),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("fontname", quoted(FONT_FAMILIES)),
            attr("fontsize", plain("11")),
        ])),
        Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", quoted(FONT_FAMILIES)),
            attr("fontsize", plain("10")),
        ])),
    ];
    // Each cluster's statements, filled innermost first.
    let mut inside: Vec<Vec<Stmt>> = vec![Vec::new(); drawing.clusters.len()];
    for shape in &drawing.nodes {
        let node = Stmt::Node(Node::new(
            node_id(&shape.name),
            node_attributes(shape, drawing.rankdir),
        ));
        match shape.cluster {
            Some(c) if c < inside.len() => inside[c].push(node),
            _ => stmts.push(node),
        }
    }
    for c in (0..drawing.clusters.len()).rev() {
        let cluster = &drawing.clusters[c];
        let mut body = vec![Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("label", quoted(&cluster.title)),
            attr("id", quoted(&cluster.name)),
            attr("class", quoted("cluster")),
            attr("tooltip", quoted(&cluster.scope)),
            attr("style", quoted("rounded,filled")),
            attr("fillcolor", quoted(cluster_fill(drawing, c))),
            attr("color", quoted("#9aa5b8")),
            attr("labeljust", plain("l")),
        ]))];
        body.append(&mut inside[c]);
        let subgraph = Stmt::Subgraph(Subgraph {
            id: plain(&format!("cluster_{c}")),
            stmts: body,
        });
        match cluster.parent {
            Some(p) if p < c => inside[p].push(subgraph),
            _ => stmts.push(subgraph),
        }
    }
    for edge in &drawing.edges {
        let mut attributes = vec![
            attr("id", quoted(&edge.name)),
            attr("class", quoted("edge")),
        ];
        if !edge.title.is_empty() {
            attributes.push(attr("tooltip", quoted(&edge.title)));
        }
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
    DotGraph::DiGraph {
        id: plain("chainrule"),
        strict: false,
        stmts,
    }
}

/// A cluster's fill: lighter for outer clusters, a shade darker per level.
pub(crate) fn cluster_fill(drawing: &Drawing, c: usize) -> &'static str {
    let mut depth = 0;
    let mut at = drawing.clusters[c].parent;
    while let Some(p) = at {
        depth += 1;
        if depth > drawing.clusters.len() {
            break;
        }
        at = drawing.clusters[p].parent;
    }
    ["#f6f8fc", "#eaeff7", "#dfe6f2"][depth.min(2)]
}

fn node_attributes(shape: &Shape, shape_rankdir: RankDir) -> Vec<Attribute> {
    let mut attributes = match &shape.kind {
        ShapeKind::Record(fields) => {
            // A table of one row: fields side by side in both directions,
            // as micrograd's records read, gradients in red as in the
            // pure-Rust renderer.
            let cells: String = fields
                .iter()
                .map(|f| {
                    let text = html(&f.text);
                    if f.grad {
                        format!(r#"<td><font color="red">{text}</font></td>"#)
                    } else {
                        format!("<td>{text}</td>")
                    }
                })
                .collect();
            let fill = shape
                .fill
                .map(|f| format!(r#" bgcolor="{f}""#))
                .unwrap_or_default();
            vec![
                attr("shape", plain("plaintext")),
                attr(
                    "label",
                    Id::Html(format!(
                        r#"<<table border="0" cellborder="1" cellspacing="0" cellpadding="4"{fill}><tr>{cells}</tr></table>>"#
                    )),
                ),
            ]
        }
        ShapeKind::Stack(fields) => {
            // Fields across the layout direction's flip: one above the
            // other in both directions.
            let joined = fields
                .iter()
                .map(|f| escape(&f.text, true))
                .collect::<Vec<_>>()
                .join("|");
            let label = match shape_rankdir {
                RankDir::LeftRight => format!("\"{joined}\""),
                RankDir::TopBottom => format!("\"{{{joined}}}\""),
            };
            vec![
                attr("shape", plain("record")),
                attr("label", Id::Escaped(label)),
            ]
        }
        ShapeKind::Gate(symbol) => vec![
            attr("shape", plain("box")),
            attr("style", quoted("rounded,filled")),
            attr("label", quoted(symbol)),
        ],
        ShapeKind::Circle(symbol, name) => {
            // The name inside the circle, under the symbol: an outside
            // label (`xlabel`) lands wherever Graphviz finds room, often
            // beside another node's edge.
            let label = match name {
                Some(name) => format!(
                    r##"<<font point-size="16">{}</font><br/><font point-size="9" color="#1f3a68"><i>{}</i></font>>"##,
                    html(symbol),
                    html(name)
                ),
                None => format!(r#"<<font point-size="16">{}</font>>"#, html(symbol)),
            };
            vec![
                attr("shape", plain("circle")),
                attr("margin", plain("0.02")),
                attr("label", Id::Html(label)),
            ]
        }
        ShapeKind::Text(text) => vec![
            attr("shape", plain("plaintext")),
            attr("label", quoted(text)),
        ],
        ShapeKind::Note(text) => vec![
            attr("shape", plain("box")),
            attr("style", quoted("dashed")),
            attr("label", quoted(text)),
        ],
    };
    if let Some(fill) = shape.fill
        && !matches!(shape.kind, ShapeKind::Record(_))
    {
        if !matches!(shape.kind, ShapeKind::Gate(_)) {
            attributes.push(attr("style", quoted("filled")));
        }
        attributes.push(attr("fillcolor", quoted(fill)));
    }
    attributes.extend([
        attr("id", quoted(&shape.name)),
        attr("class", quoted(&shape.class)),
        attr("tooltip", quoted(&shape.title)),
    ]);
    attributes
}

/// An edge's label: the value, and under it the gradient in red (an HTML
/// label), with the multiplicity of a repeated operand. All are formatted
/// numbers (digits, sign, point, `NaN`, `inf`) and `×`: nothing to escape.
///
/// A value alone is a plain quoted label: `graphviz-rust` 0.9's parser reads
/// an HTML label without tags, `<0>`, on to a later `>` and swallows the
/// statements in between (Graphviz itself reads it right).
fn edge_label(edge: &Arrow) -> Option<Id> {
    let value = match (&edge.value, edge.count_mark()) {
        (Some(v), Some(m)) => Some(format!("{v} {m}")),
        (Some(v), None) => Some(v.clone()),
        (None, m) => m,
    };
    match (value, &edge.grad) {
        (None, None) => None,
        (Some(value), None) => Some(quoted(&value)),
        (None, Some(grad)) => Some(Id::Html(format!(r#"<<font color="red">{grad}</font>>"#))),
        (Some(value), Some(grad)) => Some(Id::Html(format!(
            r#"<{value}<br/><font color="red">{grad}</font>>"#
        ))),
    }
}

/// The legend row (see [`Drawing::legend_row`]): one row of cells, as the
/// graph's label under the picture.
fn legend(drawing: &Drawing) -> Option<Id> {
    let (head, items) = drawing.legend_row()?;
    let cells: String = items
        .iter()
        .map(|item| {
            let text = html(item.text);
            let text = if item.grad {
                format!(r#"<font color="red">{text}</font>"#)
            } else {
                text
            };
            match item.swatch {
                Some(fill) => {
                    format!(r#"<td bgcolor="{fill}" border="1" cellpadding="2">{text}</td>"#)
                }
                None => format!("<td>{text}</td>"),
            }
        })
        .collect();
    Some(Id::Html(format!(
        r#"<<table border="0" cellspacing="4" cellpadding="0"><tr><td>{head}</td>{cells}</tr></table>>"#
    )))
}

/// Escapes text for a Graphviz HTML label: as for XML (the SVG writer's
/// escaping), with line breaks as `<br/>`.
fn html(text: &str) -> String {
    super::render::xml(text)
        .replace("&#10;", "<br/>")
        .replace("&#13;", "")
}
