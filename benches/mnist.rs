//! One MNIST training step of a 784-32-10 relu network (softmax
//! cross-entropy, SGD 0.1, batch 32) in chainrule and, beside it in the same
//! run, on dense `f64` arrays (the floor). Digits from the committed sample.
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
use chainrule::nn::{Activation, Mlp};
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

/// Both must take the same steps for their times to compare.
fn same_steps() {
    let (batch, mlp) = setup();
    let mut dense = DenseMnist::from_mlp(&mlp);
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(0.1).unwrap();
    for _ in 0..3 {
        let a = chainrule_step(&mlp, &parameters, &mut sgd, &batch);
        let b = dense.step(&batch, 0.1);
        assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "loss {a} vs {b}");
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
    let mut dense = DenseMnist::from_mlp(&mlp);
    group.bench_function("dense_f64", |b| {
        b.iter(|| black_box(dense.step(&batch, 1e-9)))
    });
    group.finish();
    interleaved::report(
        "mnist 784-32-10 step, batch 32",
        300,
        || {
            black_box(chainrule_step(&mlp, &parameters, &mut sgd, &batch));
        },
        || {
            black_box(dense.step(&batch, 1e-9));
        },
    );
}

criterion_group!(benches, mnist_step);
criterion_main!(benches);
