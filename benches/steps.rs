//! Fixed workloads for counting instructions, the one measure of speed that
//! does not drift on this machine: run one under callgrind, for two
//! commits, and compare the totals.
//!
//! ```text
//! cargo bench --bench steps --no-run     # prints the binary's path
//! valgrind --tool=callgrind target/release/deps/steps-<hash> moons
//! ```
//!
//! Workloads: `moons` (30 training steps of micrograd's demo, MLP 2-16-16-1
//! on 100 points), `mnist` (20 steps of a 784-32-10 network on 32 random
//! digits), `random` (a 300,000-node random graph, built and
//! backpropagated), `dot` (3,000 times `Value::dot` of 1,000 leaf pairs,
//! built and backpropagated), and `moons-tape` and `mnist-tape` (the
//! first two, replayed from a recorded step). Without an argument (as `cargo bench` runs
//! it) each runs once, at a tenth of its size.

use std::hint::black_box;

#[path = "support/moons_loss.rs"]
mod moons_loss;

use chainrule::nn::{Activation, Mlp, StepLoss};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, loss};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// `steps` SGD steps (rate 0.1) of `loss` over `mlp`; the last loss.
fn train(steps: usize, mlp: &Mlp, loss: impl Fn(&[Value]) -> Value) -> f64 {
    let params = mlp.parameters();
    let mut sgd = Sgd::new(0.1).expect("a positive rate");
    let mut last = 0.0;
    for _ in 0..steps {
        let l = loss(&params);
        mlp.zero_grad();
        l.backward();
        sgd.step(&params).expect("finite gradients");
        last = l.data();
    }
    last
}

fn moons(steps: usize) -> f64 {
    let (moons, mlp) = moons_loss::setup(100);
    train(steps, &mlp, |params| moons_loss::loss(&mlp, params, &moons))
}

/// A 784-32-10 network and 32 random digits with their classes.
fn mnist_setup() -> (Mlp, Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(0);
    let mlp = Mlp::new(&[784, 32, 10], Activation::Relu, &mut rng).expect("valid sizes");
    let xs: Vec<Vec<f64>> = (0..32)
        .map(|_| (0..784).map(|_| rng.random_range(0.0..1.0)).collect())
        .collect();
    let ys: Vec<usize> = (0..32).map(|_| rng.random_range(0..10usize)).collect();
    (mlp, xs, ys)
}

fn mnist(steps: usize) -> f64 {
    let (mlp, xs, ys) = mnist_setup();
    train(steps, &mlp, |_| {
        let losses: Vec<Value> = xs
            .iter()
            .zip(&ys)
            .map(|(x, &y)| {
                let logits = mlp.forward_f64(x).expect("784 inputs");
                loss::softmax_cross_entropy(&logits, y).expect("10 classes")
            })
            .collect();
        loss::mean(&losses).expect("samples")
    })
}

/// `steps` SGD steps (rate 0.1) of a recorded step over `mlp`; the last
/// loss.
fn train_replayed<R: AsRef<[f64]>>(
    steps: usize,
    mlp: &Mlp,
    loss: StepLoss,
    xs: &[R],
    ys: &[f64],
) -> f64 {
    let params = mlp.parameters();
    let mut sgd = Sgd::new(0.1).expect("a positive rate");
    let step = mlp.record_step(loss, xs.len()).expect("a batch");
    let mut last = 0.0;
    for _ in 0..steps {
        mlp.zero_grad();
        last = step.run(xs, ys).expect("the recorded batch");
        sgd.step(&params).expect("finite gradients");
    }
    last
}

fn moons_tape(steps: usize) -> f64 {
    let (moons, mlp) = moons_loss::setup(100);
    let loss = StepLoss::BinaryHinge { l2: 1e-4 };
    train_replayed(steps, &mlp, loss, &moons.points, &moons.labels)
}

fn mnist_tape(steps: usize) -> f64 {
    let (mlp, xs, classes) = mnist_setup();
    let ys: Vec<f64> = classes.iter().map(|&c| c as f64).collect();
    train_replayed(steps, &mlp, StepLoss::SoftmaxCrossEntropy, &xs, &ys)
}

fn random(nodes: usize) -> f64 {
    let mut rng = StdRng::seed_from_u64(0);
    let leaves: Vec<Value> = (0..1000)
        .map(|_| Value::new(rng.random_range(-1.0..1.0)))
        .collect();
    let mut ring: Vec<Value> = vec![leaves[0].clone(); 256];
    for i in 0..nodes {
        let last = ring[(i + 255) % 256].clone();
        let next = match rng.random_range(0..10u32) {
            0..4 => &last + &leaves[rng.random_range(0..1000usize)],
            4..8 => &last * &leaves[rng.random_range(0..1000usize)],
            _ => {
                let back = rng.random_range(1..=256usize.min(i.max(1)));
                last.max(&ring[(i + 256 - back) % 256])
            }
        };
        ring[i % 256] = next;
    }
    let out = ring[(nodes + 255) % 256].clone();
    drop(ring);
    out.backward();
    leaves[0].grad()
}

fn dot(reps: usize) -> f64 {
    let ws: Vec<Value> = (0..1000).map(|i| Value::new(i as f64 * 1e-3)).collect();
    let xs: Vec<Value> = (0..1000)
        .map(|i| Value::new(1.0 - i as f64 * 1e-3))
        .collect();
    let mut total = 0.0;
    for _ in 0..reps {
        let y = Value::dot(&ws, &xs).expect("equal lengths");
        y.backward();
        total += y.data();
    }
    total
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let result = match which.as_str() {
        "moons" => moons(30),
        "mnist" => mnist(20),
        "random" => random(300_000),
        "dot" => dot(3000),
        "moons-tape" => moons_tape(30),
        "mnist-tape" => mnist_tape(20),
        // `cargo bench` (and its flags): each once, small.
        _ => moons(3) + mnist(2) + random(30_000) + dot(300) + moons_tape(3) + mnist_tape(2),
    };
    println!("{}", black_box(result));
}
