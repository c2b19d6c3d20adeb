//! The lecture's losses, built from scalar nodes: softmax cross-entropy and
//! the multiclass SVM (hinge) loss on class scores, the binary hinge and
//! logistic losses, mean squared error, and L2 regularisation.
//!
//! cs231n's example: scores cat 3.2, car 5.1, frog -1.7 for a cat.
//!
//! ```
//! use chainrule::Value;
//! use chainrule::loss::{multiclass_svm, softmax_cross_entropy};
//!
//! let scores: Vec<Value> = [3.2, 5.1, -1.7].into_iter().map(Value::new).collect();
//! let svm = multiclass_svm(&scores, 0).unwrap();
//! let softmax = softmax_cross_entropy(&scores, 0).unwrap();
//! assert!((svm.data() - 2.9).abs() < 1e-12);        // max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1)
//! assert!((softmax.data() - 2.0404).abs() < 1e-4);  // -ln(e^3.2 / (e^3.2 + e^5.1 + e^-1.7))
//! ```

//!
//! # At infinite and NaN scores
//!
//! Each loss gives its mathematical limit where there is one, with the
//! limit's gradient, and NaN where the limit depends on how the scores got
//! there (two `+inf` logits: which one wins?); then
//! [`Value::find_anomaly`] names the node where the first infinity or NaN
//! appeared. Each row is a test in `tests/hostile.rs`.
//!
//! | loss | scores `z` | target | loss | gradient |
//! |---|---|---|---|---|
//! | `logistic` | +inf | 0 | +inf | 1 |
//! | `logistic` | +inf | 1 | 0 | 0 |
//! | `logistic` | +inf | 0.5 | +inf | 0.5 |
//! | `logistic` | -inf | 0 | 0 | 0 |
//! | `logistic` | -inf | 1 | +inf | -1 |
//! | `logistic` | NaN | any | NaN | NaN |
//! | `softmax_cross_entropy` | `[+inf, 0, 1]` | 0 | 0 | `[0, 0, 0]` |
//! | `softmax_cross_entropy` | `[+inf, 0, 1]` | 1 | +inf | `[1, -1, 0]` |
//! | `softmax_cross_entropy` | `[-inf, 0, 0]` | 1 | ln 2 | `[0, -0.5, 0.5]` |
//! | `softmax_cross_entropy` | `[-inf, 0]` | 0 | +inf | `[-1, 1]` |
//! | `softmax_cross_entropy` | `[+inf, +inf, 0]` or all -inf | any | NaN | NaN (undefined) |
//! | `log_sum_exp` | `[1, +inf]` | | +inf | `[0, 1]` |
//! | `softmax` | `[1, +inf]` | | `[0, 1]` | 0 |
//! | `log_softmax` | `[1, +inf]` | | `[-inf, 0]` | δ - onehot(1) for the first, 0 for the second |
//! | `multiclass_svm` | `[+inf, 0]` | 0 | 0 | `[0, 0]` |
//! | `multiclass_svm` | `[0, +inf]` | 0 | +inf | `[-1, 1]` |
//! | `binary_hinge` | +inf | +1 / -1 | 0 / +inf | 0 / 1 |
//! | `mse` | `[+inf]` | `[0]` | +inf | +inf |
//! | `l2(&`[]`)`, `Value::sum(&`[]`)` | | | +0 | |

use thiserror::Error;

use crate::Value;

/// What is wrong with a loss's inputs.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LossError {
    /// No scores, or no samples.
    #[error("{0} is empty; a loss needs at least one value")]
    Empty(&'static str),
    /// A class index past the scores.
    #[error("target class {target} is out of range for {classes} scores (classes are 0 to {last})", last = classes.saturating_sub(1))]
    TargetOutOfRange {
        /// The target given.
        target: usize,
        /// How many scores there are.
        classes: usize,
    },
    /// Predictions and targets of different lengths.
    #[error("{predictions} predictions but {targets} targets; pass one target per prediction")]
    LengthMismatch {
        /// How many predictions.
        predictions: usize,
        /// How many targets.
        targets: usize,
    },
    /// A label outside the loss's label set.
    #[error("label {label} is not {expected}")]
    BadLabel {
        /// The label given.
        label: f64,
        /// What the loss takes.
        expected: &'static str,
    },
}

fn non_empty<'a>(values: &'a [Value], what: &'static str) -> Result<&'a [Value], LossError> {
    if values.is_empty() {
        Err(LossError::Empty(what))
    } else {
        Ok(values)
    }
}

fn class(logits: &[Value], target: usize) -> Result<&Value, LossError> {
    non_empty(logits, "logits")?
        .get(target)
        .ok_or(LossError::TargetOutOfRange {
            target,
            classes: logits.len(),
        })
}

/// The position of the one `+inf` logit, if exactly one logit is `+inf`
/// and none is NaN. Softmax then has a limit (all its mass on that logit),
/// which the usual shift by the maximum cannot reach (`inf - inf` is
/// NaN). With two or more `+inf` logits the limit depends on how they grew:
/// NaN is the right answer, and the usual formulas give it.
fn lone_infinite_logit(logits: &[Value]) -> Option<usize> {
    let mut found = None;
    for (i, z) in logits.iter().enumerate() {
        let z = z.data();
        if z.is_nan() || (z == f64::INFINITY && found.replace(i).is_some()) {
            return None;
        }
    }
    found
}

/// The scores shifted by their maximum (`z - max z`), and `ln Σ e^(z - max z)`:
/// the stable pieces of softmax. The maximum is built from max nodes (its
/// gradient cancels: the loss does not depend on the shift).
fn shifted_and_log_sum(logits: &[Value]) -> (Vec<Value>, Value) {
    let max = logits[1..].iter().fold(logits[0].clone(), |m, z| m.max(z));
    let minus_max = -&max;
    let shifted: Vec<Value> = logits.iter().map(|z| z + &minus_max).collect();
    let exps: Vec<Value> = shifted.iter().map(Value::exp).collect();
    (shifted, Value::sum(&exps).ln())
}

/// `ln Σ e^zi`, computed as `max z + ln Σ e^(zi - max z)` so that no
/// exponential overflows.
///
/// # Errors
///
/// [`LossError::Empty`] for no logits.
pub fn log_sum_exp(logits: &[Value]) -> Result<Value, LossError> {
    non_empty(logits, "logits")?;
    if let Some(k) = lone_infinite_logit(logits) {
        // ln Σ e^z → z_k, with gradient softmax(z) → onehot(k).
        return Ok(logits[k].clone());
    }
    let max = logits[1..].iter().fold(logits[0].clone(), |m, z| m.max(z));
    let (_, log_sum) = shifted_and_log_sum(logits);
    Ok(max + log_sum)
}

/// The softmax `e^zi / Σ e^zj`: scores as probabilities (the lecture: scores
/// are unnormalised log probabilities).
///
/// ```
/// use chainrule::Value;
/// use chainrule::loss::softmax;
/// let p = softmax(&[Value::new(1000.0), Value::new(-1000.0)]).unwrap();
/// assert_eq!((p[0].data(), p[1].data()), (1.0, 0.0)); // no overflow
/// ```
///
/// # Errors
///
/// [`LossError::Empty`] for no logits.
pub fn softmax(logits: &[Value]) -> Result<Vec<Value>, LossError> {
    non_empty(logits, "logits")?;
    if let Some(k) = lone_infinite_logit(logits) {
        // onehot(k), flat: its gradient p (δ - p) is 0 at the limit.
        let p = (0..logits.len()).map(|i| Value::constant(if i == k { 1.0 } else { 0.0 }));
        return Ok(p.collect());
    }
    let max = logits[1..].iter().fold(logits[0].clone(), |m, z| m.max(z));
    let minus_max = -&max;
    let exps: Vec<Value> = logits.iter().map(|z| (z + &minus_max).exp()).collect();
    let inverse_sum = Value::sum(&exps).powf(-1.0);
    Ok(exps.iter().map(|e| e * &inverse_sum).collect())
}

/// `ln softmax(z)i = zi - ln Σ e^zj`, stable.
///
/// # Errors
///
/// [`LossError::Empty`] for no logits.
pub fn log_softmax(logits: &[Value]) -> Result<Vec<Value>, LossError> {
    non_empty(logits, "logits")?;
    if let Some(k) = lone_infinite_logit(logits) {
        // z_i - z_k: -inf, with gradient δ - onehot(k); and 0 at i = k.
        let minus_top = -&logits[k];
        let out = logits.iter().enumerate().map(|(i, z)| {
            if i == k {
                Value::constant(0.0)
            } else {
                z + &minus_top
            }
        });
        return Ok(out.collect());
    }
    let (shifted, log_sum) = shifted_and_log_sum(logits);
    let minus_log_sum = -&log_sum;
    Ok(shifted.iter().map(|s| s + &minus_log_sum).collect())
}

/// Softmax cross-entropy: `-ln softmax(z)target`, stable for any scores
/// (±1000 give a finite loss and gradients). Its gradient is
/// `softmax(z) - onehot(target)`: the lecture's SoftmaxWithLoss backward
/// `y - t`.
///
/// # Errors
///
/// [`LossError::Empty`] for no logits, [`LossError::TargetOutOfRange`].
pub fn softmax_cross_entropy(logits: &[Value], target: usize) -> Result<Value, LossError> {
    class(logits, target)?;
    if let Some(k) = lone_infinite_logit(logits) {
        // The limit: loss 0 if the +inf logit is the target, else z_k - z_t
        // (+inf), with the gradient softmax - onehot(t) → onehot(k) - onehot(t).
        return Ok(if k == target {
            Value::constant(0.0)
        } else {
            &logits[k] - &logits[target]
        });
    }
    let (shifted, log_sum) = shifted_and_log_sum(logits);
    Ok(log_sum - &shifted[target])
}

/// [`softmax_cross_entropy`] with the target given as a distribution of
/// values rather than an index: `ln Σ e^z - Σ tk zk` (logits shifted by
/// their max), `-Σ tk ln softmax(z)k` for targets that sum to 1. With a
/// one-hot target it is the same bits as `softmax_cross_entropy` for
/// finite logits, and the target can be constant leaves whose data a
/// [`Tape`](crate::Tape) replay changes. No limit branch: infinite logits
/// give what the arithmetic gives.
pub(crate) fn softmax_cross_entropy_to(logits: &[Value], targets: &[Value]) -> Value {
    let (shifted, log_sum) = shifted_and_log_sum(logits);
    // Equal lengths by construction; were they not, the empty sum.
    let picked = Value::dot(&shifted, targets).unwrap_or_else(|_| Value::sum(&[]));
    log_sum - picked
}

/// [`binary_hinge`] with the label's negation held in a value (a leaf a
/// [`Tape`](crate::Tape) replay sets): the same nodes and bits.
pub(crate) fn binary_hinge_to(score: &Value, minus_label: &Value) -> Value {
    (score * minus_label + 1.0).relu()
}

/// The multiclass SVM (hinge) loss with margin 1:
/// `Σ over j ≠ target of max(0, zj - z_target + 1)`.
///
/// # Errors
///
/// [`LossError::Empty`] for no logits, [`LossError::TargetOutOfRange`].
pub fn multiclass_svm(logits: &[Value], target: usize) -> Result<Value, LossError> {
    let correct = class(logits, target)?;
    let offset = 1.0 - correct;
    let terms: Vec<Value> = logits
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != target)
        .map(|(_, z)| (z + &offset).relu())
        .collect();
    Ok(Value::sum(&terms))
}

/// The binary hinge loss of micrograd's moons demo: `max(0, 1 - y s)` for a
/// score `s` and a label `y` of +1 or -1.
///
/// # Errors
///
/// [`LossError::BadLabel`] unless the label is +1 or -1.
pub fn binary_hinge(score: &Value, label: f64) -> Result<Value, LossError> {
    if label != 1.0 && label != -1.0 {
        return Err(LossError::BadLabel {
            label,
            expected: "+1 or -1",
        });
    }
    // max(0, 1 - y s), written as y's negation times s plus 1: the same
    // bits, two nodes fewer than `1.0 - score * label`.
    Ok(binary_hinge_to(score, &Value::constant(-label)))
}

/// Binary cross-entropy of a logit `z` (the log odds) against a label `y`
/// in [0, 1]: `-y ln σ(z) - (1 - y) ln(1 - σ(z))`, computed stably as
/// `max(z, 0) - z y + ln(1 + e^-|z|)`. The lecture's logistic regression.
///
/// ```
/// use chainrule::Value;
/// use chainrule::loss::logistic;
/// let z = Value::new(0.0);
/// let loss = logistic(&z, 1.0).unwrap();
/// loss.backward();
/// assert!((loss.data() - 2f64.ln()).abs() < 1e-15);
/// assert!((z.grad() - (0.5 - 1.0)).abs() < 1e-15); // σ(z) - y
/// ```
///
/// # Errors
///
/// [`LossError::BadLabel`] unless `0 ≤ y ≤ 1`.
pub fn logistic(logit: &Value, label: f64) -> Result<Value, LossError> {
    if !(0.0..=1.0).contains(&label) {
        return Err(LossError::BadLabel {
            label,
            expected: "between 0 and 1",
        });
    }
    // y softplus(-z) + (1 - y) softplus(z). A term whose weight is 0 is
    // left out, not multiplied by 0: at z = ±inf it is infinite, and
    // 0 · inf is NaN (the old form's `z y` was NaN at z = +inf, y = 0).
    let loss = if label == 1.0 {
        softplus(&-logit)
    } else if label == 0.0 {
        softplus(logit)
    } else {
        softplus(&-logit) * label + softplus(logit) * (1.0 - label)
    };
    Ok(loss)
}

/// `ln(1 + e^u)`, computed as `relu(u) + ln(1 + e^-|u|)` so that nothing
/// overflows. At u = 0 both pieces have a kink; `|u|` is `max(u, -u)`,
/// whose tie goes to `-u`, the side relu's tie takes too, so the two
/// one-sided slopes add up to the true slope σ(0) = 1/2.
fn softplus(u: &Value) -> Value {
    let abs = u.max(&-u);
    u.relu() + ((-&abs).exp() + 1.0).ln()
}

/// Mean squared error between predictions and targets.
///
/// # Errors
///
/// [`LossError::Empty`], [`LossError::LengthMismatch`].
pub fn mse(predictions: &[Value], targets: &[f64]) -> Result<Value, LossError> {
    non_empty(predictions, "predictions")?;
    if predictions.len() != targets.len() {
        return Err(LossError::LengthMismatch {
            predictions: predictions.len(),
            targets: targets.len(),
        });
    }
    let squares: Vec<Value> = predictions
        .iter()
        .zip(targets)
        .map(|(p, &t)| (p - t).powf(2.0))
        .collect();
    mean(&squares)
}

/// `Σ w²` over the parameters, as one fused dot node: the lecture's
/// regularisation term (multiply by your λ: `L = 1/N Σ Li + λ Σ W²`).
pub fn l2(parameters: &[Value]) -> Value {
    // The list with itself: equal lengths, so `dot` cannot refuse it (and
    // if it could, the empty sum would be the answer for no parameters).
    Value::dot(parameters, parameters).unwrap_or_else(|_| Value::sum(&[]))
}

/// The mean of per-sample losses: a batch's loss.
///
/// # Errors
///
/// [`LossError::Empty`] for no losses.
pub fn mean(losses: &[Value]) -> Result<Value, LossError> {
    non_empty(losses, "losses")?;
    Ok(Value::sum(losses) * (1.0 / losses.len() as f64))
}
