//! The lecture's apple shopping (사과 쇼핑): the forward pass computes the
//! price, the backward pass how much the price moves per unit of each input.
//! Writes the graphs as DOT and SVG, in micrograd's style and the lecture's,
//! and an explorer of each; labelled with the slides' Korean words
//! (사과 가격, 사과 개수, 소비세), or in English with `--lang en`.
//!
//! ```text
//! cargo run --release --example apple [-- --out DIR] [--lang ko|en]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::graph::{DotOptions, ExplorerOptions, Language};

/// The lecture's names for the shopping's quantities, in Korean (the
/// slides' words) and English: the same labels in the example, the README
/// and notebook 01.
struct Words {
    apple_price: &'static str,
    apple_count: &'static str,
    apple_cost: &'static str,
    orange_price: &'static str,
    orange_count: &'static str,
    orange_cost: &'static str,
    subtotal: &'static str,
    tax: &'static str,
    price: &'static str,
}

const KOREAN: Words = Words {
    apple_price: "사과 가격",
    apple_count: "사과 개수",
    apple_cost: "사과 금액",
    orange_price: "오렌지 가격",
    orange_count: "오렌지 개수",
    orange_cost: "오렌지 금액",
    subtotal: "합계",
    tax: "소비세",
    price: "최종 가격",
};

const ENGLISH: Words = Words {
    apple_price: "apple price",
    apple_count: "apple count",
    apple_cost: "apple cost",
    orange_price: "orange price",
    orange_count: "orange count",
    orange_cost: "orange cost",
    subtotal: "subtotal",
    tax: "tax",
    price: "price",
};

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--lang"]);
    let out = flags.out_dir();
    let language = flags.language();
    let w = match language {
        Language::Korean => &KOREAN,
        Language::English => &ENGLISH,
    };
    let explorer = || ExplorerOptions::new().language(language);

    println!("사과 쇼핑 / apple shopping: 2 apples at 100 each, 10% consumption tax\n");
    let apple = Value::new(100.0).with_label(w.apple_price);
    let count = Value::new(2.0).with_label(w.apple_count);
    let tax = Value::new(1.1).with_label(w.tax);
    let apples = (&apple * &count).with_label(w.apple_cost);
    let price = (&apples * &tax).with_label(w.price);

    println!("forward (순전파)");
    println!("  {} x {} = {}", apple.data(), count.data(), apples.data());
    println!("  {} x {} = {:.1}", apples.data(), tax.data(), price.data());

    price.backward();
    println!("backward (역전파): d {} / d input", w.price);
    for v in [&price, &apples, &apple, &count, &tax] {
        println!("  {:<12} {:>8.1}", v.label().unwrap_or_default(), v.grad());
    }
    println!(
        "  one more won per apple (사과 가격이 1원 오르면): 101 x 2 x 1.1 = {:.1} (+{:.1})",
        101.0 * 2.0 * 1.1,
        apple.grad()
    );
    support::draw_explored(&out, "apple", &price, &DotOptions::new(), explorer());

    println!(
        "\n사과와 오렌지 쇼핑 / apple and orange shopping: 2 apples at 100, 3 oranges at 150, 10% tax\n"
    );
    let apple = Value::new(100.0).with_label(w.apple_price);
    let apple_count = Value::new(2.0).with_label(w.apple_count);
    let orange = Value::new(150.0).with_label(w.orange_price);
    let orange_count = Value::new(3.0).with_label(w.orange_count);
    let tax = Value::new(1.1).with_label(w.tax);
    let apples = (&apple * &apple_count).with_label(w.apple_cost);
    let oranges = (&orange * &orange_count).with_label(w.orange_cost);
    let subtotal = (&apples + &oranges).with_label(w.subtotal);
    let price = (&subtotal * &tax).with_label(w.price);

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
    println!("backward (역전파): d {} / d input", w.price);
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
    support::draw_explored(&out, "apple-orange", &price, &DotOptions::new(), explorer());
    support::report(&out);
}
