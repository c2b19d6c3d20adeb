//! One MNIST training step of a 784-32-10 relu network (softmax
//! cross-entropy, SGD 0.1, batch 32) in chainrule, built as a graph and
//! replayed from a tape, and, beside them in the same run, on dense `f64`
//! arrays: the plain floor (one running sum per dot) and the fast one
//! (eight). Digits from the committed sample.
//!
//! ```text
//! cargo bench --bench mnist            # full measurement
//! cargo bench --bench mnist -- --test  # each once (CI)
//! ```

#[path = "support/dense_mnist.rs"]
mod dense_mnist;
#[path = "support/interleaved.rs"]
mod interleaved;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use chainrule::data::mnist;
use chainrule::nn::{Activation, Mlp, RecordedStep, StepLoss};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, loss};
use dense_mnist::DenseMnist;
use rand::SeedableRng;

const BATCH: usize = 32;

fn setup() -> (Vec<(Vec<f64>, usize)>, Mlp) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample");
    let digits = mnist::load(dir, Some(BATCH), Some(1))
        .expect("the committed sample")
        .train;
    let batch = (0..BATCH)
        .map(|i| {
            (
                digits.pixels(i).unwrap(),
                usize::from(digits.label(i).unwrap()),
            )
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    (
        batch,
        Mlp::new(&[784, 32, 10], Activation::Relu, &mut rng).unwrap(),
    )
}

fn chainrule_step(
    mlp: &Mlp,
    parameters: &[Value],
    sgd: &mut Sgd,
    batch: &[(Vec<f64>, usize)],
) -> f64 {
    let losses: Vec<Value> = batch
        .iter()
        .map(|(x, label)| {
            loss::softmax_cross_entropy(&mlp.forward_f64(x).unwrap(), *label).unwrap()
        })
        .collect();
    let total = loss::mean(&losses).unwrap();
    mlp.zero_grad();
    total.backward();
    sgd.step(parameters).unwrap();
    total.data()
}

/// The same step, replayed from a tape recorded once.
fn replayed_step(
    step: &RecordedStep,
    parameters: &[Value],
    sgd: &mut Sgd,
    inputs: &[&[f64]],
    targets: &[f64],
) -> f64 {
    let loss = step.run(inputs, targets).unwrap(); // sets the gradients
    sgd.step(parameters).unwrap();
    loss
}

/// The batch as a recorded step takes it.
fn split(batch: &[(Vec<f64>, usize)]) -> (Vec<&[f64]>, Vec<f64>) {
    batch
        .iter()
        .map(|(x, label)| (&x[..], *label as f64))
        .unzip()
}

/// All must take the same steps for their times to compare.
fn same_steps() {
    let (batch, mlp) = setup();
    let (_, taped) = setup();
    let mut dense = DenseMnist::from_mlp(&mlp);
    let mut fast = DenseMnist::from_mlp(&mlp);
    let parameters = mlp.parameters();
    let (mut sgd, mut sgd_tape) = (Sgd::new(0.1).unwrap(), Sgd::new(0.1).unwrap());
    let step = taped
        .record_step(StepLoss::SoftmaxCrossEntropy, BATCH)
        .unwrap();
    let (inputs, targets) = split(&batch);
    for _ in 0..3 {
        let a = chainrule_step(&mlp, &parameters, &mut sgd, &batch);
        let t = replayed_step(&step, &taped.parameters(), &mut sgd_tape, &inputs, &targets);
        let b = dense.step(&batch, 0.1);
        let c = fast.step_fast(&batch, 0.1);
        assert_eq!(a.to_bits(), t.to_bits(), "tape {t} vs graph {a}");
        for (x, y) in [(a, b), (a, c)] {
            assert!((x - y).abs() < 1e-9 * y.abs().max(1.0), "loss {x} vs {y}");
        }
    }
}

fn mnist_step(c: &mut Criterion) {
    same_steps();
    let mut group = c.benchmark_group("mnist_784_32_10_step_batch_32");
    let (batch, mlp) = setup();
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(1e-9).unwrap(); // keeps the work per step steady
    group.bench_function("chainrule", |b| {
        b.iter(|| black_box(chainrule_step(&mlp, &parameters, &mut sgd, &batch)))
    });
    let step = mlp
        .record_step(StepLoss::SoftmaxCrossEntropy, BATCH)
        .unwrap();
    let (inputs, targets) = split(&batch);
    let mut sgd_tape = Sgd::new(1e-9).unwrap();
    let mut tape_step = || replayed_step(&step, &parameters, &mut sgd_tape, &inputs, &targets);
    group.bench_function("chainrule_tape", |b| b.iter(|| black_box(tape_step())));
    let mut dense = DenseMnist::from_mlp(&mlp);
    group.bench_function("dense_f64", |b| {
        b.iter(|| black_box(dense.step(&batch, 1e-9)))
    });
    let mut fast = DenseMnist::from_mlp(&mlp);
    group.bench_function("dense_f64_8_sums", |b| {
        b.iter(|| black_box(fast.step_fast(&batch, 1e-9)))
    });
    group.finish();
    println!(
        "recorded step: {} nodes, tape {} bytes ({:.1} per node)",
        step.tape().len(),
        step.tape().bytes(),
        step.tape().bytes() as f64 / step.tape().len() as f64
    );
    interleaved::report(
        "mnist 784-32-10 step, batch 32",
        300,
        &mut [
            ("chainrule graph", &mut || {
                black_box(chainrule_step(&mlp, &parameters, &mut sgd, &batch));
            }),
            ("chainrule tape", &mut || {
                black_box(tape_step());
            }),
            ("dense f64, 1 running sum", &mut || {
                black_box(dense.step(&batch, 1e-9));
            }),
            ("dense f64, 8 running sums", &mut || {
                black_box(fast.step_fast(&batch, 1e-9));
            }),
        ],
    );
}

criterion_group!(benches, mnist_step);
criterion_main!(benches);
