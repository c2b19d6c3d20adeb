//! SVG: Graphviz's `dot` when it is installed, `layout-rs` otherwise.

use std::io::ErrorKind;
use std::path::Path;

use graphviz_rust::cmd::{CommandArg, Format};
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow as LayoutArrow, Element, ShapeKind as LayoutShape};
use layout::topo::layout::VisualGraph;

use super::GraphError;
use super::dot::{DotOptions, Drawing, GateKind, RankDir, Renderer, ShapeKind};
use super::picture::Svg;
use super::view::Graph;

/// Separates an edge's value from its gradient in the pure-Rust renderer's
/// text, pointing the way the gradient flows (back along the edge), so the
/// gradient can be coloured afterwards: characters no formatted number
/// contains.
const GRAD_MARKS: [char; 2] = ['\u{2190}', '\u{2191}']; // ← for left to right, ↑ for top to bottom

impl Graph {
    /// The graph drawn as SVG, by the renderer the options choose
    /// ([`Renderer::Auto`] by default: Graphviz's `dot` when it is on
    /// `PATH`, otherwise the pure-Rust `layout-rs`). The [`Svg`] reads as
    /// a `&str` and shows inline in a notebook.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::{DotOptions, Renderer};
    ///
    /// let x = Value::new(2.0).with_label("x");
    /// let y = (&x * 3.0).relu().with_label("y");
    /// y.backward();
    /// let options = DotOptions::lecture().renderer(Renderer::PureRust);
    /// let svg = y.graph().to_svg(&options).unwrap();
    /// assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`GraphError::TooManyNodes`] above the node limit;
    /// [`GraphError::GraphvizMissing`] when [`Renderer::Graphviz`] is asked
    /// for and `dot` is not installed; [`GraphError::GraphvizFailed`] when
    /// `dot` fails.
    pub fn to_svg(&self, options: &DotOptions) -> Result<Svg, GraphError> {
        let text = match options.renderer_choice() {
            Renderer::Graphviz => self.svg_by_graphviz(options)?,
            Renderer::PureRust => svg_by_layout(&self.drawing(options)?),
            Renderer::Auto if graphviz_installed() => self.svg_by_graphviz(options)?,
            Renderer::Auto => svg_by_layout(&self.drawing(options)?),
        };
        Ok(Svg::from(text))
    }

    fn svg_by_graphviz(&self, options: &DotOptions) -> Result<String, GraphError> {
        let dot = self.to_dot(options)?;
        match graphviz_rust::exec_dot(dot, vec![CommandArg::Format(Format::Svg)]) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) if error.kind() == ErrorKind::NotFound => Err(GraphError::GraphvizMissing),
            Err(error) => Err(GraphError::GraphvizFailed(error.to_string())),
        }
    }
}

/// Whether Graphviz's `dot` program is on `PATH`.
pub fn graphviz_installed() -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join("dot")))
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

const FONT_SIZE: usize = 14;

/// Lays a drawing out and renders it with `layout-rs`, built through its
/// API rather than its DOT parser, so no label is ever parsed.
fn svg_by_layout(drawing: &Drawing) -> String {
    let orientation = match drawing.rankdir {
        RankDir::LeftRight => Orientation::LeftToRight,
        RankDir::TopBottom => Orientation::TopToBottom,
    };
    let mut graph = VisualGraph::new(orientation);
    let handles: Vec<_> = drawing
        .nodes
        .iter()
        .map(|shape| {
            let (kind, outline, rounded) = match &shape.kind {
                // layout-rs draws record fields without the node's
                // attributes, so a record is a box of fields joined by bars.
                ShapeKind::Record(fields) => {
                    let text = fields
                        .iter()
                        .filter(|f| !f.is_empty())
                        .cloned()
                        .collect::<Vec<_>>();
                    (LayoutShape::Box(text.join(" \u{2502} ")), true, 0)
                }
                ShapeKind::Gate(symbol) => (LayoutShape::Box(symbol.clone()), true, 8),
                ShapeKind::Circle(symbol) => (LayoutShape::Circle(symbol.clone()), true, 0),
                ShapeKind::Text(text) => (LayoutShape::Box(text.clone()), false, 0),
            };
            element(kind, shape.fill, outline, rounded, orientation, &shape.name)
        })
        .map(|element| graph.add_node(element))
        .collect();
    let mark = match drawing.rankdir {
        RankDir::LeftRight => GRAD_MARKS[0],
        RankDir::TopBottom => GRAD_MARKS[1],
    };
    for edge in &drawing.edges {
        let text = match (&edge.value, &edge.grad) {
            (Some(value), Some(grad)) => format!("{value} {mark}{grad}"),
            (Some(value), None) => value.clone(),
            (None, Some(grad)) => format!("{mark}{grad}"),
            (None, None) => String::new(),
        };
        graph.add_edge(
            LayoutArrow::simple(&text),
            handles[edge.from],
            handles[edge.to],
        );
    }
    if drawing.legend {
        for (i, kind) in GateKind::ALL.iter().enumerate() {
            let shape = LayoutShape::Box(kind.legend().into());
            let legend = element(
                shape,
                Some(kind.colour()),
                true,
                8,
                orientation,
                &format!("legend{i}"),
            );
            graph.add_node(legend);
        }
    }
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    colour_gradients(&svg.finalize())
}

fn element(
    kind: LayoutShape,
    fill: Option<&str>,
    outline: bool,
    rounded: usize,
    orientation: Orientation,
    name: &str,
) -> Element {
    // Fields side by side along the layout direction, as Graphviz draws
    // micrograd's `{a|b|c}` records.
    let size = get_shape_size(orientation, &kind, FONT_SIZE, false);
    let look = StyleAttr::new(
        if outline {
            Color::fast("black")
        } else {
            Color::transparent()
        },
        1,
        Some(
            fill.and_then(Color::from_name)
                .unwrap_or_else(|| Color::fast("white")),
        ),
        rounded,
        FONT_SIZE,
    );
    // Names are ours (`v3`, `op3`, `out`, `legend0`): safe in an attribute.
    Element::create_with_properties(
        kind,
        look,
        orientation,
        size,
        format!("class=\"node\" id=\"{name}\""),
    )
}

/// Colours the gradient part of each edge label red: layout-rs writes one
/// text per edge, in one colour.
fn colour_gradients(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + 64);
    let mut rest = svg;
    while let Some(at) = rest.find(GRAD_MARKS) {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let end = after.find('<').unwrap_or(after.len());
        out.push_str("<tspan fill=\"red\">");
        out.push_str(&after[..end]);
        out.push_str("</tspan>");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
