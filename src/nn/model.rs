//! Saving and loading an [`Mlp`] as versioned JSON.
//!
//! ```json
//! { "format": "chainrule-mlp", "version": 1, "activation": "relu",
//!   "sizes": [2, 16, 1],
//!   "layers": [ [ { "weights": [0.1, -0.3], "bias": 0.0 }, … ], … ] }
//! ```
//!
//! Numbers are written in the shortest form that reads back to the same
//! `f64`, so a round trip is bit-exact.
//!
//! Loading trusts nothing in the file. [`Mlp::load`] reads only regular
//! files of at most [`MAX_MODEL_BYTES`] (a FIFO or a device would block or
//! never end), refuses fields it does not know (a typo such as `"bais"`
//! would otherwise lose the value silently) and numbers that an `f64`
//! cannot hold (`1e-400` would read as 0), and checks every size against
//! every list before it builds a single node. [`Mlp::from_json`] does the
//! same for bytes in memory.
//!
//! ```
//! use chainrule::nn::{Mlp, ModelError};
//!
//! let typo = br#"{ "format": "chainrule-mlp", "version": 1, "activation": "relu",
//!   "sizes": [1, 1], "layers": [[{ "weights": [0.5], "bais": 1.0 }]] }"#;
//! let error = Mlp::from_json(typo).unwrap_err();
//! assert!(matches!(error, ModelError::Malformed { .. }));
//! assert!(error.to_string().contains("unknown field `bais`"));
//! assert!(error.to_string().contains("layers[0][0]"));
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Activation, Mlp};

const FORMAT: &str = "chainrule-mlp";
const VERSION: u32 = 1;

/// The largest model file [`Mlp::load`] reads: 256 MiB. A 784-1000-1000-10
/// network, far larger than any this crate trains, is about 40 MB of JSON.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// What errors name in place of a file for [`Mlp::from_json`].
const IN_MEMORY: &str = "(JSON in memory)";

/// What went wrong saving or loading a model. Each names the file.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path is not a regular file: a folder, a FIFO, a socket or a
    /// device, which could block the reader or never end.
    #[error("{path} is not a regular file; give the path of a model file written by Mlp::save")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_MODEL_BYTES`].
    #[error(
        "{path} is {size} bytes, more than the {limit}-byte limit for a model file; it is not a model written by Mlp::save"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes (at least `limit + 1` when it grew while read).
        size: u64,
        /// [`MAX_MODEL_BYTES`].
        limit: u64,
    },
    /// The file is not JSON of the expected shape, or has a field the
    /// format does not know.
    #[error("{path} is not a chainrule model: {message} at {at} (line {line}, column {column})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the JSON reader found.
        message: String,
        /// Where in the document, as `layers[0][1].bias` (`.` for the top).
        at: String,
        /// Where, 1-based.
        line: usize,
        /// Where, 1-based.
        column: usize,
    },
    /// A number too small or too large for an `f64`: it would read as 0
    /// or infinity, a silently different model.
    #[error(
        "{path}: the number {number} (line {line}, column {column}) is outside what an f64 holds and would read as {reads_as}; write parameters with Mlp::save"
    )]
    Unrepresentable {
        /// The file.
        path: PathBuf,
        /// The number as written (its first 40 characters).
        number: String,
        /// What it would read as: `0` or `inf`.
        reads_as: &'static str,
        /// Where, 1-based.
        line: usize,
        /// Where, 1-based.
        column: usize,
    },
    /// The file is a model of another format or version.
    #[error(
        "{path} is format {format:?} version {version}; this chainrule reads format \"chainrule-mlp\" version 1"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The format it names.
        format: String,
        /// The version it names.
        version: u32,
    },
    /// The weights do not fit the sizes the file gives.
    #[error("{path}: {detail}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What does not fit, and where.
        detail: String,
    },
    /// A parameter is NaN or infinite: a model that cannot be saved, or a
    /// safetensors file that holds one.
    #[error(
        "parameter {index} is {value}; a model with NaN or infinite parameters is refused (find where training diverged with Value::find_anomaly)"
    )]
    NonFinite {
        /// Position in [`Mlp::parameters`].
        index: usize,
        /// The value.
        value: f64,
    },
    /// A safetensors file that is not a network's (see
    /// [`Mlp::from_safetensors`]).
    #[error("{path} is not a chainrule network in safetensors: {detail}")]
    Tensors {
        /// The file.
        path: PathBuf,
        /// What was wrong: a missing, extra or misshapen tensor, its dtype,
        /// the metadata, or the header.
        detail: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    activation: Activation,
    sizes: Vec<usize>,
    layers: Vec<Vec<NeuronFile>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeuronFile {
    weights: Vec<f64>,
    bias: f64,
}

impl Mlp {
    /// [`ModelError::NonFinite`] for the first NaN or infinite parameter: a
    /// model that no file format should hold.
    pub(crate) fn check_finite(&self) -> Result<(), ModelError> {
        match self
            .parameters()
            .iter()
            .map(|p| p.data())
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            Some((index, value)) => Err(ModelError::NonFinite { index, value }),
            None => Ok(()),
        }
    }

    /// Writes the model to `path` as JSON (see the module docs).
    ///
    /// ```
    /// use chainrule::nn::{Activation, Mlp};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let mlp = Mlp::new(&[2, 3, 1], Activation::Tanh, &mut rng).unwrap();
    /// let path = std::env::temp_dir().join("chainrule-doc-model.json");
    /// mlp.save(&path).unwrap();
    /// let back = Mlp::load(&path).unwrap();
    /// assert_eq!(back.predict(&[0.3, -0.2]).unwrap(), mlp.predict(&[0.3, -0.2]).unwrap());
    /// # std::fs::remove_file(&path).ok();
    /// ```
    ///
    /// # Errors
    ///
    /// [`ModelError::NonFinite`] for a NaN or infinite parameter,
    /// [`ModelError::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let json = self.to_json()?;
        std::fs::write(path, json).map_err(|source| ModelError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    }

    /// The model as the JSON [`Mlp::save`] writes.
    ///
    /// ```
    /// use chainrule::nn::{Activation, Mlp};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let mlp = Mlp::new(&[2, 1], Activation::Relu, &mut rng).unwrap();
    /// let back = Mlp::from_json(mlp.to_json().unwrap().as_bytes()).unwrap();
    /// assert_eq!(back.predict(&[1.0, 2.0]).unwrap(), mlp.predict(&[1.0, 2.0]).unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ModelError::NonFinite`] for a NaN or infinite parameter.
    pub fn to_json(&self) -> Result<String, ModelError> {
        self.check_finite()?;
        let file = ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            activation: self.activation,
            sizes: self.sizes(),
            layers: self
                .layers
                .iter()
                .map(|layer| {
                    layer
                        .neurons
                        .iter()
                        .map(|n| NeuronFile {
                            weights: n.weights().iter().map(|w| w.data()).collect(),
                            bias: n.bias().data(),
                        })
                        .collect()
                })
                .collect(),
        };
        // Plain numbers (all finite, checked above), strings and lists:
        // serde_json has no error to give for them.
        serde_json::to_string_pretty(&file).map_err(|e| ModelError::Malformed {
            path: PathBuf::from(IN_MEMORY),
            message: e.to_string(),
            at: ".".into(),
            line: e.line(),
            column: e.column(),
        })
    }

    /// Reads a model written by [`Mlp::save`]. Nothing is built until the
    /// whole file has been checked (see the module docs for what is
    /// refused).
    ///
    /// # Errors
    ///
    /// [`ModelError::NotAFile`] for a folder, FIFO or device,
    /// [`ModelError::TooLarge`] past [`MAX_MODEL_BYTES`],
    /// [`ModelError::Io`] if the file cannot be read,
    /// [`ModelError::Malformed`] if it is not a model's JSON or has an
    /// unknown field, [`ModelError::Unrepresentable`] for a number an `f64`
    /// cannot hold, [`ModelError::Version`] for another format or version,
    /// [`ModelError::Shape`] if the weights do not fit the sizes.
    pub fn load(path: impl AsRef<Path>) -> Result<Mlp, ModelError> {
        let path = path.as_ref();
        let bytes = read_model_file(path)?;
        parse(&bytes, path)
    }

    /// Reads a model from the JSON [`Mlp::save`] writes, held in memory.
    /// Every check of [`Mlp::load`] applies; errors name the file as
    /// `(JSON in memory)`.
    ///
    /// # Errors
    ///
    /// As [`Mlp::load`], but for [`ModelError::NotAFile`] and
    /// [`ModelError::Io`]; [`ModelError::TooLarge`] past
    /// [`MAX_MODEL_BYTES`].
    pub fn from_json(json: &[u8]) -> Result<Mlp, ModelError> {
        let path = Path::new(IN_MEMORY);
        if json.len() as u64 > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                path: path.to_path_buf(),
                size: json.len() as u64,
                limit: MAX_MODEL_BYTES,
            });
        }
        parse(json, path)
    }
}

/// The bytes of a regular file of at most [`MAX_MODEL_BYTES`].
///
/// The type is checked before the file is opened (opening a FIFO blocks
/// until a writer comes) and again on the opened file (the path may have
/// changed in between); the read stops one byte past the limit, so a file
/// that grows while read cannot make it allocate more.
pub(crate) fn read_model_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    let io = |source| ModelError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = || ModelError::NotAFile {
        path: path.to_path_buf(),
    };
    let too_large = |size| ModelError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_MODEL_BYTES,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(not_a_file());
    }
    if metadata.len() > MAX_MODEL_BYTES {
        return Err(too_large(metadata.len()));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(not_a_file());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0).min(1 << 20));
    file.take(MAX_MODEL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Checks `bytes` as a model file named `path` and builds the model.
fn parse(bytes: &[u8], path: &Path) -> Result<Mlp, ModelError> {
    // The header first, so that another version is named as such even if
    // the rest of its layout differs. (It reads only its two fields.)
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
        /// Read before the layers, so that a network too large to build
        /// is refused before its weights are read.
        #[serde(default, deserialize_with = "bounded_sizes")]
        sizes: Option<Vec<usize>>,
    }
    let malformed = |e: serde_path_to_error::Error<serde_json::Error>| {
        let at = e.path().to_string();
        let e = e.into_inner();
        ModelError::Malformed {
            path: path.to_path_buf(),
            // serde_json appends "at line L column C"; the fields say it.
            message: strip_position(&e.to_string()).to_string(),
            at,
            line: e.line(),
            column: e.column(),
        }
    };
    let header: Header =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
            .map_err(malformed)?;
    if header.format != FORMAT || header.version != VERSION {
        return Err(ModelError::Version {
            path: path.to_path_buf(),
            // A message quotes at most a few hundred characters of a file.
            format: header.format.chars().take(100).collect(),
            version: header.version,
        });
    }
    if let Some(sizes) = &header.sizes {
        check_parameter_count(sizes).map_err(|detail| ModelError::Shape {
            path: path.to_path_buf(),
            detail,
        })?;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let file: ModelFile = serde_path_to_error::deserialize(&mut deserializer).map_err(malformed)?;
    deserializer.end().map_err(|e| ModelError::Malformed {
        path: path.to_path_buf(),
        message: strip_position(&e.to_string()).to_string(),
        at: ".".into(),
        line: e.line(),
        column: e.column(),
    })?;
    // The JSON is valid, so every number in it is a well-formed token.
    if let Some(lossy) = first_unrepresentable_number(bytes) {
        return Err(ModelError::Unrepresentable {
            path: path.to_path_buf(),
            number: lossy.token,
            reads_as: lossy.reads_as,
            line: lossy.line,
            column: lossy.column,
        });
    }
    check_shape(&file).map_err(|detail| ModelError::Shape {
        path: path.to_path_buf(),
        detail,
    })?;
    let layers: Vec<Vec<(Vec<f64>, f64)>> = file
        .layers
        .into_iter()
        .map(|l| l.into_iter().map(|n| (n.weights, n.bias)).collect())
        .collect();
    Ok(Mlp::from_weights(&layers, file.activation))
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// A number token of a JSON document that an `f64` cannot hold.
struct Lossy {
    token: String,
    reads_as: &'static str,
    line: usize,
    column: usize,
}

/// The first number in valid JSON `bytes` that reads as 0 although it is
/// not zero (too small for an `f64`, even subnormal), or as infinity (too
/// large). Strings are skipped, escapes included.
fn first_unrepresentable_number(bytes: &[u8]) -> Option<Lossy> {
    let (mut i, mut line, mut line_start) = (0, 1, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
            }
            b'"' => {
                // A string: to its closing quote (valid JSON has one).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let token = std::str::from_utf8(&bytes[start..i]).unwrap_or("");
                let value: f64 = token.parse().unwrap_or(f64::NAN);
                let mantissa = token.split(['e', 'E']).next().unwrap_or("");
                let nonzero = mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'));
                let reads_as = if value == 0.0 && nonzero {
                    Some("0")
                } else if value.is_infinite() {
                    Some("inf")
                } else {
                    None
                };
                if let Some(reads_as) = reads_as {
                    return Some(Lossy {
                        token: token.chars().take(40).collect(),
                        reads_as,
                        line,
                        column: start - line_start + 1,
                    });
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Most sizes a model file may list (a network of 4,095 layers).
pub const MAX_SIZES: usize = 4096;

/// Most parameters a loaded network may have: 4,194,304. Every parameter
/// is a node of the graph (about 190 bytes as loaded), so this bounds
/// what a file of at most [`MAX_MODEL_BYTES`] can make the loader build
/// (a file of 100 million zero weights asked for over 20 GB). A scalar
/// engine trains far smaller networks: MNIST's 784-50-10 has 39,760.
pub const MAX_PARAMETERS: usize = 1 << 22;

/// A list of sizes as read from a file: at most [`MAX_SIZES`] of them, so
/// a list of millions is refused while it is read, not after.
fn bounded_sizes<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<usize>>, D::Error> {
    struct Sizes;
    impl<'de> serde::de::Visitor<'de> for Sizes {
        type Value = Option<Vec<usize>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_SIZES} sizes")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut sizes = Vec::new();
            while let Some(size) = seq.next_element::<usize>()? {
                if sizes.len() == MAX_SIZES {
                    return Err(serde::de::Error::custom(format!(
                        "more than {MAX_SIZES} sizes; a model file lists at most {MAX_SIZES}"
                    )));
                }
                sizes.push(size);
            }
            Ok(Some(sizes))
        }
    }
    deserializer.deserialize_seq(Sizes)
}

/// Refuses sizes whose network would have more than [`MAX_PARAMETERS`]
/// parameters (each layer's weights and biases).
pub(crate) fn check_parameter_count(sizes: &[usize]) -> Result<(), String> {
    let count = sizes.windows(2).try_fold(0usize, |total, pair| {
        pair[0]
            .checked_add(1)
            .and_then(|inputs| inputs.checked_mul(pair[1]))
            .and_then(|layer| total.checked_add(layer))
    });
    match count {
        Some(count) if count <= MAX_PARAMETERS => Ok(()),
        count => Err(format!(
            "sizes {} call for {} parameters, more than the limit of {MAX_PARAMETERS} \
             (every parameter is a node of the graph); train a network this large with tensors",
            super::sizes_text(sizes),
            count.map_or_else(|| "more than 2^64".to_owned(), |c| c.to_string())
        )),
    }
}

fn check_shape(file: &ModelFile) -> Result<(), String> {
    super::check_sizes(&file.sizes).map_err(|e| e.to_string())?;
    if file.layers.len() != file.sizes.len() - 1 {
        return Err(format!(
            "sizes {} call for {} layers, the file has {}",
            super::sizes_text(&file.sizes),
            file.sizes.len() - 1,
            file.layers.len()
        ));
    }
    for (l, layer) in file.layers.iter().enumerate() {
        let (inputs, width) = (file.sizes[l], file.sizes[l + 1]);
        if layer.len() != width {
            return Err(format!(
                "layer {l} should have {width} neurons, the file has {}",
                layer.len()
            ));
        }
        for (n, neuron) in layer.iter().enumerate() {
            if neuron.weights.len() != inputs {
                return Err(format!(
                    "layer {l} neuron {n} should have {inputs} weights, the file has {}",
                    neuron.weights.len()
                ));
            }
        }
    }
    Ok(())
}
