//! micrograd's `trace_graph` demo: one neuron with two inputs and a relu,
//! drawn with its fused `dot` node and expanded into the binary gates the
//! lecture draws (two muls and the adds).
//!
//! ```text
//! cargo run --release --example neuron [-- --out DIR]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::graph::DotOptions;

fn main() {
    let out = support::Flags::parse(0, &["--out"]).out_dir();

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

    support::draw(&out, "neuron-fused", &y, &DotOptions::new());
    support::draw(
        &out,
        "neuron-expanded",
        &y,
        &DotOptions::new().expand_fused(true),
    );
    support::report(&out);
}
