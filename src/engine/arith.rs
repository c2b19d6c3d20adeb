//! Methods and operators that build nodes: the primitive gates, and the
//! derived operations composed from them.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::op::Op;
use super::value::Value;

/// The primitive gates.
impl Value {
    /// `max(self, other)`: the router gate. The gradient goes to the larger
    /// operand, to `other` at a tie; a NaN in either operand propagates.
    ///
    /// ```
    /// use chainrule::Value;
    /// let z = Value::new(2.0);
    /// let w = Value::new(-1.0);
    /// let m = z.max(&w);
    /// m.backward();
    /// assert_eq!((m.data(), z.grad(), w.grad()), (2.0, 1.0, 0.0));
    /// ```
    pub fn max(&self, other: &Value) -> Value {
        Value::gate(Op::Max, self, Some(other))
    }

    /// `e^self`.
    pub fn exp(&self) -> Value {
        Value::gate(Op::Exp, self, None)
    }

    /// `ln(self)`, the natural logarithm. IEEE rules: `ln 0 = -inf`,
    /// `ln x = NaN` for `x < 0`; use [`Value::find_anomaly`] to locate them.
    pub fn ln(&self) -> Value {
        Value::gate(Op::Log, self, None)
    }

    /// `self^exponent` for a constant exponent.
    ///
    /// ```
    /// let x = chainrule::Value::new(3.0);
    /// let y = x.powf(2.0);
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (9.0, 6.0));
    /// ```
    pub fn powf(&self, exponent: f64) -> Value {
        Value::gate(Op::Pow, self, Some(&Value::constant(exponent)))
    }

    /// `self^exponent` for a value exponent (micrograd's `a ** b` with
    /// both values): `∂/∂a = b a^(b-1)`, `∂/∂b = a^b ln a`.
    ///
    /// At the edges (IEEE values, no panic):
    ///
    /// | a | b | value | ∂/∂a | ∂/∂b |
    /// |---|---|---|---|---|
    /// | > 0 | any | `a^b` | `b a^(b-1)` | `a^b ln a` |
    /// | 0 | > 0 | 0 | `b 0^(b-1)` (0 for b > 1, 1 at b = 1, +inf below) | 0: `0^b` is 0 for every b > 0 |
    /// | 0 | 0 | 1 | 0 | -inf (`ln 0`) |
    /// | 0 | < 0 | +inf | -inf | -inf |
    /// | < 0 | whole | `a^b` | `b a^(b-1)` | NaN: `a^b` is not differentiable in b there |
    /// | < 0 | not whole | NaN | NaN | NaN |
    ///
    /// ```
    /// use chainrule::Value;
    /// let a = Value::new(2.0);
    /// let b = Value::new(3.0);
    /// let z = a.pow(&b);
    /// z.backward();
    /// assert_eq!((z.data(), a.grad()), (8.0, 12.0)); // b a^(b-1)
    /// assert!((b.grad() - 8.0 * 2f64.ln()).abs() < 1e-15); // a^b ln a
    /// ```
    pub fn pow(&self, exponent: &Value) -> Value {
        Value::gate(Op::Pow, self, Some(exponent))
    }
}

/// Derived operations: compositions of the gates above, not gates of their own.
impl Value {
    /// `max(self, 0)`. Its gradient is 1 for positive inputs and 0 for
    /// negative inputs and at 0 (the max gate sends ties to the 0).
    ///
    /// One max node whose right-hand operand is the number 0 held in the
    /// node, rather than a constant node of its own: a network has a relu
    /// per neuron per sample, and the constant would be a third of its nodes.
    ///
    /// ```
    /// let x = chainrule::Value::new(0.0);
    /// let y = x.relu();
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (0.0, 0.0));
    /// ```
    pub fn relu(&self) -> Value {
        // The gate rules read a missing right-hand operand as 0.
        Value::gate(Op::Max, self, None)
    }

    /// The logistic sigmoid `1 / (1 + e^-x)`, whose derivative is
    /// `σ(x) (1 - σ(x))`.
    ///
    /// Built so that no intermediate overflows: `1 / (1 + e^-x)` for `x ≥ 0`
    /// and `e^x / (1 + e^x)` for `x < 0`. So `sigmoid(±1000)` is exactly 1 or
    /// 0 with a finite (zero) gradient.
    ///
    /// ```
    /// let x = chainrule::Value::new(0.0);
    /// let s = x.sigmoid();
    /// s.backward();
    /// assert_eq!((s.data(), x.grad()), (0.5, 0.25));
    /// ```
    pub fn sigmoid(&self) -> Value {
        sigmoid(self)
    }

    /// The hyperbolic tangent, as `2 σ(2x) - 1`, with the overflow-free
    /// sigmoid above.
    ///
    /// ```
    /// let x = chainrule::Value::new(0.5);
    /// let t = x.tanh();
    /// t.backward();
    /// assert!((t.data() - 0.5f64.tanh()).abs() < 1e-15);
    /// assert!((x.grad() - (1.0 - 0.5f64.tanh().powi(2))).abs() < 1e-15);
    /// ```
    pub fn tanh(&self) -> Value {
        tanh(self)
    }
}

/// What the derived functions are composed of, for numbers and values
/// alike: so sigmoid and tanh are written once, and `Mlp::predict` (on
/// numbers) computes the very bits the graph's nodes hold.
pub(crate) trait Elementary: Sized {
    /// Its number (the sigmoid's branch reads it).
    fn number(&self) -> f64;
    /// `k × self`, by the mul gate (the constant on the left).
    fn scaled(&self, k: f64) -> Self;
    /// `-self`, as `self × (-1)` (the constant on the right).
    fn negated(&self) -> Self;
    /// `self + k`, by the add gate.
    fn shifted(&self, k: f64) -> Self;
    /// `self - k`, as `self + (-k)` with `-k` made by the mul gate, as the
    /// `-` operator makes it.
    fn less(&self, k: f64) -> Self;
    /// `self × other`, by the mul gate.
    fn product(&self, other: &Self) -> Self;
    /// `e^self`, by the exp gate.
    fn exponential(&self) -> Self;
    /// `1 / self`, by the pow gate with exponent -1.
    fn reciprocal(&self) -> Self;
}

impl Elementary for f64 {
    fn number(&self) -> f64 {
        *self
    }
    fn scaled(&self, k: f64) -> f64 {
        Op::Mul.forward(k, *self)
    }
    fn negated(&self) -> f64 {
        Op::Mul.forward(*self, -1.0)
    }
    fn shifted(&self, k: f64) -> f64 {
        Op::Add.forward(*self, k)
    }
    fn less(&self, k: f64) -> f64 {
        Op::Add.forward(*self, Op::Mul.forward(k, -1.0))
    }
    fn product(&self, other: &f64) -> f64 {
        Op::Mul.forward(*self, *other)
    }
    fn exponential(&self) -> f64 {
        Op::Exp.forward(*self, 0.0)
    }
    fn reciprocal(&self) -> f64 {
        Op::Pow.forward(*self, -1.0)
    }
}

impl Elementary for Value {
    fn number(&self) -> f64 {
        self.data()
    }
    fn scaled(&self, k: f64) -> Value {
        k * self
    }
    fn negated(&self) -> Value {
        -self
    }
    fn shifted(&self, k: f64) -> Value {
        self + k
    }
    fn less(&self, k: f64) -> Value {
        self - k
    }
    fn product(&self, other: &Value) -> Value {
        self * other
    }
    fn exponential(&self) -> Value {
        self.exp()
    }
    fn reciprocal(&self) -> Value {
        self.powf(-1.0)
    }
}

/// The logistic sigmoid, built so that no intermediate overflows:
/// `1 / (1 + e^-x)` for `x ≥ 0` (cs231n's circuit: × -1, exp, + 1, 1/x)
/// and `e^x / (1 + e^x)` for `x < 0`.
pub(crate) fn sigmoid<T: Elementary>(x: &T) -> T {
    if x.number() >= 0.0 {
        x.negated().exponential().shifted(1.0).reciprocal()
    } else {
        let e = x.exponential();
        e.product(&e.shifted(1.0).reciprocal())
    }
}

/// `tanh x = 2 σ(2x) - 1`.
pub(crate) fn tanh<T: Elementary>(x: &T) -> T {
    sigmoid(&x.scaled(2.0)).scaled(2.0).less(1.0)
}

/// The one function behind each operator, for every mix of operand types.
#[inline(always)]
fn add(a: &Value, b: &Value) -> Value {
    Value::gate(Op::Add, a, Some(b))
}

#[inline(always)]
fn mul(a: &Value, b: &Value) -> Value {
    Value::gate(Op::Mul, a, Some(b))
}

fn sub(a: &Value, b: &Value) -> Value {
    add(a, &-b)
}

fn div(a: &Value, b: &Value) -> Value {
    mul(a, &b.powf(-1.0))
}

impl Neg for &Value {
    type Output = Value;
    /// `-x`, as `x * (-1)`.
    fn neg(self) -> Value {
        mul(self, &Value::constant(-1.0))
    }
}

impl Neg for Value {
    type Output = Value;
    /// `-x`, as `x * (-1)`.
    fn neg(self) -> Value {
        -&self
    }
}

/// Implements `$Trait` and `$AssignTrait` for every mix of `Value`, `&Value`
/// and `f64` through `$value_fn(&Value, &Value)`, with `$rhs_f64` turning an
/// `f64` right-hand side into a `Value` operand and `$lhs_f64` doing the same
/// on the left.
macro_rules! operator {
    ($Trait:ident $method:ident, $AssignTrait:ident $assign:ident,
     $value_fn:ident, rhs f64 $rhs:ident => $rhs_f64:expr, lhs f64 $lhs:ident => $lhs_f64:expr) => {
        impl $Trait<&Value> for &Value {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                $value_fn(self, rhs)
            }
        }
        impl $Trait<Value> for &Value {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                $value_fn(self, &rhs)
            }
        }
        impl $Trait<&Value> for Value {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                $value_fn(&self, rhs)
            }
        }
        impl $Trait<Value> for Value {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                $value_fn(&self, &rhs)
            }
        }
        impl $Trait<f64> for &Value {
            type Output = Value;
            fn $method(self, $rhs: f64) -> Value {
                $rhs_f64(self)
            }
        }
        impl $Trait<f64> for Value {
            type Output = Value;
            fn $method(self, $rhs: f64) -> Value {
                $rhs_f64(&self)
            }
        }
        impl $Trait<&Value> for f64 {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                let $lhs = self;
                $lhs_f64(rhs)
            }
        }
        impl $Trait<Value> for f64 {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                let $lhs = self;
                $lhs_f64(&rhs)
            }
        }
        impl $AssignTrait<&Value> for Value {
            /// Rebinds `self` to a new node; the old node lives on in the graph.
            fn $assign(&mut self, rhs: &Value) {
                *self = $value_fn(self, rhs);
            }
        }
        impl $AssignTrait<Value> for Value {
            /// Rebinds `self` to a new node; the old node lives on in the graph.
            fn $assign(&mut self, rhs: Value) {
                *self = $value_fn(self, &rhs);
            }
        }
        impl $AssignTrait<f64> for Value {
            /// Rebinds `self` to a new node; the old node lives on in the graph.
            fn $assign(&mut self, $rhs: f64) {
                *self = $rhs_f64(&*self);
            }
        }
    };
}

// `x - k` and `x / k` for a number `k` fold the negation and the reciprocal
// into the constant: one node instead of three.
operator!(Add add, AddAssign add_assign, add,
    rhs f64 k => |a: &Value| add(a, &Value::constant(k)),
    lhs f64 k => |b: &Value| add(&Value::constant(k), b));
operator!(Sub sub, SubAssign sub_assign, sub,
    rhs f64 k => |a: &Value| add(a, &Value::constant(-k)),
    lhs f64 k => |b: &Value| sub(&Value::constant(k), b));
operator!(Mul mul, MulAssign mul_assign, mul,
    rhs f64 k => |a: &Value| mul(a, &Value::constant(k)),
    lhs f64 k => |b: &Value| mul(&Value::constant(k), b));
operator!(Div div, DivAssign div_assign, div,
    rhs f64 k => |a: &Value| mul(a, &Value::constant(1.0 / k)),
    lhs f64 k => |b: &Value| div(&Value::constant(k), b));

impl Sum<Value> for Value {
    /// One fused [`Value::sum`] node over all items.
    fn sum<I: Iterator<Item = Value>>(iter: I) -> Value {
        Value::sum(&iter.collect::<Vec<_>>())
    }
}

impl<'a> Sum<&'a Value> for Value {
    /// One fused [`Value::sum`] node over all items.
    fn sum<I: Iterator<Item = &'a Value>>(iter: I) -> Value {
        Value::sum(&iter.cloned().collect::<Vec<_>>())
    }
}
