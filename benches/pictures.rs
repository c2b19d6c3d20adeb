//! Drawing time against graph size: lattices of diamonds (`y = y·1 + y·1`,
//! the old pure-Rust renderer's exponential case) and flat sums, drawn in
//! the lecture style by the pure-Rust renderer (and Graphviz, in the
//! table, when it is installed).
//!
//! `cargo bench --bench pictures` runs the criterion benches;
//! `cargo bench --bench pictures -- --table` prints the README's table of
//! medians instead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chainrule::Value;
use chainrule::graph::{DotOptions, Renderer, graphviz_installed};
use criterion::{BenchmarkId, Criterion};

fn lattice(levels: usize) -> Value {
    let mut y = Value::new(1.0).with_label("x");
    for _ in 0..levels {
        y = &y * 1.0 + &y * 1.0;
    }
    y.backward();
    y
}

fn flat_sum(leaves: usize) -> Value {
    let xs: Vec<Value> = (0..leaves).map(|i| Value::new(i as f64)).collect();
    let s = Value::sum(&xs);
    s.backward();
    s
}

const LATTICES: [usize; 6] = [10, 20, 40, 60, 80, 99];
const FLAT_SUMS: [usize; 5] = [50, 100, 200, 300, 499];

/// A bench group: its name, the sizes, and the graph of a size.
type Kind = (&'static str, &'static [usize], fn(usize) -> Value);

fn benches(c: &mut Criterion) {
    let options = DotOptions::lecture().renderer(Renderer::PureRust);
    let kinds: [Kind; 2] = [
        ("draw_lattice", &LATTICES, lattice),
        ("draw_flat_sum", &FLAT_SUMS, flat_sum),
    ];
    for (name, sizes, make) in kinds {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for &size in sizes {
            let graph = make(size).graph();
            group.bench_with_input(BenchmarkId::from_parameter(graph.len()), &graph, |b, g| {
                b.iter(|| black_box(g.to_svg(&options).expect("drawn")))
            });
        }
        group.finish();
    }
}

/// The median of `runs` drawings, in milliseconds.
fn median_ms(value: &Value, renderer: Renderer, runs: usize) -> f64 {
    let graph = value.graph();
    // No limits: the table goes past them, to show the growth.
    let options = DotOptions::lecture()
        .renderer(renderer)
        .node_limit(usize::MAX)
        .edge_limit(usize::MAX);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(graph.to_svg(&options).expect("drawn"));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2].as_secs_f64() * 1e3
}

fn table() {
    let graphviz = graphviz_installed();
    println!("| graph | nodes | edges | pure Rust (ms) | Graphviz (ms) |");
    println!("|---|---:|---:|---:|---:|");
    // Past the default limits too (500 nodes, 1,500 edges).
    let rows = LATTICES
        .iter()
        .chain(&[200, 400])
        .map(|&l| (format!("lattice, {l} levels"), lattice(l)))
        .chain(
            FLAT_SUMS
                .iter()
                .chain(&[1000, 2000])
                .map(|&n| (format!("flat sum of {n}"), flat_sum(n))),
        );
    for (name, value) in rows {
        let graph = value.graph();
        let ours = median_ms(&value, Renderer::PureRust, 7);
        let theirs = if graphviz {
            format!("{:.1}", median_ms(&value, Renderer::Graphviz, 3))
        } else {
            "not installed".into()
        };
        println!(
            "| {name} | {} | {} | {ours:.1} | {theirs} |",
            graph.len(),
            graph.edges().count()
        );
    }
}

/// The explorers of the largest graphs within the default limits: the
/// median time to build the page (trace, picture, sentences, nudges), and
/// its size.
fn explorer_table() {
    use chainrule::graph::ExplorerOptions;
    println!();
    println!("| explorer of | nodes | build (ms) | page (KB) |");
    println!("|---|---:|---:|---:|");
    let rows = [
        ("lattice, 99 levels".to_owned(), lattice(99)),
        ("flat sum of 499".to_owned(), flat_sum(499)),
    ];
    for (name, value) in rows {
        let graph = value.graph();
        let options = ExplorerOptions::new().learning_rate(0.01);
        let mut times: Vec<Duration> = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let page = black_box(graph.explorer(&options).expect("within the limits"));
            times.push(start.elapsed());
            bytes = page.len();
        }
        times.sort();
        println!(
            "| {name} | {} | {:.0} | {} |",
            graph.len(),
            times[2].as_secs_f64() * 1e3,
            bytes / 1024
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--table") {
        table();
        explorer_table();
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
