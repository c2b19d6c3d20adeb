//! The lecture's last part: a two-layer network (784-50-10) trained on MNIST
//! digits with mini-batch SGD (batch 100, learning rate 0.1), every number a
//! scalar `Value`.
//!
//! ```text
//! cargo run --release --example mnist -- train [--data DIR] [--train N] [--test N]
//!     [--hidden 50 | --hidden 128,64] [--epochs 15] [--batch 100] [--lr 0.1]
//!     [--optimizer sgd|adam] [--lr-end X] [--weight-decay L] [--seed 1] [--out DIR]
//!     [--safetensors FILE] [--engine tape|graph]
//! cargo run --release --example mnist -- evaluate --model FILE [--data DIR] [--test N]
//! ```
//!
//! `--engine tape` (the default) records one batch's step once and replays
//! it for every batch (`Mlp::record_step`); `--engine graph` builds each
//! batch's graph anew. Both take the same steps, bit for bit.
//!
//! `train` saves the model as `DIR/mnist-model.json`, and with
//! `--safetensors FILE` also as safetensors (F64), which PyTorch and candle
//! load (see the guide's chapter "Moving on"); `evaluate` reads either.
//!
//! `--data` defaults to the committed `data/mnist-sample` (2,000 training and
//! 500 test digits); `scripts/fetch-mnist.sh` fetches all 70,000.

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Instant;

use chainrule::data::mnist::{self, Digits, PIXELS};
use chainrule::nn::{Activation, Mlp, Precision, RecordedStep, StepLoss};
use chainrule::optim::{Adam, Optimizer, Schedule, Sgd};
use chainrule::{Value, loss};
use rand::{RngExt, SeedableRng};

use support::{Flags, fail};

const TRAIN_FLAGS: &[&str] = &[
    "--data",
    "--train",
    "--test",
    "--hidden",
    "--epochs",
    "--batch",
    "--lr",
    "--optimizer",
    "--lr-end",
    "--weight-decay",
    "--seed",
    "--out",
    "--safetensors",
    "--engine",
];
const EVALUATE_FLAGS: &[&str] = &["--model", "--data", "--test"];

fn main() {
    let command = std::env::args_os().nth(1);
    match command.as_ref().map(|c| c.to_string_lossy()).as_deref() {
        None => train(&Flags::parse(0, TRAIN_FLAGS)),
        Some(flag) if flag.starts_with('-') => train(&Flags::parse(0, TRAIN_FLAGS)),
        Some("train") => train(&Flags::parse(1, TRAIN_FLAGS)),
        Some("evaluate") => evaluate(&Flags::parse(1, EVALUATE_FLAGS)),
        Some(other) => fail(&format!(
            "unknown command {other:?}: use train or evaluate, as in `mnist train --epochs 1`"
        )),
    }
}

fn data_dir(flags: &Flags) -> PathBuf {
    flags.path("--data", "data/mnist-sample")
}

fn load(flags: &Flags, train: Option<usize>, test: Option<usize>) -> mnist::Mnist {
    let data = mnist::load(data_dir(flags), train, test).unwrap_or_else(|e| fail(&e.to_string()));
    // A count beyond the data is an error, not silently all of it.
    for (flag, asked, have) in [
        ("--train", train, data.train.len()),
        ("--test", test, data.test.len()),
    ] {
        if let Some(n) = asked.filter(|&n| n > have) {
            fail(&format!(
                "{flag} {n} is more than the {have} digits in {}; give at most {have} (or 0 for all)",
                data_dir(flags).display()
            ));
        }
    }
    data
}

/// `--train N` / `--test N`: the first N digits; absent or 0, all of them.
fn optional(flags: &Flags, name: &str) -> Option<usize> {
    let n = flags.count(name, 0, 0, usize::MAX);
    (n > 0).then_some(n)
}

/// Digit `i`'s pixels in [0, 1] and its label. The index comes from
/// `0..digits.len()`, so both exist; if not, the example stops, rather
/// than skip the digit or count it as a 0.
fn digit(digits: &Digits, i: usize) -> (Vec<f64>, u8) {
    match (digits.pixels(i), digits.label(i)) {
        (Some(x), Some(label)) => (x, label),
        _ => fail(&format!("digit {i} of {} is missing", digits.len())),
    }
}

/// Stops unless `model` reads 28×28 pixels and scores 10 digits.
fn check_digit_model(model: &Mlp, path: &std::path::Path) {
    let sizes = model.sizes();
    if sizes.first() != Some(&PIXELS) || sizes.last() != Some(&10) {
        fail(&format!(
            "{}: the model's sizes are {sizes:?}; a digit model needs {PIXELS} inputs (28x28 pixels) and 10 outputs (digits 0-9)",
            path.display()
        ));
    }
}

/// The index of the highest score.
fn argmax(scores: &[f64]) -> usize {
    (0..scores.len()).fold(0, |best, i| if scores[i] > scores[best] { i } else { best })
}

/// Accuracy, the confusion matrix (`[true][predicted]`) and the
/// misclassified digits as (index, predicted), by graph-free inference.
/// The model must be a digit model (see `check_digit_model`); an error
/// stops the example rather than become a prediction.
fn assess(model: &Mlp, digits: &Digits) -> (f64, [[usize; 10]; 10], Vec<(usize, usize)>) {
    let mut confusion = [[0usize; 10]; 10];
    let mut wrong = Vec::new();
    for i in 0..digits.len() {
        let (x, label) = digit(digits, i);
        let scores = model.predict(&x).unwrap_or_else(|e| fail(&e.to_string()));
        let predicted = argmax(&scores);
        if predicted >= 10 {
            fail(&format!(
                "the model gives {} scores; a digit model gives 10",
                scores.len()
            ));
        }
        confusion[usize::from(label)][predicted] += 1;
        if predicted != usize::from(label) {
            wrong.push((i, predicted));
        }
    }
    let correct: usize = (0..10).map(|d| confusion[d][d]).sum();
    (
        correct as f64 / digits.len().max(1) as f64,
        confusion,
        wrong,
    )
}

fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn train(flags: &Flags) {
    let out = flags.out_dir();
    let hidden: Vec<usize> = flags
        .text("--hidden", "50")
        .split(',')
        .map(|w| support::whole("--hidden (each width)", w, 1, 10_000))
        .collect();
    let epochs = flags.count("--epochs", 15, 1, 10_000);
    let batch = flags.count("--batch", 100, 1, 1_000_000);
    let rate = flags.positive("--lr", 0.1);
    let optimizer = flags.text("--optimizer", "sgd");
    // Optional: decay the rate linearly to --lr-end over all steps (sgd),
    // and the lecture's L2 term as weight decay (both 0 = off).
    let rate_end = flags.non_negative("--lr-end", 0.0);
    let weight_decay = flags.non_negative("--weight-decay", 0.0);
    let seed = flags.seed("--seed", 1);
    let taped = flags.taped();
    if rate_end > 0.0 && optimizer != "sgd" {
        fail("--lr-end decays sgd's rate; adam keeps its rate (leave --lr-end out)");
    }
    let data = load(flags, optional(flags, "--train"), optional(flags, "--test"));

    let mut sizes = vec![PIXELS];
    sizes.extend(&hidden);
    sizes.push(10);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let model =
        Mlp::new(&sizes, Activation::Relu, &mut rng).unwrap_or_else(|e| fail(&e.to_string()));
    let parameters = model.parameters();
    let steps = epochs * data.train.len().div_ceil(batch);
    let schedule = if rate_end > 0.0 {
        Schedule::Linear {
            to: rate_end,
            steps,
        }
    } else {
        Schedule::Constant
    };
    let mut step_by: Box<dyn Optimizer> = match optimizer.as_str() {
        "sgd" => Box::new(
            Sgd::new(rate)
                .and_then(|s| s.schedule(schedule))
                .and_then(|s| s.weight_decay(weight_decay))
                .unwrap_or_else(|e| fail(&e.to_string())),
        ),
        "adam" => Box::new(
            Adam::new(rate)
                .and_then(|a| a.weight_decay(weight_decay))
                .unwrap_or_else(|e| fail(&e.to_string())),
        ),
        other => fail(&format!("--optimizer {other:?}: use sgd or adam")),
    };
    println!(
        "MLP {} (relu), {} parameters; {} training and {} test digits from {}; batch {batch}, {optimizer} lr {rate}, {epochs} epochs",
        sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        model.num_parameters(),
        data.train.len(),
        data.test.len(),
        data_dir(flags).display()
    );

    let started = Instant::now();
    let (mut losses, mut train_accuracy, mut test_accuracy) = (vec![], vec![], vec![]);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let mut recorded: std::collections::HashMap<usize, RecordedStep> = Default::default();
    for epoch in 1..=epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let progress = support::Progress::new(order.len().div_ceil(batch) as u64);
        let epoch_start = Instant::now();
        let mut epoch_loss = 0.0;
        for (b, indices) in order.chunks(batch).enumerate() {
            let batch_loss = if taped {
                // Recorded once per batch size (the last batch may be
                // smaller), replayed with this batch's digits.
                let step = recorded.entry(indices.len()).or_insert_with(|| {
                    model
                        .record_step(StepLoss::SoftmaxCrossEntropy, indices.len())
                        .unwrap_or_else(|e| fail(&e.to_string()))
                });
                let (xs, ys): (Vec<Vec<f64>>, Vec<f64>) = indices
                    .iter()
                    .map(|&i| {
                        let (x, label) = digit(&data.train, i);
                        (x, f64::from(label))
                    })
                    .unzip();
                step.run(&xs, &ys).unwrap_or_else(|e| fail(&e.to_string()))
            } else {
                built_step(&model, &data.train, indices)
            };
            step_by
                .step(&parameters)
                .unwrap_or_else(|e| fail(&e.to_string()));
            epoch_loss += batch_loss * indices.len() as f64;
            // The batch's graph is dropped here, before the next is built.
            let seen = (b + 1) * batch;
            if b % 10 == 0 || seen >= order.len() {
                let rate = seen.min(order.len()) as f64 / epoch_start.elapsed().as_secs_f64();
                progress.step(&format!(
                    "epoch {epoch} batch {} loss {:.4} ({rate:.0} samples/s)",
                    b + 1,
                    batch_loss
                ));
            }
        }
        progress.finish();
        let (train_acc, _, _) = assess(&model, &data.train);
        let (test_acc, _, _) = assess(&model, &data.test);
        losses.push(epoch_loss / order.len() as f64);
        train_accuracy.push(train_acc);
        test_accuracy.push(test_acc);
        println!(
            "epoch {epoch}: loss {:.4}, train accuracy {:.2}%, test accuracy {:.2}% ({:.1} s, {:.0} samples/s)",
            losses[epoch - 1],
            train_acc * 100.0,
            test_acc * 100.0,
            epoch_start.elapsed().as_secs_f64(),
            order.len() as f64 / epoch_start.elapsed().as_secs_f64()
        );
    }
    println!(
        "\ntrained in {:.1} s; final test accuracy {:.2}%; peak memory {:.0} MiB",
        started.elapsed().as_secs_f64(),
        test_accuracy.last().copied().unwrap_or(0.0) * 100.0,
        peak_memory_mib()
    );

    let model_path = out.join("mnist-model.json");
    model
        .save(&model_path)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let tensors = flags.path("--safetensors", "");
    if !tensors.as_os_str().is_empty() {
        model
            .save_safetensors(&tensors, Precision::F64)
            .unwrap_or_else(|e| fail(&e.to_string()));
        println!("safetensors: {}", tensors.display());
    }
    let curves = out.join("mnist-training.svg");
    // Epochs count from 1.
    let per_epoch = |ys: &[f64]| -> Vec<(f64, f64)> {
        ys.iter()
            .enumerate()
            .map(|(e, &y)| (e as f64 + 1.0, y))
            .collect()
    };
    support::save_plot(
        &curves,
        chainrule::plot::lines(
            "MNIST training",
            chainrule::plot::Axes::new("epoch", "loss, accuracy"),
            &[
                ("loss", per_epoch(&losses)),
                ("train accuracy", per_epoch(&train_accuracy)),
                ("test accuracy", per_epoch(&test_accuracy)),
            ],
        ),
    );
    let (_, confusion, wrong) = assess(&model, &data.test);
    let confusion_path = out.join("mnist-confusion.svg");
    support::save_plot(&confusion_path, chainrule::plot::confusion(&confusion));
    let wrong_path = out.join("mnist-misclassified.svg");
    let captions: Vec<String> = wrong
        .iter()
        .map(|&(i, predicted)| format!("{}→{predicted}", digit(&data.test, i).1))
        .collect();
    let images: Vec<(&[u8], &str)> = wrong
        .iter()
        .zip(&captions)
        .take(40)
        .map(|(&(i, _), caption)| {
            let image = data
                .test
                .image(i)
                .unwrap_or_else(|| fail(&format!("test digit {i} is missing")));
            (image, caption.as_str())
        })
        .collect();
    support::save_plot(
        &wrong_path,
        chainrule::plot::digits("misclassified: true→predicted", &images),
    );
    println!(
        "model: {}\nplots: {}, {}, {}",
        model_path.display(),
        curves.display(),
        confusion_path.display(),
        wrong_path.display()
    );
}

/// One batch's step on a graph built for it (`--engine graph`): the
/// batch's loss, its gradient in the parameters.
fn built_step(model: &Mlp, digits: &Digits, indices: &[usize]) -> f64 {
    let sample_losses: Vec<Value> = indices
        .iter()
        .map(|&i| {
            let (x, label) = digit(digits, i);
            // Pixels are numbers, not nodes: the first layer is dot_const nodes.
            model
                .forward_f64(&x)
                .map_err(|e| e.to_string())
                .and_then(|logits| {
                    loss::softmax_cross_entropy(&logits, usize::from(label))
                        .map_err(|e| e.to_string())
                })
                .unwrap_or_else(|e| fail(&format!("digit {i}: {e}")))
        })
        .collect();
    let batch_loss = loss::mean(&sample_losses).unwrap_or_else(|e| fail(&e.to_string()));
    model.zero_grad();
    batch_loss.backward();
    // The batch's graph is dropped here, before the next is built.
    batch_loss.data()
}

fn evaluate(flags: &Flags) {
    // Every flag is checked before any work.
    let test = optional(flags, "--test");
    let path = flags.path("--model", "");
    if path.as_os_str().is_empty() {
        fail("evaluate needs --model FILE (written by train)");
    }
    // Either format: a model file is JSON (it starts with `{`) or
    // safetensors (it starts with its header's length).
    let json = std::fs::File::open(&path)
        .and_then(|mut f| {
            let mut first = [0u8; 1];
            std::io::Read::read(&mut f, &mut first).map(|n| n == 1 && first[0] == b'{')
        })
        .unwrap_or(true);
    let model = if json {
        Mlp::load(&path)
    } else {
        Mlp::load_safetensors(&path)
    }
    .unwrap_or_else(|e| fail(&e.to_string()));
    check_digit_model(&model, &path);
    let data = load(flags, Some(1), test);
    let (accuracy, confusion, _) = assess(&model, &data.test);
    println!(
        "{}: test accuracy {:.2}% on {} digits from {}",
        path.display(),
        accuracy * 100.0,
        data.test.len(),
        data_dir(flags).display()
    );
    println!("confusion matrix (rows: true digit, columns: predicted)");
    println!(
        "     {}",
        (0..10).map(|d| format!("{d:>5}")).collect::<String>()
    );
    for (d, row) in confusion.iter().enumerate() {
        println!(
            "{d:>5}{}",
            row.iter().map(|n| format!("{n:>5}")).collect::<String>()
        );
    }
}
