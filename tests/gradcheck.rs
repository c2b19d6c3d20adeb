//! The numerical gradient against closed forms, `gradcheck`'s verdicts and
//! errors, and the property that backprop agrees with central differences
//! on random expression graphs over every operation.

use chainrule::check::{CheckError, GradCheck, gradcheck, numerical_gradient};
use chainrule::engine::tuning;
use chainrule::{Value, grad};
use proptest::prelude::*;
use std::rc::Rc;

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

/// One step of a random program: an operation on earlier nodes, named by
/// index (taken modulo the number of nodes so far).
#[derive(Clone, Debug)]
enum Step {
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Div(usize, usize),
    Max(usize, usize),
    Neg(usize),
    Exp(usize),
    Log(usize),
    Pow(usize, f64),
    /// `a.pow(b)`: a value exponent.
    PowValue(usize, usize),
    Relu(usize),
    Sigmoid(usize),
    Tanh(usize),
    Sum(Vec<usize>),
    Dot(Vec<(usize, usize)>),
    AddConst(usize, f64),
    MulConst(usize, f64),
    DotConst(Vec<(usize, f64)>),
    /// Two `dot_const_shared` nodes over one weight list (the constants
    /// forwards, then backwards): backward gathers such lists' shares.
    DotConstShared(Vec<(usize, f64)>),
    /// Two `dot_shared` nodes over one weight list and one input list.
    DotShared(Vec<(usize, usize)>),
    /// Labels a node (which gives it an `Extra`, as n-ary nodes have).
    Label(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0..64usize;
    prop_oneof![
        (i(), i()).prop_map(|(a, b)| Step::Add(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Sub(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Mul(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Div(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Max(a, b)),
        i().prop_map(Step::Neg),
        i().prop_map(Step::Exp),
        i().prop_map(Step::Log),
        (
            i(),
            prop::sample::select(vec![2.0, 3.0, 0.5, -1.0, 1.5, -0.5])
        )
            .prop_map(|(a, k)| Step::Pow(a, k)),
        (i(), i()).prop_map(|(a, b)| Step::PowValue(a, b)),
        i().prop_map(Step::Relu),
        i().prop_map(Step::Sigmoid),
        i().prop_map(Step::Tanh),
        prop::collection::vec(i(), 0..5).prop_map(Step::Sum),
        prop::collection::vec((i(), i()), 1..5).prop_map(Step::Dot),
        (i(), -3.0..3.0f64).prop_map(|(a, k)| Step::AddConst(a, k)),
        (i(), -3.0..3.0f64).prop_map(|(a, k)| Step::MulConst(a, k)),
        prop::collection::vec((i(), -2.0..2.0f64), 1..5).prop_map(Step::DotConst),
        prop::collection::vec((i(), -2.0..2.0f64), 1..5).prop_map(Step::DotConstShared),
        prop::collection::vec((i(), i()), 1..5).prop_map(Step::DotShared),
        i().prop_map(Step::Label),
    ]
}

/// 512 random graphs per property (or `CHAINRULE_PROPTEST_CASES`); under Miri (`scripts/miri`), which runs
/// each about a thousand times slower, 3, with no failure file (Miri
/// isolates the file system).
fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 3,
            failure_persistence: None,
            max_global_rejects: 100_000,
            ..ProptestConfig::default()
        }
    } else {
        // CHAINRULE_PROPTEST_CASES=20000 for a longer hunt.
        let cases = std::env::var("CHAINRULE_PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(512);
        ProptestConfig {
            cases,
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        }
    }
}

/// Builds the program on `inputs`; the output sums every node, so each step
/// matters. Returns the output and whether the point is safely inside the
/// smooth domain of every operation (away from kinks, poles and overflow),
/// where a central difference can be trusted.
fn build(program: &[Step], inputs: &[Value]) -> (Value, bool) {
    let mut nodes: Vec<Value> = inputs.to_vec();
    let mut smooth = true;
    for step in program {
        let at = |i: &usize| nodes[i % nodes.len()].clone();
        let away = |x: f64, from: f64| (x - from).abs() > 1e-3;
        let node = match step {
            Step::Add(a, b) => at(a) + at(b),
            Step::Sub(a, b) => at(a) - at(b),
            Step::Mul(a, b) => at(a) * at(b),
            Step::Div(a, b) => {
                smooth &= at(b).data().abs() > 0.1;
                at(a) / at(b)
            }
            Step::Max(a, b) => {
                smooth &= away(at(a).data(), at(b).data());
                at(a).max(&at(b))
            }
            Step::Neg(a) => -at(a),
            Step::Exp(a) => at(a).exp(),
            Step::Log(a) => {
                smooth &= at(a).data() > 0.1;
                at(a).ln()
            }
            Step::Pow(a, k) => {
                let base = at(a).data();
                smooth &= if k.fract() == 0.0 && *k > 0.0 {
                    true
                } else {
                    base > 0.1
                };
                at(a).powf(*k)
            }
            Step::PowValue(a, b) => {
                let (base, exponent) = (at(a).data(), at(b).data());
                smooth &= base > 0.1 && exponent.abs() < 4.0;
                at(a).pow(&at(b))
            }
            Step::Relu(a) => {
                smooth &= away(at(a).data(), 0.0);
                at(a).relu()
            }
            Step::Sigmoid(a) => at(a).sigmoid(),
            Step::Tanh(a) => at(a).tanh(),
            Step::Sum(xs) => Value::sum(&xs.iter().map(at).collect::<Vec<_>>()),
            Step::Dot(pairs) => {
                let ws: Vec<Value> = pairs.iter().map(|(w, _)| at(w)).collect();
                let xs: Vec<Value> = pairs.iter().map(|(_, x)| at(x)).collect();
                Value::dot(&ws, &xs).unwrap()
            }
            Step::AddConst(a, k) => at(a) + *k,
            Step::MulConst(a, k) => at(a) * *k,
            Step::DotConst(pairs) => {
                let ws: Vec<Value> = pairs.iter().map(|(w, _)| at(w)).collect();
                let cs: Vec<f64> = pairs.iter().map(|&(_, c)| c).collect();
                Value::dot_const(&ws, &cs).unwrap()
            }
            Step::DotConstShared(pairs) => {
                let ws: Rc<[Value]> = pairs.iter().map(|(w, _)| at(w)).collect();
                let cs: Rc<[f64]> = pairs.iter().map(|&(_, c)| c).collect();
                let rev: Rc<[f64]> = cs.iter().rev().copied().collect();
                tuning::dot_const_shared(&ws, &cs).unwrap()
                    + tuning::dot_const_shared(&ws, &rev).unwrap()
            }
            Step::DotShared(pairs) => {
                let ws: Rc<[Value]> = pairs.iter().map(|(w, _)| at(w)).collect();
                let xs: Rc<[Value]> = pairs.iter().map(|(_, x)| at(x)).collect();
                let rev: Rc<[Value]> = xs.iter().rev().cloned().collect();
                tuning::dot_shared(&ws, &xs).unwrap() + tuning::dot_shared(&ws, &rev).unwrap()
            }
            Step::Label(a) => at(a).with_label("labelled") * 1.0,
        };
        smooth &= node.data().is_finite() && node.data().abs() < 1e3;
        nodes.push(node);
    }
    (Value::sum(&nodes), smooth)
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
