//! One training step of micrograd's moons demo (100 points, MLP 2-16-16-1
//! relu, mean hinge + 1e-4 L2, SGD), in chainrule (built as a graph, and
//! replayed from a tape) and, beside them in the same run, hand-written on
//! dense `f64` arrays (the floor).
//!
//! ```text
//! cargo bench --bench moons            # full measurement
//! cargo bench --bench moons -- --test  # each once (CI)
//! ```

#[path = "support/dense_moons.rs"]
mod dense_moons;
#[path = "support/interleaved.rs"]
mod interleaved;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use chainrule::nn::{Activation, Init, Mlp, RecordedStep, StepLoss};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, data, loss};
use dense_moons::DenseMlp;
use rand::SeedableRng;

const ALPHA: f64 = 1e-4;

fn setup() -> (data::Moons, Mlp) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let moons = data::moons(100, 0.1, &mut rng);
    let mlp = Mlp::with_init(&[2, 16, 16, 1], Activation::Relu, Init::Uniform, &mut rng).unwrap();
    (moons, mlp)
}

/// One step in chainrule; returns (loss, accuracy).
fn chainrule_step(
    mlp: &Mlp,
    parameters: &[Value],
    sgd: &mut Sgd,
    moons: &data::Moons,
) -> (f64, f64) {
    let mut losses = Vec::with_capacity(moons.points.len());
    let mut correct = 0;
    for (p, &y) in moons.points.iter().zip(&moons.labels) {
        let score = mlp.forward_f64(p).unwrap().remove(0);
        correct += usize::from((score.data() > 0.0) == (y > 0.0));
        losses.push(loss::binary_hinge(&score, y).unwrap());
    }
    let total = loss::mean(&losses).unwrap() + ALPHA * loss::l2(parameters);
    mlp.zero_grad();
    total.backward();
    sgd.step(parameters).unwrap();
    (total.data(), correct as f64 / moons.points.len() as f64)
}

/// The same step replayed from a tape recorded once; returns (loss,
/// accuracy).
fn replayed_step(
    step: &RecordedStep,
    parameters: &[Value],
    sgd: &mut Sgd,
    moons: &data::Moons,
) -> (f64, f64) {
    let loss = step.run(&moons.points, &moons.labels).unwrap();
    let correct = (0..moons.points.len())
        .filter(|&i| (step.output(i, 0).unwrap() > 0.0) == (moons.labels[i] > 0.0))
        .count();
    sgd.step(parameters).unwrap();
    (loss, correct as f64 / moons.points.len() as f64)
}

/// All implementations must take the same step for their times to compare.
fn same_step() {
    let (moons, mlp) = setup();
    let (_, taped) = setup();
    let step = taped
        .record_step(StepLoss::BinaryHinge { l2: ALPHA }, moons.points.len())
        .unwrap();
    let mut sgd_tape = Sgd::new(0.5).unwrap();
    let mut dense = DenseMlp::from_mlp(&mlp);
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(0.5).unwrap();
    for _ in 0..3 {
        let (loss_a, acc_a) = chainrule_step(&mlp, &parameters, &mut sgd, &moons);
        let (loss_t, acc_t) = replayed_step(&step, &taped.parameters(), &mut sgd_tape, &moons);
        assert_eq!((loss_a.to_bits(), acc_a), (loss_t.to_bits(), acc_t));
        let (loss_b, acc_b) = dense.step(&moons.points, &moons.labels, 0.5, ALPHA);
        assert!(
            (loss_a - loss_b).abs() < 1e-9 * loss_b.abs().max(1.0),
            "loss {loss_a} vs {loss_b}"
        );
        assert_eq!(acc_a, acc_b);
    }
    let after = DenseMlp::from_mlp(&mlp);
    for ((a, _, _, _), (b, _, _, _)) in after.layers.iter().zip(&dense.layers) {
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9),
            "weights diverged"
        );
    }
}

fn moons_step(c: &mut Criterion) {
    same_step();
    let mut group = c.benchmark_group("moons_training_step");
    let (moons, mlp) = setup();
    let parameters = mlp.parameters();
    // A tiny rate keeps the weights (and so the work per step) steady.
    let mut sgd = Sgd::new(1e-9).unwrap();
    group.bench_function("chainrule", |b| {
        b.iter(|| black_box(chainrule_step(&mlp, &parameters, &mut sgd, &moons)))
    });
    let step = mlp
        .record_step(StepLoss::BinaryHinge { l2: ALPHA }, moons.points.len())
        .unwrap();
    let mut sgd_tape = Sgd::new(1e-9).unwrap();
    group.bench_function("chainrule_tape", |b| {
        b.iter(|| black_box(replayed_step(&step, &parameters, &mut sgd_tape, &moons)))
    });
    let mut dense = DenseMlp::from_mlp(&mlp);
    group.bench_function("dense_f64", |b| {
        b.iter(|| black_box(dense.step(&moons.points, &moons.labels, 1e-9, ALPHA)))
    });
    group.finish();
    println!(
        "recorded step: {} nodes, tape {} bytes ({:.1} per node)",
        step.tape().len(),
        step.tape().bytes(),
        step.tape().bytes() as f64 / step.tape().len() as f64
    );
    interleaved::report(
        "moons step",
        500,
        &mut [
            ("chainrule graph", &mut || {
                black_box(chainrule_step(&mlp, &parameters, &mut sgd, &moons));
            }),
            ("chainrule tape", &mut || {
                black_box(replayed_step(&step, &parameters, &mut sgd_tape, &moons));
            }),
            ("dense f64", &mut || {
                black_box(dense.step(&moons.points, &moons.labels, 1e-9, ALPHA));
            }),
        ],
    );
}

criterion_group!(benches, moons_step);
criterion_main!(benches);
