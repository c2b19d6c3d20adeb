//! The pure-Rust renderer: sizes every shape from its text, lays the
//! drawing out with [`layout`], and writes the SVG itself,
//! so that every node, edge and cluster is a `<g>` with a stable `id` and
//! `class`, a `<title>` tooltip, and gradients are `<text class="grad">`.

use std::fmt::Write;

use unicode_width::UnicodeWidthStr;

use super::dot::{FONT_FAMILIES, RankDir, cluster_fill};
use super::drawing::{Arrow, Drawing, Field, LegendItem, ShapeKind};
use super::layout::{self, Extent, Placed, Point, Problem};

/// Font sizes of node text and of edge labels, in pixels.
const NODE_FONT: f64 = 13.0;
const EDGE_FONT: f64 = 12.0;
/// Font size of a lecture-style gate's symbol (`+`, `×`, `1/x`): legible
/// at a glance, as on the slides.
const SYMBOL_FONT: f64 = 18.0;
/// Font size of a gate's name beside its circle.
const NAME_FONT: f64 = 12.0;
/// Width of one terminal column of text, in ems: Latin letters and digits
/// are about half an em (Helvetica's digits: 0.556), Hangul and CJK take
/// two columns.
const EM_PER_COLUMN: f64 = 0.58;
/// Height of a line of node text.
const LINE: f64 = 16.0;
/// Arrowhead length and half width.
const ARROW: (f64, f64) = (7.0, 3.5);
/// The attributes of a gradient's text: red, and marked as a gradient.
const GRAD: &str = r##" class="grad" fill="#d00000""##;
/// Height of the legend row, and its font size.
const LEGEND_ROW: f64 = 20.0;
const LEGEND_FONT: f64 = 12.0;

/// The width of `text` in a font of `size` pixels (longest line).
fn text_width(text: &str, size: f64) -> f64 {
    text.split('\n')
        .map(|line| UnicodeWidthStr::width(line) as f64 * EM_PER_COLUMN * size)
        .fold(0.0, f64::max)
}

fn lines(text: &str) -> usize {
    text.split('\n').count().max(1)
}

/// Escapes text for XML (and HTML) content and attribute values.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A line break as a reference: the same text once parsed, and
            // no line of the document starts with a label's text (evcxr
            // reads its output line by line; see `notebook::block`).
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if super::drawing::xml_forbids(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A shape's size on screen, and (records) each field's width.
fn shape_size(kind: &ShapeKind) -> (f64, f64, Vec<f64>) {
    match kind {
        ShapeKind::Record(fields) => {
            let widths: Vec<f64> = fields
                .iter()
                .map(|f| text_width(&f.text, NODE_FONT).max(4.0) + 12.0)
                .collect();
            let height =
                fields.iter().map(|f| lines(&f.text)).max().unwrap_or(1) as f64 * LINE + 10.0;
            (widths.iter().sum(), height, widths)
        }
        ShapeKind::Stack(fields) => {
            let width = fields
                .iter()
                .map(|f| text_width(&f.text, NODE_FONT) + 12.0)
                .fold(0.0, f64::max);
            let heights: Vec<f64> = fields
                .iter()
                .map(|f| lines(&f.text) as f64 * LINE + 6.0)
                .collect();
            (width, heights.iter().sum(), heights)
        }
        ShapeKind::Gate(text) => (
            (text_width(text, NODE_FONT) + 16.0).max(30.0),
            LINE + 8.0,
            Vec::new(),
        ),
        ShapeKind::Circle(text, _) => {
            let d = (text_width(text, SYMBOL_FONT) + 10.0).max(34.0);
            (d, d, Vec::new())
        }
        ShapeKind::Text(text) => (
            text_width(text, NODE_FONT).max(4.0) + 8.0,
            lines(text) as f64 * LINE + 4.0,
            Vec::new(),
        ),
        ShapeKind::Note(text) => (text_width(text, NODE_FONT) + 16.0, LINE + 10.0, Vec::new()),
    }
}

/// The two lines of an edge's label: above the edge (value, multiplicity)
/// and below it (gradient).
fn label_lines(edge: &Arrow) -> (Option<String>, Option<String>) {
    let above = match (&edge.value, edge.count_mark()) {
        (Some(v), Some(m)) => Some(format!("{v} {m}")),
        (Some(v), None) => Some(v.clone()),
        (None, m) => m,
    };
    (above, edge.grad.clone())
}

/// The room an edge's label needs around the edge.
fn label_extent(rankdir: RankDir, edge: &Arrow) -> Option<Extent> {
    let (above, below) = label_lines(edge);
    if above.is_none() && below.is_none() {
        return None;
    }
    let width = [&above, &below]
        .iter()
        .filter_map(|t| t.as_deref())
        .map(|t| text_width(t, EDGE_FONT))
        .fold(0.0, f64::max);
    Some(match rankdir {
        // The edge runs through the middle: value above, gradient below.
        RankDir::LeftRight => Extent {
            along: width + 4.0,
            before: if above.is_some() { 15.0 } else { 3.0 },
            after: if below.is_some() { 15.0 } else { 3.0 },
            round: false,
        },
        // The edge runs down the left side; both lines to its right.
        RankDir::TopBottom => Extent {
            along: 30.0,
            before: 3.0,
            after: width + 8.0,
            round: false,
        },
    })
}

/// The room a shape needs around the line its edges attach to: a circle
/// with a name has the name under it (left to right) or to its right (top
/// to bottom).
fn shape_extent(rankdir: RankDir, kind: &ShapeKind, (w, h): (f64, f64)) -> Extent {
    let mut extent = Extent::centred(rankdir, w, h);
    if let ShapeKind::Circle(_, name) = kind {
        extent.round = true;
        if let Some(name) = name {
            match rankdir {
                RankDir::LeftRight => extent.after += NAME_FONT + 4.0,
                RankDir::TopBottom => extent.after += text_width(name, NAME_FONT) + 6.0,
            }
        }
    }
    extent
}

/// Renders a drawing to SVG.
pub(crate) fn render(drawing: &Drawing) -> String {
    let rankdir = drawing.rankdir;
    let sizes: Vec<(f64, f64, Vec<f64>)> =
        drawing.nodes.iter().map(|s| shape_size(&s.kind)).collect();
    let problem = Problem {
        rankdir,
        nodes: sizes
            .iter()
            .zip(&drawing.nodes)
            .map(|((w, h, _), shape)| shape_extent(rankdir, &shape.kind, (*w, *h)))
            .collect(),
        node_cluster: drawing.nodes.iter().map(|s| s.cluster).collect(),
        cluster_parent: drawing.clusters.iter().map(|c| c.parent).collect(),
        edges: drawing
            .edges
            .iter()
            .map(|e| (e.from, e.to, label_extent(rankdir, e)))
            .collect(),
    };
    let placed = layout::layout(&problem);
    write_svg(drawing, &sizes, &placed)
}

fn write_svg(drawing: &Drawing, sizes: &[(f64, f64, Vec<f64>)], placed: &Placed) -> String {
    let legend = drawing.legend_row();
    let item_width = |item: &LegendItem| {
        text_width(item.text, LEGEND_FONT) + if item.swatch.is_some() { 30.0 } else { 18.0 }
    };
    let (legend_width, legend_height) = match &legend {
        Some((head, items)) => (
            text_width(head, LEGEND_FONT) + 20.0 + items.iter().map(item_width).sum::<f64>(),
            LEGEND_ROW + 6.0,
        ),
        None => (0.0, 0.0),
    };
    let width = placed.width.max(legend_width);
    let height = placed.height + legend_height;
    let mut svg = String::with_capacity(512 + 400 * (drawing.nodes.len() + drawing.edges.len()));
    let _ = write!(
        svg,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chainrule-graph" "#,
            r#"width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}" "#,
            r#"style="max-width:100%;height:auto" font-family="{font}" font-size="{size}">"#,
            "\n"
        ),
        w = width.ceil(),
        h = height.ceil(),
        font = xml(FONT_FAMILIES),
        size = NODE_FONT,
    );
    svg.push_str(concat!(
        "<style>.chainrule-graph text{pointer-events:none}",
        ".chainrule-graph .grad{fill:#d00000}</style>\n",
        r#"<rect width="100%" height="100%" fill="white"/>"#,
        "\n"
    ));
    for (c, cluster) in drawing.clusters.iter().enumerate() {
        let Some(rect) = placed.clusters.get(c).copied().flatten() else {
            continue;
        };
        let _ = writeln!(
            svg,
            concat!(
                r#"<g id="{id}" class="cluster"><title>{scope}</title>"#,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="6" fill="{fill}" stroke="#9aa5b8"/>"##,
                r##"<text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="#44506a">{title}</text></g>"##
            ),
            id = xml(&cluster.name),
            scope = xml(&cluster.scope),
            x = rect.x,
            y = rect.y,
            w = rect.width,
            h = rect.height,
            fill = cluster_fill(drawing, c),
            tx = rect.x + 6.0,
            ty = rect.y + 12.0,
            title = xml(&cluster.title),
        );
    }
    for (e, edge) in drawing.edges.iter().enumerate() {
        write_edge(
            &mut svg,
            drawing.rankdir,
            edge,
            &placed.edges[e],
            placed.labels[e],
        );
    }
    for (i, shape) in drawing.nodes.iter().enumerate() {
        let (cx, cy) = placed.nodes[i];
        let (w, h, widths) = &sizes[i];
        let _ = write!(
            svg,
            r#"<g id="{}" class="{}"><title>{}</title>"#,
            xml(&shape.name),
            xml(&shape.class),
            xml(&shape.title)
        );
        let (x, y) = (cx - w / 2.0, cy - h / 2.0);
        let fill = shape.fill.unwrap_or("white");
        match &shape.kind {
            ShapeKind::Record(fields) => {
                field_box(&mut svg, fields, widths, (x, y, *w, *h), true, fill);
            }
            ShapeKind::Stack(fields) => {
                field_box(&mut svg, fields, widths, (x, y, *w, *h), false, fill);
            }
            ShapeKind::Gate(text) => {
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="8" fill="{fill}" stroke="black"/>"#
                );
                text_block(&mut svg, text, cx, cy, "");
            }
            ShapeKind::Circle(text, name) => {
                let r = w / 2.0;
                let _ = write!(
                    svg,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="black"/>"#,
                );
                let _ = write!(
                    svg,
                    r#"<text class="symbol" x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="{SYMBOL_FONT}">{}</text>"#,
                    cy + SYMBOL_FONT * 0.35,
                    xml(text)
                );
                if let Some(name) = name {
                    let (x, y, anchor) = match drawing.rankdir {
                        RankDir::LeftRight => (cx, cy + r + NAME_FONT + 1.0, "middle"),
                        RankDir::TopBottom => (cx + r + 4.0, cy + NAME_FONT * 0.35, "start"),
                    };
                    let _ = write!(
                        svg,
                        r##"<text class="name" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{NAME_FONT}" font-style="italic" fill="#1f3a68">{}</text>"##,
                        xml(name)
                    );
                }
            }
            ShapeKind::Text(text) => {
                // An invisible box, so that the text's node can be pointed
                // at (text itself takes no pointer events).
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="white" fill-opacity="0"/>"#
                );
                text_block(&mut svg, text, cx, cy, "");
            }
            ShapeKind::Note(text) => {
                let _ = write!(
                    svg,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="4" fill="#fafafa" stroke="#777" stroke-dasharray="4 3"/>"##
                );
                text_block(&mut svg, text, cx, cy, r##" fill="#555""##);
            }
        }
        svg.push_str("</g>\n");
    }
    if let Some((head, items)) = &legend {
        let y = placed.height + 2.0;
        let _ = write!(
            svg,
            r##"<g id="legend" class="legend"><text x="8" y="{:.1}" font-size="{LEGEND_FONT}" fill="#444">{head}</text>"##,
            y + 14.0
        );
        let mut x = 8.0 + text_width(head, LEGEND_FONT) + 12.0;
        for item in items {
            let mut text_x = x;
            if let Some(fill) = item.swatch {
                let _ = write!(
                    svg,
                    r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" rx="3" fill="{fill}" stroke="#555"/>"##,
                    y + 4.0,
                );
                text_x += 16.0;
            }
            // Not of class `grad`: the key is no gradient of the graph.
            let attributes = if item.grad {
                r##" class="key-grad" fill="#d00000""##
            } else {
                r##" fill="#222""##
            };
            let _ = write!(
                svg,
                r#"<text x="{text_x:.1}" y="{:.1}" font-size="{LEGEND_FONT}"{attributes}>{}</text>"#,
                y + 14.0,
                xml(item.text)
            );
            x += item_width(item);
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// A box of fields, side by side (`across`) or one above the other, each
/// `sizes[k]` wide (or high), divided by lines.
fn field_box(
    svg: &mut String,
    fields: &[Field],
    sizes: &[f64],
    (x, y, w, h): (f64, f64, f64, f64),
    across: bool,
    fill: &str,
) {
    let _ = write!(
        svg,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="black"/>"#
    );
    let mut at = if across { x } else { y };
    for (k, field) in fields.iter().enumerate() {
        if k > 0 {
            let (x1, y1, x2, y2) = if across {
                (at, y, at, y + h)
            } else {
                (x, at, x + w, at)
            };
            let _ = write!(
                svg,
                r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="black"/>"#
            );
        }
        let middle = at + sizes[k] / 2.0;
        let (cx, cy) = if across {
            (middle, y + h / 2.0)
        } else {
            (x + w / 2.0, middle)
        };
        text_block(svg, &field.text, cx, cy, field_class(field));
        at += sizes[k];
    }
}

/// A record field's attributes: gradients red and marked, values marked.
fn field_class(field: &Field) -> &'static str {
    if field.grad {
        GRAD
    } else if field.data {
        r#" class="data""#
    } else {
        ""
    }
}

/// Centred text, one `<tspan>` per line.
fn text_block(svg: &mut String, text: &str, cx: f64, cy: f64, attributes: &str) {
    let count = lines(text) as f64;
    let top = cy - (count - 1.0) * LINE / 2.0 + NODE_FONT * 0.35;
    let _ = write!(svg, r#"<text text-anchor="middle"{attributes}>"#);
    for (k, line) in text.split('\n').enumerate() {
        let _ = write!(
            svg,
            r#"<tspan x="{cx:.1}" y="{:.1}">{}</tspan>"#,
            top + k as f64 * LINE,
            xml(line)
        );
    }
    svg.push_str("</text>");
}

fn write_edge(
    svg: &mut String,
    rankdir: RankDir,
    edge: &Arrow,
    pieces: &[[Point; 2]],
    label: Option<Point>,
) {
    if pieces.is_empty() {
        return;
    }
    let _ = write!(
        svg,
        r#"<g id="{}" class="edge{}"><title>{}</title>"#,
        xml(&edge.name),
        if edge.count > 1 { " repeated" } else { "" },
        xml(&edge.title)
    );
    // The rank axis's direction on screen: arrows point along it.
    let (dx, dy) = match rankdir {
        RankDir::LeftRight => (1.0, 0.0),
        RankDir::TopBottom => (0.0, 1.0),
    };
    let last = pieces.len() - 1;
    let tip = pieces[last][1];
    let base = (tip.0 - dx * ARROW.0, tip.1 - dy * ARROW.0);
    let mut d = String::new();
    for (k, piece) in pieces.iter().enumerate() {
        let [mut a, mut b] = *piece;
        if k == last {
            // Stop at the arrowhead's base; keep the piece's direction.
            b = base;
            if (a.0 - b.0) * dx + (a.1 - b.1) * dy > 0.0 {
                a = b;
            }
        }
        if k == 0 {
            let _ = write!(d, "M{:.1},{:.1}", a.0, a.1);
        } else {
            let prev = pieces[k - 1][1];
            // An S between columns: tangents along the rank axis.
            let half = ((a.0 - prev.0) * dx + (a.1 - prev.1) * dy) / 2.0;
            let _ = write!(
                d,
                " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                prev.0 + dx * half,
                prev.1 + dy * half,
                a.0 - dx * half,
                a.1 - dy * half,
                a.0,
                a.1
            );
        }
        let _ = write!(d, " L{:.1},{:.1}", b.0, b.1);
    }
    let (px, py) = (-dy * ARROW.1, dx * ARROW.1);
    let _ = write!(
        svg,
        r##"<path d="{d}" fill="none" stroke="#333"/><polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#333"/>"##,
        tip.0,
        tip.1,
        base.0 + px,
        base.1 + py,
        base.0 - px,
        base.1 - py,
    );
    if let Some((x, y)) = label {
        let (above, below) = label_lines(edge);
        let class_above = if edge.value.is_some() {
            "value"
        } else {
            "count"
        };
        match rankdir {
            RankDir::LeftRight => {
                if let Some(text) = above {
                    let _ = write!(
                        svg,
                        r#"<text class="{class_above}" x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{EDGE_FONT}">{}</text>"#,
                        y - 4.0,
                        xml(&text)
                    );
                }
                if let Some(text) = below {
                    let _ = write!(
                        svg,
                        r##"<text class="grad" fill="#d00000" x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{EDGE_FONT}">{}</text>"##,
                        y + 12.0,
                        xml(&text)
                    );
                }
            }
            RankDir::TopBottom => {
                if let Some(text) = above {
                    let _ = write!(
                        svg,
                        r#"<text class="{class_above}" x="{:.1}" y="{:.1}" font-size="{EDGE_FONT}">{}</text>"#,
                        x + 5.0,
                        y - 2.0,
                        xml(&text)
                    );
                }
                if let Some(text) = below {
                    let _ = write!(
                        svg,
                        r##"<text class="grad" fill="#d00000" x="{:.1}" y="{:.1}" font-size="{EDGE_FONT}">{}</text>"##,
                        x + 5.0,
                        y + 11.0,
                        xml(&text)
                    );
                }
            }
        }
    }
    svg.push_str("</g>\n");
}
