//! Random expression graphs over every gate, for the property tests that
//! compare the walkers (backward, `grad`, the trace, the tape) with each
//! other and with numerical gradients.

use chainrule::Value;
use chainrule::engine::tuning;
use proptest::prelude::*;
use std::rc::Rc;

/// One step of a random program: an operation on earlier nodes, named by
/// index (taken modulo the number of nodes so far).
#[derive(Clone, Debug)]
pub enum Step {
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Div(usize, usize),
    Max(usize, usize),
    Neg(usize),
    Exp(usize),
    Log(usize),
    Pow(usize, f64),
    /// `a.pow(b)`: a value exponent.
    PowValue(usize, usize),
    Relu(usize),
    Sigmoid(usize),
    Tanh(usize),
    Sum(Vec<usize>),
    Dot(Vec<(usize, usize)>),
    AddConst(usize, f64),
    MulConst(usize, f64),
    DotConst(Vec<(usize, f64)>),
    /// Two `dot_const_shared` nodes over one weight list (the constants
    /// forwards, then backwards): backward gathers such lists' shares.
    DotConstShared(Vec<(usize, f64)>),
    /// Two `dot_shared` nodes over one weight list and one input list.
    DotShared(Vec<(usize, usize)>),
    /// A layer: `dot_shared` nodes over one input list, one per weight
    /// list, each through relu and summed (the tape runs such dots
    /// together).
    Layer(Vec<usize>, Vec<Vec<usize>>),
    /// Labels a node (which gives it an `Extra`, as n-ary nodes have).
    Label(usize),
}

pub fn step() -> impl Strategy<Value = Step> {
    let i = || 0..64usize;
    prop_oneof![
        (i(), i()).prop_map(|(a, b)| Step::Add(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Sub(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Mul(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Div(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Max(a, b)),
        i().prop_map(Step::Neg),
        i().prop_map(Step::Exp),
        i().prop_map(Step::Log),
        (
            i(),
            prop::sample::select(vec![2.0, 3.0, 0.5, -1.0, 1.5, -0.5])
        )
            .prop_map(|(a, k)| Step::Pow(a, k)),
        (i(), i()).prop_map(|(a, b)| Step::PowValue(a, b)),
        i().prop_map(Step::Relu),
        i().prop_map(Step::Sigmoid),
        i().prop_map(Step::Tanh),
        prop::collection::vec(i(), 0..5).prop_map(Step::Sum),
        prop::collection::vec((i(), i()), 1..5).prop_map(Step::Dot),
        (i(), -3.0..3.0f64).prop_map(|(a, k)| Step::AddConst(a, k)),
        (i(), -3.0..3.0f64).prop_map(|(a, k)| Step::MulConst(a, k)),
        prop::collection::vec((i(), -2.0..2.0f64), 1..5).prop_map(Step::DotConst),
        prop::collection::vec((i(), -2.0..2.0f64), 1..5).prop_map(Step::DotConstShared),
        prop::collection::vec((i(), i()), 1..5).prop_map(Step::DotShared),
        (1..4usize, 1..11usize)
            .prop_flat_map(move |(width, neurons)| (
                prop::collection::vec(0..64usize, width),
                prop::collection::vec(prop::collection::vec(0..64usize, width), neurons),
            ))
            .prop_map(|(xs, ws)| Step::Layer(xs, ws)),
        i().prop_map(Step::Label),
    ]
}

/// 512 random graphs per property (or `CHAINRULE_PROPTEST_CASES`); under Miri (`scripts/miri`), which runs
/// each about a thousand times slower, 3, with no failure file (Miri
/// isolates the file system).
pub fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 3,
            failure_persistence: None,
            max_global_rejects: 100_000,
            ..ProptestConfig::default()
        }
    } else {
        // CHAINRULE_PROPTEST_CASES=20000 for a longer hunt.
        let cases = std::env::var("CHAINRULE_PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(512);
        ProptestConfig {
            cases,
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        }
    }
}

/// Builds the program on `inputs`; the output sums every node, so each step
/// matters. Returns the output and whether the point is safely inside the
/// smooth domain of every operation (away from kinks, poles and overflow),
/// where a central difference can be trusted.
pub fn build(program: &[Step], inputs: &[Value]) -> (Value, bool) {
    let mut nodes: Vec<Value> = inputs.to_vec();
    let mut smooth = true;
    for step in program {
        let at = |i: &usize| nodes[i % nodes.len()].clone();
        let away = |x: f64, from: f64| (x - from).abs() > 1e-3;
        let node = match step {
            Step::Add(a, b) => at(a) + at(b),
            Step::Sub(a, b) => at(a) - at(b),
            Step::Mul(a, b) => at(a) * at(b),
            Step::Div(a, b) => {
                smooth &= at(b).data().abs() > 0.1;
                at(a) / at(b)
            }
            Step::Max(a, b) => {
                smooth &= away(at(a).data(), at(b).data());
                at(a).max(&at(b))
            }
            Step::Neg(a) => -at(a),
            Step::Exp(a) => at(a).exp(),
            Step::Log(a) => {
                smooth &= at(a).data() > 0.1;
                at(a).ln()
            }
            Step::Pow(a, k) => {
                let base = at(a).data();
                smooth &= if k.fract() == 0.0 && *k > 0.0 {
                    true
                } else {
                    base > 0.1
                };
                at(a).powf(*k)
            }
            Step::PowValue(a, b) => {
                let (base, exponent) = (at(a).data(), at(b).data());
                smooth &= base > 0.1 && exponent.abs() < 4.0;
                at(a).pow(&at(b))
            }
            Step::Relu(a) => {
                smooth &= away(at(a).data(), 0.0);
                at(a).relu()
            }
            Step::Sigmoid(a) => at(a).sigmoid(),
            Step::Tanh(a) => at(a).tanh(),
            Step::Sum(xs) => Value::sum(&xs.iter().map(at).collect::<Vec<_>>()),
            Step::Dot(pairs) => {
                let ws: Vec<Value> = pairs.iter().map(|(w, _)| at(w)).collect();
                let xs: Vec<Value> = pairs.iter().map(|(_, x)| at(x)).collect();
                Value::dot(&ws, &xs).unwrap()
            }
            Step::AddConst(a, k) => at(a) + *k,
            Step::MulConst(a, k) => at(a) * *k,
            Step::DotConst(pairs) => {
                let ws: Vec<Value> = pairs.iter().map(|(w, _)| at(w)).collect();
                let cs: Vec<f64> = pairs.iter().map(|&(_, c)| c).collect();
                Value::dot_const(&ws, &cs).unwrap()
            }
            Step::DotConstShared(pairs) => {
                let ws: Rc<[Value]> = pairs.iter().map(|(w, _)| at(w)).collect();
                let cs: Rc<[f64]> = pairs.iter().map(|&(_, c)| c).collect();
                let rev: Rc<[f64]> = cs.iter().rev().copied().collect();
                tuning::dot_const_shared(&ws, &cs).unwrap()
                    + tuning::dot_const_shared(&ws, &rev).unwrap()
            }
            Step::DotShared(pairs) => {
                let ws: Rc<[Value]> = pairs.iter().map(|(w, _)| at(w)).collect();
                let xs: Rc<[Value]> = pairs.iter().map(|(_, x)| at(x)).collect();
                let rev: Rc<[Value]> = xs.iter().rev().cloned().collect();
                tuning::dot_shared(&ws, &xs).unwrap() + tuning::dot_shared(&ws, &rev).unwrap()
            }
            Step::Layer(xs, ws) => {
                let xs: Rc<[Value]> = xs.iter().map(at).collect();
                let outs: Vec<Value> = ws
                    .iter()
                    .map(|w| {
                        let w: Rc<[Value]> = w.iter().map(at).collect();
                        tuning::dot_shared(&w, &xs).unwrap().relu()
                    })
                    .collect();
                Value::sum(&outs)
            }
            Step::Label(a) => at(a).with_label("labelled") * 1.0,
        };
        smooth &= node.data().is_finite() && node.data().abs() < 1e3;
        nodes.push(node);
    }
    (Value::sum(&nodes), smooth)
}
