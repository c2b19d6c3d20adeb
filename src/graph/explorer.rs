//! The explorer: one self-contained HTML page (or notebook output) that
//! steps through a graph's forward and backward passes, as the lecture
//! teaches them, from a [`Trace`].

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::GraphError;
use super::dot::{DotOptions, NumberFormat, Renderer};
use super::picture::Html;
use super::render::{render, xml};
use super::trace::{BackwardStep, ForwardStep, Step, Trace};
use super::view::{Graph, GraphNode};
use crate::{Op, Value};

/// Options for [`Graph::explorer`]: the picture's options, and a learning
/// rate for gradient-descent steps after the backward pass.
///
/// ```
/// use chainrule::graph::{DotOptions, ExplorerOptions};
/// let options = ExplorerOptions::new()
///     .picture(DotOptions::lecture().expand_fused(true))
///     .learning_rate(0.01);
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExplorerOptions {
    picture: DotOptions,
    learning_rate: Option<f64>,
}

impl Default for ExplorerOptions {
    fn default() -> Self {
        ExplorerOptions {
            picture: DotOptions::lecture(),
            learning_rate: None,
        }
    }
}

impl ExplorerOptions {
    /// The lecture-style picture, no update steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// The picture's options (groups, focus, collapsed groups, hidden
    /// constants, style, direction). The explorer always draws with the
    /// pure-Rust renderer, whose SVG it knows.
    pub fn picture(mut self, options: DotOptions) -> Self {
        self.picture = options;
        self
    }

    /// Adds a gradient-descent step per parameter after the backward pass:
    /// `w ← w − η·∂L/∂w` with the numbers.
    pub fn learning_rate(mut self, eta: f64) -> Self {
        self.learning_rate = Some(eta);
        self
    }
}

/// The words for a gate: Korean (the lecture's), English, and its rule.
struct Words {
    korean: &'static str,
    english: &'static str,
    rule: &'static str,
}

fn words(node: &GraphNode) -> Words {
    let (korean, english, rule) = match node.op {
        Op::Leaf => ("입력", "input", ""),
        Op::Add => ("덧셈 노드", "add", "passes the gradient through"),
        Op::Mul => ("곱셈 노드", "mul", "swaps"),
        Op::Max if node.operands.len() == 1 => (
            "ReLU 노드",
            "relu",
            "passes the gradient where its input is positive",
        ),
        Op::Max => ("max 노드", "max", "routes the gradient to the larger input"),
        Op::Exp => ("지수 노드", "exp", "multiplies by its output"),
        Op::Log => ("로그 노드", "log", "divides by its input"),
        Op::Pow => ("거듭제곱 노드", "pow", "multiplies by k·x^(k−1)"),
        Op::Sum => ("합 노드 Σ", "sum", "passes the gradient to every term"),
        Op::Dot | Op::DotConst => (
            "내적 노드",
            "dot",
            "gives each weight its input and each input its weight",
        ),
    };
    Words {
        korean,
        english,
        rule,
    }
}

/// What the page's script reads.
#[derive(Serialize)]
struct Data {
    steps: Vec<StepView>,
    reveal: Vec<Reveal>,
    forward: usize,
    backward: usize,
    update: usize,
}

/// One step as the page shows it.
#[derive(Serialize)]
struct StepView {
    kind: &'static str,
    /// The sentence, with the numbers.
    text: String,
    /// The sentence in exercise mode, before the answers.
    ask: String,
    /// Elements to highlight: the node (and its gate), its edges.
    elements: Vec<String>,
    edges: Vec<String>,
    questions: Vec<Question>,
}

#[derive(Serialize)]
struct Question {
    prompt: String,
    answer: f64,
    hint: String,
}

/// Text of class `cls` inside element `el` appears at step `at`.
#[derive(Serialize)]
struct Reveal {
    el: String,
    cls: &'static str,
    at: usize,
}

/// Distinguishes explorers shown in one notebook page.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Graph {
    /// An explorer of this graph: one self-contained HTML document (inline
    /// CSS and JavaScript, nothing fetched) that steps through the forward
    /// pass, then backpropagation node by node as the engine does it (see
    /// [`Trace`]), each step highlighted on the picture and explained in
    /// one sentence with its numbers, e.g. "곱셈 노드 (mul) swaps:
    /// ∂price/∂(apple price) = 1.1 × 2 = 2.2". It has buttons, a slider,
    /// play, the keys ← → space Home End, `#step=N` (or `#step=end`) in the
    /// URL, an exercise mode (`#mode=exercise`: type each gradient, the page
    /// checks it) and, with a learning rate, gradient-descent steps. Without
    /// scripts it shows the final picture. The gradients shown are the
    /// trace's: this graph's backward pass from zero, whether or not
    /// `backward` ran.
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
    /// The picture's errors ([`GraphError::TooManyNodes`], …), and
    /// [`GraphError::LearningRate`] for a learning rate that is not a
    /// finite number above 0.
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
        let mut drawn = picture
            .clone()
            .expand_fused(false)
            .renderer(Renderer::PureRust);
        if let Some(id) = focus {
            drawn = drawn.focus(id);
        }
        // The limits first: a graph too large to draw is not traced.
        graph.drawing(&drawn)?;
        let trace = graph.trace();
        graph.set_grads(trace.grads());
        let drawing = graph.drawing(&drawn)?;
        let svg = render(&drawing);
        let numbers = drawn.numbers();
        let numbers = match numbers {
            NumberFormat::Fixed(d) | NumberFormat::Short(d) => NumberFormat::Short(d.max(1)),
        };
        let explain = Explain {
            graph: &graph,
            numbers,
        };
        let data = explain.data(&trace, &drawing, options.learning_rate);
        let id = format!(
            "chainrule-explorer-{}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Html::with_picture(page(&id, &graph, &svg, &data), svg))
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
}

impl Explain<'_> {
    fn n(&self, x: f64) -> String {
        self.numbers.format(x)
    }

    /// A node's name in sentences: its label (or its gate and id, `relu
    /// v51`), after its group if it has one (`layer1/neuron2/w1`: every
    /// neuron has a `w1`).
    fn name(&self, id: usize) -> String {
        let node = &self.graph.nodes()[id];
        let base = match node.label.as_deref() {
            Some(label) if !label.trim().is_empty() => {
                super::drawing::clean(label, super::drawing::MAX_LABEL_CHARS)
            }
            _ if node.op == Op::Leaf => format!("v{id}"),
            _ => format!("{} v{id}", words(node).english),
        };
        match node.group.as_deref() {
            Some(group) => format!(
                "{}/{base}",
                super::drawing::clean(group, super::drawing::MAX_LABEL_CHARS)
            ),
            None => base,
        }
    }

    /// `∂name`, with parentheses around a name with spaces or `/`.
    fn d(&self, id: usize) -> String {
        let name = self.name(id);
        if name.contains(|c: char| c.is_whitespace() || c == '/') {
            format!("\u{2202}({name})")
        } else {
            format!("\u{2202}{name}")
        }
    }

    fn output(&self) -> usize {
        self.graph.len().saturating_sub(1)
    }

    fn forward_text(&self, step: &ForwardStep) -> String {
        let node = &self.graph.nodes()[step.node];
        let w = words(node);
        let a = |i: usize| step.inputs.get(i).map(|&x| self.n(x)).unwrap_or_default();
        let terms = |sep: &str| -> String {
            if step.inputs.len() <= 4 {
                step.inputs
                    .iter()
                    .map(|&x| self.n(x))
                    .collect::<Vec<_>>()
                    .join(sep)
            } else {
                format!("the {} terms", step.inputs.len())
            }
        };
        let formula = match node.op {
            Op::Add => format!("{} + {}", a(0), a(1)),
            Op::Mul => format!("{} \u{d7} {}", a(0), a(1)),
            Op::Max if step.inputs.len() == 1 => format!("max(0, {})", a(0)),
            Op::Max => format!("max({}, {})", a(0), a(1)),
            Op::Exp => format!("exp({})", a(0)),
            Op::Log => format!("ln({})", a(0)),
            Op::Pow => format!("{}^{}", a(0), a(1)),
            Op::Sum => format!("\u{3a3} {}", terms(" + ")),
            Op::Dot | Op::DotConst => {
                let pairs = node.operands.len().max(node.constants.len());
                format!("w\u{b7}x over {} pairs", pairs.max(1))
            }
            Op::Leaf => String::new(),
        };
        format!(
            "{} ({}) \u{c21c}\u{c804}\u{d30c} / forward: {} = {} = {}",
            w.korean,
            w.english,
            self.name(step.node),
            formula,
            self.n(step.value)
        )
    }

    fn backward_text(&self, step: &BackwardStep) -> (String, String, Vec<Question>) {
        let node = &self.graph.nodes()[step.node];
        let w = words(node);
        let out = self.output();
        let mut text = String::new();
        if step.node == out {
            let _ = write!(
                text,
                "\u{c5ed}\u{c804}\u{d30c} \u{c2dc}\u{c791} / backward starts: {}/{} = 1. ",
                self.d(out),
                self.d(out)
            );
        }
        let head = format!("{} ({}) {}", w.korean, w.english, w.rule);
        let mut ask = format!("{text}{head}: ");
        let _ = write!(text, "{head}: ");
        let mut questions = Vec::new();
        let shown = step.shares.len().min(6);
        let mut parts = Vec::new();
        let mut asks = Vec::new();
        for share in &step.shares[..shown] {
            let prompt = format!("{}/{}", self.d(out), self.d(share.operand));
            let hint = format!(
                "{} \u{d7} {} = {}",
                self.n(step.upstream),
                self.n(share.local),
                self.n(share.contribution)
            );
            let mut part = format!("{prompt} = {hint}");
            if share.grad_after != share.contribution {
                let _ = write!(part, " (so far {})", self.n(share.grad_after));
            }
            parts.push(part);
            asks.push(format!("{prompt} = {} \u{d7} ?", self.n(step.upstream)));
            questions.push(Question {
                prompt,
                answer: share.contribution,
                hint: format!("{} {}: {hint}", w.english, w.rule),
            });
        }
        if step.shares.len() > shown {
            parts.push(format!("and {} more", step.shares.len() - shown));
            asks.push(format!("and {} more", step.shares.len() - shown));
        }
        if step.shares.is_empty() {
            parts.push("nothing to pass on".into());
            asks.push("nothing to pass on".into());
        }
        text.push_str(&parts.join("; "));
        ask.push_str(&asks.join("; "));
        (text, ask, questions)
    }

    fn data(&self, trace: &Trace, drawing: &super::drawing::Drawing, eta: Option<f64>) -> Data {
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
            if let (Some(id), true) = (shape.node, shape.name.starts_with("op")) {
                gate_of[id] = Some(shape.name.clone());
            }
        }
        let mut reveal = Vec::new();
        for edge in &drawing.edges {
            for &c in &edge.consumers {
                edges_into[c].push(edge.name.clone());
            }
            if edge.name.starts_with("eop") {
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
            let grad_step = if edge.consumers.is_empty() {
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
            let members: Vec<usize> = match shape.node {
                Some(id) if !shape.name.starts_with("op") => vec![id],
                Some(_) => continue,
                None => (0..n)
                    .filter(|&id| element(id).as_deref() == Some(shape.name.as_str()))
                    .collect(),
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
        let mut steps = Vec::with_capacity(1 + trace.steps().len());
        let leaves: Vec<usize> = (0..n)
            .filter(|&id| nodes[id].op == Op::Leaf && element(id).is_some())
            .collect();
        let listed: Vec<String> = leaves
            .iter()
            .take(6)
            .map(|&id| format!("{} = {}", self.name(id), self.n(nodes[id].data)))
            .collect();
        let more = if leaves.len() > 6 {
            format!(" and {} more", leaves.len() - 6)
        } else {
            String::new()
        };
        let start = format!(
            "\u{c2dc}\u{c791} / start: the inputs {}{more}. Press \u{2192} to run the forward pass.",
            listed.join(", ")
        );
        steps.push(StepView {
            kind: "start",
            ask: start.clone(),
            text: start,
            elements: leaves.iter().filter_map(|&id| element(id)).collect(),
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
        let mut update = 0;
        if let Some(eta) = eta {
            for id in (0..n).filter(|&id| nodes[id].op == Op::Leaf && nodes[id].requires_grad) {
                let (w, g) = (nodes[id].data, trace.grad(id));
                let text = format!(
                    "\u{acbd}\u{c0ac} \u{d558}\u{ac15}\u{bc95} / gradient descent: {name} \u{2190} {name} \u{2212} \u{3b7}\u{b7}{d}/{dw} = {} \u{2212} {} \u{d7} {} = {}",
                    self.n(w),
                    self.n(eta),
                    self.n(g),
                    self.n(w - eta * g),
                    name = self.name(id),
                    d = self.d(self.output()),
                    dw = self.d(id),
                );
                steps.push(StepView {
                    kind: "update",
                    ask: text.clone(),
                    text,
                    elements: highlight(id),
                    edges: Vec::new(),
                    questions: Vec::new(),
                });
                update += 1;
            }
        }
        Data {
            steps,
            reveal,
            forward: forward_count,
            backward: backward_count,
            update,
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
        .and_then(|o| o.label.clone())
        .unwrap_or_else(|| "a graph".into());
    let last = data.steps.len().saturating_sub(1);
    format!(
        r#"<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>chainrule explorer: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<div class="chainrule-explorer" id="{id}" tabindex="-1">
<style>{css}</style>
<div class="cr-controls" hidden>
<button type="button" class="cr-first" aria-label="first step">&#x00AB; first</button>
<button type="button" class="cr-prev" aria-label="previous step">&#x25C0; prev</button>
<button type="button" class="cr-play" aria-label="play">&#x25B6; play</button>
<button type="button" class="cr-next" aria-label="next step">next &#x25B6;</button>
<button type="button" class="cr-last" aria-label="last step">last &#x00BB;</button>
<label>speed <select class="cr-speed" aria-label="speed"><option value="2000">slow</option><option value="1000" selected>normal</option><option value="400">fast</option></select></label>
<input type="range" class="cr-slider" min="0" max="{last}" value="{last}" aria-label="step">
<button type="button" class="cr-mode" aria-pressed="false">exercise mode</button>
</div>
<p class="cr-counter" id="step-counter">{last} steps: the final state</p>
<p class="cr-text" id="step-text" aria-live="polite">Every value (above each edge) and gradient (in red, below) after the backward pass.</p>
<div class="cr-exercise" hidden><div class="cr-questions"></div>
<button type="button" class="cr-check">check</button> <button type="button" class="cr-show">show</button>
<p class="cr-feedback" id="feedback" aria-live="polite"></p></div>
<div class="cr-picture">{svg}</div>
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

const CSS: &str = r#"
.chainrule-explorer{font-family:"Noto Sans CJK KR","Noto Sans KR","Malgun Gothic","Apple SD Gothic Neo",Helvetica,Arial,sans-serif;font-size:14px;max-width:100%}
.chainrule-explorer .cr-controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:4px 0}
.chainrule-explorer .cr-controls[hidden],.chainrule-explorer .cr-exercise[hidden]{display:none}
.chainrule-explorer button{font:inherit;padding:3px 9px;border:1px solid #8a94a6;border-radius:4px;background:#f4f6fa;cursor:pointer}
.chainrule-explorer button:focus-visible,.chainrule-explorer input:focus-visible,.chainrule-explorer g.node:focus{outline:3px solid #1f5fbf;outline-offset:2px}
.chainrule-explorer .cr-mode[aria-pressed="true"]{background:#ffe8a8;font-weight:bold}
.chainrule-explorer .cr-slider{flex:1 1 160px}
.chainrule-explorer .cr-text{min-height:2.6em;margin:4px 0;font-size:15px}
.chainrule-explorer .cr-counter{margin:2px 0;color:#44506a}
.chainrule-explorer .cr-info{min-height:1.3em;color:#44506a}
.chainrule-explorer .cr-picture{overflow-x:auto}
.chainrule-explorer g.active > circle,.chainrule-explorer g.active > rect{stroke:#1f5fbf;stroke-width:3.5;stroke-dasharray:6 2}
.chainrule-explorer g.active > text,.chainrule-explorer g.active tspan{font-weight:bold}
.chainrule-explorer g.edge.active > path{stroke:#1f5fbf;stroke-width:2.5}
.chainrule-explorer g.edge.active > polygon{fill:#1f5fbf}
.chainrule-explorer .cr-questions label{display:inline-block;margin:2px 10px 2px 0}
.chainrule-explorer .cr-questions input{width:7em;font:inherit}
.chainrule-explorer .right{color:#0a6b2a;font-weight:bold}
.chainrule-explorer .wrong{color:#a00000;font-weight:bold}
"#;

const JS: &str = r##"(function () {
  "use strict";
  var root = document.getElementById("ROOT_ID");
  if (!root || root.dataset.ready) { return; }
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector("script.cr-data").textContent);
  var steps = data.steps, last = steps.length - 1;
  var svg = root.querySelector("svg");
  function q(sel) { return root.querySelector(sel); }
  // Elements by id, looked up once: ids repeat across explorers in one
  // notebook page, so the search stays inside this picture.
  var found = {};
  svg.querySelectorAll("[id]").forEach(function (el) {
    if (!(el.id in found)) { found[el.id] = el; }
  });
  function byId(id) { return found[id] || null; }
  // Each reveal's texts, looked up once.
  data.reveal.forEach(function (r) {
    var el = byId(r.el);
    r.texts = el ? Array.prototype.slice.call(el.querySelectorAll("." + r.cls)) : [];
  });
  var state = { step: last, exercise: false, timer: null, solved: {} };
  var active = [];
  var slider = q(".cr-slider"), counter = q(".cr-counter"), text = q(".cr-text");
  var exercise = q(".cr-exercise"), questions = q(".cr-questions"), feedback = q(".cr-feedback");
  var mode = q(".cr-mode"), play = q(".cr-play");
  q(".cr-controls").hidden = false;
  // A page of its own: the URL's #step=N and the keys anywhere. In a
  // notebook the URL is the notebook's, and keys count only when the
  // explorer has the focus.
  var standalone = root.parentElement === document.body;

  function phase(s) {
    if (s === 0) { return "start"; }
    if (s <= data.forward) { return "forward " + s + "/" + data.forward + " (\uC21C\uC804\uD30C)"; }
    if (s <= data.forward + data.backward) { return "backward " + (s - data.forward) + "/" + data.backward + " (\uC5ED\uC804\uD30C)"; }
    return "update " + (s - data.forward - data.backward) + "/" + data.update;
  }
  function hidden(s) {
    return state.exercise && steps[s].kind === "backward" && steps[s].questions.length > 0 && !state.solved[s];
  }
  function render() {
    var s = state.step, step = steps[s];
    data.reveal.forEach(function (r) {
      var show = s >= r.at && !(r.cls === "grad" && r.at === s && hidden(s));
      r.texts.forEach(function (t) { t.style.visibility = show ? "" : "hidden"; });
    });
    active.forEach(function (e) { e.classList.remove("active"); });
    active = [];
    step.elements.concat(step.edges).forEach(function (id) {
      var el = byId(id);
      if (el) { el.classList.add("active"); active.push(el); }
    });
    text.textContent = hidden(s) ? step.ask : step.text;
    counter.textContent = "step " + s + " of " + last + " \u00B7 " + phase(s);
    slider.value = String(s);
    if (hidden(s)) { ask(step); } else { exercise.hidden = true; }
    var hash = "#step=" + (s === last ? "end" : s) + (state.exercise ? "&mode=exercise" : "");
    if (standalone && window.location.hash !== hash && window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", hash); } catch (e) { /* file: pages may refuse */ }
    }
  }
  function ask(step) {
    exercise.hidden = false;
    feedback.textContent = "";
    feedback.className = "cr-feedback";
    questions.innerHTML = "";
    step.questions.forEach(function (question, k) {
      var label = document.createElement("label");
      label.textContent = question.prompt + " = ";
      var input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.className = "cr-answer";
      input.id = "answer-" + k;
      input.setAttribute("aria-label", question.prompt);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); check(); }
      });
      label.appendChild(input);
      questions.appendChild(label);
    });
  }
  function close(x, answer) {
    if (!isFinite(x)) { return false; }
    return Math.abs(x - answer) <= 1e-3 * Math.max(Math.abs(answer), 1e-12) || x === answer;
  }
  function check() {
    var s = state.step, step = steps[s], inputs = questions.querySelectorAll("input");
    var said = [], right = 0, typed = 0;
    step.questions.forEach(function (question, k) {
      var input = inputs[k], raw = input.value.trim(), label = input.parentElement;
      label.classList.remove("right", "wrong");
      if (raw === "") { return; }
      typed += 1;
      if (close(Number(raw), question.answer)) {
        right += 1;
        label.classList.add("right");
        said.push("\u2713 right: " + question.prompt + " = " + raw);
      } else {
        label.classList.add("wrong");
        said.push("\u2717 wrong: " + question.prompt + " is not " + raw + " (" + question.hint.replace(/= [^=]*$/, "= ?") + ")");
      }
    });
    if (typed === 0) {
      feedback.textContent = "Type a number for a gradient, then check.";
      feedback.className = "cr-feedback";
      return;
    }
    feedback.textContent = said.join("; ");
    feedback.className = "cr-feedback " + (right === typed ? "right" : "wrong");
    if (right === step.questions.length) {
      state.solved[s] = true;
      render();
      exercise.hidden = false;
      questions.innerHTML = "";
      feedback.textContent = said.join("; ") + ". " + step.text;
      feedback.className = "cr-feedback right";
    }
  }
  function show() {
    var s = state.step;
    state.solved[s] = true;
    render();
    feedback.textContent = "Shown: " + steps[s].questions.map(function (x) { return x.hint; }).join("; ");
    feedback.className = "cr-feedback";
    exercise.hidden = false;
    questions.innerHTML = "";
  }
  function go(s) {
    state.step = Math.max(0, Math.min(last, s));
    render();
  }
  function stop() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    play.textContent = "\u25B6 play";
    play.setAttribute("aria-label", "play");
  }
  function toggle() {
    if (state.timer) { stop(); return; }
    if (state.step === last) { go(0); }
    play.textContent = "\u2016 pause";
    play.setAttribute("aria-label", "pause");
    state.timer = setInterval(function () {
      if (state.step >= last || hidden(state.step)) { stop(); return; }
      go(state.step + 1);
      if (state.step >= last) { stop(); }
    }, Number(q(".cr-speed").value));
  }
  function setMode(on) {
    state.exercise = on;
    mode.setAttribute("aria-pressed", on ? "true" : "false");
    render();
  }
  q(".cr-first").addEventListener("click", function () { stop(); go(0); });
  q(".cr-prev").addEventListener("click", function () { stop(); go(state.step - 1); });
  q(".cr-next").addEventListener("click", function () { stop(); go(state.step + 1); });
  q(".cr-last").addEventListener("click", function () { stop(); go(last); });
  play.addEventListener("click", toggle);
  slider.addEventListener("input", function () { stop(); go(Number(slider.value)); });
  mode.addEventListener("click", function () { setMode(!state.exercise); });
  q(".cr-check").addEventListener("click", check);
  q(".cr-show").addEventListener("click", show);
  function key(e) {
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    if (e.key === "ArrowRight") { stop(); go(state.step + 1); }
    else if (e.key === "ArrowLeft") { stop(); go(state.step - 1); }
    else if (e.key === "Home") { stop(); go(0); }
    else if (e.key === "End") { stop(); go(last); }
    else if (e.key === " " || e.key === "Spacebar") { if (t === "BUTTON") { return; } toggle(); }
    else { return; }
    e.preventDefault();
  }
  if (standalone) { document.addEventListener("keydown", key); }
  else { root.addEventListener("keydown", key); }
  var info = q(".cr-info");
  svg.querySelectorAll("g.node").forEach(function (g) {
    g.setAttribute("tabindex", "0");
    var title = g.querySelector("title");
    var say = function () { info.textContent = title ? title.textContent : ""; };
    g.addEventListener("mouseenter", say);
    g.addEventListener("focus", say);
  });
  function fromHash() {
    stop();
    var h = window.location.hash.replace(/^#/, ""), s = last, ex = false;
    h.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv[0] === "step") { s = kv[1] === "end" ? last : parseInt(kv[1], 10); }
      if (kv[0] === "mode") { ex = kv[1] === "exercise"; }
    });
    if (isNaN(s)) { s = last; }
    state.exercise = ex;
    mode.setAttribute("aria-pressed", ex ? "true" : "false");
    go(s);
  }
  if (standalone) {
    window.addEventListener("hashchange", fromHash);
    fromHash();
  } else {
    go(last);
  }
})();"##;
