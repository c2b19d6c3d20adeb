//! cs231n's circuits, which the lecture borrows: `(x + y) z`, the sigmoid
//! neuron, and the add, mul and max gates (distributor, swapper, router).
//! Prints the values and gradients of the course notes and draws each graph.
//!
//! ```text
//! cargo run --release --example circuits [-- --out DIR] [--lang ko|en]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::graph::{DotOptions, ExplorerOptions, RankDir};

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--lang"]);
    let out = flags.out_dir();
    let language = flags.language();
    let explorer = || ExplorerOptions::new().language(language);

    println!("f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4");
    let x = Value::new(-2.0).with_label("x");
    let y = Value::new(5.0).with_label("y");
    let z = Value::new(-4.0).with_label("z");
    let q = (&x + &y).with_label("q");
    let f = (&q * &z).with_label("f");
    f.backward();
    println!("  f = {}", f.data());
    println!(
        "  df/dx = {}, df/dy = {}, df/dz = {}   (course notes: -4, -4, 3)",
        x.grad(),
        y.grad(),
        z.grad()
    );
    support::draw_explored(&out, "circuit", &f, &DotOptions::new(), explorer());

    println!(
        "\nsigmoid neuron: f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), w = [2, -3, -3], x = [-1, -2]"
    );
    let w: Vec<Value> = [2.0, -3.0, -3.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| Value::new(v).with_label(format!("w{i}")))
        .collect();
    let x: Vec<Value> = [-1.0, -2.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| Value::new(v).with_label(format!("x{i}")))
        .collect();
    // The slide's circuit, gate by gate: two ×, two +, × -1, exp, + 1 and
    // 1/x (a power of -1, drawn as the slide's 1/x gate).
    let dot = (&w[0] * &x[0] + &w[1] * &x[1] + &w[2]).with_label("w·x + b");
    let f = ((-&dot).exp() + 1.0).powf(-1.0).with_label("f");
    f.backward();
    println!("  f = {:.4}", f.data());
    println!(
        "  dx = [{:.3}, {:.3}]   (course notes: [0.39, -0.59])",
        x[0].grad(),
        x[1].grad()
    );
    println!(
        "  dw = [{:.3}, {:.3}, {:.3}]   (course notes: [-0.20, -0.39, 0.20])",
        w[0].grad(),
        w[1].grad(),
        w[2].grad()
    );
    println!(
        "  sigma (1 - sigma) = {:.4} = d f / d(w·x + b) = {:.4}",
        f.data() * (1.0 - f.data()),
        dot.grad()
    );
    // Its explorer ends with one gradient-descent step on the weights
    // (not the inputs) and the forward pass after it.
    support::draw_explored(
        &out,
        "sigmoid-neuron",
        &f,
        &DotOptions::new().rankdir(RankDir::LeftRight),
        explorer().learning_rate(0.1).parameters(["w0", "w1", "w2"]),
    );

    println!("\ngates: f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1");
    let x = Value::new(3.0).with_label("x");
    let y = Value::new(-4.0).with_label("y");
    let z = Value::new(2.0).with_label("z");
    let w = Value::new(-1.0).with_label("w");
    let f = (2.0 * (&x * &y + z.max(&w))).with_label("f");
    f.backward();
    println!("  f = {}", f.data());
    println!("  add distributes, mul swaps, max routes:");
    println!(
        "  dx = {}, dy = {}, dz = {}, dw = {}   (course notes: -8, 6, 2, 0)",
        x.grad(),
        y.grad(),
        z.grad(),
        w.grad()
    );
    support::draw_explored(&out, "gates", &f, &DotOptions::new(), explorer());

    support::report(&out);
}
