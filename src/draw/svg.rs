//! SVG: Graphviz's `dot` when it is installed, chainrule's own layout
//! ([`render`](super::render)) otherwise.

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    /// `dot` fails; [`GraphError::GraphvizTimedOut`] when it runs past
    /// [`DotOptions::graphviz_deadline`] (`Renderer::Auto` draws with
    /// chainrule's own layout instead, after at most 2 s).
    pub fn to_svg(&self, options: &DotOptions) -> Result<Svg, GraphError> {
        let drawing = self.drawing(options)?;
        let text = match options.renderer_choice() {
            Renderer::Graphviz => svg_by_graphviz(&drawing, options.graphviz_deadline_value())?,
            Renderer::PureRust => render(&drawing),
            // Graphviz stacks clusters and bundles the edges between them;
            // our layout keeps a network's layers side by side. Graphviz
            // can take minutes on some graphs of a hundred nodes: past
            // `AUTO_DEADLINE` it is stopped and our layout draws instead.
            Renderer::Auto if drawing.clusters.is_empty() && graphviz_installed() => {
                match svg_by_graphviz(&drawing, AUTO_DEADLINE) {
                    Ok(svg) => svg,
                    Err(GraphError::GraphvizTimedOut { .. } | GraphError::GraphvizFailed(_)) => {
                        render(&drawing)
                    }
                    Err(error) => return Err(error),
                }
            }
            Renderer::Auto => render(&drawing),
        };
        Ok(Svg::from(text))
    }
}

/// How long [`Renderer::Auto`] lets Graphviz run before it draws with
/// chainrule's own layout instead.
pub(crate) const AUTO_DEADLINE: Duration = Duration::from_secs(2);

/// Runs Graphviz's `dot` on a drawing, stopping it at the deadline.
fn svg_by_graphviz(drawing: &Drawing, deadline: Duration) -> Result<String, GraphError> {
    let dot = dot_text(drawing);
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(GraphError::GraphvizMissing);
        }
        Err(error) => return Err(GraphError::GraphvizFailed(error.to_string())),
    };
    // Writing and reading on threads of their own: a large picture fills
    // the pipes both ways before `dot` ends.
    let input = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            let _ = stdin.write_all(dot.as_bytes());
        })
    });
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        pipe.map(|mut pipe| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GraphError::GraphvizTimedOut {
                    millis: deadline.as_millis().try_into().unwrap_or(u64::MAX),
                });
            }
            Err(error) => return Err(GraphError::GraphvizFailed(error.to_string())),
        }
    };
    if let Some(input) = input {
        let _ = input.join();
    }
    let take = |handle: Option<std::thread::JoinHandle<Vec<u8>>>| {
        handle.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (out, err) = (take(stdout), take(stderr));
    if status.success() {
        Ok(fit_width(&String::from_utf8_lossy(&out)))
    } else {
        let said = String::from_utf8_lossy(&err);
        let said: String = said.trim().chars().take(300).collect();
        Err(GraphError::GraphvizFailed(format!("{status}: {said}")))
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
