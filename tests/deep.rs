//! Deep graphs: a million nodes in a chain must build, backpropagate, be
//! searched and drop without recursion (a test thread has a 2 MiB stack; a
//! recursive walk or drop overflows it after some ten thousand nodes).

use chainrule::Value;

const DEPTH: usize = 1_000_000;

#[test]
fn a_million_node_chain_builds_backprops_and_drops() {
    let x = Value::new(1.0);
    let step = Value::new(0.5);
    let mut y = x.clone();
    for _ in 0..DEPTH {
        y = &y + &step;
    }
    y.backward();
    assert_eq!(y.data(), 1.0 + 0.5 * DEPTH as f64);
    assert_eq!(x.grad(), 1.0);
    assert_eq!(step.grad(), DEPTH as f64);
    assert_eq!(y.find_anomaly(), None);
    drop(y);
    assert_eq!(x.data(), 1.0); // the leaves we hold outlive the chain
}

#[test]
fn a_chain_through_every_gate_drops_iteratively() {
    // x -> x * x -> exp -> ln -> max(., k) -> pow 1 -> sum -> dot ...: each
    // link holds the previous node once or twice, inline or in an n-ary box.
    let x = Value::new(1.0);
    let one = Value::constant(1.0);
    let mut y = x.clone();
    for i in 0..DEPTH / 4 {
        y = match i % 4 {
            0 => &y * &y,
            1 => y.exp().ln(),
            2 => Value::sum(&[y.clone(), Value::constant(0.0)]).max(&Value::constant(-5.0)),
            _ => Value::dot(&[y.powf(1.0)], std::slice::from_ref(&one)).unwrap(),
        };
    }
    y.backward();
    assert!((y.data() - 1.0).abs() < 1e-9);
    // d/dx of x^(2^k) at 1 is 2^k with k = DEPTH / 16: overflows to infinity.
    assert_eq!(x.grad(), f64::INFINITY);
}

#[test]
fn a_million_node_graph_held_from_the_middle_drops_in_any_order() {
    let x = Value::new(2.0);
    let mut y = x.clone();
    let mut middle = None;
    for i in 0..DEPTH {
        y = &y * 1.0;
        if i == DEPTH / 2 {
            middle = Some(y.clone());
        }
    }
    drop(x);
    drop(y); // frees the upper half, stops at the held middle
    let middle = middle.unwrap();
    middle.backward();
    assert_eq!(middle.data(), 2.0);
}

#[test]
fn a_million_squares_drop_iteratively() {
    // Each node holds its operand twice (`y * y`), so the operand's count is
    // two, not one, when the node that owns it alone is dropped.
    let mut y = Value::new(1.0);
    for _ in 0..DEPTH {
        y = &y * &y;
    }
    assert_eq!(y.data(), 1.0);
    drop(y);
}

#[test]
fn a_million_shared_list_links_build_backprop_and_drop() {
    // Each link holds the previous node in a shared list that only it
    // holds: the last holder of a list must unlink it iteratively too.
    use std::rc::Rc;
    let x = Value::new(1.0);
    let one: Rc<[f64]> = Rc::from([1.0]);
    let mut y = x.clone();
    for i in 0..DEPTH {
        let list: Rc<[Value]> = Rc::from([y]);
        y = if i % 2 == 0 {
            chainrule::engine::tuning::dot_const_shared(&list, &one).unwrap()
        } else {
            chainrule::engine::tuning::dot_shared(&list, &Rc::from([Value::constant(1.0)])).unwrap()
        };
    }
    y.backward();
    assert_eq!((y.data(), x.grad()), (1.0, 1.0));
    drop(y);
    assert_eq!(x.data(), 1.0);
}
