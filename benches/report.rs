//! The engine's speed and memory, side by side with a typical Rust port of
//! micrograd, in one run. Prints a Markdown report.
//!
//! ```text
//! cargo bench --bench report            # the figures in docs/performance.md
//! cargo bench --bench report -- --test  # small sizes, one run (CI)
//! ```
//!
//! Times are medians of several runs. Memory is measured in a fresh child
//! process per engine: the peak of live heap bytes (a counting allocator)
//! and the growth of the resident set's high-water mark, over the nodes.

#[path = "support/moons_loss.rs"]
mod moons_loss;
#[path = "support/typical_port.rs"]
mod typical_port;
#[path = "support/workload.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use chainrule::Value;
use workload::{
    Chainrule, Engine, TypicalPort, chain, layered_graph, layered_inputs, layered_plan, leaves,
    plan, random_graph,
};

/// Counts live heap bytes and their peak while `COUNTING` is on.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only read.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        // SAFETY: the caller's layout, passed on as `GlobalAlloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        // SAFETY: a pointer this allocator gave, with its layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct Sizes {
    runs: usize,
    random_nodes: usize,
    short_chain: usize,
    long_chain: usize,
    dot_len: usize,
    dot_reps: usize,
    rss_gates: &'static [usize],
    rss_cycles: usize,
    layered_width: usize,
    layered_layers: usize,
    moons_points: usize,
}

/// The node cache's documented cap: 2^20 nodes of 80 bytes and 2^17
/// boxes of 96 bytes (`DEFAULT_NODE_CACHE_CAPACITY`).
const CACHE_CAP_MIB: f64 = 92.0;

/// What a drop may leave with the allocator without asking it to return
/// memory: 65,536 nodes of 80 bytes.
const RELEASE_MIB: f64 = 5.0;

const FULL: Sizes = Sizes {
    runs: 7,
    random_nodes: 1_000_000,
    short_chain: 100_000,
    long_chain: 10_000_000,
    dot_len: 1000,
    dot_reps: 300,
    rss_gates: &[10_000, 1_000_000, 10_000_000],
    rss_cycles: 3,
    layered_width: 50_000,
    layered_layers: 20,
    moons_points: 100,
};

const QUICK: Sizes = Sizes {
    runs: 1,
    random_nodes: 20_000,
    short_chain: 1_000,
    long_chain: 100_000,
    dot_len: 100,
    dot_reps: 3,
    rss_gates: &[10_000, 100_000],
    rss_cycles: 2,
    layered_width: 1_000,
    layered_layers: 5,
    moons_points: 20,
};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn per_second(count: usize, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64()
}

/// Build, backward and drop times of the random graph, medians over runs,
/// and the output's value and a leaf's gradient (to show both engines
/// computed the same thing).
struct RandomGraphTimes {
    build: Duration,
    backward: Duration,
    drop: Duration,
    output: f64,
    leaf_grad: f64,
}

fn time_random_graph<E: Engine>(sizes: &Sizes) -> RandomGraphTimes {
    let leaves = leaves::<E>(1000, 1);
    let plan = plan(sizes.random_nodes, 1000, 7);
    let (mut build, mut backward, mut drop_) = (vec![], vec![], vec![]);
    let (mut output, mut leaf_grad) = (0.0, 0.0);
    for run in 0..sizes.runs {
        let (out, t) = time(|| random_graph::<E>(&plan, &leaves));
        build.push(t);
        backward.push(time(|| E::backward(&out)).1);
        if run == 0 {
            // Leaves accumulate over runs; compare the first run's.
            output = E::data(&out);
            leaf_grad = E::grad(&leaves.factors[0]);
        }
        drop_.push(time(|| drop(out)).1);
    }
    RandomGraphTimes {
        build: median(build),
        backward: median(backward),
        drop: median(drop_),
        output,
        leaf_grad,
    }
}

/// Prints both engines' build, backward and drop times over `nodes` nodes
/// as a table, and returns how many times faster chainrule is.
fn times_table(nodes: usize, ours: &RandomGraphTimes, theirs: &RandomGraphTimes) -> f64 {
    println!("| engine | build | backward | build + backward | nodes/s | drop |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, t) in [("chainrule", ours), ("typical Rc port", theirs)] {
        let total = t.build + t.backward;
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} M | {:.1} ms |",
            t.build.as_secs_f64() * 1e3,
            t.backward.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            per_second(nodes, total) / 1e6,
            t.drop.as_secs_f64() * 1e3,
        );
    }
    (theirs.build + theirs.backward).as_secs_f64() / (ours.build + ours.backward).as_secs_f64()
}

/// Build and backward times of the cache-hostile layered graph, medians
/// over runs, with the number of gates, the output and an input's
/// gradient.
fn time_layered<E: Engine>(sizes: &Sizes) -> (RandomGraphTimes, usize) {
    let plan = layered_plan(sizes.layered_width, sizes.layered_layers, 11);
    let inputs = layered_inputs::<E>(sizes.layered_width, 12);
    let (mut build, mut backward, mut drop_) = (vec![], vec![], vec![]);
    let (mut output, mut leaf_grad, mut gates) = (0.0, 0.0, 0);
    for run in 0..sizes.runs {
        let ((out, n), t) = time(|| layered_graph::<E>(&plan, &inputs));
        build.push(t);
        backward.push(time(|| E::backward(&out)).1);
        if run == 0 {
            output = E::data(&out);
            leaf_grad = E::grad(&inputs[0]);
            gates = n;
        }
        drop_.push(time(|| drop(out)).1);
    }
    let times = RandomGraphTimes {
        build: median(build),
        backward: median(backward),
        drop: median(drop_),
        output,
        leaf_grad,
    };
    (times, gates)
}

/// The moons loss on `points` points, built from parameters set to
/// `values` (all of them, or none to keep the initial ones).
fn moons_loss(points: usize, values: &[f64]) -> (Value, Vec<Value>) {
    let (moons, mlp) = moons_loss::setup(points);
    let params = mlp.parameters();
    for (p, &v) in params.iter().zip(values) {
        p.set_data(v);
    }
    (moons_loss::loss(&mlp, &params, &moons), params)
}

/// Times, on the moons loss: build + backward; build + `grad` (the
/// gradient as a graph); and build + `grad` + `grad` of `g · v` (a
/// Hessian-vector product: second derivatives). Medians, and node counts.
fn second_derivative_cost(sizes: &Sizes) -> [(Duration, usize); 3] {
    let start: Vec<f64> = {
        let (_, params) = moons_loss(sizes.moons_points, &[]);
        params.iter().map(Value::data).collect()
    };
    let nodes = |v: &Value| v.topological_order().len();
    let backward = || {
        let (loss, _) = moons_loss(sizes.moons_points, &start);
        loss.backward();
        nodes(&loss)
    };
    let first = || {
        let (loss, params) = moons_loss(sizes.moons_points, &start);
        let g = chainrule::grad(&loss, &params);
        Value::sum(&g).topological_order().len()
    };
    let second = || {
        let (loss, params) = moons_loss(sizes.moons_points, &start);
        let g = chainrule::grad(&loss, &params);
        // v = (1, 1, …): H v, one more pass through g's graph.
        let hv = chainrule::grad(&Value::sum(&g), &params);
        Value::sum(&hv).topological_order().len()
    };
    let measure = |f: &dyn Fn() -> usize| {
        let count = f();
        let times = (0..sizes.runs.max(3)).map(|_| time(f).1).collect();
        (median(times), count)
    };
    [measure(&backward), measure(&first), measure(&second)]
}

/// Runs in a child process: builds the random graph, backpropagates, and
/// prints heap peak bytes and RSS high-water growth.
fn child_memory(engine: &str, nodes: usize) {
    fn measure<E: Engine>(nodes: usize) {
        let leaves = leaves::<E>(1000, 1);
        let plan = plan(nodes, 1000, 7);
        let rss_before = proc_status_kib("VmRSS");
        let live_before = LIVE.load(Relaxed);
        PEAK.store(live_before, Relaxed);
        let out = random_graph::<E>(&plan, &leaves);
        E::backward(&out);
        let heap = PEAK.load(Relaxed) - live_before;
        let rss = (proc_status_kib("VmHWM") - rss_before) * 1024;
        println!("{heap} {rss}");
        std::mem::forget(out); // the process ends here; no need to wait
    }
    COUNTING.store(true, Relaxed);
    match engine {
        "chainrule" => measure::<Chainrule>(nodes),
        _ => measure::<TypicalPort>(nodes),
    }
}

/// Runs in a child process: `cycles` times, builds a chain of `gates` mul
/// gates (each with its constant), backpropagates and drops it; prints the
/// resident set in MiB before the first build, at the last peak (built and
/// backpropagated), after the last drop, and after `clear_node_cache`.
fn child_rss(gates: usize, cache: bool, cycles: usize) {
    if !cache {
        chainrule::engine::tuning::set_node_cache_capacity(0);
    }
    let mib = |kib: usize| kib as f64 / 1024.0;
    let before = mib(proc_status_kib("VmRSS"));
    let mut peak = 0.0;
    for _ in 0..cycles {
        let x = Value::new(1.0);
        let y = (0..gates).fold(x.clone(), |y, _| &y * 1.0);
        y.backward();
        peak = mib(proc_status_kib("VmRSS"));
        black_box(x.grad());
        drop(y);
    }
    let after = mib(proc_status_kib("VmRSS"));
    chainrule::engine::tuning::clear_node_cache();
    let cleared = mib(proc_status_kib("VmRSS"));
    println!("{before} {peak} {after} {cleared}");
}

/// [`child_rss`] in a fresh process.
fn rss_cycles(gates: usize, cache: bool, cycles: usize) -> Option<[f64; 4]> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args([
            "--child-rss",
            &gates.to_string(),
            if cache { "on" } else { "off" },
            &cycles.to_string(),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<f64> = text
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    numbers.try_into().ok()
}

fn proc_status_kib(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Heap and RSS bytes per node, from a child process.
fn memory_per_node(engine: &str, nodes: usize) -> Option<(f64, f64)> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(["--child-memory", engine, &nodes.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text.split_whitespace().map(|s| s.parse::<f64>().ok());
    let (heap, rss) = (numbers.next()??, numbers.next()??);
    Some((heap / nodes as f64, rss / nodes as f64))
}

fn chain_ns_per_node(nodes: usize, runs: usize) -> f64 {
    let (x, s) = (Value::new(1.0), Value::new(0.5));
    let times = (0..runs)
        .map(|_| {
            time(|| {
                let y = chain::<Chainrule>(nodes, &x, &s);
                y.backward();
                black_box(y.data())
            })
            .1
        })
        .collect();
    median(times).as_nanos() as f64 / nodes as f64
}

fn dot_versus_binary(sizes: &Sizes) -> (Duration, Duration) {
    let n = sizes.dot_len;
    let ws: Vec<Value> = (0..n).map(|i| Value::new(i as f64 * 1e-3)).collect();
    let xs: Vec<Value> = (0..n).map(|i| Value::new(1.0 - i as f64 * 1e-3)).collect();
    let fused = || {
        let y = Value::dot(&ws, &xs).expect("equal lengths");
        y.backward();
        black_box(y.data())
    };
    let binary = || {
        let mut y = &ws[0] * &xs[0];
        for (w, x) in ws.iter().zip(&xs).skip(1) {
            y += w * x;
        }
        y.backward();
        black_box(y.data())
    };
    let fused_time = median((0..sizes.dot_reps).map(|_| time(fused).1).collect());
    let binary_time = median((0..sizes.dot_reps).map(|_| time(binary).1).collect());
    (fused_time, binary_time)
}

/// Backward through `x * K` where `K` is a deep subgraph, once built on a
/// constant and once on a gradient-wanting leaf.
fn constant_subgraph(sizes: &Sizes) -> (Duration, Duration) {
    let depth = sizes.random_nodes;
    let measure = |base: Value| {
        let x = Value::new(2.0);
        let k = chain::<Chainrule>(depth, &base, &Value::constant(1e-6));
        let y = &x * &k;
        median((0..sizes.runs).map(|_| time(|| y.backward()).1).collect())
    };
    (measure(Value::constant(1.0)), measure(Value::new(1.0)))
}

/// The resident-memory table: RSS before, at peak and after drop cycles.
fn rss_report(sizes: &Sizes) {
    println!("## Resident memory around build, backward and drop\n");
    println!(
        "A fresh process per row builds a chain of `mul` gates (each with its constant: twice as \
         many nodes), backpropagates and drops it, {} times; RSS in MiB. The goal: after the drop, \
         RSS ≤ (before + cap) × 1.1, the cap being the cache's {:.0} MiB (when on) plus the {:.0} MiB \
         a drop may leave with the allocator before it asks it to return memory.\n",
        sizes.rss_cycles, CACHE_CAP_MIB, RELEASE_MIB,
    );
    println!(
        "| gates | nodes | cache | before | peak | after drop | goal | met | after `clear_node_cache` |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---|---:|");
    for &gates in sizes.rss_gates {
        for cache in [true, false] {
            let Some([before, peak, after, cleared]) = rss_cycles(gates, cache, sizes.rss_cycles)
            else {
                println!("| {gates} | | (child process failed) | | | | | | |");
                continue;
            };
            let cap = RELEASE_MIB + if cache { CACHE_CAP_MIB } else { 0.0 };
            let goal = (before + cap) * 1.1;
            println!(
                "| {gates} | {} | {} | {before:.0} | {peak:.0} | {after:.0} | {goal:.0} | {} | {cleared:.0} |",
                2 * gates,
                if cache { "on" } else { "off" },
                if after <= goal { "yes" } else { "**no**" },
            );
        }
    }
    println!();
}

fn report(sizes: &Sizes) {
    let n = sizes.random_nodes;
    println!("# chainrule engine report\n");
    println!(
        "Medians of {} runs; `cargo bench --bench report`. Machine: {} cores.\n",
        sizes.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    println!("## Random graph of {n} binary nodes (add, mul, max): forward + backward\n");
    let ours = time_random_graph::<Chainrule>(sizes);
    let theirs = time_random_graph::<TypicalPort>(sizes);
    let speedup = times_table(n, &ours, &theirs);
    let same = ours.output == theirs.output;
    let close = (ours.leaf_grad - theirs.leaf_grad).abs() <= 1e-9 * theirs.leaf_grad.abs();
    println!("\nchainrule is **{speedup:.1}x** faster.\n");
    println!(
        "Both engines computed output {:.6e} ({}) and gradient {:.6e} / {:.6e} for one leaf ({}; \
         the summation order of its many contributions differs).\n",
        ours.output,
        if same { "identical" } else { "DIFFERENT" },
        ours.leaf_grad,
        theirs.leaf_grad,
        if close { "equal to 1e-9" } else { "DIFFERENT" },
    );

    let w = sizes.layered_width;
    println!(
        "## Cache-hostile layered graph: {} layers of {w} nodes, random partners, then an add tree\n",
        sizes.layered_layers
    );
    let ((ours, gates), (theirs, _)) = (
        time_layered::<Chainrule>(sizes),
        time_layered::<TypicalPort>(sizes),
    );
    println!(
        "Node j of each layer meets node j and a random node of the layer before (add, mul, or ln \
         of the product, keeping values in [0.25, 4]); {gates} gates in all.\n"
    );
    let speedup = times_table(gates, &ours, &theirs);
    let close = (ours.leaf_grad - theirs.leaf_grad).abs() <= 1e-9 * theirs.leaf_grad.abs();
    println!(
        "\nchainrule is **{speedup:.1}x** faster; both computed output {:.6e} ({}) and an input's \
         gradient {:.6e} / {:.6e} ({}).\n",
        ours.output,
        if ours.output == theirs.output {
            "identical"
        } else {
            "DIFFERENT"
        },
        ours.leaf_grad,
        theirs.leaf_grad,
        if close { "equal to 1e-9" } else { "DIFFERENT" },
    );

    println!(
        "## Second derivatives: `grad` on micrograd's moons loss ({} points, MLP 2-16-16-1)\n",
        sizes.moons_points
    );
    let [
        (backward, nodes),
        (first, first_nodes),
        (second, second_nodes),
    ] = second_derivative_cost(sizes);
    println!("| what | time | against one backward | nodes of the result |");
    println!("|---|---:|---:|---:|");
    for (what, t, count) in [
        ("build the loss, `backward()`", backward, nodes),
        (
            "build the loss, `grad` (the gradient as a graph)",
            first,
            first_nodes,
        ),
        (
            "build the loss, `grad`, `grad` of Σ g (a Hessian-vector product)",
            second,
            second_nodes,
        ),
    ] {
        println!(
            "| {what} | {:.2} ms | {:.1}x | {count} |",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / backward.as_secs_f64()
        );
    }
    println!();

    println!("## Memory per binary node ({n}-node random graph, built and backpropagated)\n");
    println!("| engine | peak heap bytes / node | peak RSS growth / node |");
    println!("|---|---:|---:|");
    for (name, engine) in [("chainrule", "chainrule"), ("typical Rc port", "typical")] {
        match memory_per_node(engine, n) {
            Some((heap, rss)) => println!("| {name} | {heap:.1} | {rss:.1} |"),
            None => println!("| {name} | (child process failed) | |"),
        }
    }
    println!(
        "\nHeap bytes count what was requested (the graph, and backward's frontier at its largest);"
    );
    println!("RSS adds the allocator's rounding (and, for the port, its recursion stack).\n");

    rss_report(sizes);

    println!("## Deep chains: time per node (build + backward + drop)\n");
    println!("| chain length | node cache on (default) | node cache off |");
    println!("|---:|---:|---:|");
    let mut per_node = Vec::new();
    for nodes in [sizes.short_chain, sizes.long_chain] {
        let runs = if nodes > 1_000_000 {
            sizes.runs.min(3)
        } else {
            sizes.runs
        };
        let cached = chain_ns_per_node(nodes, runs);
        let previous = chainrule::engine::tuning::set_node_cache_capacity(0);
        let uncached = chain_ns_per_node(nodes, runs);
        chainrule::engine::tuning::set_node_cache_capacity(previous);
        println!("| {nodes} | {cached:.1} ns | {uncached:.1} ns |");
        per_node.push((cached, uncached));
    }
    let [(short_on, short_off), (long_on, long_off)] = per_node[..] else {
        return;
    };
    println!(
        "\nLong / short: **{:.2}x** with the cache off (depth alone); {:.2}x with it on, where the \
         short chain lives entirely in the {} reused nodes and the long one mostly cannot.\n",
        long_off / short_off,
        long_on / short_on,
        chainrule::engine::tuning::DEFAULT_NODE_CACHE_CAPACITY,
    );

    println!(
        "## Fused dot against binary mul and add ({} pairs, build + backward)\n",
        sizes.dot_len
    );
    let (fused, binary) = dot_versus_binary(sizes);
    println!("| form | time |");
    println!("|---|---:|");
    println!(
        "| `Value::dot` (1 node) | {:.1} µs |",
        fused.as_secs_f64() * 1e6
    );
    println!(
        "| `w * x + …` ({} nodes) | {:.1} µs |",
        2 * sizes.dot_len - 1,
        binary.as_secs_f64() * 1e6
    );
    println!(
        "\nSpeed-up: **{:.1}x**.\n",
        binary.as_secs_f64() / fused.as_secs_f64()
    );

    println!("## Backward through a {n}-node subgraph: constant or not\n");
    let (constant, variable) = constant_subgraph(sizes);
    println!("| subgraph built on | backward |");
    println!("|---|---:|");
    println!(
        "| `Value::constant` | {:.3} ms |",
        constant.as_secs_f64() * 1e3
    );
    println!("| `Value::new` | {:.3} ms |", variable.as_secs_f64() * 1e3);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-memory") {
        let nodes = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(0);
        let engine = args.get(i + 1).cloned().unwrap_or_default();
        // The port recurses once per node deep.
        let child = std::thread::Builder::new()
            .stack_size(4 << 30)
            .spawn(move || child_memory(&engine, nodes));
        child.expect("spawn").join().expect("child");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child-rss") {
        let number = |k: usize| args.get(i + k).and_then(|s| s.parse().ok()).unwrap_or(0);
        let cache = args.get(i + 2).is_some_and(|s| s == "on");
        child_rss(number(1), cache, number(3));
        return;
    }
    if args.iter().any(|a| a == "--rss-only") {
        let sizes = if args.iter().any(|a| a == "--test") {
            QUICK
        } else {
            FULL
        };
        rss_report(&sizes);
        return;
    }
    let sizes = if args.iter().any(|a| a == "--test") {
        QUICK
    } else {
        FULL
    };
    let worker = std::thread::Builder::new()
        .stack_size(4 << 30)
        .spawn(move || report(&sizes));
    worker
        .expect("spawn report thread")
        .join()
        .expect("report thread");
}
