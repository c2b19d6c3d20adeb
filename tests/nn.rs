//! Networks, losses and optimisers against closed forms, cs231n's numbers,
//! numerical gradients, and micrograd's moons demo.

use chainrule::check::gradcheck;
use chainrule::loss::{self, LossError};
use chainrule::nn::{Activation, Init, Mlp, ModelError, NnError};
use chainrule::optim::{Adam, OptimError, Optimizer, Schedule, Sgd};
use chainrule::{Value, data};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn values(xs: &[f64]) -> Vec<Value> {
    xs.iter().copied().map(Value::new).collect()
}

mod common;
use common::close;

#[test]
fn cs231n_cat_scores_through_both_losses() {
    // Scores for cat, car, frog; the image is a cat.
    let scores = values(&[3.2, 5.1, -1.7]);
    let svm = loss::multiclass_svm(&scores, 0).unwrap();
    assert!(close(svm.data(), 2.9, 1e-12));
    let ce = loss::softmax_cross_entropy(&scores, 0).unwrap();
    let expected = -(3.2f64.exp() / (3.2f64.exp() + 5.1f64.exp() + (-1.7f64).exp())).ln();
    assert!(close(ce.data(), expected, 1e-14));
    assert!((ce.data() - 2.0404).abs() < 5e-5);

    // The SVM's gradient: each violating class +1, the true class -violations.
    svm.backward();
    let grads: Vec<f64> = scores.iter().map(Value::grad).collect();
    assert_eq!(grads, vec![-1.0, 1.0, 0.0]);
}

#[test]
fn softmax_cross_entropy_gradient_is_y_minus_t() {
    let z = [0.3, -1.2, 2.0, 0.0];
    for target in 0..4 {
        let logits = values(&z);
        loss::softmax_cross_entropy(&logits, target)
            .unwrap()
            .backward();
        let sum: f64 = z.iter().map(|v| v.exp()).sum();
        for (i, logit) in logits.iter().enumerate() {
            let y = z[i].exp() / sum;
            let t = if i == target { 1.0 } else { 0.0 };
            assert!(close(logit.grad(), y - t, 1e-14), "class {i}");
        }
    }
}

#[test]
fn softmax_losses_survive_huge_logits() {
    for big in [1000.0, -1000.0, 1e300] {
        let logits = values(&[big, 0.0, -big]);
        let ce = loss::softmax_cross_entropy(&logits, 1).unwrap();
        ce.backward();
        assert!(ce.data().is_finite(), "{big}");
        assert!(logits.iter().all(|l| l.grad().is_finite()), "{big}");
        let probabilities = loss::softmax(&values(&[big, 0.0, -big])).unwrap();
        let total: f64 = probabilities.iter().map(Value::data).sum();
        assert!(close(total, 1.0, 1e-15));
        let lse = loss::log_sum_exp(&values(&[big, big])).unwrap();
        assert!(close(lse.data(), big + 2f64.ln(), 1e-15));
    }
    let logits = values(&[1000.0, -1000.0]);
    let ce = loss::softmax_cross_entropy(&logits, 1).unwrap();
    assert_eq!(ce.data(), 2000.0);
}

#[test]
fn every_loss_and_activation_passes_gradcheck() {
    type Case = (&'static str, fn(&[Value]) -> Value, Vec<f64>);
    let cases: Vec<Case> = vec![
        ("relu", |v| v[0].relu(), vec![0.7]),
        ("relu negative", |v| v[0].relu(), vec![-0.7]),
        ("tanh", |v| v[0].tanh(), vec![0.4]),
        ("sigmoid", |v| v[0].sigmoid(), vec![-1.3]),
        (
            "softmax output",
            |v| loss::softmax(v).unwrap()[1].clone(),
            vec![0.2, -0.4, 1.1],
        ),
        (
            "log softmax",
            |v| loss::log_softmax(v).unwrap()[2].clone(),
            vec![0.2, -0.4, 1.1],
        ),
        (
            "log sum exp",
            |v| loss::log_sum_exp(v).unwrap(),
            vec![0.2, -0.4, 1.1],
        ),
        (
            "cross entropy",
            |v| loss::softmax_cross_entropy(v, 1).unwrap(),
            vec![0.2, -0.4, 1.1, 3.0],
        ),
        (
            "multiclass svm",
            |v| loss::multiclass_svm(v, 0).unwrap(),
            vec![3.2, 5.1, -1.7],
        ),
        (
            "binary hinge",
            |v| loss::binary_hinge(&v[0], -1.0).unwrap(),
            vec![0.3],
        ),
        (
            "logistic",
            |v| loss::logistic(&v[0], 1.0).unwrap(),
            vec![-0.8],
        ),
        (
            "logistic soft label",
            |v| loss::logistic(&v[0], 0.25).unwrap(),
            vec![2.5],
        ),
        (
            "mse",
            |v| loss::mse(v, &[1.0, -2.0]).unwrap(),
            vec![0.5, 0.1],
        ),
        ("l2", |v| loss::l2(v), vec![0.5, -1.5, 2.0]),
        ("mean", |v| loss::mean(v).unwrap(), vec![0.5, -1.5, 2.0]),
    ];
    for (name, f, at) in cases {
        let report = gradcheck(f, &at).unwrap();
        assert!(report.passed(), "{name}:\n{report}");
    }
}

#[test]
fn binary_losses_match_closed_forms() {
    // Hinge: max(0, 1 - y s).
    assert_eq!(
        loss::binary_hinge(&Value::new(0.25), 1.0).unwrap().data(),
        0.75
    );
    assert_eq!(
        loss::binary_hinge(&Value::new(2.0), 1.0).unwrap().data(),
        0.0
    );
    // Logistic: -y ln σ(z) - (1 - y) ln(1 - σ(z)), gradient σ(z) - y.
    for (z, y) in [(0.7, 1.0), (-2.0, 0.0), (3.0, 0.3)] {
        let logit = Value::new(z);
        let l = loss::logistic(&logit, y).unwrap();
        l.backward();
        let s = 1.0 / (1.0 + f64::exp(-z));
        let expected = -y * s.ln() - (1.0 - y) * (1.0 - s).ln();
        assert!(close(l.data(), expected, 1e-13), "{z} {y}");
        assert!(close(logit.grad(), s - y, 1e-13));
    }
    for z in [1000.0, -1000.0] {
        let logit = Value::new(z);
        let l = loss::logistic(&logit, 1.0).unwrap();
        l.backward();
        assert!(l.data().is_finite() && logit.grad().is_finite());
    }
    // MSE and L2.
    let mse = loss::mse(&values(&[1.0, 3.0]), &[0.0, 1.0]).unwrap();
    assert_eq!(mse.data(), (1.0 + 4.0) / 2.0);
    assert_eq!(loss::l2(&values(&[3.0, 4.0])).data(), 25.0);
}

#[test]
fn bad_loss_inputs_are_typed_errors() {
    assert_eq!(
        loss::softmax_cross_entropy(&[], 0).unwrap_err(),
        LossError::Empty("logits")
    );
    let err = loss::multiclass_svm(&values(&[1.0, 2.0]), 2).unwrap_err();
    assert_eq!(
        err,
        LossError::TargetOutOfRange {
            target: 2,
            classes: 2
        }
    );
    assert!(err.to_string().contains("classes are 0 to 1"));
    assert!(matches!(
        loss::binary_hinge(&Value::new(0.0), 0.0),
        Err(LossError::BadLabel { .. })
    ));
    assert!(matches!(
        loss::logistic(&Value::new(0.0), f64::NAN),
        Err(LossError::BadLabel { .. })
    ));
    let err = loss::mse(&values(&[1.0]), &[1.0, 2.0]).unwrap_err();
    assert_eq!(
        err,
        LossError::LengthMismatch {
            predictions: 1,
            targets: 2
        }
    );
    assert!(loss::mean(&[]).is_err() && loss::softmax(&[]).is_err());
}

#[test]
fn mlp_shapes_and_errors() {
    let mut rng = StdRng::seed_from_u64(5);
    let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, &mut rng).unwrap();
    assert_eq!(mlp.sizes(), vec![3, 4, 2]);
    assert_eq!(mlp.num_parameters(), 4 * (3 + 1) + 2 * (4 + 1));
    assert_eq!(mlp.parameters().len(), mlp.num_parameters());
    let out = mlp.forward(&values(&[0.1, 0.2, 0.3])).unwrap();
    assert_eq!(out.len(), 2);
    // A neuron is one dot node plus its activation; the output layer is linear.
    assert_eq!(out[0].op(), chainrule::Op::Dot);
    let hidden = &out[0].operands()[5..9]; // the dot's inputs after its 5 parameters
    assert!(hidden.iter().all(|h| h.op() == chainrule::Op::Add)); // tanh = 2 σ(2x) - 1 ends in an add

    assert_eq!(
        mlp.forward(&values(&[1.0])).unwrap_err(),
        NnError::InputWidth {
            expected: 3,
            got: 1
        }
    );
    assert!(mlp.predict(&[1.0, 2.0, 3.0, 4.0]).is_err());
    assert_eq!(
        Mlp::new(&[2], Activation::Relu, &mut rng).unwrap_err(),
        NnError::TooFewSizes(vec![2])
    );
    assert!(matches!(
        Mlp::new(&[2, 0, 1], Activation::Relu, &mut rng),
        Err(NnError::ZeroWidth { position: 1, .. })
    ));
}

#[test]
fn initialisations_respect_their_bounds() {
    let mut rng = StdRng::seed_from_u64(11);
    let relu = Mlp::new(&[50, 20], Activation::Relu, &mut rng).unwrap(); // He
    let he = (6.0f64 / 50.0).sqrt();
    let weights: Vec<f64> = relu.layers()[0]
        .neurons()
        .iter()
        .flat_map(|n| n.weights().iter().map(Value::data))
        .collect();
    assert!(weights.iter().all(|w| w.abs() <= he));
    assert!(weights.iter().any(|w| w.abs() > 0.8 * he)); // and fill the range
    let tanh = Mlp::new(&[50, 20], Activation::Tanh, &mut rng).unwrap(); // Xavier
    let xavier = (6.0f64 / 70.0).sqrt();
    assert!(tanh.parameters().iter().all(|w| w.data().abs() <= xavier));
    let uniform = Mlp::with_init(&[50, 20], Activation::Relu, Init::Uniform, &mut rng).unwrap();
    assert!(uniform.parameters().iter().any(|w| w.data().abs() > 0.9));
    assert!(
        relu.layers()[0]
            .neurons()
            .iter()
            .all(|n| n.bias().data() == 0.0)
    );
}

#[test]
fn predict_is_bit_identical_to_the_graph() {
    let mut rng = StdRng::seed_from_u64(3);
    for activation in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Linear,
    ] {
        let mlp = Mlp::new(&[4, 8, 8, 3], activation, &mut rng).unwrap();
        for i in 0..50 {
            let x: Vec<f64> = (0..4)
                .map(|j| ((i * 7 + j * 3) as f64 * 0.37).sin() * 3.0)
                .collect();
            let graph: Vec<f64> = mlp
                .forward(&values(&x))
                .unwrap()
                .iter()
                .map(Value::data)
                .collect();
            let numbers = mlp.predict(&x).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&graph), bits(&numbers), "{activation:?} input {i}");
        }
    }
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("chainrule-test-{}-{name}", std::process::id()))
}

#[test]
fn save_and_load_round_trip_bit_exactly() {
    let mut rng = StdRng::seed_from_u64(8);
    let mlp = Mlp::new(&[3, 5, 2], Activation::Sigmoid, &mut rng).unwrap();
    mlp.parameters()[0].set_data(0.1 + 0.2); // a number with no short decimal form
    let path = temp("model.json");
    mlp.save(&path).unwrap();
    let back = Mlp::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(
        (back.sizes(), back.activation()),
        (mlp.sizes(), mlp.activation())
    );
    let bits = |m: &Mlp| {
        m.parameters()
            .iter()
            .map(|p| p.data().to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&back), bits(&mlp));
}

#[test]
fn bad_model_files_are_typed_errors_that_name_the_file() {
    let mut rng = StdRng::seed_from_u64(8);
    let mlp = Mlp::new(&[2, 2, 1], Activation::Relu, &mut rng).unwrap();
    let good = temp("good.json");
    mlp.save(&good).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::remove_file(&good).ok();

    let missing = temp("missing.json");
    let err = Mlp::load(&missing).unwrap_err();
    assert!(matches!(err, ModelError::Io { action: "read", .. }));
    assert!(err.to_string().contains("missing.json"));

    type Case = (&'static str, String, fn(&ModelError) -> bool, &'static str);
    let cases: [Case; 5] = [
        (
            "truncated",
            text[..text.len() / 2].to_string(),
            |e| matches!(e, ModelError::Malformed { .. }),
            "line",
        ),
        (
            "not-json",
            "weights: 1, 2, 3".into(),
            |e| matches!(e, ModelError::Malformed { line: 1, .. }),
            "not a chainrule model",
        ),
        (
            "version",
            text.replace("\"version\": 1", "\"version\": 7"),
            |e| matches!(e, ModelError::Version { version: 7, .. }),
            "version 7",
        ),
        (
            "format",
            text.replace("chainrule-mlp", "other"),
            |e| matches!(e, ModelError::Version { .. }),
            "\"other\"",
        ),
        (
            "shape",
            text.replace("\"sizes\": [\n    2,", "\"sizes\": [\n    3,"),
            |e| matches!(e, ModelError::Shape { .. }),
            "should have 3 weights",
        ),
    ];
    for (name, contents, is_expected, words) in cases {
        let path = temp(&format!("{name}.json"));
        std::fs::write(&path, contents).unwrap();
        let err = Mlp::load(&path).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert!(is_expected(&err), "{name}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("{name}.json")) && message.contains(words),
            "{name}: {message}"
        );
    }

    mlp.parameters()[3].set_data(f64::NAN);
    let err = mlp.save(temp("nan.json")).unwrap_err();
    assert!(matches!(err, ModelError::NonFinite { index: 3, .. }));
    assert!(!temp("nan.json").exists()); // nothing written
}

#[test]
fn sgd_steps_match_hand_computed_updates() {
    // w = 2, loss = w² (gradient 4): plain, then with momentum and decay.
    let w = Value::new(2.0);
    let mut sgd = Sgd::new(0.1).unwrap();
    w.powf(2.0).backward();
    sgd.step(std::slice::from_ref(&w)).unwrap();
    assert!(close(w.data(), 2.0 - 0.1 * 4.0, 1e-15));

    let w = Value::new(2.0);
    let mut sgd = Sgd::new(0.1)
        .unwrap()
        .momentum(0.9)
        .unwrap()
        .weight_decay(0.5)
        .unwrap();
    let mut expected_w = 2.0;
    let mut v = 0.0;
    for _ in 0..3 {
        w.zero_grad();
        w.powf(2.0).backward();
        let g = 2.0 * expected_w + 0.5 * expected_w;
        v = 0.9 * v + g;
        expected_w -= 0.1 * v;
        sgd.step(std::slice::from_ref(&w)).unwrap();
        assert!(close(w.data(), expected_w, 1e-14));
    }
    assert_eq!(sgd.steps(), 3);

    let linear = Sgd::new(1.0)
        .unwrap()
        .schedule(Schedule::Linear {
            to: 0.1,
            steps: 100,
        })
        .unwrap();
    assert_eq!(linear.learning_rate(), 1.0);
    assert!(Sgd::new(0.0).is_err() && Sgd::new(f64::NAN).is_err());
    assert!(matches!(
        Sgd::new(0.1).unwrap().momentum(1.0),
        Err(OptimError::Setting {
            name: "momentum",
            ..
        })
    ));
    let mut sgd = Sgd::new(0.1).unwrap();
    sgd.step(&values(&[1.0, 2.0])).unwrap();
    let err = sgd.step(&values(&[1.0])).unwrap_err();
    assert_eq!(
        err,
        OptimError::ParameterCount {
            expected: 2,
            got: 1
        }
    );
}

#[test]
fn adam_first_step_moves_each_weight_by_the_rate() {
    // After one step m̂ = g and v̂ = g², so the update is η g / (|g| + ε).
    let ws = values(&[1.0, -3.0]);
    let loss = &ws[0] * 5.0 + ws[1].powf(2.0); // gradients 5 and -6
    loss.backward();
    let mut adam = Adam::new(0.01).unwrap();
    adam.step(&ws).unwrap();
    assert!(close(ws[0].data(), 1.0 - 0.01 * 5.0 / (5.0 + 1e-8), 1e-15));
    assert!(close(ws[1].data(), -3.0 + 0.01 * 6.0 / (6.0 + 1e-8), 1e-15));
    assert!(Adam::new(0.01).unwrap().betas(1.0, 0.9).is_err());
}

#[test]
fn micrograd_moons_demo_reaches_full_training_accuracy() {
    let mut rng = StdRng::seed_from_u64(0);
    let moons = data::moons(100, 0.1, &mut rng);
    let mlp = Mlp::with_init(&[2, 16, 16, 1], Activation::Relu, Init::Uniform, &mut rng).unwrap();
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(1.0)
        .unwrap()
        .schedule(Schedule::Linear {
            to: 0.1,
            steps: 100,
        })
        .unwrap();
    let mut accuracy = 0.0;
    for _ in 0..100 {
        let mut losses = Vec::new();
        let mut correct = 0;
        for (p, &y) in moons.points.iter().zip(&moons.labels) {
            let score = mlp
                .forward(&[Value::constant(p[0]), Value::constant(p[1])])
                .unwrap()
                .remove(0);
            correct += usize::from((score.data() > 0.0) == (y > 0.0));
            losses.push(loss::binary_hinge(&score, y).unwrap());
        }
        let total = loss::mean(&losses).unwrap() + 1e-4 * loss::l2(&parameters);
        mlp.zero_grad();
        total.backward();
        sgd.step(&parameters).unwrap();
        accuracy = correct as f64 / 100.0;
    }
    assert_eq!(accuracy, 1.0);
    // And graph-free inference agrees on every point.
    let predicted = moons
        .points
        .iter()
        .zip(&moons.labels)
        .filter(|(p, y)| (mlp.predict(&p[..]).unwrap()[0] > 0.0) == (**y > 0.0))
        .count();
    assert_eq!(predicted, 100);
}
