//! A ratio that drift cannot bend: the two steps timed in turn, round after
//! round, and compared by their medians.

use std::time::{Duration, Instant};

/// Times `chainrule` and `dense` alternately for `rounds` rounds (3 under
/// `cargo bench -- --test`) and prints both medians and their ratio.
pub fn report(name: &str, rounds: usize, mut chainrule: impl FnMut(), mut dense: impl FnMut()) {
    let rounds = if std::env::args().any(|a| a == "--test") {
        3
    } else {
        rounds
    };
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let start = Instant::now();
        chainrule();
        a.push(start.elapsed());
        let start = Instant::now();
        dense();
        b.push(start.elapsed());
    }
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (a, b) = (median(a), median(b));
    println!(
        "{name}: chainrule {a:.2?}, dense f64 {b:.2?}, ratio {:.1}x (medians of {rounds} interleaved rounds)",
        a.as_secs_f64() / b.as_secs_f64()
    );
}
