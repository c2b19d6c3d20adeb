//! Drawing time against graph size: lattices of diamonds (`y = y·1 + y·1`,
//! the old pure-Rust renderer's exponential case) and flat sums, drawn in
//! the lecture style by the pure-Rust renderer (and Graphviz, in the
//! table, when it is installed).
//!
//! `cargo bench --bench pictures` runs the criterion benches;
//! `cargo bench --bench pictures -- --table` prints docs/performance.md's table of
//! medians instead; `-- --worst` searches chains of every size, leaf count
//! and grouping for the slowest drawing within the limits.

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

/// A chain of `gates` alternating × and + gates, fed by `leaves` leaves
/// in turn (long edges from the leaves to every gate), grouped one of five
/// ways: none, each gate in its own group four deep, groups four deep
/// that interleave, two alternating groups, groups of 50 gates.
fn chain(gates: usize, leaves: usize, grouping: usize) -> Value {
    let xs: Vec<Value> = (0..leaves).map(|i| Value::new(i as f64 + 1.0)).collect();
    let mut y = xs[0].clone();
    for k in 0..gates {
        let v = if k % 2 == 0 {
            &y * &xs[k % leaves]
        } else {
            &y + &xs[(k * 7) % leaves]
        };
        y = match grouping {
            0 => v,
            1 => v.with_group(format!("a/b/c/g{k}")),
            2 => v.with_group(format!("g{}/h{}/i{}/j{k}", k % 2, k % 3, k % 5)),
            3 => v.with_group(format!("g{}", k % 2)),
            _ => v.with_group(format!("g{}/h{k}", k / 50)),
        };
    }
    y.backward();
    y
}

/// Searches the chains above (every size, leaf count and grouping, both
/// styles, within the default limits) for the slowest drawing, and times
/// the explorer of the slowest.
fn worst() {
    use chainrule::graph::{ExplorerOptions, Style};
    let mut found: Vec<(f64, String, usize, usize, usize, Style)> = Vec::new();
    for gates in [100, 250, 400, 495] {
        for leaves in [1, 2, 5, 20] {
            for grouping in 0..5 {
                for style in [Style::Lecture, Style::Nodes] {
                    let graph = chain(gates, leaves, grouping).graph();
                    let options = DotOptions::new().style(style).renderer(Renderer::PureRust);
                    let mut times = Vec::new();
                    for _ in 0..3 {
                        let start = Instant::now();
                        if graph.to_svg(&options).is_err() {
                            break; // beyond the default limits
                        }
                        times.push(start.elapsed().as_secs_f64() * 1e3);
                    }
                    if times.len() == 3 {
                        times.sort_by(f64::total_cmp);
                        let name = format!(
                            "{gates} gates, {leaves} leaves, grouping {grouping}, {style:?} ({} nodes)",
                            graph.len()
                        );
                        found.push((times[1], name, gates, leaves, grouping, style));
                    }
                }
            }
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("| slowest drawings within the limits | median of 3 (ms) |");
    println!("|---|---:|");
    for (ms, name, ..) in found.iter().take(5) {
        println!("| {name} | {ms:.0} |");
    }
    if let Some((_, name, gates, leaves, grouping, style)) = found.first() {
        let graph = chain(*gates, *leaves, *grouping).graph();
        let options = ExplorerOptions::new().picture(DotOptions::new().style(*style));
        let start = Instant::now();
        let page = graph.explorer(&options).expect("within the limits");
        println!(
            "\nexplorer of the slowest ({name}): {:.0} ms, {} KB",
            start.elapsed().as_secs_f64() * 1e3,
            page.len() / 1024
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--worst") {
        worst();
        return;
    }
    if std::env::args().any(|a| a == "--table") {
        table();
        explorer_table();
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
