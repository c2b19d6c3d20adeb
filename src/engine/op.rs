//! The gates: every primitive operation, its forward rule and its local
//! gradient rule, side by side.
//!
//! This file is the whole of the engine's calculus: every gate's forward
//! rule and local gradient, the n-ary gates and relu included, is defined
//! here once. Backpropagation (`backward.rs`) only walks the graph and
//! multiplies the upstream gradient by these local gradients (the chain
//! rule); [`crate::grad`] applies the very same rules to [`Value`](crate::Value)s,
//! building the gradient as a graph (the rules are generic over
//! [`Scalar`]); the pictures' edge gradients and `Mlp::predict` use them
//! too.
//!
//! | gate | forward `z`           | local gradient                         | lecture name          |
//! |------|-----------------------|----------------------------------------|-----------------------|
//! | Add  | `a + b`               | `dz/da = 1`, `dz/db = 1`               | distributor           |
//! | Mul  | `a * b`               | `dz/da = b`, `dz/db = a`               | swapper               |
//! | Max  | `a` if `a > b` else `b` | 1 to the operand taken, 0 to the other | router              |
//! | Exp  | `e^a`                 | `dz/da = z`                            |                       |
//! | Log  | `ln a`                | `dz/da = 1 / a`                        |                       |
//! | Pow  | `a^b`                 | `dz/da = b a^(b-1)`, `dz/db = z ln a`  |                       |
//! | relu | `max(a, 0)`, 0 held in the node | the max gate's, with `b = 0` |                  |
//! | Sum  | `x1 + … + xn`         | 1 to every operand                     | add gate, n-ary       |
//! | Dot  | `w1 x1 + … + wn xn`   | `dz/dwi = xi`, `dz/dxi = wi`           | mul gates + add gate  |
//! | DotConst | `w1 c1 + … + wn cn`, `c` numbers | `dz/dwi = ci`              | the same, constant inputs |

use std::fmt;

/// The operation that produced a node.
///
/// `Leaf` marks inputs and parameters ([`Value::new`](crate::Value::new)) and
/// constants ([`Value::constant`](crate::Value::constant)); every other variant
/// is a gate. Derived operations (subtraction, division, relu, sigmoid, tanh,
/// …) are compositions of these gates, not variants of their own.
///
/// ```
/// use chainrule::{Op, Value};
///
/// let a = Value::new(2.0);
/// assert_eq!(a.op(), Op::Leaf);
/// assert_eq!((&a * 3.0).op(), Op::Mul);
/// assert_eq!(a.relu().op(), Op::Max);
/// assert_eq!(Op::Mul.symbol(), "×");
/// ```
///
/// # At the edges: ±inf, 0 and NaN
///
/// Values follow IEEE arithmetic and nothing panics. Where a gate's
/// gradient has a limit, it is that limit (not the NaN of `inf · 0`);
/// where the mathematics leaves it undefined, it is NaN, and
/// [`Value::find_anomaly`](crate::Value::find_anomaly) names the node
/// where the first NaN or infinity appeared. Each row is a test in
/// `tests/hostile.rs`, named after it.
///
/// | f(x) | at x | value | df/dx | why |
/// |---|---|---|---|---|
/// | `exp` | +inf | +inf | +inf | e^x is its own slope |
/// | `exp` | -inf | 0 | 0 | |
/// | `exp`, `ln`, `powf(k)` | NaN | NaN | NaN | |
/// | `ln` | 0 | -inf | +inf | 1/x from the right |
/// | `ln` | +inf | +inf | 0 | |
/// | `ln` | -1 | NaN | NaN | undefined below 0; so is its slope |
/// | `powf(-inf)` | 2 | 0 | 0 | the limit: flat at 0 (`-inf · 2^-inf` would be NaN) |
/// | `powf(+inf)` | 0.5 | 0 | 0 | the same |
/// | `powf(+inf)` | 2 | +inf | +inf | |
/// | `powf(0.5)` | 0 | 0 | +inf | √x is vertical at 0 |
/// | `powf(-1)` | 0 | +inf | -inf | |
/// | `powf(0)` | 0 | 1 | 0 | x^0 is 1 everywhere |
/// | `powf(1/3)` | -8 | NaN | NaN | a fractional power of a negative number |
/// | `powf(NaN)` | 2 | NaN | NaN | |
/// | `x * 0` | +inf | NaN | 0 | `inf · 0` is undefined; the slope is the other factor, 0 |
/// | `x + (-inf)` | +inf | NaN | 1 | `inf - inf` is undefined; add passes the gradient on |
/// | `max(x, 1)` | NaN | NaN | 1 | NaN propagates and takes the gradient |
/// | `relu` | +inf / -inf / NaN | +inf / 0 / NaN | 1 / 0 / 1 | |
/// | `sigmoid` | +inf / -inf | 1 / 0 | 0 / 0 | built so nothing overflows |
/// | `tanh` | +inf / -inf | 1 / -1 | 0 / 0 | |
/// | `1 / x` | 0 | +inf | -inf | |
/// | `Value::sum(&[])`, empty `dot` | | +0 | | not -0, so `1 / Σ∅` is +inf |
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// An input, a parameter or a constant: no operands.
    Leaf,
    /// `a + b`: passes the upstream gradient to both operands.
    Add,
    /// `a * b`: each operand gets the upstream gradient times the other.
    Mul,
    /// `max(a, b)`: routes the upstream gradient to the larger operand (to
    /// `b` at a tie, so `relu(x) = max(x, 0)` has gradient 0 at 0). A NaN in
    /// either operand propagates, and receives the gradient.
    Max,
    /// `e^a`.
    Exp,
    /// `ln a` (natural logarithm; IEEE: `ln 0 = -inf`, `ln -1 = NaN`).
    Log,
    /// `a^b`: `b`, the second operand, is a constant
    /// ([`Value::powf`](crate::Value::powf)) or a value
    /// ([`Value::pow`](crate::Value::pow)), which then gets the gradient
    /// `a^b ln a`.
    Pow,
    /// `x1 + … + xn`: the add gate over many operands.
    Sum,
    /// `w1 x1 + … + wn xn`: the mul gate over many pairs, then the add gate.
    /// Its operands are `w1 … wn` followed by `x1 … xn`.
    Dot,
    /// `w1 c1 + … + wn cn` with constant numbers `c` (such as pixels): the
    /// dot gate whose inputs need no gradient and so are not nodes. Its
    /// operands are `w1 … wn`; each gets the upstream gradient times its `c`.
    DotConst,
}

impl Op {
    /// A short lower-case name: `"leaf"`, `"add"`, `"mul"`, `"max"`, `"exp"`,
    /// `"log"`, `"pow"`, `"sum"` or `"dot"`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Add => "add",
            Op::Mul => "mul",
            Op::Max => "max",
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Pow => "pow",
            Op::Sum => "sum",
            Op::Dot => "dot",
            Op::DotConst => "dot_const",
        }
    }

    /// The symbol drawn in a graph picture: `+`, `×`, `max`, `exp`, `log`,
    /// `pow`, `Σ`, `dot` (and the empty string for a leaf).
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Leaf => "",
            Op::Add => "+",
            Op::Mul => "×",
            Op::Max => "max",
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Pow => "pow",
            Op::Sum => "Σ",
            Op::Dot | Op::DotConst => "dot",
        }
    }

    /// Forward rule of a unary or binary gate. Unary gates ignore `b`; for
    /// `Pow`, `b` is the exponent. (`Sum` and `Dot` are below; a leaf has no
    /// rule, and gets NaN here, which the engine never asks for.)
    #[inline]
    pub(crate) fn forward(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Mul => a * b,
            Op::Max => {
                if max_takes_left(a, b) {
                    a
                } else {
                    b
                }
            }
            Op::Exp => a.exp(),
            Op::Log => a.ln(),
            Op::Pow => pow(a, b),
            Op::Leaf | Op::Sum | Op::Dot | Op::DotConst => f64::NAN,
        }
    }

    /// Local gradient rule of a unary or binary gate for its first
    /// operand: `dz/da` at operand values `a`, `b` (for relu, `b` is
    /// [`ABSENT_RHS`]) and output `z`.
    ///
    /// Written once over [`Scalar`]: with `f64` it is backward's rule, with
    /// [`Value`](crate::Value) it builds the gradient as a graph for
    /// [`crate::grad`].
    #[inline]
    pub(crate) fn d_lhs<S: Scalar>(self, a: &S, b: &S, z: &S) -> S {
        match self {
            Op::Add => S::number(1.0),
            Op::Mul => b.clone(),
            Op::Max => routed(a, b, true),
            Op::Exp => z.clone(),
            // ln is undefined below 0: its value is NaN, and so is its slope
            // (1/a there would be a finite number for an undefined function).
            Op::Log if a.value() < 0.0 => S::number(f64::NAN),
            Op::Log => a.pow(&S::number(-1.0)),
            Op::Pow => pow_slope(a, b),
            Op::Leaf | Op::Sum | Op::Dot | Op::DotConst => S::number(0.0),
        }
    }

    /// Local gradient rule of a binary gate for its second operand:
    /// `dz/db` (see [`Op::d_lhs`]). Unary gates have none (0).
    #[inline]
    pub(crate) fn d_rhs<S: Scalar>(self, a: &S, b: &S, z: &S) -> S {
        match self {
            Op::Add => S::number(1.0),
            Op::Mul => a.clone(),
            Op::Max => routed(a, b, false),
            // d/db a^b = a^b ln a. Where a^b is 0 (a = 0 and b > 0, or the
            // limits of infinite exponents) it is flat: 0, not 0 · -inf.
            Op::Pow if z.value() == 0.0 => S::number(0.0),
            Op::Pow => z.times(&a.ln()),
            Op::Leaf | Op::Exp | Op::Log | Op::Sum | Op::Dot | Op::DotConst => S::number(0.0),
        }
    }
}

/// Whether a node of `op` over `operands` operands is a relu: the max
/// gate whose 0 is held in the node ([`ABSENT_RHS`]). Pictures, the
/// explorer and the snapshot's grouping ask this one function.
pub(crate) fn is_relu(op: Op, operands: usize) -> bool {
    op == Op::Max && operands == 1
}

/// What relu's max gate reads as its right operand: relu is `max(x, 0)`
/// with the 0 held in the node, not a constant node of its own.
pub(crate) const ABSENT_RHS: f64 = 0.0;

/// The local gradient of the `Sum` gate for every operand: the add gate's
/// 1 (it distributes).
#[inline]
pub(crate) fn sum_local<S: Scalar>() -> S {
    S::number(1.0)
}

/// The local gradient of the `Dot` gate for one operand: the other member
/// of its pair (`dz/dwi = xi`, `dz/dxi = wi`: the mul gate swaps).
#[inline]
pub(crate) fn dot_local<S: Scalar>(partner: &S) -> S {
    partner.clone()
}

/// The local gradient of the `DotConst` gate for weight `i`: its constant
/// input `ci`.
#[inline]
pub(crate) fn dot_const_local<S: Scalar>(c: f64) -> S {
    S::number(c)
}

/// The local gradient of a node of `op` for its operand at `position`, by
/// the rules above: `operands` are the node's operands in order (for `Dot`,
/// `w1 … wn x1 … xn`; relu lists its one operand), `constants` those of
/// `DotConst`, `z` the node's value. The pictures' edge gradients and
/// [`crate::grad`] use it; backward calls the same rules directly.
pub(crate) fn local_grad<S: Scalar>(
    op: Op,
    operands: &[S],
    constants: &[f64],
    z: &S,
    position: usize,
) -> S {
    match op {
        Op::Leaf => S::number(0.0),
        Op::Sum => sum_local(),
        Op::DotConst => dot_const_local(constants.get(position).copied().unwrap_or(0.0)),
        Op::Dot => {
            let half = operands.len() / 2;
            let partner = if position < half {
                position + half
            } else {
                position - half
            };
            operands
                .get(partner)
                .map_or_else(|| S::number(0.0), dot_local)
        }
        op => {
            let absent = S::number(ABSENT_RHS);
            let (Some(a), b) = (operands.first(), operands.get(1).unwrap_or(&absent)) else {
                return S::number(0.0);
            };
            if position == 0 {
                op.d_lhs(a, b, z)
            } else {
                op.d_rhs(a, b, z)
            }
        }
    }
}

/// A number the gates' local-gradient rules compute with: `f64` in
/// backward and the pictures, [`Value`](crate::Value) in [`crate::grad`],
/// where every operation records a node so that the gradient can be
/// differentiated again. Each rule is written once, over this trait, so the
/// numeric and the symbolic gradient cannot drift apart.
pub(crate) trait Scalar: Clone {
    /// Whether a zero still carries a graph (whose derivatives may not be
    /// zero): true for values, false for numbers.
    const SYMBOLIC: bool;
    /// A constant.
    fn number(x: f64) -> Self;
    /// Whether it is a constant holding exactly `x` (a number is not: it
    /// takes part in arithmetic like any other).
    fn is_constant(&self, _x: f64) -> bool {
        false
    }
    /// The number it holds (max routes by it; pow's edge cases test it).
    fn value(&self) -> f64;
    /// `self + other`, by the add gate.
    fn plus(&self, other: &Self) -> Self;
    /// `self × other`, by the mul gate.
    fn times(&self, other: &Self) -> Self;
    /// `self ^ exponent`, by the pow gate.
    fn pow(&self, exponent: &Self) -> Self;
    /// `ln self`, by the log gate.
    fn ln(&self) -> Self;
}

impl Scalar for f64 {
    const SYMBOLIC: bool = false;
    #[inline]
    fn number(x: f64) -> f64 {
        x
    }
    #[inline]
    fn value(&self) -> f64 {
        *self
    }
    #[inline]
    fn plus(&self, other: &f64) -> f64 {
        Op::Add.forward(*self, *other)
    }
    #[inline]
    fn times(&self, other: &f64) -> f64 {
        Op::Mul.forward(*self, *other)
    }
    #[inline]
    fn pow(&self, exponent: &f64) -> f64 {
        Op::Pow.forward(*self, *exponent)
    }
    #[inline]
    fn ln(&self) -> f64 {
        Op::Log.forward(*self, ABSENT_RHS)
    }
}

/// `d/da a^k = k a^(k-1)`, with its limits where that product is
/// `0 · inf` or `inf · 0`: `a^0` is flat everywhere (also at `a = 0`), and
/// for an infinite exponent, wherever `a^(k-1)` is 0 (so `a^k` is 0 too,
/// and flat: `2^-∞`, `0.5^∞`), the slope is 0, not NaN.
#[inline]
fn pow_slope<S: Scalar>(a: &S, k: &S) -> S {
    let exponent = k.value();
    if exponent == 0.0 {
        return S::number(0.0);
    }
    let power = a.pow(&k.plus(&S::number(-1.0)));
    if exponent.is_infinite() && power.value() == 0.0 {
        S::number(0.0)
    } else {
        k.times(&power)
    }
}

/// The max gate's local gradient for its left operand (`left`) or its
/// right: 1 to the operand taken, 0 to the other.
#[inline]
fn routed<S: Scalar>(a: &S, b: &S, left: bool) -> S {
    S::number(if max_takes_left(a.value(), b.value()) == left {
        1.0
    } else {
        0.0
    })
}

/// The `Max` gate's single decision, shared by its forward and backward rule
/// so that the gradient always goes to the operand whose value was taken.
/// Ties go right; a NaN on the left is taken (a NaN on the right is taken
/// anyway, since every comparison with NaN is false).
#[inline]
fn max_takes_left(a: f64, b: f64) -> bool {
    a > b || a.is_nan()
}

/// `a^b`. The common exponents are computed with correctly rounded IEEE
/// operations (`1/a`, `√a`, `a·a`), not `powf`: the compiler rewrites
/// `powf(x, -1.0)` with a constant exponent into `1.0 / x`, and libm's
/// `pow` may differ from that in the last bit, so without this the same
/// formula could give different bits in a graph (exponent read at run time)
/// and in code where the exponent is a constant (`Mlp::predict`).
#[inline]
pub(crate) fn pow(a: f64, b: f64) -> f64 {
    if b == -1.0 {
        1.0 / a
    } else if b == 0.5 {
        a.sqrt()
    } else if b == 1.0 {
        a
    } else if b == 2.0 {
        a * a
    } else {
        a.powf(b)
    }
}

/// The order in which a node's operands receive their shares: backward's
/// (its loops take a `Dot`'s pairs in turn), so that an operand met twice
/// (`dot(x, x)`) sums its shares in the same order in every walker. A dot
/// node gives to its pairs in turn, `w1 x1 w2 x2 …`; every other node in
/// order.
fn share_order(op: Op, len: usize) -> impl Iterator<Item = usize> {
    let half = len / 2;
    (0..len).map(move |i| {
        if op == Op::Dot {
            i / 2 + (i % 2) * half
        } else {
            i
        }
    })
}

/// What one operand of a node receives in a backward pass: its local
/// gradient and its share of the node's gradient (`None` when nothing
/// flows, see [`share`]).
pub(crate) struct Given<S> {
    /// The operand's position among the node's operands.
    pub(crate) position: usize,
    /// `d node / d operand`.
    pub(crate) local: S,
    /// `upstream × local`, or `None`.
    pub(crate) share: Option<S>,
}

/// The one walk of a node's shares: each operand that `wants` a gradient,
/// in backward's order, with its local gradient by the rules above and its
/// share of `upstream` by [`share`]. `grad` and the trace call it,
/// `Graph::edge_grad` asks `local_grad` and `share` for one operand;
/// backward's and the tape's fast loops apply the same rules directly, and
/// the property tests prove them equal.
pub(crate) fn shares<'a, S: Scalar>(
    op: Op,
    operands: &'a [S],
    constants: &'a [f64],
    z: &'a S,
    upstream: &'a S,
    wants: impl Fn(usize) -> bool + 'a,
) -> impl Iterator<Item = Given<S>> + 'a {
    share_order(op, operands.len())
        .filter(move |&position| wants(position))
        .map(move |position| {
            let local = local_grad(op, operands, constants, z, position);
            let share = share(upstream, &local);
            Given {
                position,
                local,
                share,
            }
        })
}

/// The chain rule's product `upstream × local`, or `None` where nothing
/// flows, as in backward:
///
/// - from a node whose gradient is 0 nothing flows to numbers (not even the
///   NaN of `0 · inf`: a dead branch);
/// - a [`Value`](crate::Value) adjoint of 0 still passes its graph through
///   a finite local gradient (its own derivative may not be 0), but nothing
///   through an infinite one;
/// - a constant-0 local gradient (max's other operand) passes nothing
///   under a finite upstream (an infinite or NaN one times 0 is NaN, as
///   backward computes it).
pub(crate) fn share<S: Scalar>(upstream: &S, local: &S) -> Option<S> {
    let u = upstream.value();
    if u == 0.0 && (!S::SYMBOLIC || !local.value().is_finite()) {
        return None;
    }
    if local.is_constant(0.0) && u.is_finite() {
        return None;
    }
    Some(upstream.times(local))
}

/// `Sum` forward: the add gate over many operands. Its backward rule is the
/// add gate's: every operand receives the upstream gradient unchanged. The
/// empty sum is `+0.0` (Rust's `f64::sum` starts from `-0.0`, which would
/// make `1 / Σ∅` equal `-inf`).
#[inline]
pub(crate) fn sum_forward(xs: impl Iterator<Item = f64>) -> f64 {
    // -0.0 + x is x, bit for bit, for every x: so this is `f64::sum` for a
    // non-empty list. Only the empty sum (-0.0) changes sign.
    let mut empty = true;
    let total = xs.fold(-0.0, |total, x| {
        empty = false;
        total + x
    });
    if empty { 0.0 } else { total }
}

/// `Dot` and `DotConst` forward: `Σ wi xi` (`+0.0` for no pairs). The
/// backward rule is the mul gate's, pairwise: `wi` receives upstream × `xi`
/// and `xi` (a node, in `Dot`) receives upstream × `wi`.
#[inline]
pub(crate) fn dot_forward(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    sum_forward(pairs.map(|(w, x)| w * x))
}

/// [`dot_forward`] of two slices of numbers (the tape's).
#[inline]
pub(crate) fn dot_slices(ws: &[f64], xs: &[f64]) -> f64 {
    dot_forward(ws.iter().copied().zip(xs.iter().copied()))
}

/// [`dot_forward`] of eight rows against one input, at once, the rows
/// packed side by side (`packed[8 i + k]` is row `k`'s number `i`): eight
/// running sums that do not wait for each other, each adding its terms in
/// order, so each is the bits of `dot_slices(row, xs)`. A layer's neurons
/// share their input; this is how the tape runs them.
#[inline]
pub(crate) fn dot_packed(packed: &[f64], xs: &[f64]) -> [f64; 8] {
    if xs.is_empty() {
        return [0.0; 8]; // the empty sum is +0.0
    }
    let mut sums = [-0.0f64; 8];
    for (row, &x) in packed.chunks_exact(8).zip(xs) {
        for k in 0..8 {
            sums[k] += row[k] * x;
        }
    }
    sums
}

impl fmt::Display for Op {
    /// Writes [`Op::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_packed_rows_are_eight_dots() {
        for n in [0usize, 1, 7, 8, 9, 785] {
            let xs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin() * 1e3).collect();
            let rows: Vec<Vec<f64>> = (0..8)
                .map(|k| (0..n).map(|i| 1.0 / (i as f64 + k as f64 + 3.0)).collect())
                .collect();
            let packed: Vec<f64> = (0..n)
                .flat_map(|i| rows.iter().map(move |r| r[i]))
                .collect();
            let at_once = dot_packed(&packed, &xs);
            for k in 0..8 {
                let one = dot_slices(&rows[k], &xs);
                assert_eq!(at_once[k].to_bits(), one.to_bits(), "{n} {k}");
            }
        }
    }

    #[test]
    fn max_routes_to_the_taken_operand() {
        for (a, b) in [
            (1.0, 2.0),
            (2.0, 1.0),
            (0.0, 0.0),
            (f64::NAN, 1.0),
            (1.0, f64::NAN),
        ] {
            let z = Op::Max.forward(a, b);
            let (da, db): (f64, f64) = (Op::Max.d_lhs(&a, &b, &z), Op::Max.d_rhs(&a, &b, &z));
            let taken = if da == 1.0 { a } else { b };
            assert_eq!(da + db, 1.0);
            assert!(taken == z || (taken.is_nan() && z.is_nan()), "{a} {b}");
        }
    }

    #[test]
    fn pow_with_zero_exponent_has_zero_gradient_at_zero() {
        let (a, b, z) = (0.0f64, 0.0f64, 1.0f64);
        assert_eq!(Op::Pow.d_lhs(&a, &b, &z), 0.0);
    }

    #[test]
    fn a_value_exponent_has_slope_z_ln_a() {
        let (a, b) = (2.0f64, 3.0f64);
        let z = Op::Pow.forward(a, b);
        assert_eq!(Op::Pow.d_lhs(&a, &b, &z), 3.0 * 4.0);
        assert_eq!(Op::Pow.d_rhs(&a, &b, &z), 8.0 * 2f64.ln());
        // 0^b for b > 0 is 0 for every b: flat in b.
        assert_eq!(Op::Pow.d_rhs(&0.0, &2.0, &0.0), 0.0);
    }
}
