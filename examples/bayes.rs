//! The lecture's noodle-shop survey (베이즈 정리 / Bayes' theorem): half the
//! customers are men, half women; men order bibim-naengmyeon 1 time in 5,
//! women 2 in 5. Given a customer eating bibim-naengmyeon, who is it?
//!
//! The log-joint scores `s_k = ln P(X | Y_k) P(Y_k)` through a softmax are
//! the posterior; with two classes that is the sigmoid of the log odds; and
//! logistic regression (`a = w x + b`) trained on customers drawn from the
//! same story learns those posteriors back.
//!
//! ```text
//! cargo run --release --example bayes [-- --customers 100000 --seed 1 --out DIR]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, loss};
use rand::{RngExt, SeedableRng};

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--customers", "--seed"]);
    let out = flags.out_dir();
    let customers = flags.count("--customers", 100_000, 1, 100_000_000);
    let seed = flags.seed("--seed", 1);
    let (p_man, p_woman): (f64, f64) = (0.5, 0.5);
    let (bibim_if_man, bibim_if_woman) = (1.0 / 5.0, 2.0 / 5.0);

    println!("Survey: P(man) = P(woman) = 1/2; P(bibim | man) = 1/5, P(bibim | woman) = 2/5\n");
    let scores = [
        Value::new((bibim_if_man * p_man).ln()),
        Value::new((bibim_if_woman * p_woman).ln()),
    ];
    println!(
        "log-joint scores s_k = ln P(bibim | Y_k) P(Y_k): man {:.4}, woman {:.4}",
        scores[0].data(),
        scores[1].data()
    );
    let posterior = loss::softmax(&scores).unwrap_or_else(|e| support::fail(&e.to_string()));
    println!(
        "softmax over the scores = posterior: P(man | bibim) = {:.4} (1/3), P(woman | bibim) = {:.4} (2/3)",
        posterior[0].data(),
        posterior[1].data()
    );
    let log_odds = &scores[1] - &scores[0];
    println!(
        "two classes: sigmoid(log odds {:.4} = ln 2) = {:.4} = P(woman | bibim)",
        log_odds.data(),
        log_odds.sigmoid().data()
    );

    // Customers drawn from the story: (orders bibim, is a woman).
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut counts = [[0usize; 2]; 2]; // [bibim][woman]
    for _ in 0..customers {
        let woman = rng.random_bool(p_woman);
        let bibim = rng.random_bool(if woman { bibim_if_woman } else { bibim_if_man });
        counts[usize::from(bibim)][usize::from(woman)] += 1;
    }
    println!(
        "\n{customers} customers drawn from the story; logistic regression P(woman | x) = sigmoid(w x + b), x = 1 for bibim"
    );
    let (w, b) = (Value::new(0.0), Value::new(0.0));
    let parameters = [w.clone(), b.clone()];
    let mut sgd = Sgd::new(1.0).unwrap_or_else(|e| support::fail(&e.to_string()));
    let mut history = Vec::new();
    for step in 0..=300 {
        // The mean cross-entropy over all customers: customers alike in x and
        // y have the same loss term, so each term is weighted by its count.
        let mut terms = Vec::new();
        for (x, row) in counts.iter().enumerate() {
            let logit = &w * x as f64 + &b;
            for (woman, &n) in row.iter().enumerate() {
                let l = loss::logistic(&logit, woman as f64)
                    .unwrap_or_else(|e| support::fail(&e.to_string()));
                terms.push(l * (n as f64 / customers as f64));
            }
        }
        let total = Value::sum(&terms);
        let p_bibim = (&w + &b).sigmoid().data();
        let p_other = b.sigmoid().data();
        history.push((step as f64, p_bibim, p_other));
        if step % 50 == 0 {
            println!(
                "  step {step:3}: loss {:.5}  P(woman | bibim) {p_bibim:.4}  P(woman | naengmyeon) {p_other:.4}",
                total.data()
            );
        }
        w.zero_grad();
        b.zero_grad();
        total.backward();
        sgd.step(&parameters)
            .unwrap_or_else(|e| support::fail(&e.to_string()));
    }
    let sample = counts[1][1] as f64 / (counts[1][0] + counts[1][1]) as f64;
    println!(
        "\nlearned P(woman | bibim) = {:.4}; in the sample {:.4}; by Bayes 2/3 = {:.4}",
        (&w + &b).sigmoid().data(),
        sample,
        2.0 / 3.0
    );
    println!(
        "learned P(woman | naengmyeon) = {:.4}; by Bayes 3/7 = {:.4}",
        b.sigmoid().data(),
        3.0 / 7.0
    );

    let path = out.join("bayes-posterior.svg");
    support::save_plot(
        &path,
        chainrule::plot::lines(
            "logistic regression learns the posterior",
            chainrule::plot::Axes::new("step", "P(woman | bibim)"),
            &[
                (
                    "P(woman | bibim)",
                    history.iter().map(|h| (h.0, h.1)).collect::<Vec<_>>(),
                ),
                ("2/3 (Bayes)", vec![(0.0, 2.0 / 3.0), (300.0, 2.0 / 3.0)]),
                (
                    "P(woman | naengmyeon)",
                    history.iter().map(|h| (h.0, h.2)).collect::<Vec<_>>(),
                ),
                ("3/7 (Bayes)", vec![(0.0, 3.0 / 7.0), (300.0, 3.0 / 7.0)]),
            ],
        ),
    );
    println!("\nPlot: {}", path.display());
}
