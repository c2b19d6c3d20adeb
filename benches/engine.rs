//! Criterion benches of the engine, beside the typical port where it applies.
//!
//! ```text
//! cargo bench --bench engine            # full measurement
//! cargo bench --bench engine -- --test  # each bench once (CI)
//! ```
//!
//! The side-by-side summary with medians, ratios and memory is
//! `cargo bench --bench report`.

#[path = "support/typical_port.rs"]
mod typical_port;
#[path = "support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use workload::{
    Chainrule, Engine, TypicalPort, chain, layered_graph, layered_inputs, layered_plan, leaves,
    plan, random_graph,
};

const RANDOM_NODES: usize = 1_000_000;

fn forward_backward<E: Engine>(plan: &[workload::Step], leaves: &workload::Leaves<E>) -> E::V {
    let out = random_graph::<E>(plan, leaves);
    E::backward(&out);
    out
}

/// The time to build and backpropagate the graph `iters` times, each graph
/// dropped (untimed) before the next is built, as a training loop does.
/// (`iter_with_large_drop` would keep a batch of million-node graphs alive
/// at once, which no training loop does.)
fn build_and_backward_times<E: Engine>(
    iters: u64,
    plan: &[workload::Step],
    leaves: &workload::Leaves<E>,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let out = forward_backward(plan, leaves);
        total += start.elapsed();
        drop(black_box(out));
    }
    total
}

/// Both engines must compute the same graph for their times to compare.
fn same_results(plan: &[workload::Step]) {
    let (ours, theirs) = (leaves::<Chainrule>(1000, 1), leaves::<TypicalPort>(1000, 1));
    let a = forward_backward(plan, &ours);
    let b = forward_backward(plan, &theirs);
    assert_eq!(Chainrule::data(&a), TypicalPort::data(&b), "same output");
    let ga = Chainrule::grad(&ours.factors[0]);
    let gb = TypicalPort::grad(&theirs.factors[0]);
    assert!(
        (ga - gb).abs() <= 1e-9 * gb.abs(),
        "same leaf gradient: {ga} vs {gb}"
    );
}

fn random_graph_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("random_graph_forward_backward");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(RANDOM_NODES as u64));
    let plan = plan(RANDOM_NODES, 1000, 7);
    same_results(&plan);
    let ours = leaves::<Chainrule>(1000, 1);
    group.bench_function(BenchmarkId::new("chainrule", RANDOM_NODES), |b| {
        b.iter_custom(|iters| build_and_backward_times(iters, &plan, &ours))
    });
    let theirs = leaves::<TypicalPort>(1000, 1);
    group.bench_function(BenchmarkId::new("typical_port", RANDOM_NODES), |b| {
        b.iter_custom(|iters| build_and_backward_times(iters, &plan, &theirs))
    });
    group.finish();
}

/// The cache-hostile workload: 20 layers of 50,000 nodes, each meeting a
/// random node of the layer before, then an add tree (about 1.09 M gates);
/// build + backward, each graph dropped untimed before the next.
fn layered_benches(c: &mut Criterion) {
    const WIDTH: usize = 50_000;
    const LAYERS: usize = 20;
    fn run<E: Engine>(iters: u64, plan: &workload::LayeredPlan, inputs: &[E::V]) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let (out, _) = layered_graph::<E>(plan, inputs);
            E::backward(&out);
            total += start.elapsed();
            drop(black_box(out));
        }
        total
    }
    let mut group = c.benchmark_group("layered_forward_backward");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let plan = layered_plan(WIDTH, LAYERS, 11);
    let ours = layered_inputs::<Chainrule>(WIDTH, 12);
    let theirs = layered_inputs::<TypicalPort>(WIDTH, 12);
    let (_, gates) = layered_graph::<Chainrule>(&plan, &ours);
    group.throughput(Throughput::Elements(gates as u64));
    group.bench_function(BenchmarkId::new("chainrule", gates), |b| {
        b.iter_custom(|iters| run::<Chainrule>(iters, &plan, &ours))
    });
    group.bench_function(BenchmarkId::new("typical_port", gates), |b| {
        b.iter_custom(|iters| run::<TypicalPort>(iters, &plan, &theirs))
    });
    group.finish();
}

fn chain_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain_forward_backward_drop");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let (x, s) = (chainrule::Value::new(1.0), chainrule::Value::new(0.5));
    for nodes in [100_000, 10_000_000] {
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_function(BenchmarkId::new("chainrule", nodes), |b| {
            b.iter(|| {
                let y = chain::<Chainrule>(nodes, &x, &s);
                y.backward();
                black_box(y.data())
            })
        });
    }
    group.finish();
}

fn dot_benches(c: &mut Criterion) {
    use chainrule::Value;
    const N: usize = 1000;
    let mut group = c.benchmark_group("dot_1000_forward_backward");
    let ws: Vec<Value> = (0..N).map(|i| Value::new(i as f64 * 1e-3)).collect();
    let xs: Vec<Value> = (0..N).map(|i| Value::new(1.0 - i as f64 * 1e-3)).collect();
    group.bench_function("fused_dot", |b| {
        b.iter(|| {
            let y = Value::dot(&ws, &xs).expect("equal lengths");
            y.backward();
            black_box(y.data())
        })
    });
    group.bench_function("binary_mul_add", |b| {
        b.iter(|| {
            let mut y = &ws[0] * &xs[0];
            for (w, x) in ws.iter().zip(&xs).skip(1) {
                y += w * x;
            }
            y.backward();
            black_box(y.data())
        })
    });
    group.finish();
}

fn main() {
    // The typical port recurses once per node deep, in its topological sort
    // and in its drop: give it room for a million.
    let worker = std::thread::Builder::new().stack_size(4 << 30).spawn(|| {
        let mut criterion = Criterion::default().configure_from_args();
        random_graph_benches(&mut criterion);
        layered_benches(&mut criterion);
        chain_benches(&mut criterion);
        dot_benches(&mut criterion);
        criterion.final_summary();
    });
    worker
        .expect("spawn bench thread")
        .join()
        .expect("bench thread");
}
