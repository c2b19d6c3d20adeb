//! Pictures of computation graphs: a read-only [`Graph`] snapshot, a
//! `petgraph` view, DOT in two styles, SVG, and notebook display.
//!
//! The lecture teaches backpropagation by drawing computational graphs:
//! values flowing forward along the edges and gradients flowing back under
//! them. [`Style::Lecture`] draws exactly that; [`Style::Nodes`] draws
//! micrograd's `draw_dot` picture, one record per value.
//!
//! ```
//! use chainrule::Value;
//! use chainrule::graph::{DotOptions, Renderer};
//!
//! let apple = Value::new(100.0).with_label("apple");
//! let count = Value::new(2.0).with_label("count");
//! let tax = Value::new(1.1).with_label("tax");
//! let price = (&apple * &count * &tax).with_label("price");
//! price.backward();
//!
//! let graph = price.graph();
//! let dot = graph.to_dot(&DotOptions::lecture()).unwrap();
//! assert!(dot.contains(r#"label=<100<br/><font color="red">2.2</font>>"#));
//! let svg = graph.to_svg(&DotOptions::lecture().renderer(Renderer::PureRust)).unwrap();
//! assert!(svg.contains("<svg"));
//! ```
//!
//! Graphs are snapshots: taking one walks the graph without recursion and
//! works at any size; drawing has a node limit (default
//! [`DEFAULT_NODE_LIMIT`]) because larger pictures are unreadable.

pub(crate) mod trace;
pub(crate) mod view;

pub use crate::draw::dot::{
    DEFAULT_EDGE_LIMIT, DEFAULT_GRAPHVIZ_DEADLINE, DEFAULT_NODE_LIMIT, DotOptions, NumberFormat,
    PictureOptions, RankDir, Renderer, Style,
};
pub use crate::draw::drawing::MAX_LABEL_CHARS;
pub use crate::draw::explorer::{ExplorerOptions, Language};
pub use crate::draw::picture::{Html, Svg};
pub use crate::draw::svg::graphviz_installed;
pub use trace::{BackwardStep, ForwardStep, Share, Step, Trace};
pub use view::{Graph, GraphNode};

use thiserror::Error;

/// What went wrong drawing a graph.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// The graph has more nodes than the drawing limit.
    #[error(
        "the graph has {nodes} nodes to draw, more than the drawing limit of {limit}; \
         raise it with DotOptions::node_limit({nodes}), or draw less of the graph \
         (DotOptions::focus, DotOptions::collapse, DotOptions::hide_constants)"
    )]
    TooManyNodes {
        /// Nodes in the graph (after expanding fused nodes, if asked).
        nodes: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The graph has more edges than the drawing limit (a repeated operand
    /// counts once).
    #[error(
        "the graph has {edges} edges to draw, more than the drawing limit of {limit}; \
         raise it with DotOptions::edge_limit({edges}), or draw less of the graph \
         (DotOptions::focus, DotOptions::collapse, DotOptions::hide_constants)"
    )]
    TooManyEdges {
        /// Edges to draw.
        edges: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A focus names a node the graph does not have.
    #[error(
        "node {id} is not in the graph, which has nodes 0 to {last}; \
         find a node's id with Graph::find or Graph::nodes",
        last = .nodes.saturating_sub(1)
    )]
    NoSuchNode {
        /// The id asked for.
        id: usize,
        /// Nodes in the graph.
        nodes: usize,
    },
    /// An explorer's learning rate is not a finite number above 0.
    #[error(
        "the explorer's learning rate must be a finite number above 0, not {0}; \
         the lecture uses 0.01 to 0.1"
    )]
    LearningRate(String),
    /// An explorer's parameter name names no leaf that takes a gradient.
    #[error(
        "{0:?} names no leaf of the graph that takes a gradient, so the explorer \
         cannot update it; name labelled leaves made with Value::new (Graph::find \
         finds them, `layer1/neuron1/w1` inside a group), e.g. \
         ExplorerOptions::parameters([\"w0\", \"w1\"])"
    )]
    NotAParameter(String),
    /// Graphviz's `dot` program was asked for but is not installed.
    #[error(
        "Graphviz's `dot` program was not found on PATH; install Graphviz \
         (Debian/Ubuntu: apt-get install graphviz) or draw with Renderer::PureRust"
    )]
    GraphvizMissing,
    /// Graphviz's `dot` program ran and failed.
    #[error(
        "Graphviz's `dot` program failed: {0}; check the Graphviz installation, or draw with Renderer::PureRust"
    )]
    GraphvizFailed(String),
    /// Graphviz's `dot` program ran past its deadline and was stopped.
    #[error(
        "Graphviz's `dot` program ran for {millis} ms and was stopped: its layout can take \
         minutes on graphs with many long edges; draw with Renderer::PureRust (milliseconds), \
         Renderer::Auto (falls back to it), or allow more with DotOptions::graphviz_deadline"
    )]
    GraphvizTimedOut {
        /// The deadline, in milliseconds.
        millis: u64,
    },
}
