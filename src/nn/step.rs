//! A training step recorded once and replayed: [`Mlp::record_step`] builds
//! one batch's graph (the batch's inputs and targets as constant leaves),
//! records it on a [`Tape`], and [`RecordedStep::run`] replays it for every
//! batch: set the leaves, forward, backward. The leaves' gradients are
//! those of the graph built anew for that batch, bit for bit.

use thiserror::Error;

use super::{Mlp, NnError};
use crate::engine::EngineError;
use crate::{Tape, Value, loss};

/// The most input and target leaves a recorded step may hold (2^26, about
/// 5 GB of nodes): a batch beyond it is refused before anything is built.
pub const MAX_STEP_LEAVES: usize = 1 << 26;

/// The loss a recorded step computes over its batch.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StepLoss {
    /// The mean softmax cross-entropy of the logits against each sample's
    /// class (targets `0.0`, `1.0`, … as numbers): the same bits as
    /// [`loss::softmax_cross_entropy`] and [`loss::mean`] for finite
    /// logits.
    SoftmaxCrossEntropy,
    /// micrograd's moons loss: the mean [`loss::binary_hinge`] of the one
    /// output against each label (+1 or -1), plus `l2` times
    /// [`loss::l2`] of the parameters (0 for none).
    BinaryHinge {
        /// The weight of the L2 term.
        l2: f64,
    },
}

/// What is wrong with a recorded step or the batch given to it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum StepError {
    /// A batch of no samples.
    #[error("a recorded step needs a batch of at least 1 sample")]
    EmptyBatch,
    /// A batch whose inputs and targets would need more leaves than
    /// [`MAX_STEP_LEAVES`].
    #[error(
        "a batch of {batch} samples of {width} inputs is too large to record ({MAX_STEP_LEAVES} leaves at most); record a smaller batch"
    )]
    TooLarge {
        /// The batch size asked for.
        batch: usize,
        /// The network's input width.
        width: usize,
    },
    /// The binary hinge loss needs a network with one output.
    #[error(
        "the binary hinge loss scores one output, but the network has {0}; use StepLoss::SoftmaxCrossEntropy for several classes"
    )]
    NotOneOutput(usize),
    /// The batch given has another number of samples than recorded.
    #[error(
        "the step was recorded for batches of {expected} samples but got {got}; record another step for this size (Mlp::record_step)"
    )]
    BatchSize {
        /// The recorded batch size.
        expected: usize,
        /// The samples given.
        got: usize,
    },
    /// A sample of the wrong width.
    #[error("sample {sample} has {got} values but the network takes {expected}")]
    Width {
        /// The sample's position in the batch.
        sample: usize,
        /// The network's input width.
        expected: usize,
        /// The sample's width.
        got: usize,
    },
    /// Another number of targets than samples.
    #[error("{got} targets for {expected} samples; give one target per sample")]
    TargetCount {
        /// The batch size.
        expected: usize,
        /// The targets given.
        got: usize,
    },
    /// A target the loss cannot take.
    #[error("target {target} of sample {sample} is not {expected}")]
    BadTarget {
        /// The sample's position in the batch.
        sample: usize,
        /// The target given.
        target: f64,
        /// What the loss takes.
        expected: String,
    },
    /// The network refused the recorded inputs.
    #[error(transparent)]
    Network(#[from] NnError),
    /// The graph could not be recorded.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// One batch's training graph, recorded once; see [`Mlp::record_step`].
///
/// ```
/// use chainrule::nn::{Activation, Mlp, StepLoss};
/// use chainrule::optim::{Optimizer, Sgd};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Mlp::new(&[2, 8, 3], Activation::Relu, &mut rng).unwrap();
/// let step = model.record_step(StepLoss::SoftmaxCrossEntropy, 2).unwrap();
/// let mut sgd = Sgd::new(0.5).unwrap();
/// let (points, classes) = ([[0.5, 1.0], [-1.0, 0.2]], [2.0, 0.0]);
/// let parameters = model.parameters();
/// let first = step.run(&points, &classes).unwrap();
/// sgd.step(&parameters).unwrap();
/// for _ in 0..50 {
///     step.run(&points, &classes).unwrap(); // sets the gradients
///     sgd.step(&parameters).unwrap();
/// }
/// assert!(step.run(&points, &classes).unwrap() < first / 10.0);
/// ```
#[derive(Debug)]
pub struct RecordedStep {
    loss: StepLoss,
    batch: usize,
    width: usize,
    classes: usize,
    /// `batch × classes` outputs.
    outputs: Vec<Value>,
    tape: Tape,
}

impl Mlp {
    /// Records one training step over batches of `batch` samples: the
    /// network on `batch` inputs held in constant leaves, `loss` against
    /// targets held in constant leaves, all on one [`Tape`]. Replay it with
    /// [`RecordedStep::run`] for each batch; then step your optimiser over
    /// [`Mlp::parameters`] as after `backward`. The batch's numbers go
    /// straight onto the tape (`run` feeds them), so the input leaves'
    /// own data is not kept up to date.
    ///
    /// # Errors
    ///
    /// [`StepError::EmptyBatch`], [`StepError::TooLarge`],
    /// [`StepError::NotOneOutput`] for the binary hinge loss on a network
    /// of several outputs.
    pub fn record_step(&self, loss: StepLoss, batch: usize) -> Result<RecordedStep, StepError> {
        if batch == 0 {
            return Err(StepError::EmptyBatch);
        }
        let sizes = self.sizes();
        let (width, classes) = (sizes[0], sizes[sizes.len() - 1]);
        if matches!(loss, StepLoss::BinaryHinge { .. }) && classes != 1 {
            return Err(StepError::NotOneOutput(classes));
        }
        let leaves = (width + classes).checked_mul(batch);
        if leaves.is_none_or(|n| n > MAX_STEP_LEAVES) {
            return Err(StepError::TooLarge { batch, width });
        }
        // Each sample's leaves one after another, so the tape reads them
        // as one slice.
        let inputs: Vec<Value> = (0..batch * width).map(|_| Value::constant(0.0)).collect();
        let targets: Vec<Value> = match loss {
            StepLoss::SoftmaxCrossEntropy => {
                (0..batch * classes).map(|_| Value::constant(0.0)).collect()
            }
            StepLoss::BinaryHinge { .. } => (0..batch).map(|_| Value::constant(-1.0)).collect(),
        };
        let mut outputs = Vec::with_capacity(batch * classes);
        let mut losses = Vec::with_capacity(batch);
        for sample in 0..batch {
            let x = &inputs[sample * width..(sample + 1) * width];
            let out = self.forward(x)?;
            losses.push(match loss {
                StepLoss::SoftmaxCrossEntropy => loss::softmax_cross_entropy_to(
                    &out,
                    &targets[sample * classes..(sample + 1) * classes],
                ),
                StepLoss::BinaryHinge { .. } => loss::binary_hinge_to(&out[0], &targets[sample]),
            });
            outputs.extend(out);
        }
        // The mean of no losses cannot happen: batch ≥ 1.
        let mean = loss::mean(&losses).unwrap_or_else(|_| Value::sum(&[]));
        let total = match loss {
            StepLoss::BinaryHinge { l2 } if l2 != 0.0 => mean + l2 * loss::l2(&self.parameters()),
            _ => mean,
        };
        let fed: Vec<Value> = inputs.iter().chain(&targets).cloned().collect();
        let tape = Tape::record_fed(&total, &fed)?;
        Ok(RecordedStep {
            loss,
            batch,
            width,
            classes,
            outputs,
            tape,
        })
    }
}

impl RecordedStep {
    /// Replays the step on a batch: gives the batch to the input and target
    /// leaves, recomputes the loss from the parameters' current data and
    /// sets each parameter's [`grad`](Value::grad) to the loss's gradient
    /// (what `zero_grad` and `backward` give on the graph built for this
    /// batch, bit for bit). Returns the batch's loss; step your optimiser
    /// next.
    ///
    /// Targets are numbers: classes `0.0`, `1.0`, … for
    /// [`StepLoss::SoftmaxCrossEntropy`], +1 or -1 for
    /// [`StepLoss::BinaryHinge`].
    ///
    /// # Errors
    ///
    /// [`StepError::BatchSize`], [`StepError::Width`],
    /// [`StepError::TargetCount`], [`StepError::BadTarget`]; nothing is
    /// changed then.
    pub fn run<R: AsRef<[f64]>>(&self, inputs: &[R], targets: &[f64]) -> Result<f64, StepError> {
        self.check(inputs, targets)?;
        // The batch goes straight onto the tape, in the order the leaves
        // were named: the inputs, then the targets.
        let pixels = inputs.iter().flat_map(|row| row.as_ref().iter().copied());
        let classes = self.classes;
        let targets: Vec<f64> = match self.loss {
            StepLoss::SoftmaxCrossEntropy => targets
                .iter()
                .flat_map(|&t| (0..classes).map(move |k| if k as f64 == t { 1.0 } else { 0.0 }))
                .collect(),
            StepLoss::BinaryHinge { .. } => targets.iter().map(|&t| -t).collect(),
        };
        self.tape.feed(pixels.chain(targets));
        let loss = self.tape.forward();
        self.tape.backward_fresh();
        Ok(loss)
    }

    fn check<R: AsRef<[f64]>>(&self, inputs: &[R], targets: &[f64]) -> Result<(), StepError> {
        if inputs.len() != self.batch {
            return Err(StepError::BatchSize {
                expected: self.batch,
                got: inputs.len(),
            });
        }
        if let Some((sample, row)) = inputs
            .iter()
            .enumerate()
            .find(|(_, row)| row.as_ref().len() != self.width)
        {
            return Err(StepError::Width {
                sample,
                expected: self.width,
                got: row.as_ref().len(),
            });
        }
        if targets.len() != self.batch {
            return Err(StepError::TargetCount {
                expected: self.batch,
                got: targets.len(),
            });
        }
        let fits = |t: f64| match self.loss {
            StepLoss::SoftmaxCrossEntropy => {
                t.fract() == 0.0 && t >= 0.0 && t < self.classes as f64
            }
            StepLoss::BinaryHinge { .. } => t == 1.0 || t == -1.0,
        };
        match targets.iter().position(|&t| !fits(t)) {
            Some(sample) => Err(StepError::BadTarget {
                sample,
                target: targets[sample],
                expected: match self.loss {
                    StepLoss::SoftmaxCrossEntropy => format!("a class 0 to {}", self.classes - 1),
                    StepLoss::BinaryHinge { .. } => "+1 or -1".to_owned(),
                },
            }),
            None => Ok(()),
        }
    }

    /// Output `k` of sample `sample` after the last [`run`](Self::run)
    /// (a logit, or the hinge loss's score); `None` outside the batch.
    pub fn output(&self, sample: usize, k: usize) -> Option<f64> {
        if sample >= self.batch || k >= self.classes {
            return None;
        }
        let value = &self.outputs[sample * self.classes + k];
        self.tape.value_of(value).ok()
    }

    /// The batch size it was recorded for.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The tape: its size ([`Tape::len`]) and memory ([`Tape::bytes`]).
    pub fn tape(&self) -> &Tape {
        &self.tape
    }
}
