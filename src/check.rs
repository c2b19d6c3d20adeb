//! Numerical gradients, and `gradcheck`: backprop checked against them.
//!
//! The lecture computes gradients two ways. The **numerical gradient** nudges
//! each input by a small step and watches the output move:
//!
//! ```text
//! df/dx ≈ (f(x + h) - f(x - h)) / 2h          (central difference)
//! ```
//!
//! It is simple and needs no calculus, but it is *slow* (two evaluations of
//! `f` per input, so a network with a million weights needs two million
//! forward passes) and *approximate* (too large a step gives truncation
//! error, too small a step gives rounding error). The **analytic gradient**
//! from backpropagation is exact and costs about one extra pass for all
//! inputs at once. So we train with backprop and use the numerical gradient
//! to *check* it:
//!
//! ```
//! use chainrule::Value;
//! use chainrule::check::{gradcheck, numerical_gradient};
//!
//! // f(w) = w³ at w = 2: exactly 12.
//! let f = |w: &[Value]| w[0].powf(3.0);
//! let coarse = numerical_gradient(f, &[2.0], 1e-1).unwrap()[0];
//! let fine = numerical_gradient(f, &[2.0], 1e-4).unwrap()[0];
//! assert!((coarse - 12.01).abs() < 1e-9); // truncation error h² = 0.01
//! assert!((fine - 12.0).abs() < 1e-7);    // smaller step, closer
//!
//! let report = gradcheck(f, &[2.0]).unwrap();
//! assert!(report.passed());
//! assert_eq!(report.inputs[0].analytic, 12.0); // backprop: exact
//! ```
//!
//! [`gradcheck`] applies PyTorch's criterion `|analytic - numerical| ≤ atol
//! + rtol · |numerical|` with its defaults (`atol = 1e-5`, `rtol = 1e-3`,
//! step `1e-6`); [`GradCheck`] sets other ones.

use std::fmt;

use thiserror::Error;

use crate::Value;

/// What is wrong with a gradient check's settings or inputs.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CheckError {
    /// The finite-difference step is zero, negative or not finite.
    #[error(
        "finite-difference step {0} is not a positive finite number; use a small positive step such as 1e-6"
    )]
    InvalidStep(f64),
    /// A tolerance is negative or NaN.
    #[error(
        "{name} = {value} is not a non-negative number; use for example atol = 1e-5, rtol = 1e-3"
    )]
    InvalidTolerance {
        /// `"atol"` or `"rtol"`.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// An input point is NaN or infinite, where no derivative can be taken.
    #[error("input {index} is {value}; gradients can only be checked at finite points")]
    NonFiniteInput {
        /// Position of the input.
        index: usize,
        /// The rejected value.
        value: f64,
    },
}

/// The numerical gradient of `f` at `at` by central differences with step
/// `step`: for each input `i`, `(f(x + h eᵢ) - f(x - h eᵢ)) / 2h`.
///
/// `f` receives one [`Value`] per input (a leaf, as in backprop, so that
/// `f` may itself take gradients with [`grad`](crate::grad): central
/// differences of a gradient give a Hessian's row) and returns the output.
/// Costs `2 n` calls of `f`; nothing is backpropagated.
///
/// # Errors
///
/// [`CheckError::InvalidStep`] for a step that is not positive and finite,
/// [`CheckError::NonFiniteInput`] for a NaN or infinite input.
pub fn numerical_gradient<F>(f: F, at: &[f64], step: f64) -> Result<Vec<f64>, CheckError>
where
    F: Fn(&[Value]) -> Value,
{
    check_step(step)?;
    check_point(at)?;
    let eval = |point: &[f64]| {
        let inputs: Vec<Value> = point.iter().copied().map(Value::new).collect();
        f(&inputs).data()
    };
    let mut point = at.to_vec();
    let gradient = (0..at.len())
        .map(|i| {
            point[i] = at[i] + step;
            let up = eval(&point);
            point[i] = at[i] - step;
            let down = eval(&point);
            point[i] = at[i];
            (up - down) / (2.0 * step)
        })
        .collect();
    Ok(gradient)
}

/// The analytic gradient of `f` at `at`: one forward pass and one
/// [`Value::backward`].
///
/// # Errors
///
/// [`CheckError::NonFiniteInput`] for a NaN or infinite input.
pub fn analytic_gradient<F>(f: F, at: &[f64]) -> Result<Vec<f64>, CheckError>
where
    F: Fn(&[Value]) -> Value,
{
    check_point(at)?;
    let inputs: Vec<Value> = at.iter().copied().map(Value::new).collect();
    f(&inputs).backward();
    Ok(inputs.iter().map(Value::grad).collect())
}

fn check_step(step: f64) -> Result<f64, CheckError> {
    if step.is_finite() && step > 0.0 {
        Ok(step)
    } else {
        Err(CheckError::InvalidStep(step))
    }
}

fn check_point(at: &[f64]) -> Result<(), CheckError> {
    match at.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(CheckError::NonFiniteInput {
            index,
            value: at[index],
        }),
        None => Ok(()),
    }
}

/// Checks backprop against the numerical gradient for every input of `f`
/// at `at`, with PyTorch's default tolerances (see [`GradCheck`]).
///
/// ```
/// use chainrule::Value;
/// use chainrule::check::gradcheck;
///
/// // cs231n's sigmoid neuron: σ(w0 x0 + w1 x1 + w2).
/// let neuron = |v: &[Value]| (&v[0] * &v[3] + &v[1] * &v[4] + &v[2]).sigmoid();
/// let report = gradcheck(neuron, &[2.0, -3.0, -3.0, -1.0, -2.0]).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
///
/// # Errors
///
/// [`CheckError::NonFiniteInput`] for a NaN or infinite input.
pub fn gradcheck<F>(f: F, at: &[f64]) -> Result<GradCheckReport, CheckError>
where
    F: Fn(&[Value]) -> Value,
{
    GradCheck::default().run(f, at)
}

/// Settings of a gradient check: finite-difference step and tolerances.
///
/// An input passes when `|analytic - numerical| ≤ atol + rtol · |numerical|`
/// (the criterion of `torch.autograd.gradcheck`, with its defaults).
///
/// ```
/// use chainrule::Value;
/// use chainrule::check::GradCheck;
///
/// let check = GradCheck::new().step(1e-4).unwrap().atol(1e-8).unwrap();
/// let report = check.run(|v| v[0].exp(), &[1.0]).unwrap();
/// assert!(report.passed());
/// assert!(GradCheck::new().step(0.0).is_err());
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct GradCheck {
    step: f64,
    atol: f64,
    rtol: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            step: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

impl GradCheck {
    /// Step `1e-6`, `atol = 1e-5`, `rtol = 1e-3`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the finite-difference step.
    ///
    /// # Errors
    ///
    /// [`CheckError::InvalidStep`] unless `step` is positive and finite.
    pub fn step(mut self, step: f64) -> Result<Self, CheckError> {
        self.step = check_step(step)?;
        Ok(self)
    }

    /// Sets the absolute tolerance.
    ///
    /// # Errors
    ///
    /// [`CheckError::InvalidTolerance`] for a negative or NaN tolerance.
    pub fn atol(mut self, atol: f64) -> Result<Self, CheckError> {
        self.atol = tolerance("atol", atol)?;
        Ok(self)
    }

    /// Sets the relative tolerance.
    ///
    /// # Errors
    ///
    /// [`CheckError::InvalidTolerance`] for a negative or NaN tolerance.
    pub fn rtol(mut self, rtol: f64) -> Result<Self, CheckError> {
        self.rtol = tolerance("rtol", rtol)?;
        Ok(self)
    }

    /// Compares backprop with the numerical gradient for every input.
    ///
    /// # Errors
    ///
    /// [`CheckError::NonFiniteInput`] for a NaN or infinite input.
    pub fn run<F>(&self, f: F, at: &[f64]) -> Result<GradCheckReport, CheckError>
    where
        F: Fn(&[Value]) -> Value,
    {
        let analytic = analytic_gradient(&f, at)?;
        let numerical = numerical_gradient(&f, at, self.step)?;
        let inputs = (0..at.len())
            .map(|index| {
                let (a, n) = (analytic[index], numerical[index]);
                let abs_error = (a - n).abs();
                let rel_error = if abs_error == 0.0 {
                    0.0
                } else {
                    abs_error / n.abs()
                };
                InputCheck {
                    index,
                    at: at[index],
                    analytic: a,
                    numerical: n,
                    abs_error,
                    rel_error,
                    // Written so that NaN anywhere fails.
                    passed: abs_error <= self.atol + self.rtol * n.abs(),
                }
            })
            .collect();
        Ok(GradCheckReport {
            inputs,
            step: self.step,
            atol: self.atol,
            rtol: self.rtol,
        })
    }
}

fn tolerance(name: &'static str, value: f64) -> Result<f64, CheckError> {
    if value >= 0.0 {
        Ok(value)
    } else {
        Err(CheckError::InvalidTolerance { name, value })
    }
}

/// The result of a gradient check: one [`InputCheck`] per input. Its
/// `Display` is a table.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// Per input, in order.
    pub inputs: Vec<InputCheck>,
    /// The finite-difference step used.
    pub step: f64,
    /// The absolute tolerance used.
    pub atol: f64,
    /// The relative tolerance used.
    pub rtol: f64,
}

impl GradCheckReport {
    /// Whether every input passed.
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|input| input.passed)
    }

    /// The inputs that failed.
    pub fn failures(&self) -> impl Iterator<Item = &InputCheck> {
        self.inputs.iter().filter(|input| !input.passed)
    }

    /// The largest absolute error over all inputs (NaN if any is NaN).
    pub fn max_abs_error(&self) -> f64 {
        self.inputs
            .iter()
            .map(|input| input.abs_error)
            .fold(
                0.0,
                |worst, e| if e > worst || e.is_nan() { e } else { worst },
            )
    }
}

/// One input's line of a [`GradCheckReport`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct InputCheck {
    /// Position of the input.
    pub index: usize,
    /// The input's value.
    pub at: f64,
    /// The gradient from backprop.
    pub analytic: f64,
    /// The gradient from central differences.
    pub numerical: f64,
    /// `|analytic - numerical|`.
    pub abs_error: f64,
    /// `abs_error / |numerical|` (0 when both agree exactly).
    pub rel_error: f64,
    /// Whether `abs_error ≤ atol + rtol · |numerical|`.
    pub passed: bool,
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        writeln!(
            f,
            "gradcheck {verdict} (step {:e}, atol {:e}, rtol {:e})",
            self.step, self.atol, self.rtol
        )?;
        writeln!(
            f,
            "{:>5} {:>14} {:>14} {:>14} {:>10} {:>10}",
            "input", "at", "analytic", "numerical", "abs err", "rel err"
        )?;
        for i in &self.inputs {
            writeln!(
                f,
                "{:>5} {:>14.6e} {:>14.6e} {:>14.6e} {:>10.2e} {:>10.2e}{}",
                i.index,
                i.at,
                i.analytic,
                i.numerical,
                i.abs_error,
                i.rel_error,
                if i.passed { "" } else { "  <- fails" }
            )?;
        }
        Ok(())
    }
}
