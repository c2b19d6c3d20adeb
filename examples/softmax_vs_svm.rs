//! The lecture's two losses on the same scores (cs231n's three images:
//! cat, car, frog), with their gradients, and how each responds as the
//! correct class's score grows: the SVM is satisfied once the margin is
//! met, softmax always wants more.
//!
//! ```text
//! cargo run --release --example softmax_vs_svm [-- --out DIR]
//! ```

#[path = "support/mod.rs"]
mod support;

use chainrule::{Value, loss};

const CLASSES: [&str; 3] = ["cat", "car", "frog"];

fn main() {
    let out = support::Flags::parse(0, &["--out"]).out_dir();
    // Scores from the score function s = W x, one row per image; the true
    // class of image i is class i.
    let scores = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]];
    let (mut svm_total, mut softmax_total) = (0.0, 0.0);
    for (image, row) in scores.iter().enumerate() {
        println!(
            "image of a {} (scores cat {}, car {}, frog {})",
            CLASSES[image], row[0], row[1], row[2]
        );
        for (name, svm) in [("multiclass SVM", true), ("softmax", false)] {
            let logits: Vec<Value> = row.iter().copied().map(Value::new).collect();
            let l = if svm {
                loss::multiclass_svm(&logits, image)
            } else {
                loss::softmax_cross_entropy(&logits, image)
            }
            .unwrap_or_else(|e| support::fail(&e.to_string()));
            l.backward();
            let grads: Vec<String> = logits.iter().map(|g| format!("{:+.4}", g.grad())).collect();
            println!(
                "  {name:<15} loss {:.4}   d loss / d scores [{}]",
                l.data(),
                grads.join(", ")
            );
            if svm {
                svm_total += l.data();
            } else {
                softmax_total += l.data();
            }
        }
        let logits: Vec<Value> = row.iter().copied().map(Value::new).collect();
        let p = loss::softmax(&logits).unwrap_or_else(|e| support::fail(&e.to_string()));
        let p: Vec<String> = p.iter().map(|p| format!("{:.3}", p.data())).collect();
        println!("  softmax probabilities [{}]", p.join(", "));
    }
    println!(
        "\nmean over the three images: SVM {:.2} (cs231n: 5.27), softmax {:.4}",
        svm_total / 3.0,
        softmax_total / 3.0
    );
    println!(
        "softmax loss's gradient is softmax - one-hot (the lecture's y - t); the SVM's is a count of violated margins."
    );

    // The cat image, as the cat score rises from -2 to 10.
    let sweep: Vec<f64> = (0..=240).map(|i| -2.0 + i as f64 * 0.05).collect();
    let curve = |svm: bool| -> Vec<(f64, f64)> {
        sweep
            .iter()
            .map(|&cat| {
                let logits = [Value::new(cat), Value::new(5.1), Value::new(-1.7)];
                let l = if svm {
                    loss::multiclass_svm(&logits, 0)
                } else {
                    loss::softmax_cross_entropy(&logits, 0)
                };
                (cat, l.map_or(f64::NAN, |l| l.data()))
            })
            .collect()
    };
    let path = out.join("softmax-vs-svm.svg");
    support::save_plot(
        &path,
        chainrule::plot::lines(
            "loss for the cat image as its cat score grows (car 5.1, frog -1.7)",
            chainrule::plot::Axes::new("cat score", "loss"),
            &[
                ("multiclass SVM", curve(true)),
                ("softmax cross-entropy", curve(false)),
            ],
        ),
    );
    println!("\nPlot: {}", path.display());
}
