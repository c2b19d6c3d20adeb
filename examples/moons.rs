//! micrograd's demo, reproduced: a 2-16-16-1 relu MLP learns to separate
//! two moons (100 points, noise 0.1) with the hinge loss plus 1e-4 L2,
//! by gradient descent at rate 1.0 - 0.9 k / 100 for 100 steps.
//! Writes the decision boundary and the loss and accuracy curves as SVG.
//!
//! ```text
//! cargo run --release --example moons [-- --seed 0 --steps 100 --out DIR --engine tape|graph]
//! ```
//!
//! `--engine tape` (the default) records the step once and replays it
//! (`Mlp::record_step`); `--engine graph` builds the graph at every step,
//! as micrograd does. Both take the same steps, bit for bit.

#[path = "support/mod.rs"]
mod support;

use chainrule::loss;
use chainrule::nn::{Activation, Init, Mlp, StepLoss};
use chainrule::optim::{Optimizer, Schedule, Sgd};
use rand::SeedableRng;

fn main() {
    let flags = support::Flags::parse(0, &["--out", "--seed", "--steps", "--engine"]);
    let taped = flags.taped();
    let out = flags.out_dir();
    let seed = flags.seed("--seed", 0);
    let steps = flags.count("--steps", 100, 1, 1_000_000);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let data = chainrule::data::moons(100, 0.1, &mut rng);

    // micrograd's network and initialisation: weights uniform in [-1, 1].
    let model = Mlp::with_init(&[2, 16, 16, 1], Activation::Relu, Init::Uniform, &mut rng)
        .unwrap_or_else(|e| support::fail(&e.to_string()));
    let parameters = model.parameters();
    println!(
        "MLP 2-16-16-1 (relu), {} parameters, seed {seed}, {}",
        model.num_parameters(),
        if taped {
            "recorded once and replayed (--engine graph builds every step)"
        } else {
            "the graph built at every step"
        }
    );
    let mut sgd = Sgd::new(1.0)
        .and_then(|s| {
            s.schedule(Schedule::Linear {
                to: 0.1,
                steps: 100,
            })
        })
        .unwrap_or_else(|e| support::fail(&e.to_string()));

    let started = std::time::Instant::now();
    let progress = support::Progress::new(steps as u64);
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    let recorded = taped.then(|| {
        model
            .record_step(StepLoss::BinaryHinge { l2: 1e-4 }, data.points.len())
            .unwrap_or_else(|e| support::fail(&e.to_string()))
    });
    for k in 0..steps {
        let rate = sgd.learning_rate();
        let (total, correct) = match &recorded {
            // Replayed: the same graph, recorded once, with this step's numbers.
            Some(step) => {
                let total = step
                    .run(&data.points, &data.labels)
                    .unwrap_or_else(|e| support::fail(&e.to_string()));
                let scores = (0..data.points.len()).filter_map(|i| step.output(i, 0));
                let correct = scores
                    .zip(&data.labels)
                    .filter(|&(score, &label)| (score > 0.0) == (label > 0.0))
                    .count();
                (total, correct)
            }
            // Built anew: micrograd's way.
            None => {
                let mut sample_losses = Vec::with_capacity(data.points.len());
                let mut correct = 0;
                for (point, &label) in data.points.iter().zip(&data.labels) {
                    // The point's coordinates are numbers, not nodes: forward_f64.
                    let score = model
                        .forward_f64(point)
                        .unwrap_or_else(|e| support::fail(&e.to_string()))
                        .remove(0);
                    correct += usize::from((score.data() > 0.0) == (label > 0.0));
                    sample_losses.push(
                        loss::binary_hinge(&score, label)
                            .unwrap_or_else(|e| support::fail(&e.to_string())),
                    );
                }
                let data_loss =
                    loss::mean(&sample_losses).unwrap_or_else(|e| support::fail(&e.to_string()));
                let total = data_loss + 1e-4 * loss::l2(&parameters);
                model.zero_grad();
                total.backward();
                (total.data(), correct)
            }
        };
        sgd.step(&parameters)
            .unwrap_or_else(|e| support::fail(&e.to_string()));

        let accuracy = correct as f64 / data.points.len() as f64;
        losses.push(total);
        accuracies.push(accuracy);
        progress.step(&format!(
            "step {k} loss {:.6}, accuracy {:.0}% (learning rate {rate:.3})",
            total,
            accuracy * 100.0
        ));
    }
    progress.finish();
    let elapsed = started.elapsed();
    println!(
        "final: loss {:.6}, training accuracy {:.0}%, {:.1} ms per step",
        losses.last().copied().unwrap_or(f64::NAN),
        accuracies.last().copied().unwrap_or(0.0) * 100.0,
        elapsed.as_secs_f64() * 1e3 / steps.max(1) as f64
    );

    let boundary = out.join("moons-boundary.svg");
    support::save_plot(
        &boundary,
        chainrule::plot::decision_boundary(
            "decision boundary",
            &data.points,
            &data.labels,
            |x, y| model.predict(&[x, y]).map(|s| s[0]),
        ),
    );
    let curve = out.join("moons-training.svg");
    support::save_plot(
        &curve,
        chainrule::plot::curves(
            "training",
            chainrule::plot::Axes::new("step", "loss, accuracy"),
            &[("loss", &losses), ("accuracy", &accuracies)],
        ),
    );
    println!(
        "\nPlots are in {}/ (moons-boundary.svg, moons-training.svg)",
        out.display()
    );
}
