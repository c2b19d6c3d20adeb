//! Stepping through backprop: the trace against the lecture's numbers, the
//! explorer page (self-contained, typed errors), and the page driven in a
//! real browser (`scripts/browser-test`: the system's chromium through
//! Playwright), checked against the engine.

use std::path::PathBuf;

mod common;
use std::time::Instant;

use chainrule::Value;
use chainrule::graph::{DotOptions, ExplorerOptions, GraphError, NumberFormat, Step, Style};
use chainrule::nn::{Activation, Mlp};
use rand::SeedableRng;

/// The lecture's apple shopping: 2 apples at 100, 10% tax.
fn apple() -> (Value, [Value; 4]) {
    let apple = Value::new(100.0).with_label("apple price");
    let count = Value::new(2.0).with_label("apple count");
    let tax = Value::new(1.1).with_label("tax");
    let apples = (&apple * &count).with_label("apples");
    let price = (&apples * &tax).with_label("price");
    (price, [apple, count, tax, apples])
}

#[test]
fn the_trace_steps_through_the_lectures_apple() {
    let (price, _) = apple();
    let trace = price.backward_trace();
    let graph = price.graph();
    let name = |id: usize| graph.nodes()[id].label.clone().unwrap_or_default();
    let forward: Vec<(String, f64)> = trace.forward().map(|f| (name(f.node), f.value)).collect();
    assert_eq!(forward[0], ("apples".into(), 200.0));
    assert_eq!(forward[1].0, "price");
    assert!((forward[1].1 - 220.0).abs() < 1e-12);
    // Backward, from the output: the slides' 1, then 1.1 and 200, then 2.2
    // and 110.
    let backward: Vec<_> = trace.backward().collect();
    assert_eq!(backward.len(), 2);
    assert_eq!(
        (name(backward[0].node).as_str(), backward[0].upstream),
        ("price", 1.0)
    );
    let shares: Vec<(String, f64)> = backward
        .iter()
        .flat_map(|b| b.shares.iter().map(|s| (name(s.operand), s.contribution)))
        .collect();
    let expected = [
        ("apples", 1.1),
        ("tax", 200.0),
        ("apple price", 2.2),
        ("apple count", 110.0),
    ];
    for ((got, value), (want, slide)) in shares.iter().zip(expected) {
        assert_eq!(got, want);
        assert!(
            (value - slide).abs() < 1e-9,
            "{got}: {value} vs the slides' {slide}"
        );
    }
    // Forward steps come first.
    let first_backward = trace
        .steps()
        .iter()
        .position(|s| matches!(s, Step::Backward(_)))
        .unwrap();
    assert_eq!(first_backward, 2);
}

#[test]
fn a_fan_in_shows_as_a_running_sum() {
    // y = x·x + x: x's gradient 2x + 1 = 7 at x = 3, arriving in three
    // shares.
    let x = Value::new(3.0).with_label("x");
    let y = (&x * &x + &x).with_label("y");
    let trace = y.backward_trace();
    let graph = y.graph();
    let id = graph.find("x").unwrap();
    let running: Vec<f64> = trace
        .backward()
        .flat_map(|b| b.shares.iter())
        .filter(|s| s.operand == id)
        .map(|s| s.grad_after)
        .collect();
    assert_eq!(running, vec![1.0, 4.0, 7.0]);
    assert_eq!(trace.grad(id), 7.0);
}

#[test]
fn the_explorer_is_one_self_contained_document() {
    let (price, _) = apple();
    let html = price.explorer().unwrap();
    for hook in [
        r#"id="step-text""#,
        r#"id="step-counter""#,
        "<noscript>",
        "<svg",
    ] {
        assert!(html.contains(hook), "{hook}");
    }
    // Nothing fetched: no external script, style sheet, font or image.
    for fetch in ["src=", "href=", "url(", "@import", "<link", "<iframe"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    let http: Vec<_> = html.match_indices("http").collect();
    assert!(
        html.matches("http").count() == html.matches("http://www.w3.org/2000/svg").count(),
        "only the SVG namespace names a URL: {http:?}"
    );
    // The picture inside is well-formed XML.
    let start = html.find("<svg").unwrap();
    let end = html.rfind("</svg>").unwrap() + "</svg>".len();
    roxmltree::Document::parse(&html[start..end]).expect("the SVG parses");
    // Without scripts the picture shows the end state: every gradient.
    for grad in ["2.2", "110", "200", "1.1"] {
        assert!(
            html[start..end].contains(&format!(">{grad}</text>")),
            "{grad}"
        );
    }
}

#[test]
fn hostile_labels_and_tiny_graphs_make_working_pages() {
    // A label that would end the page's script, or start one.
    let x = Value::new(2.0).with_label("</script><script>alert(1)</script>");
    let y = (&x * &x).with_label("y & <b>");
    let html = y.explorer().unwrap();
    assert_eq!(html.matches("<script").count(), 2, "the data and the code");
    assert_eq!(html.matches("</script>").count(), 2);
    let start = html.find("<svg").unwrap();
    let end = html.rfind("</svg>").unwrap() + "</svg>".len();
    roxmltree::Document::parse(&html[start..end]).expect("the SVG parses");
    // One leaf: no gate, no step but the start; constants: nothing flows.
    let leaf = Value::new(1.0).with_label("x");
    assert!(leaf.explorer().unwrap().contains("step-text"));
    assert_eq!(leaf.backward_trace().steps().len(), 0);
    let c = Value::constant(3.0) * 2.0;
    let trace = c.backward_trace();
    assert_eq!(trace.backward().count(), 0);
    assert!(c.explorer().is_ok());
    // Non-finite numbers are written, not a broken page.
    let n = Value::new(f64::NAN) * 2.0;
    assert!(n.explorer().unwrap().contains("NaN"));
}

#[test]
fn bad_learning_rates_are_typed_errors() {
    let (price, _) = apple();
    let graph = price.graph();
    for eta in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let error = graph
            .explorer(&ExplorerOptions::new().learning_rate(eta))
            .unwrap_err();
        assert!(matches!(error, GraphError::LearningRate(_)), "{eta}");
        assert!(error.to_string().contains("finite number above 0"));
    }
    let html = graph
        .explorer(&ExplorerOptions::new().learning_rate(0.01))
        .unwrap();
    // The lecture's update: 100 − 0.01 × 2.2 = 99.98 (99.978 to 4 digits).
    assert!(html.contains("100 \u{2212} 0.01 \u{d7} 2.2 = 99.98"));
}

#[test]
fn an_mlp_samples_explorer_is_grouped_and_bounded() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mlp = Mlp::new(&[2, 4, 4, 1], Activation::Relu, &mut rng).unwrap();
    let x = [Value::new(1.0), Value::new(-0.5)];
    let loss = (&mlp.forward(&x).unwrap()[0] - 1.0).powf(2.0);
    let options = DotOptions::lecture()
        .expand_fused(true)
        .hide_constants(true);
    let html = loss
        .graph()
        .explorer(&ExplorerOptions::new().picture(options))
        .unwrap();
    assert!(html.contains(r#"class="cluster""#));
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    // Beyond the node limit: the picture's typed error.
    let mut y = Value::new(1.0);
    for _ in 0..600 {
        y = &y * 1.0;
    }
    assert!(matches!(
        y.explorer().unwrap_err(),
        GraphError::TooManyNodes { .. }
    ));
}

/// Runs `scripts/browser-test` on a page; `None` if it skipped (no
/// browser, outside CI), else what it printed.
fn drive(
    page: &std::path::Path,
    expect: &serde_json::Value,
    dir: &std::path::Path,
) -> Option<String> {
    let expect_path = page.with_extension("json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    let start = Instant::now();
    let said = common::run_script("browser-test", &[page, &expect_path, dir])?;
    Some(format!(
        "{} ({:.1} s with setup)",
        said.trim(),
        start.elapsed().as_secs_f64()
    ))
}

/// cs231n's sigmoid neuron, gate by gate as the slide draws it:
/// f = 1/(1 + e^-(w0 x0 + w1 x1 + w2)) at w = [2, -3, -3], x = [-1, -2].
fn sigmoid_neuron() -> (Value, [Value; 5]) {
    let w0 = Value::new(2.0).with_label("w0");
    let x0 = Value::new(-1.0).with_label("x0");
    let w1 = Value::new(-3.0).with_label("w1");
    let x1 = Value::new(-2.0).with_label("x1");
    let w2 = Value::new(-3.0).with_label("w2");
    let z = &(&(&w0 * &x0) + &(&w1 * &x1)) + &w2;
    let f = ((-&z).exp() + 1.0).powf(-1.0).with_label("f");
    (f, [w0, x0, w1, x1, w2])
}

#[test]
fn the_explorer_works_in_a_real_browser() {
    let (price, [apple_price, count, tax, apples]) = apple();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    std::fs::create_dir_all(&dir).unwrap();
    // The pages the apple example writes (lecture style), and micrograd's
    // style.
    let lecture = dir.join("apple-explorer.html");
    let records = dir.join("apple-records-explorer.html");
    let graph = price.graph();
    for (path, style) in [(&lecture, Style::Lecture), (&records, Style::Nodes)] {
        graph
            .explorer(&ExplorerOptions::new().picture(DotOptions::new().style(style)))
            .unwrap()
            .save(path)
            .unwrap();
    }
    // What the browser must show: the engine's numbers, from backward.
    price.backward();
    let f = |x: f64| NumberFormat::Significant(4).format(x);
    let grads = serde_json::json!({
        "apple price": f(apple_price.grad()),
        "apple count": f(count.grad()),
        "tax": f(tax.grad()),
        "apples": f(apples.grad()),
    });
    let all = [
        price.grad(),
        apples.grad(),
        tax.grad(),
        apple_price.grad(),
        count.grad(),
    ];
    // The lecture's nudge: one more won for an apple gives 101 × 2 × 1.1 =
    // 222.2, 2.2 more, as the gradient says.
    let raised = 101.0 * count.data() * tax.data();
    let common = serde_json::json!({
        "steps": 4,
        "forward": 2,
        "backward": 2,
        "english": true,
        "output": f(price.data()),
        "grads": grads,
        // Backward's first step gives apples and tax their gradients, the
        // second the apple price and count.
        "step_numbers": {
            "3": [f(apples.grad()), f(tax.grad())],
            "4": [f(apple_price.grad()), f(count.grad())],
        },
        "nudge": {"input": "apple price", "says": [f(raised), f(apple_price.grad())], "exact": true},
    });
    let mut on_edges = common.clone();
    on_edges["name"] = "apple".into();
    on_edges["fit"] = 0.6.into();
    on_edges["notebook"] = true.into();
    on_edges["final_grads"] = serde_json::json!(all.map(f));
    on_edges["exercise"] =
        serde_json::json!({"step": 4, "operand": "apple price", "right": "2.2", "wrong": "2.3"});
    let r = |prefix: &str, x: f64| format!("{prefix} {}", f(x));
    let mut in_records = common;
    in_records["name"] = "apple-records".into();
    in_records["value_class"] = "data".into();
    in_records["output"] = f(price.data()).into();
    in_records["final_grads"] = serde_json::json!(all.map(|g| r("grad", g)));
    in_records["exercise"] = serde_json::json!({
        "step": 4, "operand": "apple price", "right": "2.2", "wrong": "2.3",
        "right_shown": r("grad", apple_price.grad()),
    });
    let Some(said) = drive(&lecture, &on_edges, &dir) else {
        return;
    };
    eprintln!("browser test: {said}; screenshots in {}", dir.display());
    assert!(dir.join("apple-1280-step3.png").exists());
    let said = drive(&records, &in_records, &dir).expect("a browser, as for the first page");
    eprintln!("browser test, micrograd's style: {said}");

    // The sigmoid neuron with a gradient-descent step on its weights: the
    // weights change, the inputs do not, and the forward pass after it
    // gives a smaller f, by the engine's numbers.
    let (f_out, [w0, x0, w1, x1, w2]) = sigmoid_neuron();
    let eta = 0.1;
    let sigmoid_page = dir.join("sigmoid-neuron-explorer.html");
    f_out
        .graph()
        .explorer(
            &ExplorerOptions::new()
                .learning_rate(eta)
                .parameters(["w0", "w1", "w2"]),
        )
        .unwrap()
        .save(&sigmoid_page)
        .unwrap();
    f_out.backward();
    let before = f_out.data();
    let new = |w: &Value| w.data() - eta * w.grad();
    let (n0, n1, n2) = (new(&w0), new(&w1), new(&w2));
    // The closed form, from outside the engine.
    let after = 1.0 / (1.0 + (-(n0 * x0.data() + n1 * x1.data() + n2)).exp());
    assert!(after < before);
    let trace = f_out.backward_trace();
    let (forward, backward) = (trace.forward().count(), trace.backward().count());
    // A nudge of w0 by 1: the sigmoid bends, so the gradient only
    // approximates it.
    let w0_up = 1.0 / (1.0 + (-(3.0 * x0.data() + w1.data() * x1.data() + w2.data())).exp());
    let training = serde_json::json!({
        "name": "sigmoid-neuron",
        "steps": forward + backward + 3 + 1,
        "forward": forward,
        "backward": backward,
        "english": true,
        "value_class": "value",
        "output": f(before),
        "final_grads": null,
        "training": {
            "parameters": ["w0", "w1", "w2"],
            "inputs": ["x0", "x1"],
            "new_values": {
                "w0": format!("{} \u{2192} {}", f(w0.data()), f(n0)),
                "w1": format!("{} \u{2192} {}", f(w1.data()), f(n1)),
                "w2": format!("{} \u{2192} {}", f(w2.data()), f(n2)),
            },
            "output_change": format!("{} \u{2192} {}", f(before), f(after)),
            "down": true,
        },
        "nudge": {"input": "w0", "says": [f(w0_up), f(w0.grad())], "exact": false},
    });
    let mut training = training;
    training.as_object_mut().unwrap().remove("final_grads");
    let said = drive(&sigmoid_page, &training, &dir).expect("a browser");
    eprintln!("browser test, the sigmoid neuron's training step: {said}");

    // A gradient that is infinite: ln at 0. Typing inf, ∞ or Infinity is
    // right; 0, -inf and NaN are wrong (JSON has no infinity: the answer
    // travels as text).
    let x = Value::new(0.0).with_label("x");
    let y = x.ln().with_label("y");
    let ln_page = dir.join("ln-explorer.html");
    y.explorer().unwrap().save(&ln_page).unwrap();
    let infinite = serde_json::json!({
        "name": "ln-at-0",
        "steps": 2,
        "forward": 1,
        "backward": 1,
        "english": true,
        "answers": {
            "step": 2, "operand": "x",
            "right": ["inf", "\u{221e}", "Infinity", "+inf"],
            "wrong": ["0", "-inf", "NaN", "1e308"],
        },
    });
    let said = drive(&ln_page, &infinite, &dir).expect("a browser");
    eprintln!("browser test, an infinite gradient: {said}");

    // A whole 2-4-4-1 network on one sample: long, grouped, wider than a
    // phone; every step's node is followed into view.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mlp = Mlp::new(&[2, 4, 4, 1], Activation::Relu, &mut rng).unwrap();
    let x = [
        Value::new(1.0).with_label("x1"),
        Value::new(-0.5).with_label("x2"),
    ];
    let loss = (&mlp.forward(&x).unwrap()[0] - 1.0)
        .powf(2.0)
        .with_label("loss");
    let mlp_page = dir.join("mlp-2-4-4-1-explorer.html");
    let options = DotOptions::lecture()
        .expand_fused(true)
        .hide_constants(true);
    loss.graph()
        .explorer(&ExplorerOptions::new().picture(options))
        .unwrap()
        .save(&mlp_page)
        .unwrap();
    // The explorer steps through the expanded graph (products and Σ).
    let trace = loss.graph().expand_fused().trace();
    let (forward, backward) = (trace.forward().count(), trace.backward().count());
    let network = serde_json::json!({
        "name": "mlp-2-4-4-1",
        "steps": forward + backward,
        "forward": forward,
        "backward": backward,
        "english": true,
    });
    let said = drive(&mlp_page, &network, &dir).expect("a browser");
    eprintln!("browser test, a 2-4-4-1 network: {said}");
}
