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

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Activation, Mlp};

const FORMAT: &str = "chainrule-mlp";
const VERSION: u32 = 1;

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
    /// The file is not JSON of the expected shape.
    #[error("{path} is not a chainrule model: {message} (line {line}, column {column})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the JSON reader found.
        message: String,
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
    /// A parameter is NaN or infinite, which JSON cannot hold.
    #[error(
        "parameter {index} is {value}; a model with NaN or infinite parameters cannot be saved (find where training diverged with Value::find_anomaly)"
    )]
    NonFinite {
        /// Position in [`Mlp::parameters`].
        index: usize,
        /// The value.
        value: f64,
    },
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    activation: Activation,
    sizes: Vec<usize>,
    layers: Vec<Vec<NeuronFile>>,
}

#[derive(Serialize, Deserialize)]
struct NeuronFile {
    weights: Vec<f64>,
    bias: f64,
}

impl Mlp {
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
        if let Some((index, value)) = self
            .parameters()
            .iter()
            .map(|p| p.data())
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(ModelError::NonFinite { index, value });
        }
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
        // Serialising plain numbers and strings cannot fail.
        let json = serde_json::to_string_pretty(&file).unwrap_or_default();
        std::fs::write(path, json).map_err(|source| ModelError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a model written by [`Mlp::save`]. Nothing is built until the
    /// whole file has been checked.
    ///
    /// # Errors
    ///
    /// [`ModelError::Io`] if the file cannot be read,
    /// [`ModelError::Malformed`] if it is not a model's JSON,
    /// [`ModelError::Version`] for another format or version,
    /// [`ModelError::Shape`] if the weights do not fit the sizes.
    pub fn load(path: impl AsRef<Path>) -> Result<Mlp, ModelError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        // The header first, so that another version is named as such even if
        // the rest of its layout differs.
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let malformed = |e: serde_json::Error| ModelError::Malformed {
            path: path.to_path_buf(),
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        };
        let header: Header = serde_json::from_str(&text).map_err(malformed)?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(ModelError::Version {
                path: path.to_path_buf(),
                format: header.format,
                version: header.version,
            });
        }
        let file: ModelFile = serde_json::from_str(&text).map_err(malformed)?;
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
}

fn check_shape(file: &ModelFile) -> Result<(), String> {
    super::check_sizes(&file.sizes).map_err(|e| e.to_string())?;
    if file.layers.len() != file.sizes.len() - 1 {
        return Err(format!(
            "sizes {:?} call for {} layers, the file has {}",
            file.sizes,
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
