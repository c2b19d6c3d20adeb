//! The numerical gradient against closed forms, `gradcheck`'s verdicts and
//! errors, and the property that backprop agrees with central differences
//! on random expression graphs over every operation.

use chainrule::check::{CheckError, GradCheck, gradcheck, numerical_gradient};
use chainrule::{Value, grad};
use proptest::prelude::*;

mod common;
use common::programs::{build, config, step};

#[test]
fn numerical_gradient_is_approximate_in_both_directions() {
    // d/dx e^x at 1 is e. Central differences err by about h² e / 6 for
    // large steps (truncation) and by about ε e / h for tiny ones (rounding).
    let f = |v: &[Value]| v[0].exp();
    let e = std::f64::consts::E;
    let error = |h: f64| (numerical_gradient(f, &[1.0], h).unwrap()[0] - e).abs();
    let (coarse, medium, fine, tiny) = (error(1e-1), error(1e-2), error(1e-5), error(1e-13));
    assert!((coarse - 1e-2 * e / 6.0).abs() < 1e-5, "{coarse}");
    assert!((coarse / medium - 100.0).abs() < 1.0); // error ∝ h²
    assert!(fine < 1e-9);
    assert!(tiny > 1e-5, "rounding error dominates at h = 1e-13: {tiny}");
}

#[test]
fn the_lectures_walk_through_nudges_each_weight() {
    // Nudge each weight of L = Σ (w_i x_i)² by 0.0001 and watch the loss:
    // dL/dw_i = 2 w_i x_i².
    let x = [0.5, -1.5, 2.0];
    let w = [0.34, -1.11, 0.78];
    let loss = move |v: &[Value]| {
        let terms: Vec<Value> = v.iter().zip(x).map(|(w, x)| (w * x).powf(2.0)).collect();
        Value::sum(&terms)
    };
    let numerical = numerical_gradient(loss, &w, 1e-4).unwrap();
    for i in 0..3 {
        let exact = 2.0 * w[i] * x[i] * x[i];
        assert!(
            (numerical[i] - exact).abs() < 1e-8,
            "{} vs {exact}",
            numerical[i]
        );
    }
}

#[test]
fn gradcheck_reports_each_input() {
    let f = |v: &[Value]| (&v[0] * &v[1]).ln() + v[1].powf(2.0);
    let report = gradcheck(f, &[2.0, 3.0]).unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.inputs.len(), 2);
    let (d0, d1) = (1.0 / 2.0, 1.0 / 3.0 + 6.0);
    assert!((report.inputs[0].analytic - d0).abs() < 1e-15);
    assert!((report.inputs[1].analytic - d1).abs() < 1e-14);
    assert!(
        report
            .inputs
            .iter()
            .all(|i| i.abs_error < 1e-8 && i.rel_error < 1e-8)
    );
    assert_eq!((report.step, report.atol, report.rtol), (1e-6, 1e-5, 1e-3));
    assert!(report.to_string().starts_with("gradcheck passed"));
}

#[test]
fn gradcheck_fails_at_a_kink() {
    // relu at 0: backprop says 0 (ties go to the 0), the central
    // difference sees half of each side, 0.5. gradcheck must flag it.
    let relu = |v: &[Value]| v[0].relu();
    let report = gradcheck(relu, &[0.0]).unwrap();
    assert!(!report.passed());
    let input = report.failures().next().unwrap();
    assert_eq!((input.analytic, input.numerical), (0.0, 0.5));
    assert_eq!(report.max_abs_error(), 0.5);
    let table = report.to_string();
    assert!(table.starts_with("gradcheck FAILED") && table.contains("<- fails"));

    assert!(gradcheck(relu, &[1.0]).unwrap().passed());
}

#[test]
fn gradcheck_tolerances_decide() {
    // f = x³ at 10 with step 1e-2: truncation error h² = 1e-4 on 300.
    let f = |v: &[Value]| v[0].powf(3.0);
    let loose = GradCheck::new().step(1e-2).unwrap();
    assert!(loose.run(f, &[10.0]).unwrap().passed());
    let strict = loose.atol(1e-6).unwrap().rtol(1e-9).unwrap();
    assert!(!strict.run(f, &[10.0]).unwrap().passed());
}

#[test]
fn bad_settings_and_inputs_are_typed_errors() {
    for step in [0.0, -1e-6, f64::NAN, f64::INFINITY] {
        let error = GradCheck::new().step(step).unwrap_err();
        assert!(matches!(error, CheckError::InvalidStep(_)));
        assert!(error.to_string().contains("use a small positive step"));
        assert!(numerical_gradient(|v| v[0].clone(), &[1.0], step).is_err());
    }
    let error = GradCheck::new().atol(-1.0).unwrap_err();
    assert_eq!(
        error,
        CheckError::InvalidTolerance {
            name: "atol",
            value: -1.0
        }
    );
    assert!(GradCheck::new().rtol(f64::NAN).is_err());

    let error = gradcheck(|v| v[0].clone(), &[1.0, f64::INFINITY]).unwrap_err();
    assert_eq!(
        error,
        CheckError::NonFiniteInput {
            index: 1,
            value: f64::INFINITY
        }
    );
    assert!(error.to_string().contains("input 1 is inf"));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn backprop_agrees_with_gradcheck_on_random_graphs(
        at in prop::collection::vec(-2.0..2.0f64, 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let constants: Vec<Value> = at.iter().copied().map(Value::constant).collect();
        let (_, smooth) = build(&program, &constants);
        prop_assume!(smooth);
        let report = gradcheck(|v| build(&program, v).0, &at).unwrap();
        prop_assert!(report.passed(), "{}\n{:?}", report, program);
    }
}

/// Each node's Σ |edge gradient into it|: the scale of the rounding error
/// of its gradient when its shares are summed in another order (they may
/// cancel, so the error is relative to this, not to the result).
fn edge_scales(graph: &chainrule::graph::Graph) -> Vec<f64> {
    let mut scales = vec![0.0; graph.len()];
    for node in graph.nodes() {
        for (position, &operand) in node.operands.iter().enumerate() {
            scales[operand] += graph.edge_grad(node.id, position).unwrap_or(0.0).abs();
        }
    }
    scales
}

/// Equal (`exact`), or equal to within the rounding of a sum whose terms
/// have total magnitude `scale`, added in another order.
fn agree(a: f64, b: f64, exact: bool, scale: f64) -> bool {
    let tolerance = 1e-12 * scale.max(a.abs()).max(b.abs());
    if exact || tolerance == 0.0 {
        a == b
    } else {
        (a - b).abs() <= tolerance
    }
}

proptest! {
    #![proptest_config(config())]

    /// `grad`'s first derivatives are backward's, by the same rules in the
    /// same order: equal (to the bit but for the sign of a zero), shared
    /// lists included (`grad` keeps backward's buffers for them).
    #[test]
    fn grad_agrees_with_backward_on_random_graphs(
        at in prop::collection::vec(-2.0..2.0f64, 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let inputs: Vec<Value> = at.iter().copied().map(Value::new).collect();
        let (output, _) = build(&program, &inputs);
        output.backward();
        let by_backward: Vec<f64> = inputs.iter().map(Value::grad).collect();
        prop_assume!(by_backward.iter().all(|g| g.is_finite()) && output.data().is_finite());
        let by_grad: Vec<f64> = grad(&output, &inputs).iter().map(Value::data).collect();
        let scales = edge_scales(&output.graph());
        let order = output.topological_order();
        for ((x, g), b) in inputs.iter().zip(&by_grad).zip(&by_backward) {
            let scale = order.iter().position(|v| v.ptr_eq(x)).map_or(0.0, |id| scales[id]);
            prop_assert!(agree(*g, *b, true, scale), "grad {:?} vs backward {:?}\n{:?}", by_grad, by_backward, program);
        }
        // grad read and changed no .grad().
        let after: Vec<f64> = inputs.iter().map(Value::grad).collect();
        prop_assert_eq!(after, by_backward);
    }

    /// The pictures' edge gradients (each the consumer's gradient times the
    /// gate's local gradient) add up, into each node, to backward's gradient
    /// of that node.
    #[test]
    fn edge_gradients_add_up_to_backwards(
        at in prop::collection::vec(-2.0..2.0f64, 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let inputs: Vec<Value> = at.iter().copied().map(Value::new).collect();
        let (output, _) = build(&program, &inputs);
        output.backward();
        let graph = output.graph();
        prop_assume!(graph.nodes().iter().all(|n| n.data.is_finite() && n.grad.is_finite()));
        let mut sums = vec![0.0; graph.len()];
        for node in graph.nodes() {
            for (position, &operand) in node.operands.iter().enumerate() {
                sums[operand] += graph.edge_grad(node.id, position).unwrap_or(0.0);
            }
        }
        let last = graph.len() - 1;
        let scales = edge_scales(&graph);
        for node in graph.nodes().iter().filter(|n| n.requires_grad && n.id != last) {
            prop_assert!(agree(sums[node.id], node.grad, false, scales[node.id]), "node {}: edges {} vs grad {}", node.id, sums[node.id], node.grad);
        }
    }

    /// The trace's final gradients are backward's, for every node: equal
    /// (but for the sign of a zero), shared lists included (the trace keeps
    /// backward's buffers for them).
    #[test]
    fn the_trace_ends_where_backward_does(
        at in prop::collection::vec(-2.0..2.0f64, 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let inputs: Vec<Value> = at.iter().copied().map(Value::new).collect();
        let (output, _) = build(&program, &inputs);
        let trace = output.backward_trace();
        output.backward();
        let graph = output.graph();
        prop_assume!(graph.nodes().iter().all(|n| n.data.is_finite() && n.grad.is_finite()));
        let scales = edge_scales(&graph);
        for node in graph.nodes().iter().filter(|n| n.requires_grad) {
            prop_assert!(
                agree(trace.grad(node.id), node.grad, true, scales[node.id]),
                "node {}: trace {} vs backward {}\n{:?}", node.id, trace.grad(node.id), node.grad, program
            );
        }
        // Each share is the running sum's step: upstream × local, added.
        for step in trace.backward() {
            for share in &step.shares {
                if step.upstream != 0.0 {
                    prop_assert_eq!(share.contribution.to_bits(), (step.upstream * share.local).to_bits());
                }
            }
        }
    }

    /// A second backward adds exactly what the first did, bit for bit,
    /// shared lists included.
    #[test]
    fn a_second_backward_doubles_exactly(
        at in prop::collection::vec(-2.0..2.0f64, 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let inputs: Vec<Value> = at.iter().copied().map(Value::new).collect();
        let (output, _) = build(&program, &inputs);
        output.backward();
        let first: Vec<f64> = inputs.iter().map(Value::grad).collect();
        prop_assume!(first.iter().all(|g| g.is_finite()));
        output.backward();
        for (x, g) in inputs.iter().zip(&first) {
            prop_assert_eq!(x.grad().to_bits(), (2.0 * g).to_bits(), "{:?}", program);
        }
    }
}
