//! Neural networks built from [`Value`]s alone: [`Neuron`], [`Layer`],
//! [`Mlp`], as a user of the engine could have written them.
//!
//! A neuron is one fused [`Value::dot`] node (its weights and bias against
//! the inputs and a constant 1) followed by its activation.
//!
//! ```
//! use chainrule::Value;
//! use chainrule::nn::{Activation, Mlp};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let mlp = Mlp::new(&[2, 16, 16, 1], Activation::Relu, &mut rng).unwrap();
//! assert_eq!(mlp.num_parameters(), 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
//!
//! let x = [Value::constant(0.5), Value::constant(-1.0)];
//! let y = mlp.forward(&x).unwrap();
//! assert_eq!(y.len(), 1); // a Vec even for width 1
//! y[0].backward();
//! // Graph-free inference gives the very same number.
//! assert_eq!(mlp.predict(&[0.5, -1.0]).unwrap()[0].to_bits(), y[0].data().to_bits());
//! ```

mod model;
mod step;
mod tensors;

use std::iter;
use std::rc::Rc;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use model::{MAX_MODEL_BYTES, MAX_PARAMETERS, MAX_SIZES, ModelError};
pub use step::{MAX_STEP_LEAVES, RecordedStep, StepError, StepLoss};
pub use tensors::Precision;

use crate::Value;
use crate::engine::arith;
use crate::engine::op::{self, Op};

/// Sizes as a message quotes them: all of a short list, the first eight
/// and the count of a long one (a model file can hold millions).
pub(crate) fn sizes_text(sizes: &[usize]) -> String {
    const SHOWN: usize = 8;
    if sizes.len() <= SHOWN {
        format!("{sizes:?}")
    } else {
        let head: Vec<String> = sizes[..SHOWN].iter().map(usize::to_string).collect();
        format!("[{}, … ({} sizes in all)]", head.join(", "), sizes.len())
    }
}

/// What is wrong with a network's shape or its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NnError {
    /// An MLP needs an input width and at least one layer.
    #[error(
        "an MLP needs at least two sizes (inputs, then each layer's width), got {}",
        sizes_text(.0)
    )]
    TooFewSizes(Vec<usize>),
    /// A width of zero.
    #[error(
        "size {position} of {} is 0; every width must be at least 1",
        sizes_text(.sizes)
    )]
    ZeroWidth {
        /// Position in the sizes.
        position: usize,
        /// The sizes given.
        sizes: Vec<usize>,
    },
    /// An input of the wrong width.
    #[error("input has {got} values but the network takes {expected}")]
    InputWidth {
        /// The network's input width.
        expected: usize,
        /// The input's width.
        got: usize,
    },
}

/// The nonlinearity of the hidden layers (the last layer is always linear).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// The hyperbolic tangent.
    Tanh,
    /// The logistic sigmoid.
    Sigmoid,
    /// No nonlinearity.
    Linear,
}

impl Activation {
    /// Applies the activation to a graph node.
    pub fn apply(self, x: &Value) -> Value {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Linear => x.clone(),
        }
    }

    /// Applies the activation to a number, with the very operations the
    /// graph performs (see `engine/arith.rs`), so the result is bit for bit
    /// the node's value.
    pub fn apply_f64(self, x: f64) -> f64 {
        match self {
            Activation::Relu => Op::Max.forward(x, 0.0),
            Activation::Tanh => arith::tanh(&x),
            Activation::Sigmoid => arith::sigmoid(&x),
            Activation::Linear => x,
        }
    }

    /// The initialisation that suits the activation: He for relu, Xavier
    /// (Glorot) otherwise.
    pub fn default_init(self) -> Init {
        match self {
            Activation::Relu => Init::He,
            _ => Init::Xavier,
        }
    }
}

/// How weights are drawn at first (biases start at 0, as in micrograd).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Init {
    /// micrograd's: uniform in [-1, 1].
    Uniform,
    /// He (Kaiming) uniform: in ±√(6 / fan_in), for relu layers.
    He,
    /// Xavier (Glorot) uniform: in ±√(6 / (fan_in + fan_out)), for tanh
    /// and sigmoid layers.
    Xavier,
}

impl Init {
    fn bound(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Init::Uniform => 1.0,
            Init::He => (6.0 / fan_in as f64).sqrt(),
            Init::Xavier => (6.0 / (fan_in + fan_out) as f64).sqrt(),
        }
    }
}

/// One neuron: `activation(w · x + b)`, one fused `dot` node and its
/// activation.
#[derive(Clone, Debug)]
pub struct Neuron {
    /// The weights, then the bias: the dot node's first half. Shared with
    /// every `dot_const_shared` node the neuron builds.
    parameters: Rc<[Value]>,
    activation: Activation,
}

impl Neuron {
    fn new<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        activation: Activation,
        init: Init,
        rng: &mut R,
    ) -> Neuron {
        let bound = init.bound(inputs, outputs);
        let weights = (0..inputs).map(|_| Value::new(rng.random_range(-bound..=bound)));
        Neuron {
            parameters: weights.chain(iter::once(Value::new(0.0))).collect(),
            activation,
        }
    }

    fn from_parameters(weights: &[f64], bias: f64, activation: Activation) -> Neuron {
        Neuron {
            parameters: weights
                .iter()
                .chain(iter::once(&bias))
                .map(|&w| Value::new(w))
                .collect(),
            activation,
        }
    }

    /// Labels the neuron's parameters `w1 …`, `b`, all in group `scope`.
    /// A picture puts the dot nodes the neuron builds in the same group
    /// (see [`GraphNode::group`](crate::graph::GraphNode::group)), so a
    /// sample's graph groups by layer and neuron at no cost per sample.
    fn name(&self, scope: &str) {
        let count = self.parameters.len() - 1;
        // One group string for the neuron, and labels made from positions
        // when asked for: a parameter holds no string of its own.
        let group: std::rc::Rc<str> = std::rc::Rc::from(scope);
        for (i, w) in self.parameters.iter().enumerate() {
            let weight = (i < count).then(|| u32::try_from(i + 1).unwrap_or(u32::MAX));
            w.name_parameter(weight, &group);
        }
    }

    /// The weights.
    pub fn weights(&self) -> &[Value] {
        &self.parameters[..self.parameters.len() - 1]
    }

    /// The bias.
    pub fn bias(&self) -> &Value {
        &self.parameters[self.parameters.len() - 1]
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The neuron on inputs `x1 … xn` followed by a constant 1 (for the
    /// bias), as [`Layer::forward`] builds them once for all its neurons.
    fn forward_with_one(&self, inputs_and_one: &Rc<[Value]>) -> Result<Value, NnError> {
        let dot = crate::engine::tuning::dot_shared(&self.parameters, inputs_and_one)
            .map_err(|_| self.width_error(inputs_and_one.len()))?;
        Ok(self.activation.apply(&dot))
    }

    /// The neuron on plain numbers `x1 … xn, 1`: one `dot_const` node.
    fn forward_numbers_with_one(&self, inputs_and_one: &Rc<[f64]>) -> Result<Value, NnError> {
        let dot = crate::engine::tuning::dot_const_shared(&self.parameters, inputs_and_one)
            .map_err(|_| self.width_error(inputs_and_one.len()))?;
        Ok(self.activation.apply(&dot))
    }

    /// The error for an input of `with_one - 1` values (the 1 is the bias's).
    fn width_error(&self, with_one: usize) -> NnError {
        NnError::InputWidth {
            expected: self.parameters.len() - 1,
            got: with_one.saturating_sub(1),
        }
    }

    fn predict_with_one(&self, inputs_and_one: &[f64]) -> f64 {
        let pairs = self
            .parameters
            .iter()
            .map(Value::data)
            .zip(inputs_and_one.iter().copied());
        self.activation.apply_f64(op::dot_forward(pairs))
    }
}

/// A layer of neurons that all see the same inputs.
#[derive(Clone, Debug)]
pub struct Layer {
    neurons: Vec<Neuron>,
    inputs: usize,
    /// The constant 1 the bias multiplies, one node for every sample.
    one: Value,
}

impl Layer {
    /// The neurons.
    pub fn neurons(&self) -> &[Neuron] {
        &self.neurons
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The layer's outputs for `x`.
    ///
    /// # Errors
    ///
    /// [`NnError::InputWidth`] if `x` is not as wide as the layer's input.
    pub fn forward(&self, x: &[Value]) -> Result<Vec<Value>, NnError> {
        self.check(x.len())?;
        // One list of inputs for all the layer's neurons.
        let with_one: Rc<[Value]> = x
            .iter()
            .cloned()
            .chain(iter::once(self.one.clone()))
            .collect();
        self.neurons
            .iter()
            .map(|n| n.forward_with_one(&with_one))
            .collect()
    }

    fn predict(&self, x: &[f64]) -> Vec<f64> {
        // One copy of the input for the whole layer.
        let with_one: Rc<[f64]> = x.iter().copied().chain(iter::once(1.0)).collect();
        self.neurons
            .iter()
            .map(|n| n.predict_with_one(&with_one))
            .collect()
    }

    fn check(&self, got: usize) -> Result<(), NnError> {
        if got == self.inputs {
            Ok(())
        } else {
            Err(NnError::InputWidth {
                expected: self.inputs,
                got,
            })
        }
    }
}

/// A multi-layer perceptron: hidden layers with an activation, then a
/// linear output layer.
#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<Layer>,
    activation: Activation,
}

impl Mlp {
    /// An MLP with layer widths `sizes` (inputs first), hidden layers using
    /// `activation`, weights drawn from `rng` with the activation's default
    /// initialisation ([`Activation::default_init`]).
    ///
    /// # Errors
    ///
    /// [`NnError::TooFewSizes`] for fewer than two sizes,
    /// [`NnError::ZeroWidth`] for a width of 0.
    pub fn new<R: Rng + ?Sized>(
        sizes: &[usize],
        activation: Activation,
        rng: &mut R,
    ) -> Result<Mlp, NnError> {
        Mlp::with_init(sizes, activation, activation.default_init(), rng)
    }

    /// [`Mlp::new`] with a chosen initialisation.
    ///
    /// ```
    /// use chainrule::nn::{Activation, Init, Mlp};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let mlp = Mlp::with_init(&[3, 4, 2], Activation::Tanh, Init::Uniform, &mut rng).unwrap();
    /// assert!(mlp.parameters().iter().all(|w| w.data().abs() <= 1.0));
    /// assert!(Mlp::new(&[3], Activation::Relu, &mut rng).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Mlp::new`].
    pub fn with_init<R: Rng + ?Sized>(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut R,
    ) -> Result<Mlp, NnError> {
        check_sizes(sizes)?;
        let last = sizes.len() - 2;
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let act = if i == last {
                    Activation::Linear
                } else {
                    activation
                };
                Layer {
                    neurons: (0..pair[1])
                        .map(|_| Neuron::new(pair[0], pair[1], act, init, rng))
                        .collect(),
                    inputs: pair[0],
                    one: Value::constant(1.0),
                }
            })
            .collect();
        Ok(Mlp::named(layers, activation))
    }

    /// Rebuilds an MLP from its weights: `layers[l][n]` is neuron `n` of
    /// layer `l` as (weights, bias).
    pub(crate) fn from_weights(layers: &[Vec<(Vec<f64>, f64)>], activation: Activation) -> Mlp {
        let last = layers.len().saturating_sub(1);
        let layers = layers
            .iter()
            .enumerate()
            .map(|(i, neurons)| {
                let act = if i == last {
                    Activation::Linear
                } else {
                    activation
                };
                Layer {
                    inputs: neurons.first().map_or(0, |(w, _)| w.len()),
                    neurons: neurons
                        .iter()
                        .map(|(w, b)| Neuron::from_parameters(w, *b, act))
                        .collect(),
                    one: Value::constant(1.0),
                }
            })
            .collect();
        Mlp::named(layers, activation)
    }

    /// The MLP with every layer's parameters and constant 1 labelled and
    /// grouped (`w2` in `layer1/neuron3`, `1` in `layer1`; counted from 1),
    /// so that a picture of a sample's graph groups by layer and neuron.
    fn named(mut layers: Vec<Layer>, activation: Activation) -> Mlp {
        for (l, layer) in layers.iter_mut().enumerate() {
            layer.one = layer
                .one
                .clone()
                .with_label("1")
                .with_group(format!("layer{}", l + 1));
            for (j, neuron) in layer.neurons.iter_mut().enumerate() {
                neuron.name(&format!("layer{}/neuron{}", l + 1, j + 1));
            }
        }
        Mlp { layers, activation }
    }

    /// The network's output for `x`: a `Vec` with one value per output, even
    /// for one output.
    ///
    /// # Errors
    ///
    /// [`NnError::InputWidth`] if `x` is not as wide as the input layer.
    pub fn forward(&self, x: &[Value]) -> Result<Vec<Value>, NnError> {
        let mut values = x.to_vec();
        for layer in &self.layers {
            values = layer.forward(&values)?;
        }
        Ok(values)
    }

    /// The network's output for inputs that are plain numbers (pixels,
    /// features): the first layer's neurons are `dot_const` nodes, so no
    /// node is made for an input. The same values and parameter gradients
    /// as [`Mlp::forward`] with `Value::constant` inputs, much faster for
    /// wide inputs.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::nn::{Activation, Mlp};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    /// let mlp = Mlp::new(&[3, 4, 2], Activation::Relu, &mut rng).unwrap();
    /// let x = [0.5, -1.0, 2.0];
    /// let a = mlp.forward_f64(&x).unwrap();
    /// let b = mlp.forward(&x.map(Value::constant)).unwrap();
    /// assert_eq!(a[1].data().to_bits(), b[1].data().to_bits());
    /// ```
    ///
    /// # Errors
    ///
    /// [`NnError::InputWidth`] if `x` is not as wide as the input layer.
    pub fn forward_f64(&self, x: &[f64]) -> Result<Vec<Value>, NnError> {
        let first = &self.layers[0];
        first.check(x.len())?;
        // One copy of the input for the whole layer.
        let with_one: Rc<[f64]> = x.iter().copied().chain(iter::once(1.0)).collect();
        let mut values = first
            .neurons
            .iter()
            .map(|n| n.forward_numbers_with_one(&with_one))
            .collect::<Result<Vec<_>, _>>()?;
        for layer in &self.layers[1..] {
            values = layer.forward(&values)?;
        }
        Ok(values)
    }

    /// The network's output for `x` computed on numbers, with no graph:
    /// for accuracy over thousands of inputs. Bit for bit the data of
    /// [`Mlp::forward`]'s outputs.
    ///
    /// # Errors
    ///
    /// [`NnError::InputWidth`] if `x` is not as wide as the input layer.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, NnError> {
        self.layers[0].check(x.len())?;
        let mut values = x.to_vec();
        for layer in &self.layers {
            values = layer.predict(&values);
        }
        Ok(values)
    }

    /// Every weight and bias, layer by layer, neuron by neuron (weights,
    /// then bias).
    pub fn parameters(&self) -> Vec<Value> {
        self.layers
            .iter()
            .flat_map(|l| &l.neurons)
            .flat_map(|n| n.parameters.iter().cloned())
            .collect()
    }

    /// Sets every parameter's gradient to zero.
    pub fn zero_grad(&self) {
        for layer in &self.layers {
            for neuron in &layer.neurons {
                neuron.parameters.iter().for_each(Value::zero_grad);
            }
        }
    }

    /// The number of weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.neurons.len() * (l.inputs + 1))
            .sum()
    }

    /// The layer widths, inputs first.
    pub fn sizes(&self) -> Vec<usize> {
        iter::once(self.layers[0].inputs)
            .chain(self.layers.iter().map(|l| l.neurons.len()))
            .collect()
    }

    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
}

fn check_sizes(sizes: &[usize]) -> Result<(), NnError> {
    if sizes.len() < 2 {
        return Err(NnError::TooFewSizes(sizes.to_vec()));
    }
    match sizes.iter().position(|&w| w == 0) {
        Some(position) => Err(NnError::ZeroWidth {
            position,
            sizes: sizes.to_vec(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_activations_are_bit_identical_to_the_graph() {
        let mut xs: Vec<f64> = (-400..=400).map(|i| i as f64 * 0.037).collect();
        xs.extend([
            0.0, -0.0, 1e-300, -1e-300, 40.0, -40.0, 710.0, -745.0, 1000.0, -1000.0,
        ]);
        xs.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
        for act in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Linear,
        ] {
            for &x in &xs {
                let graph = act.apply(&Value::new(x)).data();
                let number = act.apply_f64(x);
                assert!(
                    graph.to_bits() == number.to_bits() || (graph.is_nan() && number.is_nan()),
                    "{act:?}({x}): graph {graph}, number {number}"
                );
            }
        }
    }
}
