//! Optimisers: gradient descent `w ← w - η dL/dw` ([`Sgd`], with momentum,
//! weight decay and a learning-rate [`Schedule`]) and [`Adam`].
//!
//! ```
//! use chainrule::Value;
//! use chainrule::optim::{Optimizer, Sgd};
//!
//! // Minimise (w - 3)^2 by gradient descent.
//! let w = Value::new(0.0);
//! let mut sgd = Sgd::new(0.1).unwrap();
//! for _ in 0..100 {
//!     w.zero_grad();
//!     (&w - 3.0).powf(2.0).backward();
//!     sgd.step(&[w.clone()]).unwrap();
//! }
//! assert!((w.data() - 3.0).abs() < 1e-9);
//! ```

use thiserror::Error;

use crate::Value;

/// What is wrong with an optimiser's settings or parameters.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptimError {
    /// A setting out of its range.
    #[error("{name} = {value} is out of range; it must be {range}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range.
        range: &'static str,
    },
    /// `step` got a different number of parameters than before.
    #[error(
        "step got {got} parameters but the optimiser holds state for {expected}; pass the same parameters, in the same order, at every step"
    )]
    ParameterCount {
        /// Parameters at the first step.
        expected: usize,
        /// Parameters now.
        got: usize,
    },
}

fn check(name: &'static str, value: f64, ok: bool, range: &'static str) -> Result<f64, OptimError> {
    if ok && !value.is_nan() {
        Ok(value)
    } else {
        Err(OptimError::Setting { name, value, range })
    }
}

fn positive(name: &'static str, value: f64) -> Result<f64, OptimError> {
    check(
        name,
        value,
        value > 0.0 && value.is_finite(),
        "a positive finite number",
    )
}

fn fraction(name: &'static str, value: f64) -> Result<f64, OptimError> {
    check(name, value, (0.0..1.0).contains(&value), "in [0, 1)")
}

fn non_negative(name: &'static str, value: f64) -> Result<f64, OptimError> {
    check(
        name,
        value,
        value >= 0.0 && value.is_finite(),
        "a non-negative finite number",
    )
}

/// An optimiser: updates parameters from their gradients.
pub trait Optimizer {
    /// One update of `parameters` from their current gradients. Pass the
    /// same parameters in the same order every time (state is kept per
    /// position).
    ///
    /// # Errors
    ///
    /// [`OptimError::ParameterCount`] if the number of parameters changed.
    fn step(&mut self, parameters: &[Value]) -> Result<(), OptimError>;

    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f64;

    /// How many steps have been taken.
    fn steps(&self) -> usize;
}

/// How the learning rate changes with the step number `k` (from 0).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Schedule {
    /// Always the base rate.
    Constant,
    /// From the base rate down to `to` in a straight line over `steps`
    /// steps, then `to`: micrograd's `1.0 - 0.9 k / 100` is base 1.0,
    /// `to: 0.1`, `steps: 100`.
    Linear {
        /// The rate at step `steps` and after.
        to: f64,
        /// Steps to get there.
        steps: usize,
    },
    /// The base rate times `factor` after every `every` steps.
    Step {
        /// Steps between decays.
        every: usize,
        /// Multiplier at each decay.
        factor: f64,
    },
}

impl Schedule {
    /// The rate at step `k` for base rate `base`.
    ///
    /// ```
    /// use chainrule::optim::Schedule;
    /// let micrograd = Schedule::Linear { to: 0.1, steps: 100 };
    /// assert_eq!(micrograd.rate(1.0, 0), 1.0);
    /// assert!((micrograd.rate(1.0, 50) - 0.55).abs() < 1e-15);
    /// assert_eq!(Schedule::Step { every: 10, factor: 0.5 }.rate(0.8, 25), 0.2);
    /// ```
    pub fn rate(self, base: f64, k: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Linear { to, steps } => {
                if k >= steps {
                    to
                } else {
                    base - (base - to) * k as f64 / steps as f64
                }
            }
            Schedule::Step { every, factor } => base * factor.powi((k / every.max(1)) as i32),
        }
    }
}

fn state_for(state: &mut Vec<f64>, parameters: usize) -> Result<(), OptimError> {
    if state.is_empty() {
        state.resize(parameters, 0.0);
    }
    if state.len() != parameters {
        return Err(OptimError::ParameterCount {
            expected: state.len(),
            got: parameters,
        });
    }
    Ok(())
}

/// Stochastic gradient descent with optional momentum, weight decay and a
/// learning-rate schedule: `v ← μ v + (g + λ w)`, `w ← w - η_k v`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    rate: f64,
    momentum: f64,
    weight_decay: f64,
    schedule: Schedule,
    velocity: Vec<f64>,
    steps: usize,
}

impl Sgd {
    /// Plain gradient descent at learning rate `rate`.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless `rate` is positive and finite.
    pub fn new(rate: f64) -> Result<Sgd, OptimError> {
        Ok(Sgd {
            rate: positive("learning rate", rate)?,
            momentum: 0.0,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            velocity: Vec::new(),
            steps: 0,
        })
    }

    /// Sets the momentum `μ` (0 for none).
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless `0 ≤ μ < 1`.
    pub fn momentum(mut self, momentum: f64) -> Result<Sgd, OptimError> {
        self.momentum = fraction("momentum", momentum)?;
        Ok(self)
    }

    /// Sets the weight decay `λ`, added to each gradient as `λ w`.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless `λ ≥ 0` and finite.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Sgd, OptimError> {
        self.weight_decay = non_negative("weight decay", weight_decay)?;
        Ok(self)
    }

    /// Sets the schedule.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] for a linear target rate that is not
    /// positive, or a step factor outside (0, 1].
    pub fn schedule(mut self, schedule: Schedule) -> Result<Sgd, OptimError> {
        match schedule {
            Schedule::Constant => {}
            Schedule::Linear { to, .. } => {
                positive("schedule target rate", to)?;
            }
            Schedule::Step { factor, .. } => {
                check(
                    "schedule factor",
                    factor,
                    factor > 0.0 && factor <= 1.0,
                    "in (0, 1]",
                )?;
            }
        }
        self.schedule = schedule;
        Ok(self)
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, parameters: &[Value]) -> Result<(), OptimError> {
        state_for(&mut self.velocity, parameters.len())?;
        let rate = self.learning_rate();
        let (momentum, decay) = (self.momentum, self.weight_decay);
        for (p, v) in parameters.iter().zip(&mut self.velocity) {
            p.update_data(|data, grad| {
                let g = grad + decay * data;
                *v = momentum * *v + g;
                data - rate * *v
            });
        }
        self.steps += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.rate(self.rate, self.steps)
    }

    fn steps(&self) -> usize {
        self.steps
    }
}

/// Adam (Kingma & Ba): per-parameter rates from running means of the
/// gradient and its square, bias-corrected.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    rate: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    weight_decay: f64,
    first: Vec<f64>,
    second: Vec<f64>,
    steps: usize,
}

impl Adam {
    /// Adam at learning rate `rate` with β1 = 0.9, β2 = 0.999, ε = 1e-8.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless `rate` is positive and finite.
    pub fn new(rate: f64) -> Result<Adam, OptimError> {
        Ok(Adam {
            rate: positive("learning rate", rate)?,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            first: Vec::new(),
            second: Vec::new(),
            steps: 0,
        })
    }

    /// Sets β1 and β2.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless both are in [0, 1).
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Adam, OptimError> {
        self.beta1 = fraction("beta1", beta1)?;
        self.beta2 = fraction("beta2", beta2)?;
        Ok(self)
    }

    /// Sets the weight decay `λ`, added to each gradient as `λ w`.
    ///
    /// # Errors
    ///
    /// [`OptimError::Setting`] unless `λ ≥ 0` and finite.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Adam, OptimError> {
        self.weight_decay = non_negative("weight decay", weight_decay)?;
        Ok(self)
    }
}

impl Optimizer for Adam {
    fn step(&mut self, parameters: &[Value]) -> Result<(), OptimError> {
        state_for(&mut self.first, parameters.len())?;
        state_for(&mut self.second, parameters.len())?;
        self.steps += 1;
        let t = self.steps as i32;
        let (c1, c2) = (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t));
        let (b1, b2, eps, rate, decay) = (
            self.beta1,
            self.beta2,
            self.epsilon,
            self.rate,
            self.weight_decay,
        );
        for ((p, m), v) in parameters.iter().zip(&mut self.first).zip(&mut self.second) {
            p.update_data(|data, grad| {
                let g = grad + decay * data;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                let update = (*m / c1) / ((*v / c2).sqrt() + eps);
                data - rate * update
            });
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.rate
    }

    fn steps(&self) -> usize {
        self.steps
    }
}
