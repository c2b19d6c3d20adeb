//! Rich display in evcxr, the Rust Jupyter kernel.
//!
//! evcxr shows a value richly when its type has an `evcxr_display` method
//! that prints `EVCXR_BEGIN_CONTENT <mime type>`, the content, and
//! `EVCXR_END_CONTENT`. These methods print by design: evcxr reads standard
//! output. Nothing else in the library prints.

use super::dot::DotOptions;
use crate::Value;
use crate::graph::view::Graph;

/// One output block. evcxr reads its output line by line, so no line of
/// the content may start as a marker does: a label written on a line of
/// its own (`EVCXR_END_CONTENT`, then a script's block) would end the
/// picture and start output of the label's choosing. Such a line's first
/// letter becomes `&#69;` in markup (the same text once parsed) and gets a
/// zero-width space before it in plain text.
pub(super) fn block(mime: &str, content: &str) -> String {
    let markup = mime != "text/plain";
    let mut safe = String::with_capacity(content.len() + 64);
    for (k, line) in content.split('\n').enumerate() {
        if k > 0 {
            safe.push('\n');
        }
        match line.strip_prefix('E') {
            Some(rest) if rest.starts_with("VCXR_") => {
                safe.push_str(if markup { "&#69;" } else { "\u{200b}E" });
                safe.push_str(rest);
            }
            _ => safe.push_str(line),
        }
    }
    format!("EVCXR_BEGIN_CONTENT {mime}\n{safe}\nEVCXR_END_CONTENT\n")
}

impl Graph {
    /// Shows the graph in an evcxr notebook: an SVG picture (default
    /// options) and a plain-text summary. A graph too large to draw shows
    /// why instead of a picture.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }

    /// What [`Graph::evcxr_display`] prints.
    #[doc(hidden)]
    pub fn evcxr_content(&self) -> String {
        let picture = match self.to_svg(&DotOptions::default()) {
            Ok(svg) => block("image/svg+xml", svg.as_str()),
            Err(error) => block("text/plain", &error.to_string()),
        };
        picture + &block("text/plain", &self.summary())
    }

    /// One line about the graph: its size and its output.
    ///
    /// ```
    /// let x = chainrule::Value::new(2.0);
    /// let y = &x * &x;
    /// y.backward();
    /// assert_eq!(y.graph().summary(), "Graph(2 nodes, 2 edges; output mul = 4, grad 1)");
    /// ```
    pub fn summary(&self) -> String {
        let edges = self.edges().count();
        match self.output() {
            Some(out) => format!(
                "Graph({} nodes, {} edges; output {} = {}, grad {})",
                self.len(),
                edges,
                out.op,
                out.data,
                out.grad
            ),
            None => "Graph(empty)".into(),
        }
    }
}

impl Value {
    /// Shows the value in an evcxr notebook as `Value(data=…, grad=…)`.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }

    /// What [`Value::evcxr_display`] prints.
    #[doc(hidden)]
    pub fn evcxr_content(&self) -> String {
        block("text/plain", &self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use crate::Value;

    #[test]
    fn notebook_content_has_an_svg_and_a_text_block() {
        let x = Value::new(3.0).with_label("x");
        let y = (&x * 2.0).with_label("y");
        y.backward();
        let content = y.graph().evcxr_content();
        let blocks: Vec<&str> = content.split("EVCXR_BEGIN_CONTENT ").skip(1).collect();
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].starts_with("image/svg+xml\n<"));
        assert!(blocks[0].contains("</svg>") && blocks[0].ends_with("EVCXR_END_CONTENT\n"));
        assert!(
            blocks[1].starts_with("text/plain\nGraph(3 nodes, 2 edges; output mul = 6, grad 1)")
        );
        assert_eq!(
            x.evcxr_content(),
            "EVCXR_BEGIN_CONTENT text/plain\nValue(data=3.0000, grad=2.0000)\nEVCXR_END_CONTENT\n"
        );
    }

    #[test]
    fn a_graph_too_large_to_draw_says_so_in_the_notebook() {
        let mut y = Value::new(1.0);
        for _ in 0..300 {
            y = &y + 1.0;
        }
        let content = y.graph().evcxr_content();
        assert!(!content.contains("image/svg+xml"));
        assert!(content.contains("more than the drawing limit of 500"));
    }
}
