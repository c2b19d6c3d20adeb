//! The tape replays what it recorded: after new leaf data, its forward
//! values and the gradients it adds are those of the graph built anew from
//! that data and backpropagated, bit for bit, on random graphs over every
//! gate (shared lists, dot nodes, relu at 0 and IEEE edge values included).

use chainrule::{EngineError, Tape, Value};
use proptest::prelude::*;

mod common;
use common::programs::{build, config, step};

/// The same number: equal bits, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Leaf data: ordinary numbers and IEEE's edges.
fn datum() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -2.0..2.0f64,
        1 => prop::sample::select(vec![
            0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN,
            1e300, -1e-310, 700.0, -745.0,
        ]),
    ]
}

/// The shape of a graph: each node's operation and operands.
fn shape(output: &Value) -> Vec<(chainrule::Op, Vec<usize>)> {
    let graph = output.graph();
    graph
        .nodes()
        .iter()
        .map(|n| (n.op, n.operands.clone()))
        .collect()
}

/// Leaves: `trainable[i]` says whether input `i` is `Value::new` (a
/// parameter) or `Value::constant` (data).
fn leaves(data: &[f64], trainable: &[bool]) -> Vec<Value> {
    data.iter()
        .zip(trainable.iter().cycle())
        .map(|(&x, &t)| if t { Value::new(x) } else { Value::constant(x) })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Record on one set of data, replay on another, and compare with the
    /// graph built on the second: the output, every node's value and every
    /// leaf's gradient after two passes (accumulation included).
    #[test]
    fn replay_equals_rebuild_bit_for_bit(
        first in prop::collection::vec(datum(), 1..5),
        second in prop::collection::vec(datum(), 1..5),
        trainable in prop::collection::vec(any::<bool>(), 1..5),
        program in prop::collection::vec(step(), 1..12),
    ) {
        let n = first.len().min(second.len());
        let (first, second) = (&first[..n], &second[..n]);
        let recorded_leaves = leaves(first, &trainable);
        let (recorded, _) = build(&program, &recorded_leaves);
        let tape = Tape::record(&recorded).unwrap();
        // The recorded values are the graph's.
        prop_assert!(same(tape.value(), recorded.data()));

        let rebuilt_leaves = leaves(second, &trainable);
        let (rebuilt, _) = build(&program, &rebuilt_leaves);
        // Decisions made in Rust from values (sigmoid's formula by sign)
        // are not on a tape: compare graphs of one shape only.
        prop_assume!(shape(&rebuilt) == shape(&recorded));

        for (leaf, &x) in recorded_leaves.iter().zip(second) {
            leaf.set_data(x);
        }
        let replayed = tape.forward();
        prop_assert!(same(replayed, rebuilt.data()), "{} vs {}\n{:?}", replayed, rebuilt.data(), program);
        let (a, b) = (recorded.topological_order(), rebuilt.topological_order());
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            let v = tape.value_of(x).unwrap();
            prop_assert!(same(v, y.data()), "node {}: {} vs {}\n{:?}", k, v, y.data(), program);
        }
        for _ in 0..2 {
            tape.backward();
            rebuilt.backward();
            // Each gate's gradient for this pass (a zero's sign aside).
            for (k, (x, y)) in a.iter().zip(&b).enumerate() {
                if x.op() != chainrule::Op::Leaf && y.requires_grad() {
                    let g = tape.grad_of(x).unwrap();
                    let want = if y.grad() == 0.0 { 0.0 } else { y.grad() };
                    prop_assert!(same(g, want), "gate {}: {} vs {}\n{:?}", k, g, want, program);
                }
            }
            for (i, (x, y)) in recorded_leaves.iter().zip(&rebuilt_leaves).enumerate() {
                prop_assert!(same(x.grad(), y.grad()), "leaf {}: {} vs {}\n{:?}", i, x.grad(), y.grad(), program);
            }
        }
    }
}

#[test]
fn a_value_made_after_recording_is_not_on_the_tape() {
    let x = Value::new(3.0);
    let y = &x * &x;
    let tape = Tape::record(&y).unwrap();
    assert!(tape.contains(&x) && tape.contains(&y));
    let later = &y + 1.0;
    assert!(!tape.contains(&later));
    let error = tape.value_of(&later).unwrap_err();
    assert_eq!(error, EngineError::NotOnTape);
    assert!(
        error.to_string().contains("record the tape again"),
        "{error}"
    );
    assert_eq!((tape.len(), tape.leaf_count()), (2, 1));
    assert_eq!(tape.grad_of(&y), Ok(0.0)); // before any backward pass
    tape.backward();
    assert_eq!((tape.grad_of(&y), tape.grad_of(&x)), (Ok(1.0), Ok(6.0)));
    assert_eq!(tape.grad_of(&later), Err(EngineError::NotOnTape));
}

#[test]
fn leaf_and_constant_outputs_backpropagate_as_backward_does() {
    // A leaf output gets 1, as `backward` gives it.
    let x = Value::new(2.0);
    let tape = Tape::record(&x).unwrap();
    tape.backward();
    tape.backward();
    assert_eq!(x.grad(), 2.0);
    x.set_data(5.0);
    assert_eq!(tape.forward(), 5.0);
    // A graph of constants takes no gradient and is not entered.
    let c = Value::constant(2.0);
    let y = (&c * 3.0).exp();
    let tape = Tape::record(&y).unwrap();
    tape.backward();
    assert_eq!(c.grad(), 0.0);
    c.set_data(0.0);
    assert_eq!(tape.forward(), 1.0); // e^0
}

#[test]
fn the_lectures_apple_graph_replays_with_new_prices() {
    // The lecture: 2 apples at 100 won, tax 1.1: 220 won; d/d(price) = 2.2.
    let price = Value::new(100.0);
    let count = Value::new(2.0);
    let tax = Value::new(1.1);
    let total = &price * &count * &tax;
    let tape = Tape::record(&total).unwrap();
    tape.backward();
    assert!((price.grad() - 2.2).abs() < 1e-12 && (tax.grad() - 200.0).abs() < 1e-12);
    // 150 won an apple: 2 × 150 × 1.1 = 330, and d/d(tax) = 300.
    price.set_data(150.0);
    for v in [&price, &count, &tax] {
        v.zero_grad();
    }
    assert!((tape.forward() - 330.0).abs() < 1e-12);
    tape.backward();
    assert!((tax.grad() - 300.0).abs() < 1e-12);
    assert!((price.grad() - 2.2).abs() < 1e-12);
}

/// Trains two copies of one network for 20 steps, one on graphs built
/// every step and one on a recorded step, and demands the same losses and
/// weights, bit for bit.
fn same_training(
    sizes: &[usize],
    loss: chainrule::nn::StepLoss,
    batches: &[(Vec<Vec<f64>>, Vec<f64>)],
    built: impl Fn(&chainrule::nn::Mlp, &[Vec<f64>], &[f64]) -> Value,
    rate: f64,
) {
    use chainrule::nn::{Activation, Init, Mlp};
    use chainrule::optim::{Optimizer, Sgd};
    use rand::SeedableRng;
    let model = |seed| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Mlp::with_init(sizes, Activation::Relu, Init::Uniform, &mut rng).unwrap()
    };
    let (graph, taped) = (model(7), model(7));
    let (mut sgd_graph, mut sgd_tape) = (Sgd::new(rate).unwrap(), Sgd::new(rate).unwrap());
    let step = taped.record_step(loss, batches[0].0.len()).unwrap();
    for (k, (xs, ys)) in batches.iter().enumerate() {
        let total = built(&graph, xs, ys);
        graph.zero_grad();
        total.backward();
        sgd_graph.step(&graph.parameters()).unwrap();

        taped.zero_grad();
        let replayed = step.run(xs, ys).unwrap();
        sgd_tape.step(&taped.parameters()).unwrap();

        assert_eq!(
            total.data().to_bits(),
            replayed.to_bits(),
            "step {k}: loss {} vs {}",
            total.data(),
            replayed
        );
        for (i, (a, b)) in graph
            .parameters()
            .iter()
            .zip(taped.parameters())
            .enumerate()
        {
            assert_eq!(
                a.data().to_bits(),
                b.data().to_bits(),
                "step {k}, parameter {i}"
            );
        }
    }
}

#[test]
fn moons_training_on_the_tape_is_the_graphs_bit_for_bit() {
    use chainrule::loss;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let data = chainrule::data::moons(100, 0.1, &mut rng);
    let xs: Vec<Vec<f64>> = data.points.iter().map(|p| p.to_vec()).collect();
    let batches = vec![(xs, data.labels.clone()); 20];
    // micrograd's demo, as examples/moons.rs builds it.
    let built = |mlp: &chainrule::nn::Mlp, xs: &[Vec<f64>], ys: &[f64]| {
        let losses: Vec<Value> = xs
            .iter()
            .zip(ys)
            .map(|(x, &y)| loss::binary_hinge(&mlp.forward_f64(x).unwrap()[0], y).unwrap())
            .collect();
        loss::mean(&losses).unwrap() + 1e-4 * loss::l2(&mlp.parameters())
    };
    same_training(
        &[2, 16, 16, 1],
        chainrule::nn::StepLoss::BinaryHinge { l2: 1e-4 },
        &batches,
        built,
        0.5,
    );
}

#[test]
fn mnist_training_on_the_tape_is_the_graphs_bit_for_bit() {
    use chainrule::loss;
    use rand::{RngExt, SeedableRng};
    // Random "digits": 20 batches of 32, each new (the tape's leaves are
    // set afresh every step).
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let batches: Vec<(Vec<Vec<f64>>, Vec<f64>)> = (0..20)
        .map(|_| {
            let xs = (0..32)
                .map(|_| (0..784).map(|_| rng.random_range(0.0..1.0)).collect())
                .collect();
            let ys = (0..32)
                .map(|_| rng.random_range(0..10usize) as f64)
                .collect();
            (xs, ys)
        })
        .collect();
    // As examples/mnist.rs builds it.
    let built = |mlp: &chainrule::nn::Mlp, xs: &[Vec<f64>], ys: &[f64]| {
        let losses: Vec<Value> = xs
            .iter()
            .zip(ys)
            .map(|(x, &y)| {
                let logits = mlp.forward_f64(x).unwrap();
                loss::softmax_cross_entropy(&logits, y as usize).unwrap()
            })
            .collect();
        loss::mean(&losses).unwrap()
    };
    same_training(
        &[784, 32, 10],
        chainrule::nn::StepLoss::SoftmaxCrossEntropy,
        &batches,
        built,
        0.1,
    );
}

#[test]
fn a_recorded_step_refuses_a_batch_it_was_not_recorded_for() {
    use chainrule::nn::{Activation, Mlp, StepError, StepLoss};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mlp = Mlp::new(&[2, 4, 3], Activation::Relu, &mut rng).unwrap();
    assert_eq!(
        mlp.record_step(StepLoss::SoftmaxCrossEntropy, 0)
            .unwrap_err(),
        StepError::EmptyBatch
    );
    assert_eq!(
        mlp.record_step(StepLoss::BinaryHinge { l2: 0.0 }, 2)
            .unwrap_err(),
        StepError::NotOneOutput(3)
    );
    let step = mlp.record_step(StepLoss::SoftmaxCrossEntropy, 2).unwrap();
    let good = [[0.0, 1.0], [1.0, 0.0]];
    type Case<'a> = (Vec<Vec<f64>>, Vec<f64>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![vec![0.0, 1.0]],
            vec![0.0],
            "recorded for batches of 2 samples but got 1",
        ),
        (
            vec![vec![0.0, 1.0], vec![1.0]],
            vec![0.0, 1.0],
            "sample 1 has 1 values but the network takes 2",
        ),
        (
            good.iter().map(|r| r.to_vec()).collect(),
            vec![0.0],
            "1 targets for 2 samples",
        ),
        (
            good.iter().map(|r| r.to_vec()).collect(),
            vec![0.0, 3.0],
            "target 3 of sample 1 is not a class 0 to 2",
        ),
        (
            good.iter().map(|r| r.to_vec()).collect(),
            vec![0.5, 1.0],
            "target 0.5 of sample 0",
        ),
        (
            good.iter().map(|r| r.to_vec()).collect(),
            vec![f64::NAN, 1.0],
            "target NaN of sample 0",
        ),
    ];
    for (xs, ys, message) in cases {
        let error = step.run(&xs, &ys).unwrap_err();
        assert!(error.to_string().contains(message), "{error} / {message}");
    }
    assert!(step.run(&good, &[0.0, 2.0]).unwrap().is_finite());
    assert_eq!(step.output(2, 0), None);
    assert!(step.output(1, 2).unwrap().is_finite());
}

#[test]
fn a_million_node_chain_records_and_replays_on_a_small_stack() {
    // No recursion anywhere: record, forward and backward on a 2 MiB thread.
    let run = || {
        let x = Value::new(0.5);
        let mut y = x.clone();
        for _ in 0..200_000 {
            y = (&y * 0.999_999 + 1e-6).relu();
        }
        let tape = Tape::record(&y).unwrap();
        assert_eq!(tape.len(), 1_000_001); // a leaf, then per step two constants, mul, add, relu
        x.set_data(0.25);
        let replayed = tape.forward();
        tape.backward();
        // Rebuilt from 0.25, by backward.
        let x2 = Value::new(0.25);
        let mut y2 = x2.clone();
        for _ in 0..200_000 {
            y2 = (&y2 * 0.999_999 + 1e-6).relu();
        }
        y2.backward();
        assert_eq!(replayed.to_bits(), y2.data().to_bits());
        assert_eq!(x.grad().to_bits(), x2.grad().to_bits());
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_tape_recorded_under_no_grad_replays_its_constant() {
    let x = Value::new(2.0);
    let y = chainrule::no_grad(|| &x * 3.0);
    let tape = Tape::record(&y).unwrap();
    tape.backward();
    assert_eq!((tape.forward(), tape.len(), x.grad()), (6.0, 1, 0.0));
}
