//! The lecture's sales story (확률 vs 우도 / probability vs likelihood): a
//! noodle-shop chain's daily sales follow a normal distribution with mean 32
//! and standard deviation 2.5.
//!
//! Probability: the area under the density, P(32 ≤ x ≤ 34) and P(x > 34).
//! Likelihood: with 34 sold, how plausible is a mean of 32 against 34?
//! Maximum likelihood: fit the mean and standard deviation to a sample by
//! gradient descent on the negative log-likelihood, built from `Value`s, and
//! compare with the closed form (sample mean, biased standard deviation).
//!
//! ```text
//! cargo run --release --example likelihood [-- --days 200 --seed 7 --out DIR]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::Value;
use chainrule::data::standard_normal;
use chainrule::optim::{Optimizer, Sgd};
use rand::SeedableRng;

fn density(x: f64, mean: f64, sd: f64) -> f64 {
    (-(x - mean).powi(2) / (2.0 * sd * sd)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
}

/// ∫ density over [a, b] by Simpson's rule: the area under the curve.
fn probability(a: f64, b: f64, mean: f64, sd: f64) -> f64 {
    let n = 10_000;
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| density(a + i as f64 * h, mean, sd) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    h / 3.0 * (density(a, mean, sd) + inner + density(b, mean, sd))
}

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--days", "--seed"]);
    let out = flags.out_dir();
    let days = flags.count("--days", 200, 1, 10_000_000);
    let seed = flags.seed("--seed", 7);
    let (mean, sd) = (32.0, 2.5);

    println!("Daily sales ~ Normal(mean 32, sd 2.5)\n");
    let between = probability(32.0, 34.0, mean, sd);
    println!("probability (확률): P(32 <= x <= 34) = {between:.4}   (lecture: 0.2881)");
    println!(
        "                    P(x > 34) = 1/2 - P(32..34) = {:.4}   (lecture: 0.2119)",
        0.5 - between
    );
    println!("\nlikelihood (우도) of a mean given 34 sold:");
    println!("  L(mean 32 | x = 34) = {:.4}", density(34.0, 32.0, sd));
    println!(
        "  L(mean 34 | x = 34) = {:.4}   (a mean of 34 explains 34 sold better)",
        density(34.0, 34.0, sd)
    );

    // A sample of days, then maximum likelihood by gradient descent.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sales: Vec<f64> = (0..days)
        .map(|_| mean + sd * standard_normal(&mut rng))
        .collect();
    let sample_mean = sales.iter().sum::<f64>() / days as f64;
    let biased_sd =
        (sales.iter().map(|x| (x - sample_mean).powi(2)).sum::<f64>() / days as f64).sqrt();

    // Parameters: the mean, and ln sd (so the sd stays positive).
    // A first guess far off in the mean and wide in the spread.
    let (mu, log_sd) = (
        Value::new(25.0).with_label("mean"),
        Value::new(10f64.ln()).with_label("ln sd"),
    );
    let parameters = [mu.clone(), log_sd.clone()];
    let mut sgd = Sgd::new(0.5).unwrap_or_else(|e| support::fail(&e.to_string()));
    let mut history = Vec::new();
    println!(
        "\nmaximum likelihood on {days} days: minimise the mean of ln sd + (x - mean)^2 / (2 sd^2)"
    );
    for step in 0..3000 {
        let inverse_variance = (-2.0 * &log_sd).exp();
        let terms: Vec<Value> = sales.iter().map(|&x| (x - &mu).powf(2.0)).collect();
        let squares = Value::sum(&terms) * (1.0 / days as f64);
        let nll = &log_sd + 0.5 * squares * inverse_variance;
        mu.zero_grad();
        log_sd.zero_grad();
        nll.backward();
        sgd.step(&parameters)
            .unwrap_or_else(|e| support::fail(&e.to_string()));
        history.push((step as f64, mu.data(), log_sd.data().exp()));
        if step % 500 == 0 {
            println!(
                "  step {step:4}: mean {:.6}  sd {:.6}",
                mu.data(),
                log_sd.data().exp()
            );
        }
    }
    let fitted_sd = log_sd.data().exp();
    println!("\nfitted: mean {:.9}, sd {:.9}", mu.data(), fitted_sd);
    println!("closed form: sample mean {sample_mean:.9}, biased sd {biased_sd:.9}");
    println!(
        "differences: {:.1e} and {:.1e} (within 1e-6: {})",
        (mu.data() - sample_mean).abs(),
        (fitted_sd - biased_sd).abs(),
        (mu.data() - sample_mean).abs() < 1e-6 && (fitted_sd - biased_sd).abs() < 1e-6
    );

    let path = out.join("likelihood.svg");
    let xs = |from: f64, to: f64| (0..=400).map(move |i| from + (to - from) * i as f64 / 400.0);
    support::save_plot(
        &path,
        chainrule::plot::lines(
            "density of sales (mean 32) and likelihood of the mean given 34 sold",
            chainrule::plot::Axes::new("sales / mean", "density, likelihood"),
            &[
                (
                    "density p(x | mean 32)",
                    xs(22.0, 42.0)
                        .map(|x| (x, density(x, 32.0, sd)))
                        .collect::<Vec<_>>(),
                ),
                (
                    "likelihood L(mean | x = 34)",
                    xs(22.0, 42.0)
                        .map(|m| (m, density(34.0, m, sd)))
                        .collect::<Vec<_>>(),
                ),
            ],
        ),
    );
    let fit = out.join("likelihood-fit.svg");
    support::save_plot(
        &fit,
        chainrule::plot::lines(
            "gradient descent on the negative log-likelihood",
            chainrule::plot::Axes::new("step", "value"),
            &[
                (
                    "mean",
                    history.iter().map(|h| (h.0, h.1)).collect::<Vec<_>>(),
                ),
                ("sd", history.iter().map(|h| (h.0, h.2)).collect::<Vec<_>>()),
            ],
        ),
    );
    println!("\nPlots: {} and {}", path.display(), fit.display());
}
