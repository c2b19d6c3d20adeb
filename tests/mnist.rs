//! The MNIST loader: round trips of IDX files written here, every bad file
//! in `tests/mnist-bad/`, the committed sample, and a short training run on
//! it. (Tests never read `../shared/mnist`.)

use std::path::{Path, PathBuf};

use chainrule::data::mnist::{self, Digits, IdxError, MnistError, PIXELS};
use chainrule::nn::{Activation, Mlp};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::{Value, loss};
use rand::SeedableRng;

fn idx_images(pixels: &[u8], count: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x803, count, 28, 28] {
        bytes.extend(u32::to_be_bytes(word));
    }
    bytes.extend(pixels);
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x801, labels.len() as u32] {
        bytes.extend(u32::to_be_bytes(word));
    }
    bytes.extend(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("chainrule-mnist-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Writes the four standard files, gzip-compressed or raw.
fn write_split(dir: &Path, train: (&[u8], &[u8]), test: (&[u8], &[u8]), compressed: bool) {
    let files = [
        ("train-images-idx3-ubyte", train.0),
        ("train-labels-idx1-ubyte", train.1),
        ("t10k-images-idx3-ubyte", test.0),
        ("t10k-labels-idx1-ubyte", test.1),
    ];
    for (name, bytes) in files {
        if compressed {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn raw_and_gzip_files_round_trip() {
    let pixels: Vec<u8> = (0..3 * PIXELS).map(|i| (i * 7 % 256) as u8).collect();
    let labels = [4, 0, 9];
    let train = (idx_images(&pixels, 3), idx_labels(&labels));
    let test = (idx_images(&pixels[..PIXELS], 1), idx_labels(&labels[..1]));
    for compressed in [false, true] {
        let dir = TempDir::new(if compressed { "gz" } else { "raw" });
        write_split(&dir.0, (&train.0, &train.1), (&test.0, &test.1), compressed);
        let data = mnist::load(&dir.0, None, None).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (3, 1));
        assert_eq!(data.train.labels(), &labels);
        assert_eq!(data.train.images(), &pixels[..]);
        assert_eq!(data.train.image(2).unwrap(), &pixels[2 * PIXELS..]);
        let normalised = data.train.pixels(1).unwrap();
        assert_eq!(normalised[5], f64::from(pixels[PIXELS + 5]) / 255.0);
        assert!(data.train.image(3).is_none() && data.train.label(3).is_none());

        let firsts = mnist::load(&dir.0, Some(2), Some(10)).unwrap();
        assert_eq!((firsts.train.len(), firsts.test.len()), (2, 1));
        assert_eq!(firsts.train.labels(), &labels[..2]);
    }
}

#[test]
fn every_hand_made_bad_file_is_a_typed_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mnist-bad");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let images = |name: &str| mnist::decode(&read(name)).and_then(|b| mnist::parse_images(&b));
    let labels = |name: &str| mnist::decode(&read(name)).and_then(|b| mnist::parse_labels(&b));

    assert_eq!(
        images("images-truncated-header"),
        Err(IdxError::Truncated {
            len: 10,
            needed: 16
        })
    );
    assert_eq!(
        images("empty"),
        Err(IdxError::Truncated { len: 0, needed: 16 })
    );
    assert!(matches!(
        images("images-wrong-magic"),
        Err(IdxError::WrongMagic {
            found: 0x801,
            expected: 0x803,
            ..
        })
    ));
    assert_eq!(
        images("images-wrong-dimensions"),
        Err(IdxError::WrongDimensions { rows: 32, cols: 32 })
    );
    assert_eq!(
        images("images-truncated-data"),
        Err(IdxError::WrongLength {
            claimed: 2 * 784,
            actual: 2 * 784 - 100
        })
    );
    assert_eq!(
        images("images-trailing-bytes"),
        Err(IdxError::WrongLength {
            claimed: 784,
            actual: 789
        })
    );
    // A header claiming 4 billion images: refused from the file's real size,
    // before anything is allocated from the claim.
    assert_eq!(
        images("images-huge-count"),
        Err(IdxError::WrongLength {
            claimed: 0xFFFF_FFFF * 784,
            actual: 784
        })
    );
    assert_eq!(
        labels("labels-out-of-range"),
        Err(IdxError::LabelOutOfRange {
            index: 2,
            label: 10
        })
    );
    assert_eq!(
        labels("labels-count-too-large"),
        Err(IdxError::WrongLength {
            claimed: 1000,
            actual: 2
        })
    );
    assert!(matches!(
        labels("labels-wrong-magic"),
        Err(IdxError::WrongMagic { .. })
    ));
    assert!(matches!(
        labels("labels-corrupt-gzip"),
        Err(IdxError::CorruptGzip(_))
    ));
    let message = labels("labels-corrupt-gzip").unwrap_err().to_string();
    assert!(message.contains("not a valid gzip stream"), "{message}");
}

#[test]
fn a_gzip_bomb_is_refused_at_the_cap() {
    // 65 MiB of zeros compress to about 65 KiB.
    let bomb = gzip(&vec![0u8; (mnist::MAX_DECOMPRESSED + (1 << 20)) as usize]);
    assert!(bomb.len() < 200_000);
    assert_eq!(
        mnist::decode(&bomb),
        Err(IdxError::TooLarge {
            limit: mnist::MAX_DECOMPRESSED
        })
    );
}

#[test]
fn folder_errors_name_the_file() {
    let dir = TempDir::new("errors");
    let err = mnist::load(&dir.0, None, None).unwrap_err();
    assert!(matches!(
        err,
        MnistError::Missing {
            name: "train-images-idx3-ubyte",
            ..
        }
    ));
    assert!(err.to_string().contains("scripts/fetch-mnist.sh"));

    // Two images but three labels.
    let pixels = vec![0u8; 2 * PIXELS];
    let (images, labels) = (idx_images(&pixels, 2), idx_labels(&[1, 2, 3]));
    write_split(&dir.0, (&images, &labels), (&images, &labels[..]), true);
    let err = mnist::load(&dir.0, None, None).unwrap_err();
    assert!(matches!(
        err,
        MnistError::CountMismatch {
            image_count: 2,
            label_count: 3,
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("train-images-idx3-ubyte.gz holds 2 images")
    );

    // A bad byte inside: the error names the file.
    let bad_labels = idx_labels(&[1, 11]);
    write_split(
        &dir.0,
        (&images, &bad_labels),
        (&images, &bad_labels),
        false,
    );
    std::fs::remove_file(dir.0.join("train-labels-idx1-ubyte.gz")).unwrap();
    let err = mnist::load(&dir.0, None, None).unwrap_err();
    assert!(matches!(
        err,
        MnistError::Idx {
            source: IdxError::LabelOutOfRange {
                index: 1,
                label: 11
            },
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("train-labels-idx1-ubyte: label 11")
    );

    // Pairs given as bytes must agree in number too.
    let err = Digits::from_idx(&images, &idx_labels(&[1])).unwrap_err();
    assert_eq!(
        err,
        IdxError::WrongLength {
            claimed: 784,
            actual: 2 * 784
        }
    );
}

fn sample() -> mnist::Mnist {
    mnist::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-sample"),
        None,
        None,
    )
    .unwrap()
}

#[test]
fn the_committed_sample_loads() {
    let data = sample();
    assert_eq!((data.train.len(), data.test.len()), (2000, 500));
    assert_eq!(&data.train.labels()[..8], &[2, 4, 1, 2, 0, 7, 5, 3]);
    assert_eq!(&data.test.labels()[..8], &[1, 3, 4, 6, 1, 4, 2, 0]);
    // Every digit appears, and digits have ink.
    for digit in 0..10 {
        assert!(data.train.labels().iter().filter(|&&l| l == digit).count() > 150);
    }
    let ink = data
        .train
        .image(0)
        .unwrap()
        .iter()
        .filter(|&&p| p > 128)
        .count();
    assert!((50..400).contains(&ink), "{ink} dark pixels");
}

#[test]
fn a_small_network_learns_the_sample_far_above_chance() {
    let data = sample();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mlp = Mlp::new(&[PIXELS, 16, 10], Activation::Relu, &mut rng).unwrap();
    let parameters = mlp.parameters();
    let mut sgd = Sgd::new(0.1).unwrap();
    let inputs = |digits: &Digits, i: usize| -> Vec<f64> { digits.pixels(i).unwrap() };
    for epoch in 0..2 {
        for batch in (0..600).collect::<Vec<_>>().chunks(20) {
            let losses: Vec<Value> = batch
                .iter()
                .map(|&i| {
                    let x: Vec<Value> = inputs(&data.train, i)
                        .into_iter()
                        .map(Value::constant)
                        .collect();
                    let logits = mlp.forward(&x).unwrap();
                    loss::softmax_cross_entropy(&logits, usize::from(data.train.label(i).unwrap()))
                        .unwrap()
                })
                .collect();
            let total = loss::mean(&losses).unwrap();
            mlp.zero_grad();
            total.backward();
            sgd.step(&parameters).unwrap();
        }
        let _ = epoch;
    }
    let correct = (0..300)
        .filter(|&i| {
            let scores = mlp.predict(&inputs(&data.test, i)).unwrap();
            let best = (0..10)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap();
            best == usize::from(data.test.label(i).unwrap())
        })
        .count();
    // Chance is 10%; 600 digits seen twice already give several times that.
    assert!(correct > 150, "{correct} of 300 test digits right");

    // A saved and reloaded model (what `mnist evaluate` reads) scores the same.
    let path =
        std::env::temp_dir().join(format!("chainrule-mnist-{}-model.json", std::process::id()));
    mlp.save(&path).unwrap();
    let loaded = Mlp::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    for i in 0..300 {
        let x = inputs(&data.test, i);
        assert_eq!(loaded.predict(&x).unwrap(), mlp.predict(&x).unwrap());
    }
}
