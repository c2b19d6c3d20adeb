//! Hostile and careless input: every finding of the adversarial pass, each
//! a test that failed before its fix, so that they stay fixed.
//!
//! 1. `mnist evaluate` refuses a model of the wrong shape (examples run as
//!    built binaries, below).
//! 2. `Digits::image`, `pixels` and `label` at huge indices.
//! 3. Model files: FIFOs and folders, oversized files, unknown fields,
//!    numbers an `f64` cannot hold (and `fuzz/fuzz_targets/model.rs`).
//! 4. Every numeric flag of every example.
//! 5. Gradients at IEEE edges: the tables in the docs of `Op` and `loss`,
//!    one test per row.
//! 6. The node cache gives memory back (unit tests in `src/engine`, the
//!    RSS report in `benches/report.rs`); here, the call that empties it.
//! 7. Empty sums and dots are +0.0.
//!
//! The second pass (at the end of the file): script injection into
//! notebooks through labels and groups (3); non-finite exercise answers
//! (4); huge numbers and long titles (11); example arguments that are not
//! UTF-8, `--help`, counts beyond the data (8); Graphviz without a time
//! limit (2); `grad` against backward and the trace under zero, infinite
//! and NaN upstreams (5).

use std::path::{Path, PathBuf};

mod common;
use std::process::Command;

use chainrule::data::mnist::{Digits, PIXELS};
use chainrule::engine::tuning as engine;
use chainrule::nn::{Activation, MAX_MODEL_BYTES, Mlp, ModelError};
use chainrule::{AnomalyKind, Value, loss};
use rand::SeedableRng;

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

/// A folder of its own for one test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("chainrule-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The same number, NaN included; +0.0 and -0.0 told apart.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || (a == b && a != 0.0)
}

fn idx_pair(count: u32) -> (Vec<u8>, Vec<u8>) {
    let mut images = Vec::new();
    for word in [0x803, count, 28, 28] {
        images.extend(u32::to_be_bytes(word));
    }
    for digit in 0..count {
        images.extend(std::iter::repeat_n((digit * 40) as u8, PIXELS));
    }
    let mut labels = Vec::new();
    for word in [0x801, count] {
        labels.extend(u32::to_be_bytes(word));
    }
    labels.extend((0..count).map(|d| (d % 10) as u8));
    (images, labels)
}

// ---------------------------------------------------------------- item 2

#[test]
fn digits_at_huge_indices_are_none_not_another_digit() {
    let (images, labels) = idx_pair(1);
    let digits = Digits::from_idx(&images, &labels).unwrap();
    // 2^60 × 784 wraps to 0 in release builds: digit 0's pixels came back.
    for i in [
        1,
        1 << 60,
        usize::MAX / PIXELS,
        usize::MAX / PIXELS + 1,
        usize::MAX,
    ] {
        assert_eq!(digits.image(i), None, "image({i})");
        assert_eq!(digits.pixels(i), None, "pixels({i})");
        assert_eq!(digits.label(i), None, "label({i})");
    }
    assert!(digits.image(0).is_some());
}

// ---------------------------------------------------------------- item 3

fn small_model() -> Mlp {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    Mlp::new(&[2, 2, 1], Activation::Relu, &mut rng).unwrap()
}

#[test]
fn a_folder_is_not_a_model_file() {
    let dir = TempDir::new("folder");
    let err = Mlp::load(&dir.0).unwrap_err();
    assert!(matches!(err, ModelError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a regular file"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("model.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Before the fix this call blocked forever, waiting for a writer: run
    // it on a thread and wait a bounded time for the answer.
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let result = Mlp::load(&path).map(|_| ()).map_err(|e| e.to_string());
        let _ = sender.send(result);
    });
    let answer = receiver.recv_timeout(std::time::Duration::from_secs(60));
    if answer.is_err() {
        // Unblock the reader so the test process can end, then fail.
        let _ = std::fs::write(&fifo, b"");
        panic!("Mlp::load on a FIFO did not return");
    }
    let message = answer.unwrap().unwrap_err();
    assert!(message.contains("is not a regular file"), "{message}");
    assert!(message.contains("model.json"), "{message}");
}

#[test]
fn a_file_over_the_cap_is_refused_unread() {
    let dir = TempDir::new("huge");
    let path = dir.path("huge.json");
    // Sparse: a gigabyte that takes no disk and must not be read.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    let err = Mlp::load(&path).unwrap_err();
    match &err {
        ModelError::TooLarge { size, limit, .. } => {
            assert_eq!((*size, *limit), (1 << 30, MAX_MODEL_BYTES));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("huge.json"));
    // The cap is far above a real model's size.
    const { assert!(MAX_MODEL_BYTES >= 200 << 20) };
}

#[test]
fn unknown_fields_are_refused_with_their_name_and_place() {
    let json = small_model().to_json().unwrap();
    let cases = [
        (
            json.replacen("\"bias\"", "\"bais\"", 1),
            "unknown field `bais`",
            "layers[0][0]",
        ),
        (
            json.replacen("\"sizes\"", "\"comment\": 1,\n  \"sizes\"", 1),
            "unknown field `comment`",
            "comment",
        ),
        (
            json.replacen("\"weights\"", "\"wieghts\"", 1),
            "unknown field `wieghts`",
            "layers[0][0]",
        ),
    ];
    for (text, field, place) in cases {
        let err = Mlp::from_json(text.as_bytes()).unwrap_err();
        let ModelError::Malformed { at, .. } = &err else {
            panic!("{err:?}");
        };
        let message = err.to_string();
        assert!(message.contains(field), "{message}");
        assert!(at.starts_with(place), "{at} for {field}");
    }
}

#[test]
fn numbers_an_f64_cannot_hold_are_refused() {
    let json = small_model().to_json().unwrap();
    let bias = |text: &str| {
        let start = json.find("\"bias\": ").unwrap() + "\"bias\": ".len();
        let end = start + json[start..].find(['\n', ',']).unwrap();
        format!("{}{text}{}", &json[..start], &json[end..])
    };
    // 10^-401 written out in full: too small even for a subnormal.
    let tiny = format!("0.{}1", "0".repeat(400));
    for (text, reads_as) in [("1e-400", "0"), ("-2.5e-330", "0"), (tiny.as_str(), "0")] {
        let err = Mlp::from_json(bias(text).as_bytes()).unwrap_err();
        match &err {
            ModelError::Unrepresentable { reads_as: r, .. } => assert_eq!(*r, reads_as),
            other => panic!("{text}: {other:?}"),
        }
        assert!(err.to_string().contains("would read as 0"), "{err}");
    }
    // Too large is refused too (by the JSON reader: out of range).
    assert!(Mlp::from_json(bias("1e400").as_bytes()).is_err());
    // Zero written any way, and the smallest subnormal, are fine.
    for text in ["0", "-0.0", "0e-400", "0.000e5", "5e-324"] {
        let model = Mlp::from_json(bias(text).as_bytes()).unwrap();
        assert_eq!(
            model.layers()[0].neurons()[0].bias().data(),
            text.parse::<f64>().unwrap()
        );
    }
}

// ---------------------------------------------------------------- items 1 and 4

/// A built example, beside this test's binary (`cargo test` builds them).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    path
}

/// Runs an example; its exit code and stderr.
fn run(name: &str, args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let output = Command::new(example(name))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A folder with a tiny MNIST (three digits per split).
fn tiny_mnist(dir: &TempDir) -> PathBuf {
    let data = dir.path("mnist");
    std::fs::create_dir_all(&data).unwrap();
    let (images, labels) = idx_pair(3);
    for split in ["train", "t10k"] {
        std::fs::write(data.join(format!("{split}-images-idx3-ubyte")), &images).unwrap();
        std::fs::write(data.join(format!("{split}-labels-idx1-ubyte")), &labels).unwrap();
    }
    data
}

#[test]
fn mnist_evaluate_refuses_models_that_are_not_digit_models() {
    let dir = TempDir::new("evaluate");
    let data = tiny_mnist(&dir);
    let evaluate = |model: &std::path::Path| {
        let (model, data) = (model.to_str().unwrap(), data.to_str().unwrap());
        run(
            "mnist",
            &["evaluate", "--model", model, "--data", data],
            &dir.0,
        )
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    // 11 outputs: panicked in the confusion matrix. 2 inputs: every digit
    // became class 0 and the run "succeeded" at about 10 %.
    for sizes in [vec![784, 11], vec![2, 10], vec![784, 3, 9]] {
        let path = dir.path("model.json");
        Mlp::new(&sizes, Activation::Relu, &mut rng)
            .unwrap()
            .save(&path)
            .unwrap();
        let (code, stderr) = evaluate(&path);
        assert_eq!(code, Some(2), "{sizes:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("model.json"), "{stderr}");
        assert!(stderr.contains(&format!("{sizes:?}")), "{stderr}");
        assert!(
            stderr.contains("784 inputs") && stderr.contains("10 outputs"),
            "{stderr}"
        );
    }
    // A digit model is scored.
    let path = dir.path("good.json");
    Mlp::new(&[784, 10], Activation::Relu, &mut rng)
        .unwrap()
        .save(&path)
        .unwrap();
    let (code, stderr) = evaluate(&path);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn every_numeric_flag_of_every_example_is_checked() {
    let dir = TempDir::new("flags");
    let data = tiny_mnist(&dir);
    let data = data.to_str().unwrap();
    let out = dir.path("out");
    let out = out.to_str().unwrap();
    // (example, arguments, words the message must hold)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "mnist",
            &["train", "--lr-end", "nan"],
            "--lr-end \"nan\" is not accepted: give a finite number of at least 0",
        ),
        (
            "mnist",
            &["train", "--lr-end", "-0.1"],
            "--lr-end \"-0.1\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--lr", "0"],
            "--lr \"0\" is not accepted: give a finite number greater than 0",
        ),
        (
            "mnist",
            &["train", "--lr", "inf"],
            "--lr \"inf\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--lr", "-1"],
            "--lr \"-1\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--weight-decay", "NaN"],
            "--weight-decay \"NaN\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--batch", "0"],
            "--batch \"0\" is not accepted: give a whole number from 1 to",
        ),
        (
            "mnist",
            &["train", "--epochs", "0"],
            "--epochs \"0\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--epochs", "-3"],
            "--epochs \"-3\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--hidden", "32,0"],
            "--hidden (each width) \"0\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--hidden", "x"],
            "--hidden (each width) \"x\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--seed", "1.5"],
            "--seed \"1.5\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--train", "-1"],
            "--train \"-1\" is not accepted",
        ),
        (
            "mnist",
            &["train", "--lr-ed", "0.1"],
            "unknown argument \"--lr-ed\"",
        ),
        ("mnist", &["train", "--epochs"], "--epochs needs a value"),
        (
            "mnist",
            &["train", "--optimizer", "adam", "--lr-end", "0.01"],
            "--lr-end decays sgd's rate",
        ),
        (
            "mnist",
            &["evaluate", "--test", "many"],
            "--test \"many\" is not accepted",
        ),
        ("mnist", &["evaluate"], "evaluate needs --model FILE"),
        ("mnist", &["fit"], "unknown command \"fit\""),
        ("moons", &["--steps", "0"], "--steps \"0\" is not accepted"),
        ("moons", &["--seed", "-1"], "--seed \"-1\" is not accepted"),
        (
            "bayes",
            &["--customers", "0"],
            "--customers \"0\" is not accepted",
        ),
        (
            "bayes",
            &["--customers", "99999999999999"],
            "--customers \"99999999999999\" is not accepted",
        ),
        (
            "likelihood",
            &["--days", "0"],
            "--days \"0\" is not accepted",
        ),
        ("apple", &["--steps", "3"], "unknown argument \"--steps\""),
        ("circuits", &["--out"], "--out needs a value"),
    ];
    for (name, args, words) in cases {
        let mut args = args.to_vec();
        if *name == "mnist" && args.len() > 1 {
            args.splice(1..1, ["--data", data]);
        }
        if *name != "mnist" && !args.contains(&"--out") {
            args.extend(["--out", out]);
        }
        let (code, stderr) = run(name, &args, &dir.0);
        assert_eq!(code, Some(2), "{name} {args:?}: {stderr}");
        assert!(stderr.contains(words), "{name} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
    }
}

// ---------------------------------------------------------------- item 5

/// One row of the gate table in `Op`'s docs: `f(x)` at `x`, its value and
/// `d f / d x`.
fn gate_row(x: f64, f: impl Fn(&Value) -> Value, value: f64, slope: f64) {
    // A gate is a loss of one score: the same check.
    loss_row(&[x], |v| f(&v[0]), value, &[slope]);
}

macro_rules! gate_edges {
    ($($name:ident: $x:expr, $f:expr => $value:expr, $slope:expr;)*) => {
        $(#[test] fn $name() { gate_row($x, $f, $value, $slope); })*
    };
}

gate_edges! {
    exp_at_plus_inf: INF, |x| x.exp() => INF, INF;
    exp_at_minus_inf: -INF, |x| x.exp() => 0.0, 0.0;
    exp_at_nan: NAN, |x| x.exp() => NAN, NAN;
    ln_at_zero: 0.0, |x| x.ln() => -INF, INF;
    ln_at_plus_inf: INF, |x| x.ln() => INF, 0.0;
    ln_below_zero_is_nan_with_a_nan_slope: -1.0, |x| x.ln() => NAN, NAN;
    ln_at_nan: NAN, |x| x.ln() => NAN, NAN;
    pow_minus_inf_above_one_is_flat_zero: 2.0, |x| x.powf(-INF) => 0.0, 0.0;
    pow_plus_inf_below_one_is_flat_zero: 0.5, |x| x.powf(INF) => 0.0, 0.0;
    pow_plus_inf_above_one: 2.0, |x| x.powf(INF) => INF, INF;
    sqrt_at_zero_is_vertical: 0.0, |x| x.powf(0.5) => 0.0, INF;
    reciprocal_at_zero: 0.0, |x| x.powf(-1.0) => INF, -INF;
    zeroth_power_at_zero: 0.0, |x| x.powf(0.0) => 1.0, 0.0;
    fractional_power_below_zero: -8.0, |x| x.powf(1.0 / 3.0) => NAN, NAN;
    pow_nan_exponent: 2.0, |x| x.powf(NAN) => NAN, NAN;
    mul_inf_by_zero: INF, |x| x * 0.0 => NAN, 0.0;
    add_inf_to_minus_inf: INF, |x| x + -INF => NAN, 1.0;
    max_nan_takes_the_nan: NAN, |x| x.max(&Value::constant(1.0)) => NAN, 1.0;
    relu_at_plus_inf: INF, |x| x.relu() => INF, 1.0;
    relu_at_minus_inf: -INF, |x| x.relu() => 0.0, 0.0;
    relu_at_nan: NAN, |x| x.relu() => NAN, 1.0;
    sigmoid_at_plus_inf: INF, |x| x.sigmoid() => 1.0, 0.0;
    sigmoid_at_minus_inf: -INF, |x| x.sigmoid() => 0.0, 0.0;
    tanh_at_plus_inf: INF, |x| x.tanh() => 1.0, 0.0;
    tanh_at_minus_inf: -INF, |x| x.tanh() => -1.0, 0.0;
    divide_by_zero: 0.0, |x| Value::constant(1.0) / x => INF, -INF;
}

/// One row of the table in `loss`'s docs: a loss of `logits`, its value
/// and its gradient for each logit.
fn loss_row(logits: &[f64], f: impl Fn(&[Value]) -> Value, value: f64, grads: &[f64]) {
    let xs: Vec<Value> = logits.iter().map(|&z| Value::new(z)).collect();
    let loss = f(&xs);
    loss.backward();
    assert!(
        same(loss.data(), value) || common::close(loss.data(), value, 1e-12),
        "loss {} (want {value}) at {logits:?}",
        loss.data()
    );
    let got: Vec<f64> = xs.iter().map(Value::grad).collect();
    let ok = got
        .iter()
        .zip(grads)
        .all(|(&a, &b)| same(a, b) || common::close(a, b, 1e-12));
    assert!(ok, "gradients {got:?} (want {grads:?}) at {logits:?}");
}

macro_rules! loss_edges {
    ($($name:ident: $logits:expr, $f:expr => $value:expr, $grads:expr;)*) => {
        $(#[test] fn $name() { loss_row(&$logits, $f, $value, &$grads); })*
    };
}

loss_edges! {
    logistic_plus_inf_label_0: [INF], |z| loss::logistic(&z[0], 0.0).unwrap() => INF, [1.0];
    logistic_plus_inf_label_1: [INF], |z| loss::logistic(&z[0], 1.0).unwrap() => 0.0, [0.0];
    logistic_plus_inf_label_half: [INF], |z| loss::logistic(&z[0], 0.5).unwrap() => INF, [0.5];
    logistic_minus_inf_label_0: [-INF], |z| loss::logistic(&z[0], 0.0).unwrap() => 0.0, [0.0];
    logistic_minus_inf_label_1: [-INF], |z| loss::logistic(&z[0], 1.0).unwrap() => INF, [-1.0];
    logistic_nan: [NAN], |z| loss::logistic(&z[0], 1.0).unwrap() => NAN, [NAN];
    cross_entropy_plus_inf_on_the_target: [INF, 0.0, 1.0], |z| loss::softmax_cross_entropy(z, 0).unwrap() => 0.0, [0.0, 0.0, 0.0];
    cross_entropy_plus_inf_off_the_target: [INF, 0.0, 1.0], |z| loss::softmax_cross_entropy(z, 1).unwrap() => INF, [1.0, -1.0, 0.0];
    cross_entropy_minus_inf_off_the_target: [-INF, 0.0, 0.0], |z| loss::softmax_cross_entropy(z, 1).unwrap() => 2f64.ln(), [0.0, -0.5, 0.5];
    cross_entropy_minus_inf_on_the_target: [-INF, 0.0], |z| loss::softmax_cross_entropy(z, 0).unwrap() => INF, [-1.0, 1.0];
    log_sum_exp_plus_inf: [1.0, INF], |z| loss::log_sum_exp(z).unwrap() => INF, [0.0, 1.0];
    softmax_plus_inf_is_one_hot: [1.0, INF], |z| loss::softmax(z).unwrap()[1].clone() => 1.0, [0.0, 0.0];
    log_softmax_plus_inf_elsewhere: [1.0, INF], |z| loss::log_softmax(z).unwrap()[0].clone() => -INF, [1.0, -1.0];
    log_softmax_plus_inf_here: [1.0, INF], |z| loss::log_softmax(z).unwrap()[1].clone() => 0.0, [0.0, 0.0];
    svm_plus_inf_on_the_target: [INF, 0.0], |z| loss::multiclass_svm(z, 0).unwrap() => 0.0, [0.0, 0.0];
    svm_plus_inf_off_the_target: [0.0, INF], |z| loss::multiclass_svm(z, 0).unwrap() => INF, [-1.0, 1.0];
    hinge_plus_inf_right_side: [INF], |z| loss::binary_hinge(&z[0], 1.0).unwrap() => 0.0, [0.0];
    hinge_plus_inf_wrong_side: [INF], |z| loss::binary_hinge(&z[0], -1.0).unwrap() => INF, [1.0];
    mse_plus_inf: [INF], |z| loss::mse(z, &[0.0]).unwrap() => INF, [INF];
}

/// Where the answer is NaN by right (the limit depends on how the inputs
/// got there), `find_anomaly` names the node where it began.
#[test]
fn undefined_limits_are_nan_and_found() {
    // Two +inf logits: how the mass splits depends on how they grew.
    let z = [Value::new(INF), Value::new(INF), Value::new(0.0)];
    let loss = loss::softmax_cross_entropy(&z, 0).unwrap();
    loss.backward();
    assert!(loss.data().is_nan());
    let anomaly = loss.find_anomaly().unwrap();
    assert_eq!(anomaly.kind, AnomalyKind::Data);
    assert_eq!(anomaly.data, INF); // the first infinite logit
    // All logits -inf: no class has any mass.
    let z = [Value::new(-INF), Value::new(-INF)];
    let loss = loss::softmax_cross_entropy(&z, 0).unwrap();
    assert!(loss.data().is_nan());
    assert!(loss.find_anomaly().is_some());
    // 0 · inf inside a graph: the mul node is named, with its operands.
    let x = Value::new(INF).with_label("x");
    let y = (&x * 0.0).with_label("y") + 1.0;
    let anomaly = y.find_anomaly().unwrap();
    assert_eq!(anomaly.label.as_deref(), Some("x")); // where inf began
    let x = Value::new(1e308);
    let y = (&x * 10.0).with_label("overflow") * 0.0;
    let anomaly = y.find_anomaly().unwrap();
    assert_eq!(anomaly.label.as_deref(), Some("overflow"));
}

// ---------------------------------------------------------------- item 6

#[test]
fn the_node_cache_can_be_emptied() {
    let chain = (0..10_000).fold(Value::new(1.0), |y, _| &y * 1.0);
    drop(chain);
    assert!(engine::node_cache_len() > 0);
    let emptied = engine::clear_node_cache();
    assert!(emptied >= 10_000, "{emptied}");
    assert_eq!(engine::node_cache_len(), 0);
    // The cache fills again afterwards: its capacity is unchanged.
    drop((0..100).fold(Value::new(1.0), |y, _| &y * 1.0));
    assert!(engine::node_cache_len() >= 100);
}

// ---------------------------------------------------------------- item 7

#[test]
fn empty_sums_and_dots_are_plus_zero() {
    let none: &[Value] = &[];
    let cases = [
        ("sum", Value::sum(none)),
        ("dot", Value::dot(none, none).unwrap()),
        ("dot_const", Value::dot_const(none, &[]).unwrap()),
        ("l2", loss::l2(none)),
    ];
    for (name, value) in cases {
        assert!(
            value.data() == 0.0 && value.data().is_sign_positive(),
            "{name}: {:?}",
            value.data()
        );
        assert_eq!(1.0 / value.data(), INF, "{name}");
    }
    let shared: std::rc::Rc<[Value]> = std::rc::Rc::from(Vec::new());
    let value = engine::dot_shared(&shared, &shared).unwrap();
    assert!(value.data().is_sign_positive());
    // A non-empty sum keeps its sign: -0 + -0 is -0.
    assert!(
        Value::sum(&[Value::new(-0.0), Value::new(-0.0)])
            .data()
            .is_sign_negative()
    );
}

// Second pass, finding 3: script injection into notebooks. evcxr reads a
// cell's output line by line; a label or group holding a newline and a
// marker must not end a block or start one. Parsed here as evcxr parses
// it: every line that starts with a marker must be one of ours.

/// Labels and groups an attacker (or a careless notebook) might write.
const HOSTILE_TEXTS: [&str; 6] = [
    "x\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT application/javascript\nalert(document.domain)\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/x-rest",
    "EVCXR_END_CONTENT",
    "\nEVCXR_BEGIN_CONTENT text/html\n<script>alert(1)</script>",
    "a\r\nEVCXR_END_CONTENT\r\n",
    "</script><script>alert(1)</script>\nEVCXR_END_CONTENT",
    "EVCXR_BEGIN_CONTENT application/javascript",
];

/// The blocks evcxr would read from `output`: (mime type, lines), failing
/// on a marker line that is not where a block of ours begins or ends.
fn evcxr_blocks(output: &str) -> Vec<(String, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for line in output.lines() {
        if let Some(mime) = line.strip_prefix("EVCXR_BEGIN_CONTENT ") {
            assert!(open.is_none(), "a block began inside a block: {line:?}");
            open = Some((mime.to_owned(), 0));
        } else if line.starts_with("EVCXR_END_CONTENT") {
            blocks.push(open.take().expect("an end without a beginning"));
        } else if line.starts_with("EVCXR_") {
            panic!("a line evcxr would read as a marker: {line:?}");
        } else if let Some((_, lines)) = open.as_mut() {
            *lines += 1;
        }
    }
    assert!(open.is_none(), "a block left open");
    blocks
}

#[test]
fn no_label_or_group_can_start_a_notebook_output_of_its_own() {
    use chainrule::graph::{DotOptions, Renderer};
    for text in HOSTILE_TEXTS {
        let x = Value::new(2.0).with_label(text).with_group(text);
        let y = Value::new(3.0).with_label("y");
        let z = (&(&x * &y) + 1.0).with_label(text);
        z.backward();
        let graph = z.graph();
        let mut outputs = vec![graph.evcxr_content(), z.evcxr_content(), x.evcxr_content()];
        for renderer in [Renderer::PureRust, Renderer::Auto] {
            for options in [DotOptions::new(), DotOptions::lecture()] {
                if let Ok(svg) = graph.to_svg(&options.renderer(renderer)) {
                    outputs.push(svg.evcxr_content());
                }
            }
        }
        outputs.push(z.explorer().unwrap().evcxr_content());
        for output in outputs {
            let blocks = evcxr_blocks(&output);
            for (mime, _) in &blocks {
                assert!(
                    ["image/svg+xml", "text/html", "text/plain"].contains(&mime.as_str()),
                    "{mime} from {text:?}"
                );
            }
        }
    }
}

// Second pass, finding 4: exercise mode graded non-finite answers wrongly,
// because JSON has no infinity (serde_json wrote `null`). The answer now
// travels as "inf"; the browser test types inf, ∞ and 0 into the page.
#[test]
fn non_finite_answers_travel_as_text_the_page_reads() {
    let x = Value::new(0.0).with_label("x");
    let y = x.ln().with_label("y");
    let html = y.explorer().unwrap();
    // d ln x / dx = 1/x = inf at 0.
    assert!(
        html.contains(r#""answer":"inf""#),
        "the answer is written as text"
    );
    assert!(!html.contains(r#""answer":null"#));
    let n = (Value::new(-1.0).with_label("x").ln()).with_label("y");
    assert!(n.explorer().unwrap().contains(r#""answer":"NaN""#));
}

// Second pass, finding 11: 1e300 was written out in full (a 306-character
// field, a 3-node picture 5,093 px wide), and the page's title was not cut.
#[test]
fn huge_numbers_are_written_in_scientific_notation_and_titles_are_cut() {
    use chainrule::graph::{DotOptions, Renderer};
    let x = Value::new(1e300).with_label("x");
    let y = (&x * 3.0).with_label("y".repeat(5_000));
    y.backward();
    for options in [DotOptions::new(), DotOptions::lecture()] {
        let svg = y
            .graph()
            .to_svg(&options.renderer(Renderer::PureRust))
            .unwrap();
        assert!(svg.contains("3e300"), "scientific notation");
        assert!(
            !svg.contains("000000000000"),
            "no number written out in full"
        );
        let width: f64 = svg
            .split_once("width=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(w, _)| w.parse().ok())
            .unwrap();
        assert!(width < 1_000.0, "{width} px wide");
    }
    let html = y.explorer().unwrap();
    let title = html
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(t, _)| t.chars().count())
        .unwrap();
    assert!(title < 100, "the page's title has {title} characters");
}

// Second pass, finding 8: example arguments. A path that is not UTF-8
// panicked in `std::env::args()` (exit 101); `--help` was refused as
// unknown; `--train 99999999` was silently capped.
#[cfg(unix)]
#[test]
fn example_arguments_take_any_path_help_and_say_when_a_count_is_too_large() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("arguments");
    let data = tiny_mnist(&dir);
    let odd = dir
        .path("out")
        .with_file_name(OsStr::from_bytes(b"out-\xff"));
    let output = Command::new(example("mnist"))
        .args([OsStr::new("train"), OsStr::new("--epochs"), OsStr::new("1")])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&odd)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let model = odd.join("mnist-model.json");
    assert!(
        model.exists(),
        "the model is written under a non-UTF-8 folder"
    );
    let output = Command::new(example("mnist"))
        .arg("evaluate")
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "evaluate reads it back");
    for name in [
        "apple",
        "circuits",
        "neuron",
        "moons",
        "mnist",
        "bayes",
        "likelihood",
        "softmax_vs_svm",
    ] {
        let output = Command::new(example(name)).arg("--help").output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{name} --help");
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            said.starts_with("usage:") && said.contains("--out"),
            "{name}: {said}"
        );
    }
    let (code, said) = run(
        "mnist",
        &[
            "train",
            "--train",
            "99999999",
            "--data",
            data.to_str().unwrap(),
        ],
        &dir.path(""),
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("--train 99999999 is more than the 3 digits"),
        "{said}"
    );
}

// Second pass, finding 2: Graphviz without a time limit. These graphs took
// Graphviz 11 s to over 300 s; every drawing call now returns within a few
// seconds: Auto stops Graphviz after 2 s and draws with our layout, and
// Renderer::Graphviz stops at its deadline with a typed error.
#[test]
fn no_drawing_call_waits_on_graphviz_for_long() {
    use chainrule::graph::{DotOptions, GraphError, Renderer, Style, graphviz_installed};
    use std::time::{Duration, Instant};
    // y = y·w + b, 50 times, with shared w and b.
    let w = Value::new(0.9).with_label("w");
    let b = Value::new(0.1).with_label("b");
    let mut y = Value::new(1.0).with_label("x");
    for _ in 0..50 {
        y = &(&y * &w) + &b;
    }
    // Two leaves feeding a 100-step chain.
    let p = Value::new(1.0).with_label("p");
    let q = Value::new(2.0).with_label("q");
    let mut z = &p + &q;
    for _ in 0..100 {
        z = &(&z * &p) + &q;
    }
    for graph in [y.graph(), z.graph()] {
        for style in [Style::Nodes, Style::Lecture] {
            let start = Instant::now();
            let svg = graph.to_svg(&DotOptions::new().style(style)).unwrap();
            assert!(svg.contains("</svg>"));
            let took = start.elapsed();
            assert!(took < Duration::from_secs(5), "Auto took {took:?}");
        }
        if graphviz_installed() {
            let options = DotOptions::new()
                .renderer(Renderer::Graphviz)
                .graphviz_deadline(Duration::from_millis(300));
            let start = Instant::now();
            match graph.to_svg(&options) {
                Ok(_) => {}
                Err(error) => {
                    assert!(matches!(
                        error,
                        GraphError::GraphvizTimedOut { millis: 300 }
                    ));
                    assert!(error.to_string().contains("Renderer::PureRust"));
                }
            }
            assert!(start.elapsed() < Duration::from_secs(3));
        }
    }
}

// Second pass, finding 5: `grad` skipped a share whose local gradient is
// the constant 0 even under an infinite upstream, where backward (and the
// trace) compute inf · 0 = NaN. Every gate at ±0, ±inf and NaN upstreams:
// the three walkers agree, bit for bit (NaN with NaN).
#[test]
fn every_walker_agrees_under_zero_infinite_and_nan_upstreams() {
    type Gate = fn(&Value, &Value) -> Value;
    let gates: [(&str, Gate); 13] = [
        ("add", |x, y| x + y),
        ("mul", |x, y| x * y),
        ("mul by 0", |x, _| x * 0.0),
        ("max", |x, y| x.max(y)),
        ("max other", |x, y| y.max(x)),
        ("relu", |x, _| x.relu()),
        ("exp", |x, _| x.exp()),
        ("ln", |x, _| x.ln()),
        ("powf", |x, _| x.powf(3.0)),
        ("pow", |x, y| x.pow(y)),
        ("sum", |x, y| Value::sum(&[x.clone(), y.clone(), x.clone()])),
        ("dot", |x, y| {
            Value::dot(&[x.clone(), y.clone()], &[y.clone(), x.clone()]).unwrap()
        }),
        ("dot_const", |x, _| {
            Value::dot_const(std::slice::from_ref(x), &[0.0]).unwrap()
        }),
    ];
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let points = [-1.0, 0.0, 1.0, 2.0];
    let upstreams = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.5];
    for (name, gate) in gates {
        for &a in &points {
            for &b in &points {
                for &u in &upstreams {
                    let x = Value::new(a).with_label("x");
                    let y = Value::new(b).with_label("y");
                    // The upstream u reaches the gate through a product
                    // with the constant u; ln of a relu or of 0 also makes
                    // infinite upstreams, as in the issue.
                    let out = &gate(&x, &y) * u;
                    let by_grad = chainrule::grad(&out, &[x.clone(), y.clone()]);
                    let graph = out.graph();
                    let trace = graph.trace();
                    out.backward();
                    for (v, g) in [(&x, &by_grad[0]), (&y, &by_grad[1])] {
                        let label = v.label().unwrap();
                        let traced = graph.find(&label).map_or(0.0, |id| trace.grad(id));
                        assert!(
                            same(v.grad(), g.data()),
                            "{name} at ({a}, {b}), upstream {u}: backward {} but grad {} for {label}",
                            v.grad(),
                            g.data()
                        );
                        assert!(
                            same(v.grad(), traced),
                            "{name} at ({a}, {b}), upstream {u}: backward {} but the trace {traced} for {label}",
                            v.grad()
                        );
                    }
                }
            }
        }
    }
    // The issue's cases, by name.
    for (x, make) in [
        (-1.0, (|x: &Value| x.relu().ln()) as fn(&Value) -> Value),
        (1.0, |x: &Value| (x * 0.0).ln()),
        (-1.0, |x: &Value| x.max(&Value::constant(0.0)).ln()),
    ] {
        let v = Value::new(x);
        let out = make(&v);
        let g = chainrule::grad(&out, std::slice::from_ref(&v));
        out.backward();
        assert!(
            v.grad().is_nan() && g[0].data().is_nan(),
            "{} {}",
            v.grad(),
            g[0].data()
        );
    }
}

// Second pass, finding 1 (its message part): 40 million sizes of 1 gave a
// 120-million-character error message. Messages quote a few hundred
// characters at most.
#[test]
fn model_errors_quote_at_most_a_few_hundred_characters() {
    let sizes = vec!["1"; 1_000_000].join(",");
    let json = format!(
        r#"{{"format":"chainrule-mlp","version":1,"activation":"relu","sizes":[{sizes}],"layers":[]}}"#
    );
    let error = Mlp::from_json(json.as_bytes()).unwrap_err();
    let message = error.to_string();
    assert!(message.len() < 400, "{} characters", message.len());
    assert!(message.contains("more than 4096 sizes"), "{message}");
    // Within that limit, a long list is quoted by its head and its count.
    let sizes = vec!["1"; 4000].join(",");
    let json = format!(
        r#"{{"format":"chainrule-mlp","version":1,"activation":"relu","sizes":[{sizes}],"layers":[]}}"#
    );
    let message = Mlp::from_json(json.as_bytes()).unwrap_err().to_string();
    assert!(message.len() < 400, "{} characters", message.len());
    assert!(message.contains("4000 sizes in all"), "{message}");
    let format = "x".repeat(1_000_000);
    let json = format!(
        r#"{{"format":"{format}","version":1,"activation":"relu","sizes":[1,1],"layers":[]}}"#
    );
    let message = Mlp::from_json(json.as_bytes()).unwrap_err().to_string();
    assert!(message.len() < 400, "{} characters", message.len());
}

// Second pass, finding 10: 60,000 nodes with 2 KB labels left 135 MB
// resident after their drop, against the documented bound of the node
// cache's cap (92 MiB) and 5 MiB: fewer nodes than the drop that returns
// memory, but labels that glibc kept. In a process of its own, so that
// nothing else's memory counts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn long_labels_give_their_memory_back_after_a_drop() {
    if !common::in_a_process_of_its_own(
        "long_labels_give_their_memory_back_after_a_drop",
        "CHAINRULE_TEST_LABEL_MEMORY",
        &[],
    ) {
        return;
    }
    let resident_mib = || -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib / 1024.0
    };
    let before = resident_mib();
    let label = "x".repeat(2048);
    let mut y = Value::new(1.0).with_label(label.as_str());
    for _ in 0..60_000 {
        y = (&y + &y).with_label(label.as_str());
    }
    let peak = resident_mib();
    drop(y);
    let after = resident_mib();
    assert!(
        peak - before > 100.0,
        "the labels took {:.0} MiB",
        peak - before
    );
    assert!(
        after - before <= 97.0,
        "{:.0} MiB still resident after the drop (peak {:.0})",
        after - before,
        peak - before
    );
}

// Second pass, finding 6: the trace (and so the explorer) and `grad`
// added the shares of a shared weight list in another order than
// backward, which gathers them in a buffer: the last bits differed (859 of
// 2,000 seeds of this very case). They now keep backward's buffers.
#[test]
fn every_walker_matches_backward_bit_for_bit_with_shared_lists() {
    use chainrule::nn::Activation;
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    let check = |mlp: &Mlp, loss: &Value, what: &str| {
        let parameters = mlp.parameters();
        let by_grad: Vec<f64> = chainrule::grad(loss, &parameters)
            .iter()
            .map(Value::data)
            .collect();
        let graph = loss.graph();
        let trace = graph.trace();
        for p in &parameters {
            p.zero_grad();
        }
        loss.backward();
        let order = loss.topological_order();
        for (k, p) in parameters.iter().enumerate() {
            let id = order.iter().position(|v| v.ptr_eq(p)).unwrap();
            assert!(
                same(p.grad(), by_grad[k]),
                "{what}: parameter {k}: backward {} grad {}",
                p.grad(),
                by_grad[k]
            );
            assert!(
                same(p.grad(), trace.grad(id)),
                "{what}: parameter {k}: backward {} trace {}",
                p.grad(),
                trace.grad(id)
            );
        }
    };
    for seed in 0..300u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mlp = Mlp::new(&[2, 1], Activation::Linear, &mut rng).unwrap();
        let w1 = mlp.parameters()[0].clone();
        let samples = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]];
        let mut terms: Vec<Value> = samples
            .iter()
            .map(|x| mlp.forward_f64(x).unwrap().remove(0))
            .collect();
        terms.push(&w1 * &w1);
        let loss = Value::sum(&terms);
        check(&mlp, &loss, &format!("2-1, seed {seed}"));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mlp = Mlp::new(&[3, 8, 8, 1], Activation::Relu, &mut rng).unwrap();
    let points = [
        [0.1, 0.2, -0.3],
        [1.0, -1.0, 0.5],
        [0.3, 0.3, 0.3],
        [-0.5, 0.9, 0.1],
    ];
    let mut terms: Vec<Value> = points
        .iter()
        .map(|x| mlp.forward_f64(x).unwrap().remove(0).powf(2.0))
        .collect();
    terms.push(loss::l2(&mlp.parameters()) * 0.01);
    let loss = Value::sum(&terms);
    check(&mlp, &loss, "3-8-8-1 with an L2 term");
}
