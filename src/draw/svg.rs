//! SVG: Graphviz's `dot` when it is installed, chainrule's own layout
//! ([`render`](super::render)) otherwise.

use std::io::ErrorKind;
use std::path::Path;

use graphviz_rust::cmd::{CommandArg, Format};

use super::dot::{DotOptions, Renderer, dot_text};
use super::drawing::Drawing;
use super::picture::Svg;
use super::render::render;
use crate::graph::GraphError;
use crate::graph::view::Graph;

impl Graph {
    /// The graph drawn as SVG, by the renderer the options choose
    /// ([`Renderer::Auto`] by default: Graphviz's `dot` when it is on
    /// `PATH` and the picture has no groups, otherwise chainrule's own
    /// layered layout). The [`Svg`] reads as a `&str`, shows inline in a
    /// notebook, and shrinks to fit the width it is shown in.
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
    /// [`GraphError::TooManyNodes`] and [`GraphError::TooManyEdges`]
    /// above the limits; [`GraphError::NoSuchNode`] for a focus outside
    /// the graph;
    /// [`GraphError::GraphvizMissing`] when [`Renderer::Graphviz`] is asked
    /// for and `dot` is not installed; [`GraphError::GraphvizFailed`] when
    /// `dot` fails.
    pub fn to_svg(&self, options: &DotOptions) -> Result<Svg, GraphError> {
        let drawing = self.drawing(options)?;
        let text = match options.renderer_choice() {
            Renderer::Graphviz => svg_by_graphviz(&drawing)?,
            Renderer::PureRust => render(&drawing),
            // Graphviz stacks clusters and bundles the edges between them;
            // our layout keeps a network's layers side by side.
            Renderer::Auto if drawing.clusters.is_empty() && graphviz_installed() => {
                svg_by_graphviz(&drawing)?
            }
            Renderer::Auto => render(&drawing),
        };
        Ok(Svg::from(text))
    }
}

/// Runs Graphviz's `dot` on a drawing.
fn svg_by_graphviz(drawing: &Drawing) -> Result<String, GraphError> {
    let dot = dot_text(drawing);
    match graphviz_rust::exec_dot(dot, vec![CommandArg::Format(Format::Svg)]) {
        Ok(bytes) => Ok(fit_width(&String::from_utf8_lossy(&bytes))),
        Err(error) if error.kind() == ErrorKind::NotFound => Err(GraphError::GraphvizMissing),
        Err(error) => Err(GraphError::GraphvizFailed(error.to_string())),
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

/// Makes Graphviz's SVG shrink to the width it is shown in (a notebook
/// cell), as the pure-Rust renderer's does.
fn fit_width(svg: &str) -> String {
    match svg.find("<svg ") {
        Some(at) => {
            let cut = at + "<svg ".len();
            format!(
                "{}class=\"chainrule-graph\" style=\"max-width:100%;height:auto\" {}",
                &svg[..cut],
                &svg[cut..]
            )
        }
        None => svg.to_owned(),
    }
}
