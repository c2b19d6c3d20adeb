//! micrograd's `trace_graph` demo: one neuron with two inputs and a relu,
//! drawn with its fused `dot` node and expanded into its products feeding
//! one Σ; then a whole 2-4-4-1 network on one sample, grouped by layer and
//! neuron.
//!
//! ```text
//! cargo run --release --example neuron [-- --out DIR] [--lang ko|en]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::graph::{DotOptions, ExplorerOptions, Renderer, Style};
use chainrule::nn::{Activation, Mlp};
use rand::SeedableRng;

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--lang"]);
    let out = flags.out_dir();
    let explorer = || ExplorerOptions::new().language(flags.language());

    // micrograd draws its neuron with random weights; these are fixed so the
    // picture is the same on every run.
    let w = [
        Value::new(0.2).with_label("w0"),
        Value::new(-0.5).with_label("w1"),
    ];
    let x = [
        Value::new(1.0).with_label("x0"),
        Value::new(-2.0).with_label("x1"),
    ];
    let b = Value::new(0.3).with_label("b");
    let n = (Value::dot(&w, &x).expect("two weights, two inputs") + &b).with_label("n");
    let y = n.relu().with_label("y");
    y.backward();

    println!("neuron: y = relu(w0 x0 + w1 x1 + b) with w = [0.2, -0.5], b = 0.3, x = [1, -2]");
    println!("  n = {:.4}, y = {:.4}", n.data(), y.data());
    println!(
        "  dy/dw = [{:.4}, {:.4}] (= x), dy/dx = [{:.4}, {:.4}] (= w), dy/db = {:.4}",
        w[0].grad(),
        w[1].grad(),
        x[0].grad(),
        x[1].grad(),
        b.grad()
    );
    println!(
        "  graph: {} nodes fused, {} expanded",
        y.graph().len(),
        y.graph().expand_fused().len()
    );

    support::draw_explored(&out, "neuron-fused", &y, &DotOptions::new(), explorer());
    support::draw_explored(
        &out,
        "neuron-expanded",
        &y,
        &DotOptions::new().expand_fused(true),
        explorer(),
    );

    // A whole 2-4-4-1 network on one sample: `nn` groups what it builds by
    // layer and neuron, so the picture is outlined without any code here.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mlp = Mlp::new(&[2, 4, 4, 1], Activation::Relu, &mut rng)
        .unwrap_or_else(|e| support::fail(&e.to_string()));
    let point = [
        Value::new(1.0).with_label("x1"),
        Value::new(-0.5).with_label("x2"),
    ];
    let score = mlp
        .forward(&point)
        .unwrap_or_else(|e| support::fail(&e.to_string()))
        .remove(0);
    let loss = (&score - 1.0).powf(2.0).with_label("loss");
    loss.backward();
    println!(
        "2-4-4-1 network on x = [1, -0.5], target 1: score {:.4}, loss {:.4}, {} nodes",
        score.data(),
        loss.data(),
        loss.graph().len()
    );
    let options = DotOptions::new().expand_fused(true).hide_constants(true);
    // Its explorer ends with a gradient-descent step on the network's
    // weights and biases (nn's parameters; not the point's inputs).
    support::draw_explored(
        &out,
        "mlp-2-4-4-1",
        &loss,
        &options,
        explorer().learning_rate(0.05),
    );
    // The same picture by the pure-Rust renderer, whatever is installed
    // (the README's).
    let pure = options.style(Style::Lecture).renderer(Renderer::PureRust);
    let path = out.join("mlp-2-4-4-1-pure-rust.svg");
    loss.graph()
        .to_svg(&pure)
        .map_err(|e| e.to_string())
        .and_then(|svg| svg.save(&path).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| support::fail(&format!("{}: {e}", path.display())));
    support::report(&out);
}
