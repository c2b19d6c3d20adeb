//! The lecture's apple shopping (사과 쇼핑): the forward pass computes the
//! price, the backward pass how much the price moves per unit of each input.
//! Writes the graphs as DOT and SVG, in micrograd's style and the lecture's.
//!
//! ```text
//! cargo run --release --example apple [-- --out DIR]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::graph::DotOptions;

fn main() {
    let out = support::Flags::parse(0, &["--out"]).out_dir();

    println!("Apple shopping: 2 apples at 100 each, 10% consumption tax\n");
    let apple = Value::new(100.0).with_label("apple price");
    let count = Value::new(2.0).with_label("apple count");
    let tax = Value::new(1.1).with_label("tax");
    let apples = (&apple * &count).with_label("apples");
    let price = (&apples * &tax).with_label("price");

    println!("forward (순전파)");
    println!("  {} x {} = {}", apple.data(), count.data(), apples.data());
    println!("  {} x {} = {:.1}", apples.data(), tax.data(), price.data());

    price.backward();
    println!("backward (역전파): d price / d input");
    for v in [&price, &apples, &apple, &count, &tax] {
        println!("  {:<12} {:>8.1}", v.label().unwrap_or_default(), v.grad());
    }
    println!(
        "  one more won per apple: 101 x 2 x 1.1 = {:.1} (+{:.1})",
        101.0 * 2.0 * 1.1,
        apple.grad()
    );
    support::draw(&out, "apple", &price, &DotOptions::new());

    println!("\nApple and orange shopping: 2 apples at 100, 3 oranges at 150, 10% tax\n");
    let apple = Value::new(100.0).with_label("apple price");
    let apple_count = Value::new(2.0).with_label("apple count");
    let orange = Value::new(150.0).with_label("orange price");
    let orange_count = Value::new(3.0).with_label("orange count");
    let tax = Value::new(1.1).with_label("tax");
    let apples = (&apple * &apple_count).with_label("apples");
    let oranges = (&orange * &orange_count).with_label("oranges");
    let subtotal = (&apples + &oranges).with_label("subtotal");
    let price = (&subtotal * &tax).with_label("price");

    println!("forward (순전파)");
    println!(
        "  {} x {} = {}",
        apple.data(),
        apple_count.data(),
        apples.data()
    );
    println!(
        "  {} x {} = {}",
        orange.data(),
        orange_count.data(),
        oranges.data()
    );
    println!(
        "  {} + {} = {}",
        apples.data(),
        oranges.data(),
        subtotal.data()
    );
    println!(
        "  {} x {} = {:.1}",
        subtotal.data(),
        tax.data(),
        price.data()
    );

    price.backward();
    println!("backward (역전파): d price / d input");
    for v in [
        &price,
        &subtotal,
        &apples,
        &oranges,
        &apple,
        &apple_count,
        &orange,
        &orange_count,
        &tax,
    ] {
        println!("  {:<12} {:>8.1}", v.label().unwrap_or_default(), v.grad());
    }
    support::draw(&out, "apple-orange", &price, &DotOptions::new());
    support::report(&out);
}
