//! The bridge to PyTorch and candle: an `Mlp` in safetensors, round trips,
//! every bad file a typed error, and an independent check in numpy
//! (`scripts/bridge-check`) in both directions on the committed MNIST
//! sample and on the moons points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod common;

use chainrule::data::mnist;
use chainrule::data::moons;
use chainrule::nn::{Activation, MAX_MODEL_BYTES, Mlp, ModelError, Precision};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, loss};
use rand::SeedableRng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

fn small_mlp(sizes: &[usize], activation: Activation, seed: u64) -> Mlp {
    Mlp::new(
        sizes,
        activation,
        &mut rand::rngs::StdRng::seed_from_u64(seed),
    )
    .unwrap()
}

#[test]
fn the_round_trip_is_exact_in_f64_and_rounds_once_in_f32() {
    for activation in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Linear,
    ] {
        let mlp = small_mlp(&[3, 5, 4, 2], activation, 11);
        let bytes = mlp.to_safetensors(Precision::F64).unwrap();
        let back = Mlp::from_safetensors(&bytes).unwrap();
        assert_eq!(back.sizes(), vec![3, 5, 4, 2]);
        assert_eq!(back.activation(), activation);
        let bits =
            |m: &Mlp| -> Vec<u64> { m.parameters().iter().map(|p| p.data().to_bits()).collect() };
        assert_eq!(bits(&back), bits(&mlp), "{activation:?}: bit for bit");
        // F32: each parameter is the f32 nearest to it.
        let single = Mlp::from_safetensors(&mlp.to_safetensors(Precision::F32).unwrap()).unwrap();
        for (a, b) in single.parameters().iter().zip(mlp.parameters()) {
            assert_eq!(a.data(), f64::from(b.data() as f32));
        }
    }
    // PyTorch's names and shapes, read by the safetensors crate itself.
    let mlp = small_mlp(&[2, 16, 16, 1], Activation::Relu, 1);
    let bytes = mlp.to_safetensors(Precision::F64).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<&str> = tensors.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"
        ]
    );
    assert_eq!(tensors.tensor("0.weight").unwrap().shape(), [16, 2]);
    assert_eq!(tensors.tensor("4.bias").unwrap().shape(), [1]);
    assert_eq!(tensors.tensor("2.weight").unwrap().dtype(), Dtype::F64);
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(metadata.metadata().as_ref().unwrap()["activation"], "relu");
    // Row n of a weight is neuron n's weights.
    let w = tensors.tensor("2.weight").unwrap();
    let third = f64::from_le_bytes(w.data()[(16 + 2) * 8..(16 + 3) * 8].try_into().unwrap());
    assert_eq!(third, mlp.layers()[1].neurons()[1].weights()[2].data());
}

/// A safetensors file of the given tensors (all F64 unless said).
fn file(tensors: &[(&str, Vec<usize>, Dtype)], activation: Option<&str>) -> Vec<u8> {
    let buffers: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape, dtype)| {
            let count: usize = shape.iter().product();
            let size = match dtype {
                Dtype::F64 => 8,
                Dtype::F32 => 4,
                _ => 2,
            };
            (
                name.to_string(),
                shape.clone(),
                *dtype,
                vec![0u8; count * size],
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(name, shape, dtype, data)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    let metadata = activation.map(|a| HashMap::from([("activation".to_owned(), a.to_owned())]));
    safetensors::serialize(views, metadata).unwrap()
}

#[test]
fn every_bad_file_is_a_typed_error_that_says_what_is_wrong() {
    let good = || {
        vec![
            ("0.weight", vec![3, 2], Dtype::F64),
            ("0.bias", vec![3], Dtype::F64),
            ("2.weight", vec![1, 3], Dtype::F64),
            ("2.bias", vec![1], Dtype::F64),
        ]
    };
    assert!(Mlp::from_safetensors(&file(&good(), Some("relu"))).is_ok());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not safetensors at all".to_vec(), "not a safetensors file"),
        (Vec::new(), "not a safetensors file"),
        (file(&good(), None), "names no activation"),
        (
            file(&good(), Some("gelu")),
            "none of relu, tanh, sigmoid, linear",
        ),
        (file(&good()[..3], Some("relu")), "3 tensors"),
        (
            file(
                &[
                    good()[0].clone(),
                    good()[1].clone(),
                    good()[2].clone(),
                    ("3.bias", vec![1], Dtype::F64),
                ],
                Some("relu"),
            ),
            "tensor \"3.bias\" is not a layer's",
        ),
        (
            file(
                &[
                    ("0.weight", vec![3, 2], Dtype::F64),
                    ("0.bias", vec![3], Dtype::F64),
                    ("2.weight", vec![1, 4], Dtype::F64),
                    ("2.bias", vec![1], Dtype::F64),
                ],
                Some("relu"),
            ),
            "2.weight takes 4 inputs, but the layer before gives 3",
        ),
        (
            file(
                &[
                    ("0.weight", vec![3, 2], Dtype::F64),
                    ("0.bias", vec![4], Dtype::F64),
                    ("2.weight", vec![1, 3], Dtype::F64),
                    ("2.bias", vec![1], Dtype::F64),
                ],
                Some("relu"),
            ),
            "0.bias has shape [4]",
        ),
        (
            file(
                &[
                    ("0.weight", vec![6], Dtype::F64),
                    ("0.bias", vec![3], Dtype::F64),
                    ("2.weight", vec![1, 3], Dtype::F64),
                    ("2.bias", vec![1], Dtype::F64),
                ],
                Some("relu"),
            ),
            "0.weight has shape [6]",
        ),
        (
            file(
                &[
                    ("0.weight", vec![3, 2], Dtype::BF16),
                    ("0.bias", vec![3], Dtype::F64),
                    ("2.weight", vec![1, 3], Dtype::F64),
                    ("2.bias", vec![1], Dtype::F64),
                ],
                Some("relu"),
            ),
            "0.weight is BF16; chainrule reads F64 and F32",
        ),
    ];
    for (bytes, says) in cases {
        let error = Mlp::from_safetensors(&bytes).unwrap_err();
        assert!(matches!(error, ModelError::Tensors { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(says), "{message:?} should say {says:?}");
        assert!(message.len() < 500, "{} characters", message.len());
    }
    // A NaN parameter.
    let mut bytes = file(&good(), Some("relu"));
    let at = bytes.len() - 8;
    bytes[at..].copy_from_slice(&f64::NAN.to_le_bytes());
    assert!(matches!(
        Mlp::from_safetensors(&bytes),
        Err(ModelError::NonFinite { value, .. }) if value.is_nan()
    ));
    // Files: a folder, a file over the cap (sparse: nothing is read).
    let dir = std::env::temp_dir().join(format!("chainrule-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(
        Mlp::load_safetensors(&dir),
        Err(ModelError::NotAFile { .. })
    ));
    let big = dir.join("big.safetensors");
    let handle = std::fs::File::create(&big).unwrap();
    handle.set_len(MAX_MODEL_BYTES + 1).unwrap();
    assert!(matches!(
        Mlp::load_safetensors(&big),
        Err(ModelError::TooLarge { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

/// Mean softmax cross-entropy of `mlp` on `(x, class)` samples.
fn mean_loss(mlp: &Mlp, samples: &[(Vec<f64>, usize)]) -> Value {
    let losses: Vec<Value> = samples
        .iter()
        .map(|(x, c)| loss::softmax_cross_entropy(&mlp.forward_f64(x).unwrap(), *c).unwrap())
        .collect();
    loss::mean(&losses).unwrap()
}

/// A few steps of SGD on batches of `samples`.
fn train(mlp: &Mlp, samples: &[(Vec<f64>, usize)], steps: usize, rate: f64) {
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(rate).unwrap();
    for step in 0..steps {
        let start = (step * 32) % samples.len().saturating_sub(32).max(1);
        let batch = &samples[start..(start + 32).min(samples.len())];
        for p in &parameters {
            p.zero_grad();
        }
        mean_loss(mlp, batch).backward();
        sgd.step(&parameters).unwrap();
    }
}

/// Writes `NAME-model.safetensors` and `NAME-check.safetensors` (the
/// batch, chainrule's logits, loss and every parameter's gradient).
fn export(dir: &Path, name: &str, mlp: &Mlp, batch: &[(Vec<f64>, usize)]) {
    mlp.save_safetensors(
        dir.join(format!("{name}-model.safetensors")),
        Precision::F64,
    )
    .unwrap();
    for p in mlp.parameters() {
        p.zero_grad();
    }
    let loss = mean_loss(mlp, batch);
    loss.backward();
    let inputs = batch[0].0.len();
    let classes = *mlp.sizes().last().unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<f64>)> = vec![
        (
            "x".into(),
            vec![batch.len(), inputs],
            batch.iter().flat_map(|(x, _)| x.iter().copied()).collect(),
        ),
        (
            "y".into(),
            vec![batch.len()],
            batch.iter().map(|(_, c)| *c as f64).collect(),
        ),
        (
            "logits".into(),
            vec![batch.len(), classes],
            batch
                .iter()
                .flat_map(|(x, _)| mlp.predict(x).unwrap())
                .collect(),
        ),
        ("loss".into(), vec![1], vec![loss.data()]),
    ];
    for (l, layer) in mlp.layers().iter().enumerate() {
        let neurons = layer.neurons();
        tensors.push((
            format!("{}.weight", 2 * l),
            vec![neurons.len(), layer.inputs()],
            neurons
                .iter()
                .flat_map(|n| n.weights().iter().map(Value::grad))
                .collect(),
        ));
        tensors.push((
            format!("{}.bias", 2 * l),
            vec![neurons.len()],
            neurons.iter().map(|n| n.bias().grad()).collect(),
        ));
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F64, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(
        dir.join(format!("{name}-check.safetensors")),
        safetensors::serialize(views, None).unwrap(),
    )
    .unwrap();
}

/// The F64 numbers of tensor `name` in a safetensors file.
fn read_tensor(path: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let tensor = tensors.tensor(name).unwrap();
    assert_eq!(tensor.dtype(), Dtype::F64);
    let values = tensor
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (tensor.shape().to_vec(), values)
}

#[test]
fn numpy_agrees_with_chainrule_in_both_directions() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bridge");
    std::fs::create_dir_all(&dir).unwrap();
    // MNIST: the committed sample, a 784-32-10 relu network after 30 steps.
    let root = env!("CARGO_MANIFEST_DIR");
    let data = mnist::load(format!("{root}/data/mnist-sample"), Some(1000), Some(64)).unwrap();
    let digits = |d: &mnist::Digits| -> Vec<(Vec<f64>, usize)> {
        (0..d.len())
            .map(|i| (d.pixels(i).unwrap(), usize::from(d.label(i).unwrap())))
            .collect()
    };
    let train_set = digits(&data.train);
    let mnist_net = small_mlp(&[784, 32, 10], Activation::Relu, 3);
    train(&mnist_net, &train_set, 30, 0.1);
    export(&dir, "mnist", &mnist_net, &digits(&data.test));
    // Moons: 2-16-16-2 relu with softmax cross-entropy on 100 points.
    let points = moons(100, 0.1, &mut rand::rngs::StdRng::seed_from_u64(2));
    let samples: Vec<(Vec<f64>, usize)> = points
        .points
        .iter()
        .zip(&points.labels)
        .map(|(p, &l)| (p.to_vec(), usize::from(l > 0.0)))
        .collect();
    let moons_net = small_mlp(&[2, 16, 16, 2], Activation::Relu, 4);
    train(&moons_net, &samples, 50, 0.5);
    export(&dir, "moons", &moons_net, &samples);

    let Some(said) = common::run_script("bridge-check", &[&dir]) else {
        return;
    };
    eprintln!("{}", said.trim());

    // The reverse: weights written by numpy as PyTorch would, loaded here,
    // give the logits numpy computed and the same classes.
    for name in ["mnist", "moons"] {
        let model =
            Mlp::load_safetensors(dir.join(format!("{name}-reverse-model.safetensors"))).unwrap();
        let check = dir.join(format!("{name}-reverse-check.safetensors"));
        let (shape, x) = read_tensor(&check, "x");
        let (logit_shape, logits) = read_tensor(&check, "logits");
        // Each logit's magnitude: the sum of its terms' absolute values,
        // the scale a sum's rounding is measured on (as the check does).
        let (_, sizes) = read_tensor(&check, "size");
        let (rows, inputs, classes) = (shape[0], shape[1], logit_shape[1]);
        let mut worst: f64 = 0.0;
        for r in 0..rows {
            let ours = model.predict(&x[r * inputs..(r + 1) * inputs]).unwrap();
            let theirs = &logits[r * classes..(r + 1) * classes];
            let size = &sizes[r * classes..(r + 1) * classes];
            for ((a, b), s) in ours.iter().zip(theirs).zip(size) {
                worst = worst.max((a - b).abs() / s.max(b.abs()).max(f64::MIN_POSITIVE));
            }
            let argmax =
                |v: &[f64]| (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best });
            assert_eq!(
                argmax(&ours),
                argmax(theirs),
                "{name} row {r}: the same class"
            );
        }
        eprintln!("{name}, the reverse: largest relative difference of the logits {worst:.2e}");
        assert!(worst <= 1e-12, "{name}: {worst}");
    }
}
