//! An [`Mlp`] in safetensors, the file of weights PyTorch, candle and burn
//! read: tensors named as PyTorch's `nn.Sequential` of `nn.Linear` layers
//! and activations names them.
//!
//! A network of sizes `[2, 16, 16, 1]` with relu is
//! `nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
//! nn.Linear(16, 1))`: its tensors are `0.weight` (shape `[16, 2]`,
//! `[out, in]`), `0.bias` (`[16]`), `2.weight`, `2.bias`, `4.weight`,
//! `4.bias` — every linear layer at an even index, its activation after
//! it (`nn.Identity()` for [`Activation::Linear`]). The metadata records
//! the activation (`"activation": "relu"`) and the format. F64 by default:
//! the round trip is exact to the bit; F32 on request, for frameworks that
//! train in single precision.
//!
//! Reading trusts nothing in the file: at most [`MAX_MODEL_BYTES`], a
//! header safetensors accepts, the activation in the metadata, exactly the
//! tensors of a network (none missing, none extra), F64 or F32 only, shapes
//! that chain (`[out, in]` and `[out]`, each layer taking the last one's
//! width), and finite numbers; anything else is a [`ModelError`] naming the
//! file and what was wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::model::{MAX_MODEL_BYTES, MAX_PARAMETERS, ModelError, read_model_file};
use super::{Activation, Mlp};

/// The number type of the tensors [`Mlp::to_safetensors`] writes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// 64-bit floats: the parameters exactly.
    #[default]
    F64,
    /// 32-bit floats, each parameter rounded to the nearest.
    F32,
}

/// Where a file's name is given in errors for bytes in memory.
const IN_MEMORY: &str = "(safetensors in memory)";

/// The name of layer `l`'s weight or bias, as `nn.Sequential` numbers its
/// modules: linear layers at even indices, activations between them.
pub(crate) fn tensor_name(layer: usize, part: &str) -> String {
    format!("{}.{part}", 2 * layer)
}

fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "relu",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
        Activation::Linear => "linear",
    }
}

impl Mlp {
    /// The network as safetensors bytes, named as PyTorch's
    /// `nn.Sequential` of `nn.Linear` layers and activations names them:
    /// sizes `[2, 16, 16, 1]` with relu are `nn.Sequential(nn.Linear(2, 16),
    /// nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))`, whose
    /// tensors are `0.weight` (`[16, 2]`, that is `[out, in]`), `0.bias`
    /// (`[16]`), `2.weight`, `2.bias`, `4.weight`, `4.bias` (each linear
    /// layer at an even index, its activation after it; `nn.Identity()`
    /// for [`Activation::Linear`]). The metadata records the activation
    /// (`"activation": "relu"`) and the format. [`Precision::F64`] writes
    /// the parameters exactly; [`Precision::F32`] rounds each.
    ///
    /// ```
    /// use chainrule::nn::{Activation, Mlp, Precision};
    /// use rand::SeedableRng;
    /// let mlp = Mlp::new(&[2, 3, 1], Activation::Relu, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
    /// let bytes = mlp.to_safetensors(Precision::F64).unwrap();
    /// let back = Mlp::from_safetensors(&bytes).unwrap();
    /// assert_eq!(back.predict(&[0.5, -1.0]).unwrap(), mlp.predict(&[0.5, -1.0]).unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ModelError::NonFinite`] for a NaN or infinite parameter.
    pub fn to_safetensors(&self, precision: Precision) -> Result<Vec<u8>, ModelError> {
        self.check_finite()?;
        let encode = |values: &mut dyn Iterator<Item = f64>| -> Vec<u8> {
            match precision {
                Precision::F64 => values.flat_map(f64::to_le_bytes).collect(),
                Precision::F32 => values.flat_map(|v| (v as f32).to_le_bytes()).collect(),
            }
        };
        let dtype = match precision {
            Precision::F64 => Dtype::F64,
            Precision::F32 => Dtype::F32,
        };
        let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (l, layer) in self.layers().iter().enumerate() {
            let neurons = layer.neurons();
            let inputs = layer.inputs();
            let weights = encode(
                &mut neurons
                    .iter()
                    .flat_map(|n| n.weights().iter().map(|w| w.data())),
            );
            let biases = encode(&mut neurons.iter().map(|n| n.bias().data()));
            buffers.push((
                tensor_name(l, "weight"),
                vec![neurons.len(), inputs],
                weights,
            ));
            buffers.push((tensor_name(l, "bias"), vec![neurons.len()], biases));
        }
        let mut views = Vec::with_capacity(buffers.len());
        for (name, shape, bytes) in &buffers {
            let view =
                TensorView::new(dtype, shape.clone(), bytes).map_err(|e| ModelError::Tensors {
                    path: PathBuf::from(IN_MEMORY),
                    detail: e.to_string(),
                })?;
            views.push((name.clone(), view));
        }
        let metadata = HashMap::from([
            ("format".to_owned(), "chainrule-mlp".to_owned()),
            ("version".to_owned(), "1".to_owned()),
            (
                "activation".to_owned(),
                activation_name(self.activation()).to_owned(),
            ),
        ]);
        safetensors::serialize(views, Some(metadata)).map_err(|e| ModelError::Tensors {
            path: PathBuf::from(IN_MEMORY),
            detail: e.to_string(),
        })
    }

    /// Writes the network as a safetensors file.
    ///
    /// # Errors
    ///
    /// As [`Mlp::to_safetensors`], and [`ModelError::Io`] if the file
    /// cannot be written.
    pub fn save_safetensors(
        &self,
        path: impl AsRef<Path>,
        precision: Precision,
    ) -> Result<(), ModelError> {
        let path = path.as_ref();
        let bytes = self.to_safetensors(precision)?;
        std::fs::write(path, bytes).map_err(|source| ModelError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a network from safetensors bytes: as [`Mlp::to_safetensors`]
    /// writes them, or as PyTorch's `safetensors.torch.save_file` writes an
    /// `nn.Sequential`'s `state_dict()` with
    /// `metadata={"activation": "relu"}` (names and shapes as
    /// [`Mlp::to_safetensors`] writes them). Nothing in the bytes is
    /// trusted: see the errors.
    ///
    /// # Errors
    ///
    /// [`ModelError::TooLarge`] above [`MAX_MODEL_BYTES`];
    /// [`ModelError::Tensors`] for bytes that are not safetensors, no
    /// activation in the metadata, a missing, extra or misshapen tensor, or
    /// a dtype other than F64 and F32; [`ModelError::NonFinite`] for a NaN
    /// or infinite parameter.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Mlp, ModelError> {
        read(bytes, Path::new(IN_MEMORY))
    }

    /// Reads a safetensors file (see [`Mlp::from_safetensors`]); only
    /// regular files of at most [`MAX_MODEL_BYTES`] are read.
    ///
    /// # Errors
    ///
    /// As [`Mlp::from_safetensors`], and [`ModelError::Io`] and
    /// [`ModelError::NotAFile`] as [`Mlp::load`].
    pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Mlp, ModelError> {
        let path = path.as_ref();
        let bytes = read_model_file(path)?;
        read(&bytes, path)
    }
}

fn read(bytes: &[u8], path: &Path) -> Result<Mlp, ModelError> {
    let size = bytes.len() as u64;
    if size > MAX_MODEL_BYTES {
        return Err(ModelError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_MODEL_BYTES,
        });
    }
    let wrong = |detail: String| ModelError::Tensors {
        path: path.to_path_buf(),
        detail,
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| wrong(format!("not a safetensors file ({e})")))?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| wrong(format!("not a safetensors file ({e})")))?;
    let activation = match metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get("activation"))
        .map(String::as_str)
    {
        Some("relu") => Activation::Relu,
        Some("tanh") => Activation::Tanh,
        Some("sigmoid") => Activation::Sigmoid,
        Some("linear") => Activation::Linear,
        Some(other) => {
            return Err(wrong(format!(
                "the metadata's activation {:?} is none of relu, tanh, sigmoid, linear",
                other.chars().take(40).collect::<String>()
            )));
        }
        None => {
            return Err(wrong(
                "the metadata names no activation; write it with \
                 save_file(..., metadata={\"activation\": \"relu\"})"
                    .into(),
            ));
        }
    };
    let count = tensors.len();
    if count == 0 || count % 2 == 1 {
        return Err(wrong(format!(
            "{count} tensors; a network has a weight and a bias per layer"
        )));
    }
    let layers = count / 2;
    // The parameter count from the shapes, before a number is read.
    let total = tensors
        .tensors()
        .iter()
        .try_fold(0usize, |total, (_, view)| {
            total.checked_add(
                view.shape()
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d))?,
            )
        });
    match total {
        Some(total) if total <= MAX_PARAMETERS => {}
        _ => {
            return Err(wrong(format!(
                "its tensors hold more than the limit of {MAX_PARAMETERS} parameters \
                 (every parameter is a node of the graph)"
            )));
        }
    }
    let mut expected: Vec<String> = Vec::with_capacity(count);
    for l in 0..layers {
        expected.push(tensor_name(l, "weight"));
        expected.push(tensor_name(l, "bias"));
    }
    if let Some(extra) = tensors
        .names()
        .into_iter()
        .find(|name| !expected.iter().any(|e| e == name))
    {
        return Err(wrong(format!(
            "tensor {:?} is not a layer's; a network of {layers} layers has {}",
            extra.chars().take(60).collect::<String>(),
            names_text(&expected)
        )));
    }
    let mut weights: Vec<Vec<(Vec<f64>, f64)>> = Vec::with_capacity(layers);
    let mut width = None;
    let mut index = 0;
    for l in 0..layers {
        let (weight_name, bias_name) = (tensor_name(l, "weight"), tensor_name(l, "bias"));
        let weight = tensors
            .tensor(&weight_name)
            .map_err(|_| wrong(format!("tensor {weight_name} is missing")))?;
        let bias = tensors
            .tensor(&bias_name)
            .map_err(|_| wrong(format!("tensor {bias_name} is missing")))?;
        let (out, inputs) = match weight.shape() {
            &[out, inputs] if out > 0 && inputs > 0 => (out, inputs),
            shape => {
                return Err(wrong(format!(
                    "tensor {weight_name} has shape {shape:?}; a weight is [out, in], both at least 1"
                )));
            }
        };
        if let Some(previous) = width
            && previous != inputs
        {
            return Err(wrong(format!(
                "tensor {weight_name} takes {inputs} inputs, but the layer before gives {previous}"
            )));
        }
        if bias.shape() != [out] {
            return Err(wrong(format!(
                "tensor {bias_name} has shape {:?}; its layer has {out} outputs, so [{out}]",
                bias.shape()
            )));
        }
        let w = numbers(&weight, &weight_name).map_err(wrong)?;
        let b = numbers(&bias, &bias_name).map_err(wrong)?;
        for (offset, value) in w.iter().chain(&b).enumerate() {
            if !value.is_finite() {
                return Err(ModelError::NonFinite {
                    index: index + offset,
                    value: *value,
                });
            }
        }
        index += w.len() + b.len();
        weights.push(
            w.chunks(inputs)
                .zip(b)
                .map(|(row, bias)| (row.to_vec(), bias))
                .collect(),
        );
        width = Some(out);
    }
    Ok(Mlp::from_weights(&weights, activation))
}

/// A tensor's numbers as `f64`: F64 as they are, F32 widened exactly.
fn numbers(tensor: &TensorView<'_>, name: &str) -> Result<Vec<f64>, String> {
    let data = tensor.data();
    match tensor.dtype() {
        Dtype::F64 => Ok(data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect()),
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect()),
        other => Err(format!(
            "tensor {name} is {other:?}; chainrule reads F64 and F32 (convert with tensor.double() in PyTorch)"
        )),
    }
}

/// A list of tensor names as a message quotes it: at most eight.
fn names_text(names: &[String]) -> String {
    if names.len() <= 8 {
        names.join(", ")
    } else {
        format!("{}, … ({} in all)", names[..8].join(", "), names.len())
    }
}
