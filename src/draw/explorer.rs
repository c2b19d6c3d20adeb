//! The explorer: one self-contained HTML page (or notebook output) that
//! steps through a graph's forward and backward passes, as the lecture
//! teaches them, from a [`Trace`].

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::dot::{DotOptions, NumberFormat, Renderer};
use super::drawing::{Drawing, Flow, MAX_LABEL_CHARS, Role, ShapeKind, clean};
use super::gate::{Gate, names};
use super::picture::Html;
use super::render::{render, xml};
use crate::graph::GraphError;
use crate::graph::trace::{BackwardStep, ForwardStep, Step, Trace};
use crate::graph::view::Graph;
use crate::{Op, Value};

/// The language an explorer's sentences start in (the page has a switch).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// 한국어, the lecture's language.
    #[default]
    Korean,
    /// English.
    English,
}

impl Language {
    fn code(self) -> &'static str {
        match self {
            Language::Korean => "ko",
            Language::English => "en",
        }
    }
}

/// Options for [`Graph::explorer`]: the picture's options, the language it
/// starts in, and a learning rate for a gradient-descent step after the
/// backward pass (with the parameters it updates).
///
/// ```
/// use chainrule::graph::{DotOptions, ExplorerOptions, Language};
/// let options = ExplorerOptions::new()
///     .picture(DotOptions::lecture().expand_fused(true))
///     .language(Language::English)
///     .learning_rate(0.01)
///     .parameters(["w0", "w1", "w2"]);
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExplorerOptions {
    picture: DotOptions,
    learning_rate: Option<f64>,
    parameters: Option<Vec<String>>,
    language: Language,
}

impl Default for ExplorerOptions {
    fn default() -> Self {
        ExplorerOptions {
            picture: DotOptions::lecture(),
            learning_rate: None,
            parameters: None,
            language: Language::default(),
        }
    }
}

impl ExplorerOptions {
    /// The lecture-style picture, Korean first, no update steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// The picture's options (groups, focus, collapsed groups, hidden
    /// constants, style, direction, number format). The explorer always
    /// draws with the pure-Rust renderer, whose SVG it knows.
    pub fn picture(mut self, options: DotOptions) -> Self {
        self.picture = options;
        self
    }

    /// The language the sentences start in; the page's 한국어 / English
    /// button switches.
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Adds one gradient-descent step after the backward pass: each
    /// parameter `w ← w − η·∂L/∂w` with its numbers, the picture showing
    /// `old → new`, then one more forward pass with the new values showing
    /// the output's change. The parameters are those named by
    /// [`ExplorerOptions::parameters`]; without names, the grouped leaves
    /// (an [`nn`](crate::nn) model's weights and biases), and in a graph
    /// with no groups every leaf that takes a gradient.
    pub fn learning_rate(mut self, eta: f64) -> Self {
        self.learning_rate = Some(eta);
        self
    }

    /// The parameters the gradient-descent step updates, by name as
    /// [`Graph::find`] finds them (a label, or `group/label`): the weights
    /// of a hand-made neuron, not its inputs.
    pub fn parameters<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.parameters = Some(names.into_iter().map(Into::into).collect());
        self
    }
}

/// A step of the page's data, in both languages: `[한국어, English]`.
type Said = [String; 2];

/// What the page's script reads.
#[derive(Serialize)]
struct Data {
    lang: &'static str,
    steps: Vec<StepView>,
    reveal: Vec<Reveal>,
    changes: Vec<Change>,
    /// Per drawn input (by element id): what a nudge of it does.
    nudges: Vec<(String, Said)>,
    forward: usize,
    backward: usize,
    update: usize,
    /// The step from which the gradients on the picture are stale (the
    /// forward pass after an update), if one.
    stale: Option<usize>,
}

/// One step as the page shows it.
#[derive(Serialize)]
struct StepView {
    kind: &'static str,
    /// The sentence, with the numbers.
    text: Said,
    /// The sentence in exercise mode, before the answers.
    ask: Said,
    /// Elements to highlight: the node (and its gate), its edges.
    elements: Vec<String>,
    edges: Vec<String>,
    questions: Vec<Question>,
}

#[derive(Serialize)]
struct Question {
    prompt: String,
    /// The answer: a number, or `"inf"`, `"-inf"`, `"NaN"` (JSON has no
    /// such numbers).
    answer: Answer,
    hint: Said,
}

/// A number as JSON carries it: finite as a number, the rest as text.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Number(f64),
    Text(&'static str),
}

impl From<f64> for Answer {
    fn from(x: f64) -> Answer {
        if x.is_finite() {
            Answer::Number(x)
        } else if x.is_nan() {
            Answer::Text("NaN")
        } else if x > 0.0 {
            Answer::Text("inf")
        } else {
            Answer::Text("-inf")
        }
    }
}

/// Text of class `cls` inside element `el` appears at step `at`.
#[derive(Serialize)]
struct Reveal {
    el: String,
    cls: &'static str,
    at: usize,
}

/// From step `at` on, the texts of class `cls` inside element `el` read
/// `text` (an updated value).
#[derive(Serialize)]
struct Change {
    el: String,
    cls: &'static str,
    at: usize,
    text: String,
}

/// Distinguishes explorers shown in one notebook page.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How far the explorer nudges an input besides 1: small enough that the
/// gradient's prediction is close, large enough to show in 4 digits.
const NUDGE_H: f64 = 0.001;

impl Graph {
    /// An explorer of this graph: one self-contained HTML document (inline
    /// CSS and JavaScript, nothing fetched) that steps through the forward
    /// pass, then backpropagation node by node as the engine does it (see
    /// [`Trace`]), each step highlighted on the picture and explained in
    /// one sentence with its numbers, in Korean or English (a switch), e.g.
    /// "The mul gate swaps: ∂price/∂(apple price) = 1.1 × 2 = 2.2". Every
    /// node a sentence names carries that name in the picture (its label,
    /// or a letter beside an unlabelled gate). It has buttons, a slider,
    /// play, the keys ← → space Home End, `#step=N` (or `#step=end`) in the
    /// URL, an exercise mode (`#mode=exercise`: type each gradient, the page
    /// checks it) and, with a learning rate, a gradient-descent step and
    /// the forward pass after it. Clicking (or tapping) an input shows what
    /// raising it by 1 and by 0.001 does to the output, computed here by
    /// re-running the graph, beside the gradient's prediction. The page
    /// opens at step 0 (the inputs), or in exercise mode at the first
    /// backward step; without scripts it shows the final picture. The
    /// gradients shown are the trace's: this graph's backward pass from
    /// zero, whether or not `backward` ran.
    ///
    /// ```
    /// use chainrule::Value;
    /// use chainrule::graph::ExplorerOptions;
    /// let apple = Value::new(100.0).with_label("apple price");
    /// let count = Value::new(2.0).with_label("apple count");
    /// let price = (&apple * &count * 1.1).with_label("price");
    /// let html = price.graph().explorer(&ExplorerOptions::new()).unwrap();
    /// assert!(html.contains("id=\"step-text\"") && html.contains("<svg"));
    /// assert!(!html.contains("src=") && !html.contains("href="));
    /// ```
    ///
    /// # Errors
    ///
    /// The picture's errors ([`GraphError::TooManyNodes`], …),
    /// [`GraphError::LearningRate`] for a learning rate that is not a
    /// finite number above 0, and [`GraphError::NotAParameter`] for a
    /// parameter name that names no leaf taking a gradient.
    pub fn explorer(&self, options: &ExplorerOptions) -> Result<Html, GraphError> {
        if let Some(eta) = options.learning_rate
            && !(eta.is_finite() && eta > 0.0)
        {
            return Err(GraphError::LearningRate(format!("{eta}")));
        }
        let picture = &options.picture;
        let (mut graph, focus) = if picture.expands_fused() {
            let (graph, renamed) = self.expand_fused_renamed();
            let focus = match picture.focus_id() {
                Some(id) => Some(*renamed.get(id).ok_or(GraphError::NoSuchNode {
                    id,
                    nodes: self.len(),
                })?),
                None => None,
            };
            (graph, focus)
        } else {
            (self.clone(), picture.focus_id())
        };
        // Gates, not neuron boxes, unless asked: the steps are the gates'.
        let mut drawn = picture
            .clone()
            .expand_fused(false)
            .neurons(picture.neurons_drawn(false))
            .renderer(Renderer::PureRust);
        if let Some(id) = focus {
            drawn = drawn.focus(id);
        }
        let parameters = match options.learning_rate {
            Some(_) => parameters(&graph, options.parameters.as_deref())?,
            None => Vec::new(),
        };
        // The limits first: a graph too large to draw is not traced.
        graph.drawing(&drawn)?;
        let trace = graph.trace();
        graph.set_grads(trace.grads());
        let drawing = graph.drawing(&drawn)?;
        let svg = render(&drawing);
        let explain = Explain {
            graph: &graph,
            numbers: drawn.numbers(),
            names: names(&graph),
        };
        let data = explain.data(
            &trace,
            &drawing,
            options
                .learning_rate
                .map(|eta| (eta, parameters.as_slice())),
            options.language,
        );
        let id = format!(
            "chainrule-explorer-{}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Html::with_picture(page(&id, &graph, &svg, &data), svg))
    }
}

/// The ids of the parameters a gradient-descent step updates (see
/// [`ExplorerOptions::learning_rate`]).
fn parameters(graph: &Graph, names: Option<&[String]>) -> Result<Vec<usize>, GraphError> {
    let nodes = graph.nodes();
    let takes_grad = |id: usize| nodes[id].op == Op::Leaf && nodes[id].requires_grad;
    match names {
        Some(names) => names
            .iter()
            .map(|name| {
                graph
                    .find(name)
                    .filter(|&id| takes_grad(id))
                    .ok_or_else(|| GraphError::NotAParameter(clean(name, 200)))
            })
            .collect(),
        None => {
            let leaves: Vec<usize> = (0..nodes.len()).filter(|&id| takes_grad(id)).collect();
            let grouped: Vec<usize> = leaves
                .iter()
                .copied()
                .filter(|&id| nodes[id].group.is_some())
                .collect();
            Ok(if grouped.is_empty() { leaves } else { grouped })
        }
    }
}

impl Value {
    /// An explorer of this value's graph with the default options (see
    /// [`Graph::explorer`]).
    ///
    /// # Errors
    ///
    /// As [`Graph::explorer`].
    pub fn explorer(&self) -> Result<Html, GraphError> {
        self.graph().explorer(&ExplorerOptions::new())
    }
}

/// Writes the sentences.
struct Explain<'a> {
    graph: &'a Graph,
    numbers: NumberFormat,
    names: Vec<Option<String>>,
}

/// A sentence in both languages from one template per language.
fn both(ko: String, en: String) -> Said {
    [ko, en]
}

/// The first letter in upper case (`the mul gate` → `The mul gate`).
fn capital(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Explain<'_> {
    fn n(&self, x: f64) -> String {
        self.numbers.format(x)
    }

    /// A number as an operand in a formula: in parentheses when negative,
    /// so `(−3.242)^2` and `0.01 × (−1.97)` read right.
    fn p(&self, x: f64) -> String {
        let text = self.n(x);
        if text.starts_with('-') {
            format!("({text})")
        } else {
            text
        }
    }

    /// A change, signed: `+2.2`, `-0.003`.
    fn signed(&self, x: f64) -> String {
        let text = self.n(x);
        if text.starts_with('-') || text == "0" || x.is_nan() {
            text
        } else {
            format!("+{text}")
        }
    }

    /// A node's name in sentences: the name the picture shows (label or
    /// letter; a constant's value), after its group if it has one
    /// (`layer1/neuron2/w1`: every neuron has a `w1`).
    fn name(&self, id: usize) -> String {
        let node = &self.graph.nodes()[id];
        let base = self.names[id].clone().unwrap_or_else(|| self.n(node.data));
        match node.group.as_deref() {
            Some(group) => format!("{}/{base}", clean(group, MAX_LABEL_CHARS)),
            None => base,
        }
    }

    /// `∂name`, with parentheses around a name with spaces or `/`.
    fn d(&self, id: usize) -> String {
        let name = self.name(id);
        if name.contains(|c: char| c.is_whitespace() || c == '/') {
            format!("∂({name})")
        } else {
            format!("∂{name}")
        }
    }

    fn output(&self) -> usize {
        self.graph.len().saturating_sub(1)
    }

    fn gate(&self, id: usize) -> Gate {
        Gate::of(self.graph, &self.graph.nodes()[id])
    }

    fn forward_text(&self, step: &ForwardStep) -> Said {
        let node = &self.graph.nodes()[step.node];
        let gate = self.gate(step.node);
        let a = |i: usize| step.inputs.get(i).map(|&x| self.p(x)).unwrap_or_default();
        let terms = |sep: &str| -> String {
            if step.inputs.len() <= 4 {
                step.inputs
                    .iter()
                    .map(|&x| self.p(x))
                    .collect::<Vec<_>>()
                    .join(sep)
            } else {
                format!("{} + \u{2026} + {}", a(0), a(step.inputs.len() - 1))
            }
        };
        let formula = match gate {
            Gate::Add => format!("{} + {}", a(0), a(1)),
            Gate::Mul => format!("{} \u{d7} {}", a(0), a(1)),
            Gate::Relu => format!("max(0, {})", a(0)),
            Gate::Max => format!("max({}, {})", a(0), a(1)),
            Gate::Exp => format!("e^{}", a(0)),
            Gate::Log => format!("ln {}", a(0)),
            Gate::Power(-1.0) => format!("1/{}", a(0)),
            Gate::Power(_) | Gate::Pow => format!("{}^{}", a(0), a(1)),
            Gate::Sum => format!("Σ {}", terms(" + ")),
            Gate::Dot => {
                let pairs = node.operands.len().max(node.constants.len());
                format!("w\u{b7}x ({} pairs)", pairs.max(1))
            }
            Gate::Input => String::new(),
        };
        let [ko, en] = gate.names();
        let what = format!(
            "{} = {formula} = {}",
            self.name(step.node),
            self.n(step.value)
        );
        both(
            format!("순전파, {ko}: {what}"),
            format!("Forward, {en}: {what}"),
        )
    }

    /// The sentence (both languages), the exercise's sentence, and its
    /// questions, for one backward step.
    fn backward_text(&self, step: &BackwardStep) -> (Said, Said, Vec<Question>) {
        let gate = self.gate(step.node);
        let out = self.output();
        let [ko_name, en_name] = gate.names();
        let [ko_rule, en_rule] = gate.rule();
        let (mut ko, mut en) = (String::new(), String::new());
        if step.node == out {
            let seed = format!("{}/{} = 1. ", self.d(out), self.d(out));
            ko.push_str(&format!("역전파 시작: {seed}"));
            en.push_str(&format!("Backward starts: {seed}"));
        }
        let _ = write!(ko, "{ko_name}{ko_rule}: ");
        let _ = write!(en, "{}{en_rule}: ", capital(&en_name));
        let (mut ask_ko, mut ask_en) = (ko.clone(), en.clone());
        let mut questions = Vec::new();
        let mut parts: Vec<Said> = Vec::new();
        let mut asks: Vec<String> = Vec::new();
        let up = self.n(step.upstream);
        let rule_hint = |hint: &str| -> Said {
            both(
                format!("{ko_name}{ko_rule}: {hint}"),
                format!("{}{en_rule}: {hint}", capital(&en_name)),
            )
        };
        // A sum's terms all get the same gradient: one question for all.
        let alike = step.shares.len() > 1
            && step
                .shares
                .iter()
                .all(|s| s.contribution.to_bits() == step.shares[0].contribution.to_bits());
        if gate == Gate::Sum && alike {
            let first = &step.shares[0];
            let listed: Vec<String> = step
                .shares
                .iter()
                .take(6)
                .map(|s| self.name(s.operand))
                .collect();
            let more = step.shares.len().saturating_sub(6);
            let (list_ko, list_en) = if more > 0 {
                (
                    format!("{} 외 {more}개", listed.join(", ")),
                    format!("{} and {more} more", listed.join(", ")),
                )
            } else {
                (listed.join(", "), listed.join(", "))
            };
            let prompt = format!("{}/∂(each term)", self.d(out));
            let hint = format!(
                "{up} \u{d7} {} = {}",
                self.p(first.local),
                self.n(first.contribution)
            );
            parts.push(both(
                format!(
                    "{}개 항({list_ko}) 각각 {prompt} = {hint}",
                    step.shares.len()
                ),
                format!(
                    "each of the {} terms ({list_en}): {prompt} = {hint}",
                    step.shares.len()
                ),
            ));
            asks.push(format!("{prompt} = {up} \u{d7} ?"));
            questions.push(Question {
                prompt,
                answer: first.contribution.into(),
                hint: rule_hint(&hint),
            });
        } else {
            let shown = step.shares.len().min(6);
            for share in &step.shares[..shown] {
                let prompt = format!("{}/{}", self.d(out), self.d(share.operand));
                let hint = format!(
                    "{up} \u{d7} {} = {}",
                    self.p(share.local),
                    self.n(share.contribution)
                );
                let mut part = both(format!("{prompt} = {hint}"), format!("{prompt} = {hint}"));
                if share.grad_after.to_bits() != share.contribution.to_bits() {
                    let so_far = self.n(share.grad_after);
                    part[0].push_str(&format!(" (지금까지 합 {so_far})"));
                    part[1].push_str(&format!(" (so far {so_far})"));
                }
                parts.push(part);
                asks.push(format!("{prompt} = {up} \u{d7} ?"));
                questions.push(Question {
                    prompt,
                    answer: share.contribution.into(),
                    hint: rule_hint(&hint),
                });
            }
            let more = step.shares.len() - shown;
            if more > 0 {
                parts.push(both(format!("외 {more}개"), format!("and {more} more")));
            }
        }
        if step.shares.is_empty() {
            parts.push(both(
                "넘겨줄 입력이 없습니다".into(),
                "nothing to pass on".into(),
            ));
        }
        let join = |k: usize| {
            parts
                .iter()
                .map(|p| p[k].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        ko.push_str(&join(0));
        en.push_str(&join(1));
        let asked = if asks.is_empty() {
            [join(0), join(1)]
        } else {
            [asks.join("; "), asks.join("; ")]
        };
        ask_ko.push_str(&asked[0]);
        ask_en.push_str(&asked[1]);
        ([ko, en], [ask_ko, ask_en], questions)
    }

    /// What raising input `id` by 1 and by [`NUDGE_H`] does to the output,
    /// by re-running the graph, against the gradient's prediction.
    fn nudge(&self, id: usize, grad: f64) -> Said {
        let nodes = self.graph.nodes();
        let out = self.output();
        let base: Vec<f64> = nodes.iter().map(|n| n.data).collect();
        let raised = |by: f64| {
            let mut data = base.clone();
            data[id] += by;
            self.graph.recompute(&mut data);
            data[out]
        };
        let (x, f) = (nodes[id].data, nodes[out].data);
        let (f1, fh) = (raised(1.0), raised(NUDGE_H));
        let (d1, dh) = (f1 - f, fh - f);
        let name = self.name(id);
        let out_name = self.name(out);
        let g = self.n(grad);
        let exact = (d1 - grad).abs() <= 1e-9 * d1.abs().max(grad.abs()).max(1.0);
        let (verdict_ko, verdict_en) = if exact {
            (
                format!("예측이 정확합니다: {out_name}은(는) {name}에 대해 선형입니다."),
                format!("The prediction is exact: {out_name} is linear in {name}."),
            )
        } else {
            (
                "기울기는 선형 근사입니다: 작은 변화일수록 잘 맞습니다.".into(),
                "The gradient is a linear approximation: it fits small steps best.".into(),
            )
        };
        let h = self.n(NUDGE_H);
        // The numbers once; each language's sentence places them.
        let (from, to) = (self.n(x), self.n(x + 1.0));
        let (before, after, change) = (self.n(f), self.n(f1), self.signed(d1));
        let (small, predicted) = (self.signed(dh), self.signed(grad * NUDGE_H));
        both(
            format!(
                "{name}을(를) 1 올리면 ({from} → {to}) {out_name} = {before} → {after} ({change}); 기울기의 예측: {g} \u{d7} 1 = {g}. {h}만 올리면 {out_name}의 변화는 {small}, 예측은 {g} \u{d7} {h} = {predicted}. {verdict_ko}"
            ),
            format!(
                "Raise {name} by 1 ({from} → {to}): {out_name} = {before} → {after} ({change}); the gradient predicts {g} \u{d7} 1 = {g}. Raise it by {h}: {out_name} changes by {small}, predicted {g} \u{d7} {h} = {predicted}. {verdict_en}"
            ),
        )
    }

    fn data(
        &self,
        trace: &Trace,
        drawing: &Drawing,
        update: Option<(f64, &[usize])>,
        language: Language,
    ) -> Data {
        let nodes = self.graph.nodes();
        let n = nodes.len();
        let forward_count = trace.forward().count();
        let backward_count = trace.backward().count();
        // Step indices: 0 the start, then forward, backward, update steps.
        let mut forward_at = vec![0usize; n];
        let mut backward_at = vec![usize::MAX; n];
        // A node's gradient is final at the step of the last share it gets
        // (its consumers all come before it); the output's at the first
        // backward step.
        let mut grad_at = vec![0usize; n];
        for (k, step) in trace.steps().iter().enumerate() {
            match step {
                Step::Forward(f) => forward_at[f.node] = k + 1,
                Step::Backward(b) => {
                    backward_at[b.node] = k + 1;
                    for share in &b.shares {
                        grad_at[share.operand] = k + 1;
                    }
                }
            }
        }
        let end = forward_count + backward_count;
        for (id, at) in grad_at.iter_mut().enumerate() {
            if *at == 0 {
                *at = if id + 1 == n { forward_count + 1 } else { end };
            }
        }
        let element = |id: usize| drawing.element_of.get(id).cloned().flatten();
        // The edges into a node, and (nodes style) its gate.
        let mut edges_into = vec![Vec::new(); n];
        let mut gate_of = vec![None; n];
        for shape in &drawing.nodes {
            if let (Some(id), Role::Gate) = (shape.node, shape.role) {
                gate_of[id] = Some(shape.name.clone());
            }
        }
        let mut reveal = Vec::new();
        for edge in &drawing.edges {
            for &c in &edge.consumers {
                edges_into[c].push(edge.name.clone());
            }
            if edge.flow == Flow::GateToValue {
                // A gate's edge to its value: part of the node's steps.
                if let Some(&p) = edge.producers.first() {
                    edges_into[p].push(edge.name.clone());
                }
                continue;
            }
            if !edge.producers.is_empty() {
                let at = edge
                    .producers
                    .iter()
                    .map(|&p| forward_at[p])
                    .max()
                    .unwrap_or(0);
                reveal.push(Reveal {
                    el: edge.name.clone(),
                    cls: "value",
                    at,
                });
            }
            let grad_step = if edge.flow == Flow::Output {
                // The output's own edge: its gradient 1 starts backward.
                forward_count + 1
            } else {
                edge.consumers
                    .iter()
                    .map(|&c| backward_at[c])
                    .filter(|&at| at != usize::MAX)
                    .max()
                    .unwrap_or(end)
            };
            reveal.push(Reveal {
                el: edge.name.clone(),
                cls: "grad",
                at: grad_step,
            });
        }
        // Records (nodes style, collapsed groups): values and gradients.
        for shape in &drawing.nodes {
            let members: Vec<usize> = match (shape.role, shape.node) {
                (Role::Value, Some(id)) => vec![id],
                (Role::Group, _) => (0..n)
                    .filter(|&id| element(id).as_deref() == Some(shape.name.as_str()))
                    .collect(),
                _ => continue,
            };
            if members.is_empty() {
                continue;
            }
            reveal.push(Reveal {
                el: shape.name.clone(),
                cls: "data",
                at: members.iter().map(|&m| forward_at[m]).max().unwrap_or(0),
            });
            reveal.push(Reveal {
                el: shape.name.clone(),
                cls: "grad",
                at: members.iter().map(|&m| grad_at[m]).max().unwrap_or(end),
            });
        }
        let highlight = |id: usize| -> Vec<String> {
            element(id).into_iter().chain(gate_of[id].clone()).collect()
        };
        let mut steps = Vec::with_capacity(3 + trace.steps().len());
        let inputs: Vec<usize> = (0..n)
            .filter(|&id| nodes[id].op == Op::Leaf && !nodes[id].constant && element(id).is_some())
            .collect();
        let constants = (0..n)
            .filter(|&id| nodes[id].op == Op::Leaf && nodes[id].constant && element(id).is_some())
            .count();
        let listed: Vec<String> = inputs
            .iter()
            .take(6)
            .map(|&id| format!("{} = {}", self.name(id), self.n(nodes[id].data)))
            .collect();
        let more = inputs.len().saturating_sub(6);
        let mut start = both(
            format!("시작: 입력 {}", listed.join(", ")),
            format!("Start: the inputs {}", listed.join(", ")),
        );
        if more > 0 {
            start[0].push_str(&format!(" 외 {more}개"));
            start[1].push_str(&format!(" and {more} more"));
        }
        if constants > 0 {
            start[0].push_str(&format!(", 상수 {constants}개"));
            start[1].push_str(&format!(
                ", and {constants} constant{}",
                if constants == 1 { "" } else { "s" }
            ));
        }
        start[0].push('.');
        start[1].push('.');
        steps.push(StepView {
            kind: "start",
            ask: start.clone(),
            text: start,
            elements: inputs.iter().filter_map(|&id| element(id)).collect(),
            edges: Vec::new(),
            questions: Vec::new(),
        });
        for step in trace.steps() {
            steps.push(match step {
                Step::Forward(f) => {
                    let text = self.forward_text(f);
                    StepView {
                        kind: "forward",
                        ask: text.clone(),
                        text,
                        elements: highlight(f.node),
                        edges: edges_into[f.node].clone(),
                        questions: Vec::new(),
                    }
                }
                Step::Backward(b) => {
                    let (text, ask, questions) = self.backward_text(b);
                    StepView {
                        kind: "backward",
                        text,
                        ask,
                        elements: highlight(b.node),
                        edges: edges_into[b.node].clone(),
                        questions,
                    }
                }
            });
        }
        // The texts that show a node's value: its edges' values (lecture
        // style) or its record's data field.
        let value_texts = |id: usize| -> Vec<(String, &'static str)> {
            let mut texts: Vec<(String, &'static str)> = drawing
                .edges
                .iter()
                .filter(|e| e.flow != Flow::GateToValue && e.producers == [id] && e.value.is_some())
                .map(|e| (e.name.clone(), "value"))
                .collect();
            if let Some(shape) = drawing
                .nodes
                .iter()
                .find(|s| s.role == Role::Value && s.node == Some(id))
                && matches!(shape.kind, ShapeKind::Record(_))
            {
                texts.push((shape.name.clone(), "data"));
            }
            texts
        };
        let record = |cls: &str, text: String| {
            if cls == "data" {
                format!("data {text}")
            } else {
                text
            }
        };
        let mut changes = Vec::new();
        let mut update_count = 0;
        let mut stale = None;
        if let Some((eta, parameters)) = update {
            let mut data: Vec<f64> = nodes.iter().map(|node| node.data).collect();
            for &id in parameters {
                let (w, g) = (nodes[id].data, trace.grad(id));
                let new = w - eta * g;
                data[id] = new;
                let formula = format!(
                    "{name} ← {name} − η\u{b7}{d}/{dw} = {} − {} \u{d7} {} = {}",
                    self.p(w),
                    self.p(eta),
                    self.p(g),
                    self.n(new),
                    name = self.name(id),
                    d = self.d(self.output()),
                    dw = self.d(id),
                );
                let text = both(
                    format!("경사 하강법: {formula}"),
                    format!("Gradient descent: {formula}"),
                );
                steps.push(StepView {
                    kind: "update",
                    ask: text.clone(),
                    text,
                    elements: highlight(id),
                    edges: Vec::new(),
                    questions: Vec::new(),
                });
                let at = steps.len() - 1;
                for (el, cls) in value_texts(id) {
                    changes.push(Change {
                        el,
                        cls,
                        at,
                        text: record(cls, format!("{} → {}", self.n(w), self.n(new))),
                    });
                }
                update_count += 1;
            }
            // One more forward pass with the new values.
            self.graph.recompute(&mut data);
            let out = self.output();
            let (before, after) = (nodes[out].data, data[out]);
            let change = after - before;
            let said = format!(
                "{} = {} → {}",
                self.name(out),
                self.n(before),
                self.n(after)
            );
            let (verdict_ko, verdict_en) = if change < 0.0 {
                (
                    format!("{} 줄었습니다.", self.n(-change)),
                    format!("down by {}.", self.n(-change)),
                )
            } else if change > 0.0 {
                (
                    format!("{} 늘었습니다: 학습률 η가 너무 큽니다.", self.n(change)),
                    format!("up by {}: the learning rate is too large.", self.n(change)),
                )
            } else {
                ("그대로입니다.".to_owned(), "unchanged.".to_owned())
            };
            let text = both(
                format!("새 값으로 다시 순전파: {said}, {verdict_ko}"),
                format!("Forward again with the new values: {said}, {verdict_en}"),
            );
            steps.push(StepView {
                kind: "again",
                ask: text.clone(),
                text,
                elements: highlight(out),
                edges: edges_into[out].clone(),
                questions: Vec::new(),
            });
            let at = steps.len() - 1;
            stale = Some(at);
            for id in 0..n {
                if parameters.contains(&id) || nodes[id].op == Op::Leaf {
                    continue;
                }
                let text = if id == out {
                    format!("{} → {}", self.n(before), self.n(after))
                } else {
                    self.n(data[id])
                };
                for (el, cls) in value_texts(id) {
                    changes.push(Change {
                        el,
                        cls,
                        at,
                        text: record(cls, text.clone()),
                    });
                }
            }
        }
        let nudges = inputs
            .iter()
            .filter_map(|&id| Some((element(id)?, self.nudge(id, trace.grad(id)))))
            .collect();
        Data {
            lang: language.code(),
            steps,
            reveal,
            changes,
            nudges,
            forward: forward_count,
            backward: backward_count,
            update: update_count,
            stale,
        }
    }
}

/// The whole page.
fn page(id: &str, graph: &Graph, svg: &str, data: &Data) -> String {
    // JSON inside a script element: no `<` at all (`</script>` would end
    // it, `<!--` change how it is read), written `\u003c` (the same string
    // in JSON).
    let json = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c");
    let title = graph
        .output()
        .and_then(|o| o.label.as_deref())
        .map_or_else(|| "a graph".into(), |l| clean(l, MAX_LABEL_CHARS));
    let last = data.steps.len().saturating_sub(1);
    let lang = data.lang;
    let picture = fitted(svg);
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>chainrule explorer: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<div class="chainrule-explorer" id="{id}" tabindex="-1" lang="{lang}">
<style>{css}</style>
<div class="cr-controls" hidden>
<button type="button" class="cr-first" aria-label="first step">&#x00AB;</button>
<button type="button" class="cr-prev" aria-label="previous step">&#x25C0; <span class="cr-word" data-ko="이전" data-en="prev">prev</span></button>
<button type="button" class="cr-play" aria-label="play">&#x25B6;</button>
<button type="button" class="cr-next" aria-label="next step"><span class="cr-word" data-ko="다음" data-en="next">next</span> &#x25B6;</button>
<button type="button" class="cr-last" aria-label="last step">&#x00BB;</button>
<select class="cr-speed" aria-label="speed"><option value="2000">0.5&#xD7;</option><option value="1000" selected>1&#xD7;</option><option value="400">2.5&#xD7;</option></select>
<input type="range" class="cr-slider" min="0" max="{last}" value="{last}" aria-label="step">
<button type="button" class="cr-mode" aria-pressed="false"><span class="cr-word" data-ko="연습 모드" data-en="exercise">exercise</span></button>
<button type="button" class="cr-lang" aria-label="language">English</button>
</div>
<p class="cr-counter" id="step-counter">{last} steps: the final state</p>
<p class="cr-text" id="step-text" aria-live="polite">Every value (above each edge) and gradient (in red, below) after the backward pass.</p>
<p class="cr-hint"></p>
<div class="cr-exercise" hidden><div class="cr-questions"></div>
<button type="button" class="cr-check"><span class="cr-word" data-ko="확인" data-en="check">check</span></button> <button type="button" class="cr-show"><span class="cr-word" data-ko="정답 보기" data-en="show">show</span></button>
<p class="cr-feedback" id="feedback" aria-live="polite"></p></div>
<div class="cr-picture">{picture}</div>
<p class="cr-nudge" id="nudge" aria-live="polite"></p>
<p class="cr-info" id="node-info"></p>
<noscript><p>Scripts are off: the picture shows the final values and gradients. Open this file in a browser to step through it.</p></noscript>
<script type="application/json" class="cr-data">{json}</script>
<script>{js}</script>
</div>
</body></html>
"#,
        title = xml(&title),
        css = CSS,
        js = JS.replace("ROOT_ID", id),
    )
}

/// Largest scale at which the explorer shows a picture: the apple's fills
/// most of a laptop's width, its text stays under about 23 px.
const MAX_SCALE: f64 = 1.8;
/// Smallest scale: the smallest text (12 px) stays at 9 px; a wider
/// picture scrolls inside its frame.
const MIN_SCALE: f64 = 9.0 / 12.0;

/// The picture sized for the explorer's frame: as wide as the frame, but
/// at most [`MAX_SCALE`] and at least [`MIN_SCALE`] times its own size.
fn fitted(svg: &str) -> String {
    let width = svg
        .split_once(r#"width=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(w, _)| w.parse::<f64>().ok())
        .unwrap_or(400.0);
    svg.replacen(
        r#"style="max-width:100%;height:auto""#,
        &format!(
            r#"style="width:100%;max-width:{:.0}px;min-width:{:.0}px;height:auto""#,
            width * MAX_SCALE,
            width * MIN_SCALE
        ),
        1,
    )
}

/// The page's stylesheet.
const CSS: &str = include_str!("explorer.css");

/// The page's script (`ROOT_ID` stands for the explorer's element id).
const JS: &str = include_str!("explorer.js");
