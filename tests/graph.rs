//! Graph pictures: golden DOT for the lecture's apple shopping, well-formed
//! SVG from both renderers, hostile labels, the node limit, deep graphs,
//! petgraph analysis and the fused-node expansion.

mod common;

use chainrule::graph::{DotOptions, GraphError, Renderer, Style, graphviz_installed};
use chainrule::{Op, Value};
use graphviz_rust::dot_structures::{Graph as DotGraph, Stmt};

/// The lecture's apple shopping, labelled as in the example.
fn apple_price() -> Value {
    let apple = Value::new(100.0).with_label("apple");
    let count = Value::new(2.0).with_label("count");
    let tax = Value::new(1.1).with_label("tax");
    let price = (&apple * &count * &tax).with_label("price");
    price.backward();
    price
}

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        actual, expected,
        "{name} changed; rerun with UPDATE_GOLDEN=1 if that was meant"
    );
}

#[test]
fn apple_dot_in_both_styles_is_stable() {
    let graph = apple_price().graph();
    golden(
        "apple-nodes.dot",
        &graph.to_dot(&DotOptions::new()).unwrap(),
    );
    golden(
        "apple-lecture.dot",
        &graph.to_dot(&DotOptions::lecture()).unwrap(),
    );
}

#[test]
fn lecture_style_carries_the_slides_numbers() {
    let dot = apple_price()
        .graph()
        .to_dot(&DotOptions::lecture())
        .unwrap();
    // Forward values on the edges, and under them in red the gradients the
    // slides print: 2.2, 110, 1.1, 200 and 1.
    for (value, grad) in [
        ("100", "2.2"),
        ("2", "110"),
        ("200", "1.1"),
        ("1.1", "200"),
        ("220", "1"),
    ] {
        let label = format!(r#"label=<{value}<br/><font color="red">{grad}</font>>"#);
        assert!(dot.contains(&label), "missing {label} in\n{dot}");
    }
    let without = apple_price()
        .graph()
        .to_dot(&DotOptions::lecture().show_grad(false))
        .unwrap();
    assert!(without.contains(r#"label="220""#) && !without.contains("red"));
}

#[test]
fn both_styles_lay_out_both_ways() {
    let graph = apple_price().graph();
    for style in [Style::Nodes, Style::Lecture] {
        let lr = graph.to_dot(&DotOptions::new().style(style)).unwrap();
        let tb = graph
            .to_dot(
                &DotOptions::new()
                    .style(style)
                    .rankdir(chainrule::graph::RankDir::TopBottom),
            )
            .unwrap();
        assert!(lr.contains("rankdir=LR") && tb.contains("rankdir=TB"));
    }
}

/// Parses an SVG as XML (Graphviz's starts with a DOCTYPE).
fn parse_svg(svg: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(svg, options).expect("well-formed SVG")
}

/// Whether an element has `class` among its classes.
fn has_class(node: &roxmltree::Node<'_, '_>, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

/// Node ids of the `<g class="node …">` groups of an SVG, which must parse.
fn svg_node_groups(svg: &str) -> Vec<String> {
    let document = parse_svg(svg);
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.tag_name().name() == "g" && has_class(n, "node"))
        .map(|n| n.attribute("id").unwrap_or_default().to_string())
        .collect()
}

/// Nodes drawn for the apple graph: 5 values + 2 operations in the nodes
/// style; 5 values + the output label in the lecture's.
const APPLE_NODES: [(Style, usize); 2] = [(Style::Nodes, 7), (Style::Lecture, 6)];

#[test]
fn pure_rust_renderer_gives_well_formed_svg() {
    let graph = apple_price().graph();
    for (style, nodes) in APPLE_NODES {
        let options = DotOptions::new().style(style).renderer(Renderer::PureRust);
        let svg = graph.to_svg(&options).unwrap();
        assert_eq!(svg_node_groups(&svg).len(), nodes, "{style:?}");
        // Gradients are marked as such (and red): the slides' 2.2 for the
        // apple, on its edge or in its record.
        let document = parse_svg(&svg);
        let grads: Vec<&str> = document
            .descendants()
            .filter(|n| n.tag_name().name() == "text" && has_class(n, "grad"))
            .flat_map(|n| n.descendants().filter_map(|t| t.text()))
            .collect();
        let expected = match style {
            Style::Lecture => "2.2",
            Style::Nodes => "grad 2.2",
        };
        assert!(grads.contains(&expected), "{style:?}: {grads:?}");
        // Every node and edge carries its stable id.
        assert!(
            document
                .descendants()
                .any(|n| n.attribute("id") == Some("v0"))
        );
        assert!(
            document
                .descendants()
                .any(|n| n.tag_name().name() == "g" && has_class(&n, "edge"))
        );
    }
}

#[test]
fn graphviz_renderer_gives_well_formed_svg() {
    if !graphviz_installed() {
        // CI installs Graphviz, so there this path is always tested.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Graphviz's dot"
        );
        eprintln!("skipped: Graphviz's dot is not installed");
        return;
    }
    let graph = apple_price().graph();
    for (style, nodes) in APPLE_NODES {
        let options = DotOptions::new().style(style).renderer(Renderer::Graphviz);
        let svg = graph.to_svg(&options).unwrap();
        assert!(svg.contains("<svg"));
        assert_eq!(svg_node_groups(&svg).len(), nodes, "{style:?}");
    }
}

#[test]
fn missing_graphviz_is_a_clear_error_and_auto_falls_back() {
    // Run this test again in a process that has no PATH to find dot on.
    if !common::in_a_process_of_its_own(
        "missing_graphviz_is_a_clear_error_and_auto_falls_back",
        "CHAINRULE_TEST_NO_PATH",
        &[("PATH", "/nonexistent")],
    ) {
        return;
    }
    assert!(!graphviz_installed());
    let graph = apple_price().graph();
    let error = graph
        .to_svg(&DotOptions::new().renderer(Renderer::Graphviz))
        .unwrap_err();
    assert_eq!(error, GraphError::GraphvizMissing);
    let message = error.to_string();
    assert!(message.contains("`dot`") && message.contains("apt-get install graphviz"));
    let svg = graph.to_svg(&DotOptions::new()).unwrap(); // Auto: pure Rust
    assert_eq!(svg_node_groups(&svg).len(), 7);
}

const HOSTILE: [&str; 12] = [
    r#"say "hi""#,
    r"back\slash",
    r"trailing\",
    "{braces} and |pipes|",
    "<angle> & <b>html</b>",
    "two\nlines\r\n",
    r#"x"]; evil -> injected [label="y"#,
    r"\N \G \l",
    "</font>>]; a -> b; c [label=<",
    "",
    "tab\tand\u{7}bell",
    "스칼라 값 ∂L/∂w",
];

/// Node and edge statements, in clusters too.
fn statement_counts(graph: &DotGraph) -> (usize, usize) {
    fn count(stmts: &[Stmt]) -> (usize, usize) {
        stmts.iter().fold((0, 0), |(n, e), s| match s {
            Stmt::Node(_) => (n + 1, e),
            Stmt::Edge(_) => (n, e + 1),
            Stmt::Subgraph(sub) => {
                let (sn, se) = count(&sub.stmts);
                (n + sn, e + se)
            }
            _ => (n, e),
        })
    }
    match graph {
        DotGraph::Graph { stmts, .. } | DotGraph::DiGraph { stmts, .. } => count(stmts),
    }
}

#[test]
fn hostile_labels_cannot_break_or_inject() {
    // Every hostile label on a leaf and on a gate, in one graph.
    let mut total = Value::constant(0.0);
    for (i, label) in HOSTILE.iter().enumerate() {
        let leaf = Value::new(i as f64).with_label(*label);
        total = (&total + &leaf).with_label(*label);
    }
    total.backward();
    let graph = total.graph();
    for style in [Style::Nodes, Style::Lecture] {
        let options = DotOptions::new().style(style);
        let dot = graph.to_dot(&options).unwrap();
        let parsed = graphviz_rust::parse(&dot)
            .unwrap_or_else(|e| panic!("{style:?} DOT does not parse: {e}\n{dot}"));
        // 25 values; the nodes style adds 12 operation nodes, the lecture
        // style the output label.
        let (nodes, edges) = statement_counts(&parsed);
        let expected = match style {
            Style::Nodes => (25 + 12, 12 + 24),
            Style::Lecture => (25 + 1, 24 + 1),
        };
        assert_eq!(
            (nodes, edges),
            expected,
            "{style:?}: a label added or broke statements"
        );
        let svg = graph
            .to_svg(&options.clone().renderer(Renderer::PureRust))
            .unwrap();
        let document = parse_svg(&svg);
        let text: String = document.descendants().filter_map(|n| n.text()).collect();
        assert!(text.contains("evil -> injected") && text.contains("스칼라 값"));
        if graphviz_installed() {
            let svg = graph.to_svg(&options.renderer(Renderer::Graphviz)).unwrap();
            parse_svg(&svg);
        }
    }
}

#[test]
fn drawing_has_a_node_limit_with_a_clear_error() {
    let x = Value::new(1.0);
    let mut y = x.clone();
    for _ in 0..600 {
        y = &y * 1.0;
    }
    let graph = y.graph();
    assert_eq!(graph.len(), 1201); // x, 600 constants, 600 products
    let error = graph.to_dot(&DotOptions::new()).unwrap_err();
    assert_eq!(
        error,
        GraphError::TooManyNodes {
            nodes: 1201,
            limit: 500
        }
    );
    assert!(error.to_string().contains("DotOptions::node_limit(1201)"));
    assert!(graph.to_svg(&DotOptions::new()).is_err());
    assert!(graph.to_dot(&DotOptions::new().node_limit(1201)).is_ok());

    // Expanded fused nodes count: a dot of 300 leaves with themselves is 301
    // nodes, and 601 expanded (300 products and one Σ).
    let ws: Vec<Value> = (0..300).map(|i| Value::new(i as f64)).collect();
    let d = Value::dot(&ws, &ws).unwrap();
    let options = DotOptions::new().node_limit(600);
    assert!(d.graph().to_dot(&options).is_ok());
    let error = d.graph().to_dot(&options.expand_fused(true)).unwrap_err();
    assert_eq!(
        error,
        GraphError::TooManyNodes {
            nodes: 601,
            limit: 600
        }
    );
}

#[test]
fn a_million_node_chain_is_walked_into_a_graph() {
    let x = Value::new(1.0);
    let step = Value::new(0.5);
    let mut y = x.clone();
    for _ in 0..1_000_000 {
        y = &y + &step;
    }
    let graph = y.graph();
    assert_eq!(graph.len(), 1_000_002);
    assert_eq!(graph.edges().count(), 2_000_000);
    assert_eq!(graph.output().unwrap().data, 500_001.0);
    assert!(matches!(
        graph.to_dot(&DotOptions::new()),
        Err(GraphError::TooManyNodes { .. })
    ));
}

#[test]
fn petgraph_view_answers_depth_and_fan_in() {
    use petgraph::Direction::Incoming;
    use petgraph::algo::toposort;

    // z = (x + y)^2 with x used twice more: depth 3 from x to z.
    let x = Value::new(1.0);
    let y = Value::new(2.0);
    let t = &x + &y;
    let z = t.powf(2.0) + &x * &x;
    let graph = z.graph();
    let pg = graph.to_petgraph();
    let order = toposort(&pg, None).unwrap();
    // Longest path (in edges) from a leaf to each node, in topological order.
    let mut depth = vec![0usize; pg.node_count()];
    for &node in &order {
        for parent in pg.neighbors_directed(node, Incoming) {
            depth[node.index()] = depth[node.index()].max(depth[parent.index()] + 1);
        }
    }
    assert_eq!(depth[graph.output().unwrap().id], 3); // x -> + -> pow -> +
    let x_id = graph
        .nodes()
        .iter()
        .position(|n| n.data == 1.0 && n.operands.is_empty())
        .unwrap();
    let mul = graph
        .nodes()
        .iter()
        .find(|n| n.op == chainrule::Op::Mul)
        .unwrap();
    assert_eq!(
        pg.edges_directed(petgraph::graph::NodeIndex::new(mul.id), Incoming)
            .count(),
        2
    );
    assert_eq!(mul.operands, vec![x_id, x_id]); // fan-in 2 from one node
    assert_eq!(
        pg.neighbors_directed(
            petgraph::graph::NodeIndex::new(x_id),
            petgraph::Direction::Outgoing
        )
        .count(),
        3
    );
}

#[test]
fn expanding_fused_nodes_gives_the_gates_they_stand_for() {
    use chainrule::Op;
    // A neuron w·x as one dot node, expanded into products feeding one Σ,
    // whose values and gradients are the gates' (closed forms).
    let w = [Value::new(2.0), Value::new(-3.0), Value::new(0.5)];
    let x = [Value::new(-1.0), Value::new(-2.0), Value::new(4.0)];
    let n = Value::dot(&w, &x).unwrap().with_label("n");
    let s = Value::sum(&[n.clone(), Value::new(1.0), Value::new(-0.5)]);
    s.backward();
    let graph = s.graph().expand_fused();
    let ops: Vec<Op> = graph.nodes().iter().map(|n| n.op).collect();
    assert_eq!(ops.iter().filter(|&&o| o == Op::Mul).count(), 3);
    // The dot's Σ, and the sum (already one node over its terms).
    assert_eq!(ops.iter().filter(|&&o| o == Op::Sum).count(), 2);
    assert!(!ops.contains(&Op::Dot) && !ops.contains(&Op::Add));
    let sigma = graph.nodes().iter().find(|n| n.op == Op::Sum).unwrap();
    assert_eq!(sigma.operands.len(), 3, "fan-in: one Σ over the products");
    let products: Vec<f64> = graph
        .nodes()
        .iter()
        .filter(|n| n.op == Op::Mul)
        .map(|n| n.data)
        .collect();
    assert_eq!(products, vec![-2.0, 6.0, 2.0]);
    let labelled = graph
        .nodes()
        .iter()
        .find(|n| n.label.as_deref() == Some("n"))
        .unwrap();
    assert_eq!(
        (labelled.op, labelled.data, labelled.grad),
        (Op::Sum, 6.0, 1.0)
    );
    assert!(
        graph
            .nodes()
            .iter()
            .filter(|n| n.expanded)
            .all(|n| n.grad == 1.0)
    );
    assert_eq!(graph.output().unwrap().data, 6.5);

    // The lecture drawing of the expansion: w_i's edge carries x_i back.
    let dot = s
        .graph()
        .to_dot(&DotOptions::lecture().expand_fused(true))
        .unwrap();
    assert!(dot.contains(r#"label=<2<br/><font color="red">-1</font>>"#));
    assert!(dot.contains(r#"label=<-1<br/><font color="red">2</font>>"#));
}

#[test]
fn relu_is_one_max_node_drawn_as_relu() {
    let x = Value::new(-2.0).with_label("x");
    let y = (&x * 3.0).relu();
    y.backward();
    let graph = y.graph();
    // x, the constant 3, the product and the relu: no node for the 0.
    assert_eq!(graph.len(), 4);
    let out = graph.output().unwrap();
    assert_eq!((out.op, out.operands.len(), out.data), (Op::Max, 1, 0.0));
    for options in [DotOptions::new(), DotOptions::lecture()] {
        let dot = graph.to_dot(&options).unwrap();
        assert!(dot.contains("relu"), "{dot}");
    }
}
