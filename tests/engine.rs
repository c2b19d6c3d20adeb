//! The engine's semantics: shared nodes, repeated backward, constants, the
//! max gate at ties, IEEE values, anomalies, operators and formatting.
//! Expected numbers are closed-form derivatives worked out by hand.

use chainrule::{AnomalyKind, EngineError, Op, Value};

#[test]
fn a_node_used_twice_gets_the_summed_gradient() {
    let a = Value::new(3.0);
    let square = &a * &a; // d/da a² = 2a
    square.backward();
    assert_eq!(a.grad(), 6.0);

    let a = Value::new(3.0);
    let b = &a + &a;
    let c = &b + &b; // c = 4a
    c.backward();
    assert_eq!((c.data(), b.grad(), a.grad()), (12.0, 2.0, 4.0));

    let a = Value::new(-2.0);
    let xs = vec![a.clone(), a.clone(), a.clone()];
    let dot = Value::dot(&xs, &xs).unwrap(); // 3a², d/da = 6a
    dot.backward();
    assert_eq!((dot.data(), a.grad()), (12.0, -12.0));

    let a = Value::new(1.5);
    let m = a.max(&a); // a tie with itself: the gradient is routed once
    m.backward();
    assert_eq!((m.data(), a.grad()), (1.5, 1.0));
}

#[test]
fn backward_twice_doubles_leaves_and_keeps_intermediates() {
    let x = Value::new(2.0);
    let w = Value::new(-3.0);
    let h = &x * &w;
    let y = h.exp() + &x;
    y.backward();
    let (dx, dw, dh) = (x.grad(), w.grad(), h.grad());
    assert_eq!(dh, (-6.0f64).exp());
    assert_eq!(dx, -3.0 * (-6.0f64).exp() + 1.0);
    assert_eq!(dw, 2.0 * (-6.0f64).exp());

    y.backward();
    assert_eq!((x.grad(), w.grad()), (2.0 * dx, 2.0 * dw)); // exactly double
    assert_eq!((h.grad(), y.grad()), (dh, 1.0)); // reset, then recomputed

    x.zero_grad();
    w.zero_grad();
    y.backward();
    assert_eq!((x.grad(), w.grad()), (dx, dw));
}

#[test]
fn each_intermediate_holds_the_gradient_of_the_last_output() {
    let x = Value::new(2.0);
    let t = &x * 3.0; // t = 3x
    let u = t.powf(2.0); // u = 9x²
    let v = &t + 1.0;
    u.backward();
    assert_eq!(t.grad(), 12.0); // du/dt = 2t
    v.backward(); // a second output sharing t
    assert_eq!(t.grad(), 1.0); // dv/dt, not 12 + 1
    assert_eq!(x.grad(), 36.0 + 3.0); // the leaf accumulates both
}

#[test]
fn constants_never_receive_a_gradient() {
    let k1 = Value::constant(2.0);
    let k2 = Value::constant(5.0);
    let k = (&k1 * &k2).exp().ln(); // a constant subgraph
    let x = Value::new(3.0);
    let y = &x * &k;
    y.backward();
    assert!(!k.requires_grad() && !k1.requires_grad());
    assert!(y.requires_grad());
    assert!((x.grad() - 10.0).abs() < 1e-12);
    assert_eq!((k.grad(), k1.grad(), k2.grad()), (0.0, 0.0, 0.0));

    // An output that reaches no gradient-wanting leaf: backward is a no-op.
    let z = &k1 + &k2;
    z.backward();
    assert_eq!((z.grad(), k1.grad()), (0.0, 0.0));

    // The constant exponent of pow is a constant too.
    let p = x.powf(2.0);
    assert!(!p.operands()[1].requires_grad());
}

#[test]
fn backward_on_a_leaf_accumulates_one() {
    let x = Value::new(4.0);
    x.backward();
    x.backward();
    assert_eq!(x.grad(), 2.0);
}

#[test]
fn relu_and_max_route_ties_to_the_right() {
    for (x0, y0, dx) in [(0.0, 0.0, 0.0), (2.0, 2.0, 1.0), (-1.0, 0.0, 0.0)] {
        let x = Value::new(x0);
        let y = x.relu();
        y.backward();
        assert_eq!((y.data(), x.grad()), (y0, dx), "relu at {x0}");
    }
    let a = Value::new(1.0);
    let b = Value::new(1.0);
    let m = a.max(&b);
    m.backward();
    assert_eq!((a.grad(), b.grad()), (0.0, 1.0));
}

#[test]
fn values_follow_ieee_and_nothing_panics() {
    assert_eq!(Value::new(0.0).ln().data(), f64::NEG_INFINITY);
    assert!(Value::new(-1.0).ln().data().is_nan());
    assert_eq!(Value::new(1000.0).exp().data(), f64::INFINITY);
    assert_eq!((Value::new(1.0) / 0.0).data(), f64::INFINITY);
    assert!(Value::new(f64::NAN).relu().data().is_nan()); // NaN is not hidden
    assert!(
        Value::constant(0.0)
            .max(&Value::new(f64::NAN))
            .data()
            .is_nan()
    );

    let x = Value::new(0.0);
    let y = x.ln() * 2.0;
    y.backward();
    assert_eq!(x.grad(), f64::INFINITY); // 2 / 0
}

#[test]
fn sigmoid_and_tanh_stay_finite_at_extremes() {
    for x0 in [-1000.0, -40.0, 40.0, 1000.0] {
        let x = Value::new(x0);
        let s = x.sigmoid();
        s.backward();
        let expected = 1.0 / (1.0 + (-x0).exp());
        assert!((s.data() - expected).abs() < 1e-15, "σ({x0})");
        assert!((x.grad() - expected * (1.0 - expected)).abs() < 1e-15);

        let x = Value::new(x0);
        let t = x.tanh();
        t.backward();
        assert_eq!(t.data(), x0.tanh());
        assert!(x.grad().is_finite() && x.grad().abs() < 1e-15);
    }
}

#[test]
fn find_anomaly_points_at_the_first_bad_value() {
    let x = Value::new(2.0).with_label("x");
    let y = (&x * 3.0).with_label("y");
    assert_eq!(y.find_anomaly(), None);

    let bad = Value::new(f64::NAN).with_label("input");
    let z = (&x + &bad) * 2.0;
    let anomaly = z.find_anomaly().expect("the NaN input");
    assert_eq!(anomaly.kind, AnomalyKind::Data);
    assert_eq!(anomaly.op, Op::Leaf);
    assert_eq!(anomaly.label.as_deref(), Some("input"));

    // Forward breaks inside: log of a negative number.
    let a = Value::new(1.0);
    let b = Value::new(3.0);
    let d = (&a - &b).with_label("difference");
    let l = d.ln().with_label("log");
    let out = (&l * &l).exp();
    let anomaly = out.find_anomaly().expect("NaN from ln(-2)");
    assert_eq!(anomaly.kind, AnomalyKind::Data);
    assert_eq!(
        (anomaly.op, anomaly.label.as_deref()),
        (Op::Log, Some("log"))
    );
    assert_eq!(anomaly.operands, vec![-2.0]);
    assert!(anomaly.data.is_nan());
    let message = anomaly.to_string();
    assert!(message.contains("log") && message.contains("NaN") && message.contains("-2"));

    // Backward breaks: sqrt has an infinite slope at 0; forward is finite.
    let x = Value::new(0.0).with_label("x");
    let s = x.powf(0.5);
    let out = &s + 1.0;
    assert_eq!(out.find_anomaly(), None);
    out.backward();
    let anomaly = out.find_anomaly().expect("infinite gradient");
    assert_eq!(anomaly.kind, AnomalyKind::Grad);
    assert_eq!(anomaly.label.as_deref(), Some("x"));
    assert_eq!(anomaly.grad, f64::INFINITY);
}

#[test]
fn find_anomaly_can_be_called_again() {
    // The walk marks nodes; a second walk (or a backward) must see them clear.
    let x = Value::new(f64::INFINITY);
    let y = &x * 2.0;
    assert!(y.find_anomaly().is_some());
    assert!(y.find_anomaly().is_some());
    let w = Value::new(1.0);
    let z = &w * 3.0 + &y * 0.0;
    z.backward();
    assert_eq!(w.grad(), 3.0);
}

#[test]
fn operators_work_on_every_mix_of_operands() {
    let a = Value::new(6.0);
    let b = Value::new(3.0);
    type Case = (fn(&Value, &Value) -> Value, f64, f64, f64);
    // (expression, value, d/da, d/db) at a = 6, b = 3.
    let cases: [Case; 20] = [
        (|a, b| a + b, 9.0, 1.0, 1.0),
        (|a, b| a.clone() + b, 9.0, 1.0, 1.0),
        (|a, b| a + b.clone(), 9.0, 1.0, 1.0),
        (|a, b| a.clone() + b.clone(), 9.0, 1.0, 1.0),
        (|a, b| a - b, 3.0, 1.0, -1.0),
        (|a, b| a.clone() - b.clone(), 3.0, 1.0, -1.0),
        (|a, b| a * b, 18.0, 3.0, 6.0),
        (|a, b| a.clone() * b.clone(), 18.0, 3.0, 6.0),
        (|a, b| a / b, 2.0, 1.0 / 3.0, -6.0 / 9.0),
        (|a, b| a.clone() / b.clone(), 2.0, 1.0 / 3.0, -6.0 / 9.0),
        (|a, _| a + 2.0, 8.0, 1.0, 0.0),
        (|a, _| 2.0 + a.clone(), 8.0, 1.0, 0.0),
        (|a, _| a.clone() - 2.0, 4.0, 1.0, 0.0),
        (|a, _| 2.0 - a, -4.0, -1.0, 0.0),
        (|a, _| a * 2.0, 12.0, 2.0, 0.0),
        (|a, _| 2.0 * a.clone(), 12.0, 2.0, 0.0),
        (|a, _| a / 2.0, 3.0, 0.5, 0.0),
        (|a, _| 12.0 / a.clone(), 2.0, -12.0 / 36.0, 0.0),
        (|a, _| -a, -6.0, -1.0, 0.0),
        (|a, _| -a.clone(), -6.0, -1.0, 0.0),
    ];
    for (i, (f, value, da, db)) in cases.into_iter().enumerate() {
        a.zero_grad();
        b.zero_grad();
        let out = f(&a, &b);
        out.backward();
        assert!((out.data() - value).abs() < 1e-12, "case {i} value");
        assert!((a.grad() - da).abs() < 1e-12, "case {i} d/da");
        assert!((b.grad() - db).abs() < 1e-12, "case {i} d/db");
    }
}

#[test]
fn assignment_operators_rebind_to_a_new_node() {
    let x = Value::new(2.0);
    let mut y = x.clone();
    y += &x; // 2x
    y *= 3.0; // 6x
    y -= Value::new(1.0); // 6x - 1
    y /= 2.0; // 3x - 0.5
    y += 1.0;
    y -= 0.5; // 3x
    y *= &x; // 3x²
    y /= Value::constant(3.0); // x²
    y.backward();
    assert!(!y.ptr_eq(&x));
    assert_eq!(x.data(), 2.0); // the old node is untouched
    assert!((y.data() - 4.0).abs() < 1e-12);
    assert!((x.grad() - 4.0).abs() < 1e-12);
}

#[test]
fn sum_and_dot_are_the_add_and_mul_gates_fused() {
    let xs: Vec<Value> = [1.0, -2.0, 3.5].into_iter().map(Value::new).collect();
    let ws: Vec<Value> = [0.5, 4.0, -1.0].into_iter().map(Value::new).collect();

    let by_iter: Value = xs.iter().sum();
    let by_owned: Value = xs.clone().into_iter().sum();
    let fused = Value::sum(&xs);
    assert_eq!(
        (by_iter.op(), by_owned.op(), fused.op()),
        (Op::Sum, Op::Sum, Op::Sum)
    );
    assert_eq!(fused.data(), 2.5);
    assert_eq!(Value::sum(&[]).data(), 0.0);

    let dot = Value::dot(&ws, &xs).unwrap();
    dot.backward();
    assert_eq!(dot.data(), 0.5 - 8.0 - 3.5);
    for (w, x) in ws.iter().zip(&xs) {
        assert_eq!((w.grad(), x.grad()), (x.data(), w.data())); // swapped
    }
    assert_eq!(dot.operands().len(), 6);

    let err = Value::dot(&ws, &xs[..2]).unwrap_err();
    assert_eq!(
        err,
        EngineError::LengthMismatch {
            weights: 3,
            inputs: 2
        }
    );
    assert!(err.to_string().contains("3 weights with 2 inputs"));
}

#[test]
fn every_dot_gate_refuses_unequal_lengths_alike() {
    use chainrule::EngineError;
    use chainrule::engine::tuning;
    use std::rc::Rc;
    let two = [Value::new(1.0), Value::new(2.0)];
    let expected = EngineError::LengthMismatch {
        weights: 2,
        inputs: 1,
    };
    assert_eq!(Value::dot(&two, &[Value::new(1.0)]).unwrap_err(), expected);
    assert_eq!(Value::dot_const(&two, &[1.0]).unwrap_err(), expected);
    let ws: Rc<[Value]> = Rc::from(two);
    let xs: Rc<[Value]> = Rc::from([Value::new(1.0)]);
    assert_eq!(tuning::dot_shared(&ws, &xs).unwrap_err(), expected);
    assert_eq!(
        tuning::dot_const_shared(&ws, &Rc::from([1.0])).unwrap_err(),
        expected
    );
}

#[test]
fn labels_and_formatting() {
    let a = Value::new(2.0).with_label("a");
    assert_eq!(format!("{a}"), "Value(data=2.0000, grad=0.0000)");
    assert_eq!(format!("{a:.1}"), "Value(data=2.0, grad=0.0)");
    let s = Value::sum(&[a.clone(), a.clone()]).with_label("twice a");
    assert_eq!(s.label().as_deref(), Some("twice a"));
    assert_eq!(s.operands().len(), 2); // labelling keeps the operands
    assert_eq!(Value::new(1.0).label(), None);
    assert!(format!("{s:?}").contains("twice a"));
}

#[test]
fn set_data_changes_what_the_next_forward_pass_sees() {
    let w = Value::new(1.0);
    let loss = |w: &Value| (w - 3.0).powf(2.0);
    for _ in 0..100 {
        w.zero_grad();
        loss(&w).backward();
        w.set_data(w.data() - 0.1 * w.grad());
    }
    assert!((w.data() - 3.0).abs() < 1e-9); // gradient descent finds the minimum
}

#[test]
fn recycled_nodes_come_back_clean_and_the_cache_is_bounded() {
    use chainrule::engine::tuning::{node_cache_len, set_node_cache_capacity};

    let previous = set_node_cache_capacity(500);
    let x = Value::new(1.0).with_label("x");
    let mut y = x.clone();
    for i in 0..2000 {
        y = (&y * 1.5).with_label(format!("node {i}"));
    }
    y.backward();
    drop(y);
    assert_eq!(node_cache_len(), 500); // bounded, though 2000 + 2000 nodes died

    // New nodes reuse those allocations: nothing of the old nodes shows.
    let fresh: Vec<Value> = (0..600).map(|i| Value::new(i as f64)).collect();
    assert!(node_cache_len() == 0);
    for (i, v) in fresh.iter().enumerate() {
        assert_eq!(
            (v.data(), v.grad(), v.label(), v.operands().len()),
            (i as f64, 0.0, None, 0)
        );
        assert!(v.requires_grad() && v.is_leaf());
    }
    let z = &fresh[1] * &fresh[2];
    z.backward();
    assert_eq!(
        (z.data(), fresh[1].grad(), fresh[2].grad()),
        (2.0, 2.0, 1.0)
    );
    assert_eq!(x.label().as_deref(), Some("x")); // a node we held is untouched

    set_node_cache_capacity(0);
    assert_eq!(node_cache_len(), 0);
    set_node_cache_capacity(previous);
}

#[test]
fn dot_const_is_dot_with_constant_inputs() {
    let cs = [0.5, -2.0, 0.0, 3.25];
    let ws_a: Vec<Value> = [1.5, 0.25, -4.0, 2.0].into_iter().map(Value::new).collect();
    let ws_b: Vec<Value> = ws_a.iter().map(|w| Value::new(w.data())).collect();
    let a = Value::dot_const(&ws_a, &cs).unwrap();
    let b = Value::dot(&ws_b, &cs.map(Value::constant)).unwrap();
    assert_eq!(a.data().to_bits(), b.data().to_bits());
    (&a * &a).backward();
    (&b * &b).backward();
    for ((wa, wb), c) in ws_a.iter().zip(&ws_b).zip(cs) {
        assert_eq!(wa.grad(), wb.grad());
        assert_eq!(wa.grad(), 2.0 * a.data() * c); // d(z²)/dw = 2 z c
    }
    assert_eq!(
        (a.op(), a.operands().len(), a.constant_inputs()),
        (Op::DotConst, 4, cs.to_vec())
    );
    let err = Value::dot_const(&ws_a, &cs[..2]).unwrap_err();
    assert_eq!(
        err,
        EngineError::LengthMismatch {
            weights: 4,
            inputs: 2
        }
    );
}

#[test]
fn labelled_gates_feeding_fused_nodes_backprop_fully() {
    // A labelled binary gate has an `Extra` like n-ary nodes do; backward
    // must still count and reach its operands.
    let x = Value::new(3.0);
    let g = &x * 2.0; // a gate feeding the labelled one
    let h = (&g + 1.0).with_label("h"); // a labelled add gate: h = 2x + 1
    let s = Value::sum(&[h.clone(), Value::constant(1.0)]); // 2x + 2
    let d = Value::dot_const(&[s.clone(), h.clone()], &[2.0, -1.0]).unwrap();
    d.backward(); // d = 2 (2x + 2) - (2x + 1) = 2x + 3
    assert_eq!((d.data(), x.grad(), g.grad()), (9.0, 2.0, 1.0));
}

#[test]
fn gates_reached_only_through_a_dead_sum_or_dot_are_reset() {
    use std::rc::Rc;
    let x = Value::new(1.0);
    let h = &x * 3.0;
    let ws: Rc<[Value]> = Rc::from([Value::new(-1.0)]);
    let hs: Rc<[Value]> = Rc::from([h.clone()]);
    // relu(-3) = 0 with gradient 0: nothing flows back into the dots or
    // the sum.
    let shared = chainrule::engine::tuning::dot_shared(&ws, &hs)
        .unwrap()
        .relu();
    let owned = Value::dot(&ws, &hs).unwrap().relu();
    let sum = (Value::sum(std::slice::from_ref(&h)) * -1.0).relu();
    for dead in [shared, owned, sum] {
        (&h * 2.0).backward();
        assert_eq!(h.grad(), 2.0);
        dead.backward();
        // d(dead)/dh is 0, and h must say so, not keep the 2 from before.
        assert_eq!(h.grad(), 0.0);
    }
}
