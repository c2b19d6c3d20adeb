//! The lecture's worked examples (the apple-shopping graphs of part 5) and
//! the cs231n circuits it borrows, with the numbers printed on the slides and
//! in the course notes.

use chainrule::Value;

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{actual} is not {expected}"
    );
}

#[test]
fn apple_shopping() {
    // 2 apples at 100 each, 10% consumption tax.
    let apple = Value::new(100.0);
    let count = Value::new(2.0);
    let tax = Value::new(1.1);
    let apples = &apple * &count;
    let price = &apples * &tax;
    price.backward();

    assert_close(apples.data(), 200.0);
    assert_close(price.data(), 220.0);
    assert_close(apple.grad(), 2.2); // one more won per apple: 222.2
    assert_close(count.grad(), 110.0);
    assert_close(tax.grad(), 200.0); // tax 1.1 -> 2.1: 420
    assert_close(apples.grad(), 1.1); // the mul gate swaps: tax
}

#[test]
fn apple_and_orange_shopping() {
    let apple = Value::new(100.0);
    let apple_count = Value::new(2.0);
    let orange = Value::new(150.0);
    let orange_count = Value::new(3.0);
    let tax = Value::new(1.1);
    let apples = &apple * &apple_count;
    let oranges = &orange * &orange_count;
    let subtotal = &apples + &oranges;
    let price = &subtotal * &tax;
    price.backward();

    assert_close(subtotal.data(), 650.0);
    assert_close(price.data(), 715.0);
    assert_close(subtotal.grad(), 1.1);
    assert_close(apples.grad(), 1.1); // the add gate passes it through
    assert_close(oranges.grad(), 1.1);
    assert_close(apple.grad(), 2.2);
    assert_close(apple_count.grad(), 110.0);
    assert_close(orange.grad(), 3.3);
    assert_close(orange_count.grad(), 165.0);
    assert_close(tax.grad(), 650.0);
}

#[test]
fn cs231n_simple_circuit() {
    // f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4.
    let x = Value::new(-2.0);
    let y = Value::new(5.0);
    let z = Value::new(-4.0);
    let q = &x + &y;
    let f = &q * &z;
    f.backward();

    assert_eq!(f.data(), -12.0);
    assert_eq!((x.grad(), y.grad(), z.grad()), (-4.0, -4.0, 3.0));
    assert_eq!(q.grad(), -4.0);
}

#[test]
fn cs231n_sigmoid_neuron() {
    // f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), from the course notes.
    let w = [Value::new(2.0), Value::new(-3.0), Value::new(-3.0)];
    let x = [Value::new(-1.0), Value::new(-2.0)];
    let dot = &w[0] * &x[0] + &w[1] * &x[1] + &w[2];
    let f = dot.sigmoid();
    f.backward();

    assert_close(f.data(), 0.7310585786300049);
    let dx = [0.3932238664829637, -0.5898357997244456];
    let dw = [
        -0.19661193324148185,
        -0.3932238664829637,
        0.19661193324148185,
    ];
    for (value, expected) in x.iter().zip(dx) {
        assert_close(value.grad(), expected);
    }
    for (value, expected) in w.iter().zip(dw) {
        assert_close(value.grad(), expected);
    }
    // The lecture's sigmoid derivative σ(1 - σ) at the neuron's input.
    assert_close(dot.grad(), f.data() * (1.0 - f.data()));
}

#[test]
fn cs231n_sigmoid_neuron_fused_dot() {
    // The same neuron with one fused dot node: the same gradients.
    let w = [Value::new(2.0), Value::new(-3.0)];
    let x = [Value::new(-1.0), Value::new(-2.0)];
    let b = Value::new(-3.0);
    let f = (Value::dot(&w, &x).unwrap() + &b).sigmoid();
    f.backward();

    assert_close(f.data(), 0.7310585786300049);
    assert_close(x[0].grad(), 0.3932238664829637);
    assert_close(x[1].grad(), -0.5898357997244456);
    assert_close(w[0].grad(), -0.19661193324148185);
    assert_close(w[1].grad(), -0.3932238664829637);
    assert_close(b.grad(), 0.19661193324148185);
}

#[test]
fn cs231n_gate_patterns() {
    // 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1: the add gate
    // distributes, the max gate routes, the mul gate swaps.
    let x = Value::new(3.0);
    let y = Value::new(-4.0);
    let z = Value::new(2.0);
    let w = Value::new(-1.0);
    let f = 2.0 * (&x * &y + z.max(&w));
    f.backward();

    assert_eq!(f.data(), -20.0);
    assert_eq!(
        (x.grad(), y.grad(), z.grad(), w.grad()),
        (-8.0, 6.0, 2.0, 0.0)
    );
}

#[test]
fn chain_rule_square_of_sum() {
    // The lecture's z = t^2, t = x + y: dz/dx = dz/dt dt/dx = 2t · 1.
    for (x0, y0) in [(1.0, 2.0), (-3.0, 0.5), (0.0, 0.0), (1e3, -2.5)] {
        let x = Value::new(x0);
        let y = Value::new(y0);
        let t = &x + &y;
        let z = t.powf(2.0);
        z.backward();
        assert_close(z.data(), (x0 + y0) * (x0 + y0));
        assert_close(x.grad(), 2.0 * (x0 + y0));
        assert_close(y.grad(), 2.0 * (x0 + y0));
    }
}
