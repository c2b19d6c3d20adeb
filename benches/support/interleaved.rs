//! A ratio that drift cannot bend: the steps timed in turn, round after
//! round, and compared by their medians.

use std::time::{Duration, Instant};

/// Times each of `steps` in turn for `rounds` rounds (3 under
/// `cargo bench -- --test`; `CHAINRULE_ROUNDS` overrides both) and prints
/// each median and its ratio to the last one's (the floor).
pub fn report(name: &str, rounds: usize, steps: &mut [(&str, &mut dyn FnMut())]) {
    let rounds = std::env::var("CHAINRULE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--test") {
            3
        } else {
            rounds
        });
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); steps.len()];
    for _ in 0..rounds {
        for ((_, step), times) in steps.iter_mut().zip(&mut times) {
            let start = Instant::now();
            step();
            times.push(start.elapsed());
        }
    }
    let medians: Vec<Duration> = times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    let floor = medians.last().copied().unwrap_or_default().as_secs_f64();
    let (floor_name, _) = &steps[steps.len() - 1];
    println!("{name} (medians of {rounds} interleaved rounds; ratios to {floor_name}):");
    for ((label, _), median) in steps.iter().zip(&medians) {
        println!(
            "  {label:<28} {median:>10.2?}  {:>6.2}x",
            median.as_secs_f64() / floor
        );
    }
}
