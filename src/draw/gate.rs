//! How each node is presented to a student, decided once for pictures and
//! the explorer's sentences: which gate it is (a max with one operand is a
//! relu, a power with a constant exponent of −1 is a `1/x` gate), its
//! symbol, its name in Korean and English with its rule, and the name the
//! node goes by (its label, or a short letter the picture shows beside it).

use std::collections::HashSet;

use crate::Op;
use crate::engine::op;
use crate::graph::view::{Graph, GraphNode};

/// A node as the lecture names it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum Gate {
    /// An input: a leaf.
    Input,
    Add,
    Mul,
    /// `max(x, 0)`: a max node with one operand (its 0 is held in the node).
    Relu,
    Max,
    Exp,
    Log,
    /// A power with a constant exponent (the constant is folded into the
    /// gate and not drawn): `1/x` for −1, `x²` for 2, `√x` for ½.
    Power(f64),
    /// A power whose exponent is a value that takes a gradient.
    Pow,
    Sum,
    Dot,
}

impl Gate {
    /// The gate of a node of `graph`.
    pub(crate) fn of(graph: &Graph, node: &GraphNode) -> Gate {
        match node.op {
            Op::Leaf => Gate::Input,
            Op::Add => Gate::Add,
            Op::Mul => Gate::Mul,
            Op::Max if op::is_relu(node.op, node.operands.len()) => Gate::Relu,
            Op::Max => Gate::Max,
            Op::Exp => Gate::Exp,
            Op::Log => Gate::Log,
            Op::Pow => match folded_exponent(graph, node) {
                Some(k) => Gate::Power(k),
                None => Gate::Pow,
            },
            Op::Sum => Gate::Sum,
            Op::Dot | Op::DotConst => Gate::Dot,
        }
    }

    /// The symbol drawn in the gate's circle or box.
    pub(crate) fn symbol(self) -> String {
        match self {
            Gate::Input => String::new(),
            Gate::Add => "+".into(),
            Gate::Mul => "\u{d7}".into(),
            Gate::Relu => "relu".into(),
            Gate::Max => "max".into(),
            Gate::Exp => "exp".into(),
            Gate::Log => "log".into(),
            Gate::Power(-1.0) => "1/x".into(),
            Gate::Power(2.0) => "x\u{b2}".into(),
            Gate::Power(3.0) => "x\u{b3}".into(),
            Gate::Power(0.5) => "\u{221a}x".into(),
            Gate::Power(k) => format!("x^{}", exponent(k)),
            Gate::Pow => "pow".into(),
            Gate::Sum => "\u{3a3}".into(),
            Gate::Dot => "dot".into(),
        }
    }

    /// The operation in one English word, for tooltips (`mul`, `relu`,
    /// `1/x`, `input`).
    pub(crate) fn word(self) -> String {
        match self {
            Gate::Input => "input".into(),
            Gate::Add => "add".into(),
            Gate::Mul => "mul".into(),
            Gate::Sum => "sum".into(),
            other => other.symbol(),
        }
    }

    /// The gate's name in a sentence: Korean, English.
    pub(crate) fn names(self) -> [String; 2] {
        let symbol = self.symbol();
        match self {
            Gate::Input => ["입력".into(), "input".into()],
            Gate::Add => ["덧셈 노드".into(), "the add gate".into()],
            Gate::Mul => ["곱셈 노드".into(), "the mul gate".into()],
            Gate::Relu => ["ReLU 노드".into(), "the relu gate".into()],
            Gate::Max => ["max 노드".into(), "the max gate".into()],
            Gate::Exp => ["exp 노드".into(), "the exp gate".into()],
            Gate::Log => ["log 노드".into(), "the log gate".into()],
            Gate::Power(_) => [format!("{symbol} 노드"), format!("the {symbol} gate")],
            Gate::Pow => ["거듭제곱 노드".into(), "the pow gate".into()],
            Gate::Sum => ["합 노드 \u{3a3}".into(), "the sum gate \u{3a3}".into()],
            Gate::Dot => ["내적 노드".into(), "the dot gate".into()],
        }
    }

    /// What the gate does with the gradient, as a verb phrase after its
    /// name: Korean (a sentence ending), English.
    pub(crate) fn rule(self) -> [String; 2] {
        let [ko, en]: [&str; 2] = match self {
            Gate::Input => ["", ""],
            Gate::Add => [
                "는 상류의 미분을 그대로 흘려보냅니다",
                " passes the gradient through",
            ],
            Gate::Mul => [
                "는 입력을 서로 바꾸어 곱합니다",
                " swaps: each input gets the other input times the gradient",
            ],
            Gate::Relu => [
                "는 입력이 양수일 때만 미분을 흘려보냅니다",
                " passes the gradient where its input is positive",
            ],
            Gate::Max => [
                "는 더 큰 입력으로만 미분을 보냅니다",
                " routes the gradient to the larger input",
            ],
            Gate::Exp => [
                "는 자신의 출력을 곱합니다 (e^x의 미분은 e^x)",
                " multiplies by its output (the derivative of e^x is e^x)",
            ],
            Gate::Log => [
                "는 입력으로 나눕니다 (ln x의 미분은 1/x)",
                " divides by its input (the derivative of ln x is 1/x)",
            ],
            Gate::Power(-1.0) => ["는 −1/x²을 곱합니다", " multiplies by −1/x²"],
            Gate::Power(2.0) => ["는 2x를 곱합니다", " multiplies by 2x"],
            Gate::Power(0.5) => ["는 1/(2√x)을 곱합니다", " multiplies by 1/(2√x)"],
            Gate::Power(_) | Gate::Pow => ["는 k·x^(k−1)을 곱합니다", " multiplies by k·x^(k−1)"],
            Gate::Sum => [
                "는 모든 항에 미분을 그대로 보냅니다",
                " passes the gradient to every term",
            ],
            Gate::Dot => [
                "는 각 가중치에 그 입력을, 각 입력에 그 가중치를 곱해 보냅니다",
                " gives each weight its input and each input its weight",
            ],
        };
        [ko.into(), en.into()]
    }
}

/// An exponent as written after `^`: in parentheses when negative.
fn exponent(k: f64) -> String {
    let text = super::dot::NumberFormat::Significant(4).format(k);
    if text.starts_with('-') {
        format!("({text})")
    } else {
        text
    }
}

/// The constant exponent of a power node, if its exponent is a constant
/// leaf (`powf`): the gate shows it and the constant is not drawn.
pub(crate) fn folded_exponent(graph: &Graph, node: &GraphNode) -> Option<f64> {
    if node.op != Op::Pow || node.operands.len() != 2 {
        return None;
    }
    let exponent = &graph.nodes()[node.operands[1]];
    (exponent.op == Op::Leaf && exponent.constant).then_some(exponent.data)
}

/// The name each node goes by in pictures and sentences: its label (made
/// valid for XML, at most [`MAX_LABEL_CHARS`](super::drawing::MAX_LABEL_CHARS)
/// characters), or for an unlabelled gate or input a short letter name
/// (`a`, `b`, … `z`, `aa`, …) that no label of the graph uses. Unlabelled
/// constants have none: the picture shows their value.
pub(crate) fn names(graph: &Graph) -> Vec<Option<String>> {
    let labels: HashSet<&str> = graph
        .nodes()
        .iter()
        .filter_map(|n| n.label.as_deref())
        .collect();
    let mut next = 0usize;
    let mut fresh = || loop {
        // a … z, aa … zz, aaa …: letters only, so no name reads as a
        // number or an engine id.
        let mut k = next;
        next += 1;
        let mut name = Vec::new();
        loop {
            name.push(b'a' + (k % 26) as u8);
            if k < 26 {
                break;
            }
            k = k / 26 - 1;
        }
        name.reverse();
        let name = String::from_utf8(name).unwrap_or_default();
        if !labels.contains(name.as_str()) {
            return name;
        }
    };
    graph
        .nodes()
        .iter()
        .map(|node| match node.label.as_deref() {
            Some(label) if !label.trim().is_empty() => Some(super::drawing::clean(
                label,
                super::drawing::MAX_LABEL_CHARS,
            )),
            _ if node.constant => None,
            _ => Some(fresh()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn letters_skip_the_users_labels() {
        let a = Value::new(1.0).with_label("a");
        let x = Value::new(2.0);
        let y = &(&a * &x) + 3.0;
        let graph = y.graph();
        let names = names(&graph);
        // a (label), the unlabelled input, the product, the constant 3,
        // the sum.
        let by_op: Vec<(Op, Option<String>)> = graph
            .nodes()
            .iter()
            .map(|n| (n.op, names[n.id].clone()))
            .collect();
        assert!(by_op.contains(&(Op::Leaf, Some("a".into()))));
        let letters: Vec<String> = names.iter().flatten().cloned().collect();
        assert_eq!(letters.len(), 4, "{by_op:?}");
        assert!(letters.iter().filter(|n| *n == "a").count() == 1);
        assert!(letters.contains(&"b".into()) && letters.contains(&"c".into()));
    }

    #[test]
    fn a_constant_minus_one_power_is_a_reciprocal_gate() {
        let x = Value::new(4.0);
        let y = x.powf(-1.0);
        let graph = y.graph();
        let out = graph.output().unwrap();
        assert_eq!(Gate::of(&graph, out), Gate::Power(-1.0));
        assert_eq!(Gate::of(&graph, out).symbol(), "1/x");
        let z = x.pow(&Value::new(2.0));
        let graph = z.graph();
        assert_eq!(Gate::of(&graph, graph.output().unwrap()), Gate::Pow);
        assert_eq!(Gate::Power(-2.0).symbol(), "x^(-2)");
    }
}
